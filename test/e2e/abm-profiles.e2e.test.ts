/**
 * ABM servers and enrollment profiles in a real browser, against the ABM simulator: create a
 * server and connect it through the guided token upload (a bad file refused in place), watch
 * the first sync, create and edit a profile (a validation error shown at its field, a save over
 * someone else's refused), make another the default, delete with the reassignment explained —
 * and a read-only admin sees none of the write actions.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { startAbmSimulator, type AbmSimulator } from '../../src/sim/abm/server.js';
import { expectNoConsoleErrors, skipWithoutBrowser, startConsole, type ConsoleSession } from './support/console.js';

const READER = { username: 'rita', password: 'a long enough reader password' };

describe.skipIf(skipWithoutBrowser)('ABM servers and enrollment profiles (browser)', () => {
  let s: ConsoleSession;
  let sim: AbmSimulator;
  let appleServer: string;
  let serverId: string;
  let corporateId: string;

  beforeAll(async () => {
    sim = await startAbmSimulator({ seed: 6, fetchLimit: { default: 100, maximum: 100 }, syncLimit: { default: 100, maximum: 100 } });
    appleServer = sim.createServer({ name: 'Pomona E2E', adminId: 'it-admin@example.com' }).serverUuid;
    sim.addDevices(appleServer, 250);
    s = await startConsole('sqlite');
  });
  afterAll(async () => {
    await s?.close();
    await sim?.close();
  });

  const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name });
  const button = (scope: Page | Locator, name: string | RegExp) => scope.getByRole('button', { name, exact: typeof name === 'string' });

  it('creates an ABM server, connects it through the guided token upload and watches the first sync', async () => {
    const { page } = s;
    await nav(page, 'ABM servers').click();
    await page.getByRole('heading', { name: 'No ABM servers yet' }).waitFor();
    await button(page, 'Add ABM server').click();
    const create = page.getByRole('dialog', { name: 'Add ABM server' });
    await create.getByLabel('Name').fill('Main');
    await create.getByText('Advanced').click();
    await create.getByLabel('DEP service URL').fill(sim.url);
    await button(create, 'Create and continue').click();

    const guide = page.getByRole('dialog', { name: 'Connect Main to Apple Business Manager' });
    await guide.getByRole('heading', { name: /Step 1/ }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), guide.getByRole('button', { name: 'Download public key' }).click()]);
    expect(download.suggestedFilename()).toBe('Main.pem');
    const pem = readFileSync((await download.path())!, 'utf8');
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    await guide.getByRole('button', { name: 'Next' }).click();
    await guide.getByRole('heading', { name: /Step 2 — In Apple Business Manager/ }).waitFor();
    // The new step's heading has the focus: the keyboard continues there.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('step-2');
    expect(await guide.textContent()).toContain('Download Token');
    await guide.getByRole('button', { name: 'Next' }).click();

    // A file that is no token: the API's refusal shows at the file field.
    await guide.getByLabel('Server token file (.p7m)').setInputFiles({ name: 'wrong_smime.p7m', mimeType: 'application/pkcs7-mime', buffer: Buffer.from('this is not a token') });
    await guide.getByRole('button', { name: 'Upload token' }).click();
    const fileError = page.locator('[id="token-file-error"]');
    await fileError.waitFor();
    expect((await fileError.textContent())!.length).toBeGreaterThan(10);
    await s.screenshot('abm-token-upload-refused');

    // Apple's pages are slow to answer, so the sync runs long enough to be watched.
    sim.faults.add({ path: '/server/devices', times: Infinity, action: { kind: 'delay', ms: 1200 } });
    const token = sim.issueToken(appleServer, pem);
    await guide.getByLabel('Server token file (.p7m)').setInputFiles({ name: token.fileName, mimeType: 'application/pkcs7-mime', buffer: Buffer.from(token.smime) });
    await guide.getByRole('button', { name: 'Upload token' }).click();
    await page.getByText('Main is connected to Apple Business Manager').waitFor();
    const row = page.getByRole('row', { name: /Main/ });
    await row.getByText('Sync queued').waitFor();

    // The job a node's scheduler would run next (test servers run jobs on demand).
    const job = s.pomona.ctx.scheduler.runNow('abm-sync');
    await row.getByRole('progressbar').waitFor({ timeout: 15_000 });
    const panel = page.getByRole('region', { name: 'Main' });
    expect(await button(panel, 'Sync now').isDisabled()).toBe(true);
    expect(await button(panel, 'Full sync').isDisabled()).toBe(true);
    await panel.getByText('A sync is running: wait for it to finish.').waitFor();
    await s.screenshot('abm-servers-syncing');

    await expect.poll(() => row.getByRole('cell').nth(2).textContent(), { timeout: 20_000 }).toBe('250');
    await job;
    await expect.poll(() => row.getByRole('progressbar').count(), { timeout: 20_000 }).toBe(0);
    expect(await row.getByRole('cell').nth(4).textContent()).not.toBe('Never');
    expect(await row.getByRole('cell').nth(5).textContent()).toMatch(/^Valid, expires in \d+ days$/);
    sim.faults.clear();

    await button(panel, 'Test connection').click();
    await page.getByText(/Connection works\. Apple says: MDM server “Pomona E2E”/).waitFor();
    expect(await row.getByRole('cell').nth(1).textContent()).toContain('it-admin@example.com');
    serverId = new URL(page.url()).searchParams.get('server')!;
    expect(serverId).toBeTruthy();
    await s.screenshot('abm-servers');
    await page.setViewportSize({ width: 820, height: 1000 });
    await s.screenshot('abm-servers-tablet');
    await page.setViewportSize({ width: 1280, height: 860 });
    expectNoConsoleErrors(s);
  });

  it('renews the token with a new key pair through the guided upload, and edits the server', async () => {
    const { page } = s;
    const panel = page.getByRole('region', { name: 'Main' });
    // The key download is PEM, not JSON.
    const publicKey = async () => (await fetch(`${s.pomona.url}/api/v1/abm-servers/${serverId}/public-key`, { headers: { authorization: `Bearer ${s.pomona.token}` } })).text();
    const oldPem = await publicKey();
    await button(panel, 'Upload new token').click();
    const guide = page.getByRole('dialog', { name: 'Upload a new token for Main' });
    const [download] = await Promise.all([page.waitForEvent('download'), button(guide, 'Prepare a new key pair').click()]);
    expect(download.suggestedFilename()).toBe('Main-new.pem');
    const newPem = readFileSync((await download.path())!, 'utf8');
    expect(newPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(newPem).not.toBe(oldPem);
    await guide.getByText('A new key pair is prepared and waits for its token').waitFor();
    expect((await s.pomona.api(`/api/v1/abm-servers/${serverId}`)).json.stagedKey).toBe(true);
    await s.screenshot('abm-token-renewal-new-key');
    await button(guide, 'Next').click();
    expect(await guide.textContent()).toContain('upload the public key file from step 1');
    await button(guide, 'Next').click();
    const token = sim.issueToken(appleServer, newPem);
    await guide.getByLabel('Server token file (.p7m)').setInputFiles({ name: token.fileName, mimeType: 'application/pkcs7-mime', buffer: Buffer.from(token.smime) });
    await button(guide, 'Upload token').click();
    await page.getByText('Main is connected to Apple Business Manager').waitFor();
    // The new pair replaced the old one: its key is the one Apple now has.
    const after = await s.pomona.api(`/api/v1/abm-servers/${serverId}`);
    expect(after.json.stagedKey).toBe(false);
    expect(await publicKey()).toBe(newPem);
    await s.pomona.ctx.scheduler.runNow('abm-sync');

    // Editing: sync interval and organization group (PATCH), shown in the panel at once.
    const west = (await s.pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'West', groupId: 'WEST' } })).json.id as string;
    await page.reload();
    await button(panel, 'Edit server').click();
    const edit = page.getByRole('dialog', { name: 'Edit Main' });
    expect(await edit.getByLabel('Name').inputValue()).toBe('Main');
    await edit.getByLabel('Sync every (minutes)').fill('2');
    await button(edit, 'Save changes').click();
    // The API's refusal, at its field (5 minutes at the least).
    await edit.locator('[id="server-interval-error"]').getByText(/syncIntervalMinutes must be >= 5/).waitFor();
    await edit.getByLabel('Sync every (minutes)').fill('60');
    await edit.getByLabel('Organization group').selectOption({ label: 'Global › West' });
    await s.screenshot('abm-server-edit');
    await button(edit, 'Save changes').click();
    await page.getByText('Saved the settings of Main.').waitFor();
    await panel.getByText('(every 60 min)').waitFor();
    expect(await panel.getByRole('definition').filter({ hasText: /^West$/ }).count()).toBe(1);
    const edited = (await s.pomona.api(`/api/v1/abm-servers/${serverId}`)).json;
    expect(edited).toMatchObject({ name: 'Main', syncIntervalMinutes: 60, organizationGroupId: west });
    // The dialog closed, the focus is back on the button that opened it.
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Edit server');
    expectNoConsoleErrors(s);
  });

  it('creates a profile, shows a validation error at its field, refuses a save over a newer revision', async () => {
    const { page } = s;
    await button(page.getByRole('region', { name: 'Main' }), 'Add profile').click();
    await page.getByRole('heading', { name: 'New enrollment profile' }).waitFor();
    await page.getByLabel('Profile name').fill('Corporate');
    await page.getByRole('tab', { name: /iPhone & iPad/ }).click();
    await page.getByRole('checkbox', { name: /^Siri / }).check();
    await page.getByRole('checkbox', { name: /^AppleID / }).check();
    // The platform tabs work from the keyboard too.
    await page.getByRole('tab', { name: /iPhone & iPad/ }).press('ArrowRight');
    await expect.poll(() => page.getByRole('tab', { name: /^Mac/ }).getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('skip-tab-macOS');
    await page.getByRole('checkbox', { name: /^FileVault / }).check();
    expect(await page.getByText('3 panes skipped: Siri, AppleID, FileVault.').count()).toBe(1);
    await button(page, 'Create profile').click();
    await page.getByText('Profile created. It is the default of this server: new devices get it.').waitFor();
    corporateId = new URL(page.url()).pathname.split('/').pop()!;
    const created = await s.pomona.api(`/api/v1/dep-profiles/${corporateId}`);
    expect(created.json.settings.apple).toMatchObject({ profile_name: 'Corporate', skip_setup_items: ['Siri', 'AppleID', 'FileVault'] });
    expect(created.json.isDefault).toBe(true);

    // The API's problem lands at its field, and in the list on top.
    await page.getByLabel('Support e-mail').fill('helpdesk-at-example');
    await page.getByLabel('Minimum version').first().fill('17.4');
    await button(page, 'Save profile').click();
    const fieldError = page.locator('[id="apple.support_email_address-error"]');
    await fieldError.waitFor();
    expect(await fieldError.textContent()).toBe('"helpdesk-at-example" is not an e-mail address');
    await page.getByRole('heading', { name: '1 problem to fix before saving' }).waitFor();
    await s.screenshot('profile-editor-validation');
    await page.setViewportSize({ width: 820, height: 1000 });
    await s.screenshot('profile-editor-tablet');
    await page.setViewportSize({ width: 1280, height: 860 });

    await page.getByLabel('Support e-mail').fill('helpdesk@example.com');
    await button(page, 'Save profile').click();
    await page.getByText(/^Saved\./).waitFor();
    expect((await s.pomona.api(`/api/v1/dep-profiles/${corporateId}`)).json.settings).toMatchObject({
      apple: { support_email_address: 'helpdesk@example.com' },
      pomona: { osRules: { iOS: { minimum: { version: '17.4' } } } },
    });

    // Someone else saves meanwhile: this page's save is refused and their version offered.
    const theirs = (await s.pomona.api(`/api/v1/dep-profiles/${corporateId}`)).json;
    const other = await s.pomona.api(`/api/v1/dep-profiles/${corporateId}`, { method: 'PUT', body: { settings: { ...theirs.settings, apple: { ...theirs.settings.apple, department: 'Their department' } }, revision: theirs.revision } });
    expect(other.status).toBe(200);
    await page.getByLabel('Department').fill('My department');
    await button(page, 'Save profile').click();
    await page.getByText('Someone else changed this profile').waitFor();
    await s.screenshot('profile-editor-conflict');
    await button(page, 'Reload their version').click();
    await expect.poll(() => page.getByLabel('Department').inputValue()).toBe('Their department');

    // Enter in the "another skip key" field adds the key; it does not save the whole profile.
    await page.getByRole('checkbox', { name: /^Allow keys Pomona does not know/ }).check();
    await page.getByLabel('Another skip key').fill('PaneOf2027');
    await page.getByLabel('Another skip key').press('Enter');
    await page.getByRole('list', { name: 'Other skip keys' }).getByText('PaneOf2027').waitFor();
    await page.getByText('Unsaved changes').waitFor();
    expect((await s.pomona.api(`/api/v1/dep-profiles/${corporateId}`)).json.settings.apple.skip_setup_items).not.toContain('PaneOf2027');

    // Leaving through the console's links with unsaved edits asks first; staying keeps them.
    const asked: string[] = [];
    page.once('dialog', (d) => (asked.push(d.message()), void d.dismiss()));
    await nav(page, 'ABM servers').click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toBe('Leave this profile? Your unsaved changes are lost.');
    expect(new URL(page.url()).pathname).toBe(`/profiles/${corporateId}`);
    // The group switcher would remount the page: asked too, and kept as it was.
    const switcher = page.getByTestId('group-switcher');
    page.once('dialog', (d) => (asked.push(d.message()), void d.dismiss()));
    await switcher.selectOption({ label: '\u00a0\u00a0West (WEST)' });
    await expect.poll(() => asked.length).toBe(2);
    await expect.poll(() => switcher.evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.textContent)).toBe('Global (GLOBAL)');
    await page.getByRole('list', { name: 'Other skip keys' }).getByText('PaneOf2027').waitFor();
    page.once('dialog', (d) => void d.accept());
    await nav(page, 'ABM servers').click();
    await page.getByRole('heading', { level: 1, name: 'ABM servers' }).waitFor();
    expectNoConsoleErrors(s);
  });

  it('makes another profile the default and explains where the devices go before deleting', async () => {
    const { page } = s;
    const kiosk = await s.pomona.api(`/api/v1/abm-servers/${serverId}/profiles`, { body: { settings: { apple: { profile_name: 'Kiosk' } } } });
    expect(kiosk.status).toBe(201);
    // A few devices on Corporate explicitly, so its deletion has devices to move.
    const serials = sim.devices(appleServer).slice(0, 5).map((d) => d.serial_number);
    expect((await s.pomona.api('/api/v1/abm-devices/assign', { body: { serverId, serials, profileId: corporateId } })).status).toBe(200);

    await nav(page, 'Enrollment profiles').click();
    const corporate = page.getByRole('row', { name: /Corporate/ });
    await corporate.getByText('Default', { exact: true }).waitFor();
    await button(page, 'Make “Kiosk” the default').click();
    await page.getByText('“Kiosk” is now the default: new devices of Main get it.').waitFor();
    await page.getByRole('row', { name: /Kiosk/ }).getByText('Default', { exact: true }).waitFor();
    const devices = Number(await corporate.getByRole('cell').nth(1).textContent());
    expect(devices).toBeGreaterThanOrEqual(5);
    await s.screenshot('enrollment-profiles');

    await button(page, 'Delete “Corporate”').click();
    const confirm = page.getByRole('dialog', { name: 'Delete the profile “Corporate”?' });
    expect(await confirm.textContent()).toContain(`Its ${devices} devices move to the default profile “Kiosk”`);
    await s.screenshot('profile-delete-confirm');
    await confirm.getByRole('button', { name: 'Delete profile' }).click();
    await page.getByText(`Deleted “Corporate”. ${devices} devices moved to “Kiosk”.`).waitFor();
    await expect.poll(() => page.getByRole('row', { name: /Corporate/ }).count()).toBe(0);
    expect((await s.pomona.api(`/api/v1/dep-profiles/${corporateId}`)).status).toBe(404);
    expectNoConsoleErrors(s);
  });

  it('resets a cursor and deletes a server, each confirmed with what it does', async () => {
    const { page } = s;
    expect((await s.pomona.api('/api/v1/abm-servers', { body: { name: 'Spare', baseUrl: sim.url } })).status).toBe(201);
    await nav(page, 'ABM servers').click();
    await page.getByRole('link', { name: 'Main', exact: true }).click();
    await button(page.getByRole('region', { name: 'Main' }), 'Reset cursor').click();
    const reset = page.getByRole('dialog', { name: 'Reset the sync cursor of Main?' });
    // Escape cancels, and the focus goes back to the button that opened it.
    await page.keyboard.press('Escape');
    await expect.poll(() => reset.count()).toBe(0);
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Reset cursor');
    await page.keyboard.press('Enter');
    expect(await reset.textContent()).toContain('fetches every device of this server from Apple again (250 devices known now)');
    await reset.getByRole('button', { name: 'Reset cursor' }).click();
    await page.getByText('The cursor of Main is reset: a full sync starts in a moment.').waitFor();
    await page.getByRole('row', { name: /Main/ }).getByText('Full sync queued').waitFor();

    await page.getByRole('link', { name: 'Spare', exact: true }).click();
    await page.getByRole('region', { name: 'Spare' }).getByText('Upload the server token from Apple Business Manager to connect.').waitFor();
    await button(page.getByRole('region', { name: 'Spare' }), 'Edit server').click();
    const edit = page.getByRole('dialog', { name: 'Edit Spare' });
    await edit.getByLabel('Name').fill('Spare HQ');
    await button(edit, 'Save changes').click();
    await page.getByText('Saved the settings of Spare HQ.').waitFor();
    await page.getByRole('link', { name: 'Spare HQ', exact: true }).waitFor();
    const spare = page.getByRole('region', { name: 'Spare HQ' });
    await button(spare, 'Delete ABM server').click();
    const del = page.getByRole('dialog', { name: 'Delete Spare HQ?' });
    expect(await del.textContent()).toMatch(/its 0 device records and 0 enrollment profiles are deleted, with its token and key;.*devices that already enrolled stay enrolled and managed/);
    await s.screenshot('abm-server-delete-confirm');
    await del.getByRole('button', { name: 'Delete ABM server' }).click();
    await page.getByText('Deleted Spare HQ.').waitFor();
    await expect.poll(() => page.getByRole('row', { name: /Spare/ }).count()).toBe(0);
    // The panel that held the button is gone: the focus rests on the page, not lost on <body>.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('main');
    expectNoConsoleErrors(s);
  });

  it('shows a read-only admin the servers and profiles without any write action', async () => {
    expect((await s.pomona.api('/api/v1/admins', { body: { ...READER, role: 'read-only' } })).status).toBe(201);
    const page = await s.signInAs(READER.username, READER.password);
    await page.goto('/abm-servers');
    await page.getByRole('region', { name: 'Main' }).waitFor();
    for (const name of ['Add ABM server', 'Upload new token', 'Test connection', 'Sync now', 'Full sync', 'Reset cursor', 'Add profile', 'Edit server', 'Delete ABM server']) {
      expect(await button(page, name).count(), name).toBe(0);
    }
    await button(page, 'Download public key').waitFor();
    await s.screenshot('abm-servers-read-only', page);

    await nav(page, 'Enrollment profiles').click();
    await page.getByRole('row', { name: /Kiosk/ }).waitFor();
    for (const name of [/^New profile$/, /^Make /, /^Delete/]) expect(await button(page, name).count(), String(name)).toBe(0);
    await page.getByRole('link', { name: 'Kiosk' }).click();
    await page.getByText('You can view this profile; changing it needs an administrator.').waitFor();
    for (const name of ['Save profile', 'Set as default', 'Delete', 'Add attribute']) expect(await button(page, name).count(), name).toBe(0);
    expect(await page.getByLabel('Profile name').getAttribute('readonly')).not.toBeNull();
    expect(await page.getByRole('checkbox', { name: /^Supervised/ }).isDisabled()).toBe(true);
    await s.screenshot('profile-editor-read-only', page);
    expectNoConsoleErrors(s);
  });
});
