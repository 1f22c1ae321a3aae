/**
 * The console's foundation in a real browser: it is served at /, signs an admin in and out,
 * survives a reload on a deep address, scopes pages by the organization-group switcher, and
 * shows a read-only admin no write actions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, expectNoConsoleErrors, skipWithoutBrowser, startConsole, type ConsoleSession } from './support/console.js';
import { NAV } from '../../web/src/nav.js';

describe.skipIf(skipWithoutBrowser)('console foundation (browser)', () => {
  let s: ConsoleSession;
  beforeAll(async () => {
    s = await startConsole();
  });
  afterAll(() => s?.close());

  it('signs in, navigates, reloads a deep address and signs out', async () => {
    const { page } = s;
    await expect.poll(() => page.title()).toBe('Dashboard · Pomona');
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await expect.poll(() => page.url()).toBe(`${s.pomona.url}/devices`);
    await page.reload();
    await page.getByRole('navigation', { name: 'Sections' }).waitFor();
    expect(await page.getByRole('link', { name: 'Devices', exact: true }).getAttribute('aria-current')).toBe('page');
    await s.screenshot('foundation-devices');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    // the session is gone on the server too
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expectNoConsoleErrors(s);
  });

  it('refuses a wrong password with the server’s message, in place', async () => {
    const page = await s.context.newPage();
    await page.goto('/');
    if (await page.getByRole('button', { name: 'Sign out' }).isVisible()) await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('invalid username or password');
    await s.screenshot('foundation-sign-in-refused', page);
    await page.close();
  });

  it('is keyboard navigable with a visible focus', async () => {
    const page = await s.signInAs(ADMIN.username, ADMIN.password);
    await page.keyboard.press('Tab');
    const focused = () => page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      const style = getComputedStyle(el);
      return { text: el.textContent?.trim(), outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
    expect(await focused()).toEqual({ text: 'Skip to content', outline: 'solid', width: 3 });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect((await focused()).text).toBe('ABM servers');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.url()).toBe(`${s.pomona.url}/abm-servers`);
    // The new page's content has the focus, so the next Tab starts there, not back in the navigation.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('main');
    await s.screenshot('foundation-keyboard', page);
    await page.close();
  });

  it('returns to the sign-in page when the session ends mid-way, then to the same page', async () => {
    const eve = { username: 'eve', password: 'a long enough password for eve' };
    const created = await s.pomona.api('/api/v1/admins', { body: { ...eve, role: 'administrator' } });
    expect(created.status).toBe(201);
    const page = await s.signInAs(eve.username, eve.password);
    await page.getByRole('link', { name: 'Audit log', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    // The session ends on the server (expired, or ended elsewhere): the page learns it from a 401.
    await s.pomona.ctx.database.db.deleteFrom('admin_sessions').where('user_id', '=', created.json.id).execute();
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Your session has ended' }).count()).toBe(1);
    expect(page.url()).toBe(`${s.pomona.url}/devices`);
    await s.screenshot('foundation-session-ended', page);
    await page.getByLabel('Username').fill(eve.username);
    await page.getByLabel('Password').fill(eve.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    expect(page.url()).toBe(`${s.pomona.url}/devices`);
    expect(await page.getByRole('link', { name: 'Devices', exact: true }).getAttribute('aria-current')).toBe('page');
    await page.close();
    expectNoConsoleErrors(s);
  });

  it('fits every page at tablet width without sideways scrolling', async () => {
    const page = await s.signInAs(ADMIN.username, ADMIN.password);
    await page.setViewportSize({ width: 820, height: 1180 });
    for (const path of NAV.map((n) => n.path)) {
      await page.goto(path);
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
      // the navigation above the page takes only the room its links need
      const nav = await page.evaluate(() => ({ bar: document.querySelector('.sidebar')!.getBoundingClientRect().height, links: document.querySelector('.sidebar nav')!.getBoundingClientRect().bottom }));
      expect(nav.bar, path).toBeLessThan(nav.links + 24);
    }
    await page.goto('/');
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await s.screenshot('foundation-tablet', page);
    await page.close();
    expectNoConsoleErrors(s);
  });

  it('keeps API paths as JSON 404s and serves the page for console addresses', async () => {
    const api = await fetch(`${s.pomona.url}/api/v1/nothing-here`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect((await api.json()).error).toBe('not_found');
    const page = await fetch(`${s.pomona.url}/devices/some-id`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await page.text()).toContain('<div id="root">');
  });
});
