/**
 * The dashboard in a real browser: what needs attention (an ABM server without a token, failed and
 * throttled assignments, a Mac waiting too long in Setup Assistant), the ADE funnel and the
 * platform chart, narrowed by the organization-group switcher.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAbmDevice, insertAbmServer, insertDevice, insertGroup } from '../support/fleet.js';
import { expectNoConsoleErrors, skipWithoutBrowser, startConsole, type ConsoleSession } from './support/console.js';

describe.skipIf(skipWithoutBrowser)('dashboard (browser)', () => {
  let s: ConsoleSession;
  beforeAll(async () => {
    s = await startConsole();
    const db = s.pomona.ctx.database.db;
    await insertGroup(db, { id: 'east', parentId: 'global', name: 'East', code: 'EAST' });
    await insertGroup(db, { id: 'west', parentId: 'global', name: 'West', code: 'WEST' });
    await insertAbmServer(db, { id: 'abm-east', groupId: 'east' });
    await insertAbmServer(db, { id: 'abm-west', groupId: 'west' });
    for (let i = 0; i < 4; i++) await insertAbmDevice(db, { serial: `EAST${i}`, serverId: 'abm-east', profileStatus: i === 0 ? 'empty' : 'pushed', deviceId: i < 2 ? `east-${i}` : null });
    await insertDevice(db, { id: 'east-0', groupId: 'east', platform: 'iOS', channel: 'active' });
    await insertDevice(db, { id: 'east-1', groupId: 'east', platform: 'macOS', channel: 'active' });
    await db.updateTable('abm_devices').set({ assign_result: 'FAILED' }).where('serial_number', '=', 'EAST0').execute();
    await db.updateTable('enrollments').set({ awaiting_configuration: 1 }).where('device_id', '=', 'east-1').execute();
    await db.updateTable('devices').set({ created_at: Date.now(), lifecycle_changed_at: Date.now() - 3 * 3600_000 }).execute();
    await insertAbmDevice(db, { serial: 'WEST0', serverId: 'abm-west', profileStatus: 'pushed' });
    await db.updateTable('abm_devices').set({ assign_result: 'THROTTLED' }).where('serial_number', '=', 'WEST0').execute();
  });
  afterAll(() => s?.close());

  it('puts what needs attention first and charts the fleet', async () => {
    const { page } = s;
    await page.goto('/');
    const attention = page.getByRole('region', { name: 'Needs attention' });
    await expect.poll(() => attention.textContent()).toContain('abm-east has no ABM token yet');
    const text = (await attention.textContent()) ?? '';
    expect(text).toContain('1 ABM device could not be assigned its enrollment profile');
    expect(text).toContain('1 profile assignment was throttled');
    expect(text).toContain('1 device has waited in Setup Assistant for more than 60 minutes');
    // the push certificate is fine (the test server has one)
    expect(text).not.toContain('push certificate');
    const funnel = page.getByRole('img', { name: /^ADE funnel/ });
    expect(await funnel.getAttribute('aria-label')).toBe('ADE funnel: In ABM 5, Profile assigned 4, Pushed to device 4, Enrolled 2');
    expect(await page.getByRole('img', { name: /^Devices by platform/ }).getAttribute('aria-label')).toMatch(/iOS 1.*macOS 1|macOS 1.*iOS 1/);
    expect(await page.getByRole('img', { name: /^Devices enrolled per day/ }).getAttribute('aria-label')).toMatch(/ 2$/);
    await s.screenshot('dashboard');
    // A server's line leads to that server's panel.
    await attention.getByRole('listitem').filter({ hasText: 'abm-east has no ABM token yet' }).getByRole('link', { name: 'Upload its token' }).click();
    await page.getByRole('region', { name: 'abm-east' }).waitFor();
    expect(new URL(page.url()).searchParams.get('server')).toBe('abm-east');
    await page.goBack();
    await attention.getByRole('link', { name: 'See it' }).first().click();
    await expect.poll(() => page.url()).toContain('/abm-devices?assignResult=FAILED');
    expectNoConsoleErrors(s);
  });

  it('narrows to the group chosen in the switcher', async () => {
    const { page } = s;
    await page.goto('/');
    await page.getByLabel('Organization group').selectOption({ label: '\u00a0\u00a0West (WEST)' });
    const funnel = page.getByRole('img', { name: /^ADE funnel/ });
    await expect.poll(() => funnel.getAttribute('aria-label')).toBe('ADE funnel: In ABM 1, Profile assigned 1, Pushed to device 1, Enrolled 0');
    const attention = page.getByRole('region', { name: 'Needs attention' });
    expect(await attention.textContent()).not.toContain('abm-east');
    expect(await attention.textContent()).toContain('throttled');
    expect(await page.getByRole('region', { name: 'Devices by platform' }).textContent()).toContain('No managed devices yet');
    await s.screenshot('dashboard-west');
    await page.getByLabel('Organization group').selectOption({ label: 'Global (GLOBAL)' });
    expectNoConsoleErrors(s);
  });
});
