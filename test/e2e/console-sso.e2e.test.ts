/**
 * Console sign-in through an identity provider, in a real browser: the sign-in page offers the
 * SAML provider an administrator enabled for the console, the browser goes to the IdP (the test
 * IdP of src/org/idp/saml-test-idp.ts answers with its auto-posting form, as real IdPs do) and back
 * to the page it started on, signed in as the admin the IdP named; an identity that is no admin
 * is refused with the reason, signed out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyExchangeCertificate } from '../../src/pki/ca.js';
import { TestIdp, TEST_IDP_ENTITY } from '../../src/org/idp/saml-test-idp.js';
import { expectNoConsoleErrors, skipWithoutBrowser, startConsole, type ConsoleSession } from './support/console.js';

describe.skipIf(skipWithoutBrowser)('console sign-in through SAML (browser)', () => {
  let s: ConsoleSession;
  let idp: TestIdp;

  beforeAll(async () => {
    s = await startConsole();
    const key = await createKeyExchangeCertificate({ commonName: 'Test IdP signing', days: 365 });
    idp = new TestIdp(key, Date.now);
    await idp.start();
    const created = await s.pomona.api('/api/v1/identity-providers', {
      body: { groupId: 'global', kind: 'saml', name: 'Corp SAML', config: { idpEntityId: TEST_IDP_ENTITY, idpSsoUrl: idp.ssoUrl, idpCertificates: [key.certPem] } },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect((await s.pomona.api(`/api/v1/identity-providers/${created.json.id}`, { method: 'PATCH', body: { consoleSignIn: true } })).status).toBe(200);
    expect((await s.pomona.api('/api/v1/admins', { body: { username: 'alice', password: 'alice has a long password', role: 'read-only' } })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
    await idp?.stop();
  });

  it('signs an admin in through the identity provider and lands on the page she asked for', async () => {
    const context = await s.browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: s.pomona.url });
    const page = await context.newPage();
    page.on('pageerror', (e) => s.consoleErrors.push(e.message));
    await page.goto('/abm-devices?profileStatus=pushed');
    const button = page.getByRole('link', { name: 'Sign in with Corp SAML' });
    await button.waitFor();
    await s.screenshot('console-sso-sign-in', page);
    idp.next = { nameId: 'alice' };
    await button.click();
    await page.getByRole('navigation', { name: 'Sections' }).waitFor();
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/abm-devices?profileStatus=pushed');
    await expect.poll(() => page.getByRole('banner').textContent()).toContain('alice · read-only');
    expect(idp.requests).toHaveLength(1);
    await s.screenshot('console-sso-signed-in', page);
    await context.close();
    expectNoConsoleErrors(s);
  });

  it('leaves an identity that is no admin signed out', async () => {
    const context = await s.browser.newContext({ baseURL: s.pomona.url });
    const page = await context.newPage();
    await page.goto('/');
    idp.next = { nameId: 'mallory' };
    await page.getByRole('link', { name: 'Sign in with Corp SAML' }).click();
    await page.getByRole('heading', { name: 'Sign-in refused' }).waitFor();
    expect(await page.getByRole('status').textContent()).toMatch(/admin/i);
    const me = await page.request.get('/api/v1/session');
    expect(me.status()).toBe(401);
    await s.screenshot('console-sso-refused', page);
    await context.close();
  });
});
