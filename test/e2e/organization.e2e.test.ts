/**
 * Organization, Audit log and Settings in a real browser: a child group inherits a setting its
 * parent overrides (and says from where) until it overrides it too; an API token's secret is
 * shown once; the audit log filters the events just made and exports them as CSV; the settings
 * page shows the push certificate and the device CA; a read-only admin sees no write actions.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPushCertificate } from '../../src/apple/push-certificate.js';
import { expectNoConsoleErrors, skipWithoutBrowser, startConsole, type ConsoleSession } from './support/console.js';

const READER = { username: 'rita', password: 'a long enough reader password' };
const SETTING = 'enrollment.webEnrollmentAllowed';

describe.skipIf(skipWithoutBrowser)('organization, audit log and settings (browser)', () => {
  let s: ConsoleSession;
  beforeAll(async () => {
    s = await startConsole();
    // A step that cannot happen fails with its locator well inside the test's time.
    s.page.setDefaultTimeout(8_000);
    const reader = await s.pomona.api('/api/v1/admins', { body: { ...READER, role: 'read-only' } });
    expect(reader.status).toBe(201);
  });
  afterAll(() => s?.close());

  const settingRow = (page: Page) => page.locator(`tr[data-setting="${SETTING}"]`);
  const tree = (page: Page) => page.getByRole('navigation', { name: 'Organization groups' });

  it('creates a child group that inherits its parent’s setting, with where from, until it overrides it', async () => {
    const { page } = s;
    await page.getByRole('link', { name: 'Organization' }).click();
    await page.getByRole('button', { name: 'Add child group' }).click();
    await page.getByLabel('Name').fill('Lyon');
    await page.getByLabel('Group ID').fill('LYON');
    await page.getByRole('button', { name: 'Save' }).click();
    // The new group is selected, and the switcher lists it.
    await expect.poll(() => page.getByRole('heading', { name: 'Lyon', exact: true }).isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('group-switcher').locator('option').allTextContents()).toContain('\u00a0\u00a0Lyon (LYON)');

    // Override at the parent (the root group)…
    await tree(page).getByRole('button', { name: /^Global/ }).click();
    await page.getByRole('button', { name: `Override ${SETTING}` }).click();
    await page.getByLabel('Value').selectOption('Yes');
    await page.getByRole('button', { name: 'Save here' }).click();
    await expect.poll(() => settingRow(page).textContent()).toContain('Overridden here');

    // …the child shows it as inherited, from Global.
    await tree(page).getByRole('button', { name: /^Lyon/ }).click();
    await expect.poll(() => settingRow(page).textContent()).toContain('Inherited from Global');
    expect(await settingRow(page).locator('td').first().textContent()).toBe('Yes');
    await s.screenshot('organization-inherited');

    // Overridden on the child, it says so, and can be cleared again.
    await page.getByRole('button', { name: `Override ${SETTING}` }).click();
    await page.getByLabel('Value').selectOption('No');
    await page.getByRole('button', { name: 'Save here' }).click();
    await expect.poll(() => settingRow(page).textContent()).toContain('Overridden here');
    expect(await settingRow(page).locator('td').first().textContent()).toBe('No');
    expect(await page.getByRole('button', { name: `Clear override of ${SETTING}` }).isVisible()).toBe(true);
    await s.screenshot('organization-overridden');

    // Deleting asks first and says what Pomona refuses.
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete Lyon?' });
    expect(await dialog.textContent()).toContain('refuses while the group still holds child groups, devices');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // A second group, moved under the first with its subtree.
    await tree(page).getByRole('button', { name: /^Global/ }).click();
    await page.getByRole('button', { name: 'Add child group' }).click();
    await page.getByLabel('Name').fill('Paris');
    await page.getByLabel('Group ID').fill('PARIS');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Paris', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Move' }).click();
    await page.getByLabel('New parent group').selectOption({ label: '\u00a0\u00a0Lyon (LYON)' });
    await page.getByRole('button', { name: 'Move group' }).click();
    await expect.poll(() => page.locator('.group-detail .panel-head p').textContent()).toContain('Global › Lyon › Paris');
    expect(await tree(page).getByRole('button').allTextContents()).toEqual(['Global GLOBAL', 'Lyon LYON', 'Paris PARIS']);
    await s.screenshot('organization-moved');
    expectNoConsoleErrors(s);
  });

  it('creates, finds and disables a user, maps a user group, adds an LDAP directory and a registration token', async () => {
    const { page } = s;
    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByText('No users yet').waitFor();
    await page.getByRole('button', { name: 'New local user' }).click();
    await page.getByLabel('User name').fill('dee');
    await page.getByLabel('Display name').fill('Dee Lambert');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create user' }).click();
    // The server's refusal appears next to its field.
    await expect.poll(() => page.locator('#u-password-error').textContent()).toContain('at least 12 characters');
    await page.getByLabel('Password').fill('a long enough passphrase');
    await page.getByLabel('Default enrollment group').selectOption({ label: '\u00a0\u00a0Lyon (LYON)' });
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('searchbox', { name: 'Search users' }).fill('lambert');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const dee = page.getByRole('row', { name: /dee/ });
    await expect.poll(() => dee.textContent()).toContain('Global › Lyon');
    await dee.getByRole('button', { name: 'Disable dee' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Disable user' }).click();
    await expect.poll(() => dee.textContent()).toContain('Disabled');
    await dee.getByRole('button', { name: 'Managed Apple Account of dee' }).click();
    await page.getByLabel('Assigned Managed Apple Account').fill('dee@appleid.example.com');
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('dialog').textContent()).toContain('assigned by an admin');
    await page.keyboard.press('Escape');
    await s.screenshot('organization-users');

    await page.getByRole('tab', { name: 'User groups' }).click();
    await page.getByLabel('New local user group').fill('Engineering');
    await page.getByRole('button', { name: 'Create user group' }).click();
    await page.getByRole('button', { name: 'Change mapping of Engineering' }).click();
    await page.getByLabel('Enrolls into').selectOption({ label: '\u00a0\u00a0Lyon (LYON)' });
    await page.getByLabel('Rank').fill('5');
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await expect.poll(() => page.getByRole('row', { name: /Engineering/ }).textContent()).toMatch(/Global › Lyon\s*5/);
    await s.screenshot('organization-user-groups');

    await page.getByRole('tab', { name: 'Identity providers' }).click();
    await page.getByRole('button', { name: 'Add identity provider' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Corp LDAP');
    await page.getByLabel('Server URLs').fill('http://ldap.example.com');
    await page.getByLabel('User search base').fill('ou=people,dc=example,dc=com');
    await page.getByRole('button', { name: 'Add provider' }).click();
    await expect.poll(() => page.locator('#idp-urls-error').textContent()).toMatch(/ldap/);
    await s.screenshot('organization-idp-invalid');
    // Nothing listens on port 1: the test says so.
    await page.getByLabel('Server URLs').fill('ldap://127.0.0.1:1');
    await page.getByRole('button', { name: 'Add provider' }).click();
    await page.getByRole('button', { name: 'Test Corp LDAP' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('Corp LDAP');
    await s.screenshot('organization-identity-providers');
    // A SAML provider that signs admins in: once saved, its edit form says what to register at the IdP.
    await page.getByRole('button', { name: 'Add identity provider' }).click();
    await page.getByLabel('Kind').selectOption('saml');
    await page.getByLabel('Name', { exact: true }).fill('Corp SSO');
    await page.getByLabel('IdP entity ID').fill('https://idp.example.com/entity');
    await page.getByLabel('IdP single sign-on URL').fill('https://idp.example.com/sso');
    await page.getByLabel('IdP signing certificates (PEM)').fill((await createTestPushCertificate()).certPem);
    await page.getByLabel('Admins may sign in to this console through it').check();
    await page.getByRole('button', { name: 'Add provider' }).click();
    await expect.poll(() => page.getByRole('row', { name: /Corp SSO/ }).textContent()).toMatch(/SAML 2\.0.*Yes/);
    await page.getByRole('button', { name: 'Edit Corp SSO' }).click();
    await expect.poll(() => page.getByRole('dialog').textContent()).toMatch(/acsUrl.*\/sso\/saml\/.+\/acs/);
    expect(await page.getByLabel('IdP entity ID').inputValue()).toBe('https://idp.example.com/entity');
    await s.screenshot('organization-idp-saml-edit');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('tab', { name: 'Registration tokens' }).click();
    await page.getByRole('button', { name: 'New registration token' }).click();
    await page.getByLabel('Enrolls into').selectOption({ label: '\u00a0\u00a0Lyon (LYON)' });
    await page.getByLabel('Platform').selectOption('iOS');
    await page.getByLabel("Two factors: the token and the user's password").check();
    await page.getByLabel('User', { exact: true }).fill('dee');
    await page.getByRole('button', { name: 'Create token' }).click();
    const code = (await page.getByLabel('Registration token', { exact: true }).textContent())!;
    expect(code).toMatch(/^[A-Z2-9]{10}$/);
    const row = page.locator('tr', { hasText: 'Token + password' });
    await expect.poll(() => row.textContent()).toMatch(/dee\s*Token \+ password/);
    await s.screenshot('organization-registration-token');
    await row.getByRole('button', { name: /^Revoke/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await expect.poll(() => row.textContent()).toContain('revoked');
    expectNoConsoleErrors(s);
  });

  it('creates an API token and shows its secret once, with a copy button', async () => {
    const { page } = s;
    await page.getByRole('tab', { name: 'Admins & API tokens' }).click();
    // A row's action names its admin.
    await page.getByRole('button', { name: `Disable ${READER.username}` }).waitFor();
    await page.getByRole('button', { name: 'New API token' }).click();
    await page.getByLabel('Name').fill('inventory export');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secretBox = page.getByLabel('API token “inventory export”');
    await secretBox.waitFor();
    const secret = (await secretBox.textContent())!;
    expect(secret).toMatch(/^pom_/);
    expect(await page.getByRole('button', { name: 'Copy' }).isVisible()).toBe(true);
    // The secret works, and it is read-only as chosen.
    const who = await fetch(`${s.pomona.url}/api/v1/session`, { headers: { authorization: `Bearer ${secret}` } });
    expect(await who.json()).toMatchObject({ role: 'read-only' });
    await expect.poll(() => page.getByRole('row', { name: /inventory export/ }).textContent()).toContain('Read only');
    await s.screenshot('organization-api-token-created');
    await page.reload();
    await page.getByRole('row', { name: /inventory export/ }).waitFor();
    expect(await page.getByText(secret).count()).toBe(0);
    expectNoConsoleErrors(s);
  });

  it('filters the audit log to the events just made and exports them as CSV', async () => {
    const { page } = s;
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action').fill('org.setting.set');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.locator('tr[data-event]');
    await expect.poll(() => rows.count()).toBe(2);
    expect(new Set(await rows.locator('td:nth-child(3)').allTextContents())).toEqual(new Set(['org.setting.set']));
    await rows.first().getByRole('button', { name: 'Details' }).click();
    await expect.poll(() => page.locator('.details-row').textContent()).toContain(SETTING);
    await page.getByLabel('Outcome').selectOption('failure');
    await page.getByText('No event matches these filters').waitFor();
    await page.getByLabel('Outcome').selectOption('');
    await expect.poll(() => rows.count()).toBe(2);
    await s.screenshot('audit-log-filtered');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('id,at,actor,action,target,source,outcome,details');
    expect(lines).toHaveLength(3);
    for (const line of lines.slice(1)) expect(line).toContain(',user:ada,org.setting.set,');

    // Pages come from the server by cursor: 56 events of Lyon are 50 and 6.
    const lyon = (await s.pomona.api('/api/v1/organization-groups')).json.items.find((g: { groupId: string }) => g.groupId === 'LYON');
    for (let i = 0; i < 55; i++) await s.pomona.api(`/api/v1/organization-groups/${lyon.id}/settings/alerts.recipients`, { method: 'PUT', body: { value: [`it${i}@example.com`] } });
    await page.getByLabel('Target').fill(lyon.id);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(() => rows.count()).toBe(6);
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(() => rows.count()).toBe(50);
    expectNoConsoleErrors(s);
  });

  it('shows the push certificate and the device CA, installation-wide whatever the switcher shows', async () => {
    const { page } = s;
    await page.getByRole('link', { name: 'Settings' }).click();
    const push = page.getByRole('region', { name: 'Push certificate (APNs)' });
    const topic = (await s.pomona.api('/api/v1/push-certificate')).json.topic as string;
    await expect.poll(() => push.textContent()).toContain(topic);
    expect(await push.getByRole('button', { name: 'Upload new certificate' }).isVisible()).toBe(true);
    const ca = page.getByRole('region', { name: 'Device CA' });
    await expect.poll(() => ca.textContent()).toContain((await s.pomona.api('/api/v1/ca')).json.fingerprintSha256);
    await page.getByRole('button', { name: 'How to renew' }).click();
    expect(await page.getByRole('dialog').textContent()).toContain('Apple Push Certificates Portal');
    await s.screenshot('settings-renewal-steps');
    await page.keyboard.press('Escape');
    await s.screenshot('settings');

    // Renewing: a newer certificate for the same topic is taken at once.
    const renewed = await createTestPushCertificate({ topic, days: 400 });
    await push.getByRole('button', { name: 'Upload new certificate' }).click();
    const upload = page.getByRole('dialog', { name: 'Upload a push certificate' });
    await upload.getByLabel('Certificate (PEM)').setInputFiles({ name: 'push.pem', mimeType: 'application/x-pem-file', buffer: Buffer.from(renewed.certPem) });
    await upload.getByLabel('Private key (PEM)').setInputFiles({ name: 'push.key', mimeType: 'application/x-pem-file', buffer: Buffer.from(renewed.keyPem) });
    await upload.getByRole('button', { name: 'Upload' }).click();
    await upload.getByText('Pomona now pushes with the certificate').waitFor();
    await upload.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => push.textContent()).toContain('expires in 400 days');
    // Another topic would strand every enrolled device: asked, with that said.
    const other = await createTestPushCertificate();
    await push.getByRole('button', { name: 'Upload new certificate' }).click();
    await upload.getByLabel('Certificate (PEM)').setInputFiles({ name: 'other.pem', mimeType: 'application/x-pem-file', buffer: Buffer.from(other.certPem + other.keyPem) });
    await upload.getByRole('button', { name: 'Upload' }).click();
    const replace = page.getByRole('dialog', { name: 'Replace the push topic?' });
    await expect.poll(() => replace.textContent()).toContain('none of the enrolled devices can be reached until it enrolls again');
    await s.screenshot('settings-topic-change');
    await replace.getByRole('button', { name: 'Cancel' }).click();
    await upload.getByRole('button', { name: 'Cancel' }).click();
    expect((await s.pomona.api('/api/v1/push-certificate')).json.topic).toBe(topic);

    // On a sub-group the page still shows the installation's certificate, and says so.
    await page.getByTestId('group-switcher').selectOption({ label: '\u00a0\u00a0Lyon (LYON)' });
    await page.getByText('everything on this page applies to the whole installation').waitFor();
    await expect.poll(() => push.textContent()).toContain(topic);
    await s.screenshot('settings-on-sub-group');
    await page.getByTestId('group-switcher').selectOption({ label: 'Global (GLOBAL)' });
    expectNoConsoleErrors(s);
  });

  it('fits tablet width with their data shown, without sideways scrolling', async () => {
    const { page } = s;
    await page.setViewportSize({ width: 820, height: 1180 });
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    for (const [path, ready, shot] of [
      ['/organization', settingRow(page), 'organization-tablet'],
      ['/organization?tab=users', page.getByRole('row', { name: /dee/ }), 'organization-users-tablet'],
      ['/audit?action=org.setting.set', page.locator('tr[data-event]').first(), 'audit-log-tablet'],
      ['/settings', page.getByRole('region', { name: 'Device CA' }).getByText('SHA-256 fingerprint'), 'settings-tablet'],
    ] as const) {
      await page.goto(path);
      await ready.waitFor();
      expect(await overflow(), path).toBeLessThanOrEqual(0);
      await s.screenshot(shot);
    }
    await page.setViewportSize({ width: 1280, height: 860 });
    expectNoConsoleErrors(s);
  });

  it('tells an admin scoped to a branch that the push certificate and CA are installation-wide', async () => {
    const lyon = (await s.pomona.api('/api/v1/organization-groups')).json.items.find((g: { groupId: string }) => g.groupId === 'LYON');
    expect((await s.pomona.api('/api/v1/admins', { body: { username: 'lea', password: 'a long enough branch password', role: 'administrator', scope: lyon.id } })).status).toBe(201);
    const page = await s.signInAs('lea', 'a long enough branch password');
    page.setDefaultTimeout(8_000);
    await page.goto('/settings');
    await page.getByText('only admins scoped at the top group manage them').waitFor();
    expect(await page.getByRole('region', { name: 'Push certificate (APNs)' }).count()).toBe(0);
    await page.getByRole('region', { name: 'Open alerts' }).getByText('No open alerts').waitFor();
    await s.screenshot('settings-branch-admin', page);
    // Her organization page starts at her branch, which she cannot move or delete herself.
    await page.goto('/organization');
    await page.getByRole('heading', { name: 'Lyon', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Add child group' }).isVisible()).toBe(true);
    for (const name of ['Move', 'Delete']) expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    expect(await tree(page).getByRole('button').allTextContents()).toEqual(['Lyon LYON', 'Paris PARIS']);
    await page.close();
    expectNoConsoleErrors(s);
  });

  it('shows a read-only admin no write actions on these pages', async () => {
    const page = await s.signInAs(READER.username, READER.password);
    page.setDefaultTimeout(8_000);
    await page.goto('/organization');
    await settingRow(page).waitFor();
    for (const name of ['Add child group', 'Rename', 'Delete', `Override ${SETTING}`]) expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    await s.screenshot('organization-read-only', page);
    // Each list shows what the administrator made above, without a way to change it.
    const tabShows = async (tab: string, row: RegExp, hidden: (string | RegExp)[]) => {
      await page.getByRole('tab', { name: tab }).click();
      await page.getByRole('row', { name: row }).first().waitFor();
      for (const name of hidden) expect(await page.getByRole('button', { name }).count(), `${tab}: ${String(name)}`).toBe(0);
    };
    await tabShows('Users', /dee/, ['New local user', 'Disable', 'Enable']);
    await tabShows('User groups', /Engineering/, ['Create user group', 'Change mapping of Engineering']);
    await tabShows('Identity providers', /Corp LDAP/, ['Add identity provider', 'Edit Corp LDAP', 'Test Corp LDAP', 'Remove Corp LDAP']);
    await tabShows('Registration tokens', /Token \+ password/, ['New registration token', /^Revoke/]);
    await page.getByRole('tab', { name: 'Admins & API tokens' }).click();
    await page.getByText('managed by administrators').waitFor();
    expect(await page.getByRole('button', { name: 'New API token' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByText('The audit log is for administrators').waitFor();
    expect(await page.getByRole('button', { name: 'Export CSV' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('region', { name: 'Push certificate (APNs)' }).getByText('Topic').waitFor();
    expect(await page.getByRole('button', { name: 'Upload new certificate' }).count()).toBe(0);
    await s.screenshot('settings-read-only', page);
    expectNoConsoleErrors(s);
  });
});
