/**
 * The Devices pages and the enrollment status page in a real browser, with a simulated iPhone
 * enrolled through the real profile and answering its pushes: found in the list, opened, sent a
 * command from the form whose answer arrives, pushed, moved to another group, assigned to a user,
 * retired; another released from Setup Assistant; a Mac's managed administrator password revealed (audited) and rotated; the
 * enrollment status counts devices and an abandoned enrollment attempt; a read-only admin sees
 * none of the actions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedDevice } from '../../src/sim/device.js';
import { insertGroup } from '../support/fleet.js';
import { abandonedAttempt, attachedProfile, enrolledDevice, managedAdminAccount } from './support/devices-fixture.js';
import { ADMIN, expectNoConsoleErrors, skipWithoutBrowser, startConsole, type ConsoleSession } from './support/console.js';

describe.skipIf(skipWithoutBrowser)('devices (browser)', () => {
  let s: ConsoleSession;
  let iphone: SimulatedDevice;
  let mac: SimulatedDevice;
  let deviceId: string;

  beforeAll(async () => {
    s = await startConsole();
    await insertGroup(s.pomona.ctx.database.db, { id: 'lyon', parentId: 'global', name: 'Lyon', code: 'LYON' });
    iphone = await enrolledDevice(s.pomona, { platform: 'iOS', serialNumber: 'E2EPHONE0001' });
    mac = await enrolledDevice(s.pomona, { platform: 'macOS', serialNumber: 'E2EMAC000001' });
    await managedAdminAccount(s.pomona, mac);
    deviceId = (await s.pomona.api(`/api/v1/devices/${iphone.udid}`)).json.device.id;
    await abandonedAttempt(s.pomona, { mode: 'web', groupId: 'lyon' });
  });
  afterAll(() => s?.close());

  it('finds the device in the list by search and filters, and opens it', async () => {
    const { page } = s;
    await page.goto('/devices');
    const table = page.getByRole('table', { name: 'Devices' });
    await expect.poll(() => table.getByRole('row').count()).toBe(3); // header + two devices
    await page.getByLabel('Platform').selectOption('macOS');
    await expect.poll(() => table.textContent()).not.toContain('E2EPHONE0001');
    await page.getByLabel('Platform').selectOption('');
    await page.getByLabel('Search').fill('e2ephone');
    await expect.poll(() => page.url()).toContain('q=e2ephone');
    await expect.poll(() => table.getByRole('row').count()).toBe(2);
    expect(await table.textContent()).toContain('Enrolled');
    await s.screenshot('devices-list');
    await table.getByRole('link').first().click();
    await expect.poll(() => page.url()).toBe(`${s.pomona.url}/devices/${deviceId}`);
    await page.getByRole('heading', { name: 'Hardware and OS' }).waitFor();
    const enrollment = page.getByRole('region', { name: 'Enrollment' });
    await expect.poll(() => enrollment.textContent()).toContain('Global');
    expect(await page.getByRole('region', { name: 'Hardware and OS' }).textContent()).toContain('E2EPHONE0001');
    expectNoConsoleErrors(s);
  });

  it('empties the search box when the filters are cleared', async () => {
    const { page } = s;
    await page.goto('/devices?q=e2ephone');
    const table = page.getByRole('table', { name: 'Devices' });
    const search = page.getByRole('searchbox', { name: 'Search' });
    await expect.poll(() => table.getByRole('row').count()).toBe(2);
    await page.getByLabel('Lifecycle').selectOption('removed');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => table.getByRole('row').count()).toBe(3);
    expect(await search.inputValue()).toBe('');
    expectNoConsoleErrors(s);
  });

  it('sends a command from the form and shows the device’s answer when it arrives', async () => {
    const { page } = s;
    await page.goto(`/devices/${deviceId}`);
    await page.getByRole('button', { name: 'Send command…' }).click();
    const dialog = page.getByRole('dialog', { name: /Send a command/ });
    await dialog.getByLabel('Command').selectOption('DeviceInformation');
    await dialog.getByLabel('Queries (optional)').fill('DeviceName\nSerialNumber\nOSVersion');
    await s.screenshot('device-command-form');
    await dialog.getByRole('button', { name: 'Send command' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('DeviceInformation queued and the device pushed');
    // The device answers its push; the list refreshes itself until the answer is there.
    const commands = page.getByRole('region', { name: 'Commands' });
    await expect.poll(() => commands.getByRole('row').filter({ hasText: 'DeviceInformation' }).textContent(), { timeout: 15_000 }).toContain('Done');
    await commands.getByRole('button', { name: /Result of DeviceInformation/ }).click();
    const result = page.getByRole('dialog', { name: 'DeviceInformation — result' });
    await expect.poll(() => result.textContent()).toContain('E2EPHONE0001');
    expect(await result.textContent()).toContain('QueryResponses');
    await s.screenshot('device-command-result');
    await result.getByRole('button', { name: 'Close' }).click();
    expectNoConsoleErrors(s);
  });

  it('pushes the device now', async () => {
    const { page } = s;
    const before = s.pomona.apns.pushes.filter((p) => p.token === iphone.pushToken).length;
    await page.goto(`/devices/${deviceId}`);
    await page.getByRole('button', { name: 'Push now' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('Push sent to the device');
    expect(s.pomona.apns.pushes.filter((p) => p.token === iphone.pushToken).length).toBe(before + 1);
    await s.screenshot('device-detail');
    expectNoConsoleErrors(s);
  });

  it('shows the push just made among the device’s facts', async () => {
    const { page } = s;
    const macId = (await s.pomona.api(`/api/v1/devices/${mac.udid}`)).json.device.id as string;
    await page.goto(`/devices/${macId}`);
    const enrollment = page.getByRole('region', { name: 'Enrollment' });
    await expect.poll(() => enrollment.textContent()).toContain('Ready, never pushed');
    await page.getByRole('button', { name: 'Push now' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('Push sent to the device');
    // Read again with the push, not left as the page first read the device.
    await expect.poll(() => enrollment.textContent()).toContain('Last push');
    expect(await enrollment.textContent()).not.toContain('never pushed');
    expectNoConsoleErrors(s);
  });

  it('says why the setup plan could not be read instead of leaving it out', async () => {
    const { page } = s;
    await page.route('**/setup-plan', (route) => route.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ error: 'forbidden', message: 'outside your organization group' }) }));
    await page.goto(`/devices/${deviceId}`);
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('The setup plan could not be read: outside your organization group');
    await page.unroute('**/setup-plan');
    expectNoConsoleErrors(s);
  });

  it('moves the device to another group of the switcher', async () => {
    const { page } = s;
    await page.goto(`/devices/${deviceId}`);
    await page.getByRole('button', { name: 'Move to group…' }).click();
    const dialog = page.getByRole('dialog', { name: /Move .* to another group/ });
    await dialog.getByLabel('Organization group').selectOption('lyon');
    await dialog.getByRole('button', { name: 'Move device' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('Moved to Lyon.');
    expect((await s.pomona.api(`/api/v1/devices/${deviceId}`)).json.device.organizationGroupId).toBe('lyon');
    await expect.poll(() => page.getByRole('region', { name: 'Enrollment' }).textContent()).toContain('Global › Lyon');
    expectNoConsoleErrors(s);
  });

  it('assigns the device to a user found by name', async () => {
    const created = await s.pomona.api('/api/v1/users', { body: { username: 'bea', password: 'a long enough user password', displayName: 'Bea Martin', defaultGroupId: 'global' } });
    expect(created.status).toBe(201);
    const { page } = s;
    await page.goto(`/devices/${deviceId}`);
    await page.getByRole('button', { name: 'Assign user…' }).click();
    const dialog = page.getByRole('dialog', { name: /Assign .* to a user/ });
    await dialog.getByLabel('Find a user').fill('martin');
    await dialog.getByRole('radio', { name: /Bea Martin/ }).check();
    await s.screenshot('device-assign-user');
    await dialog.getByRole('button', { name: 'Assign user' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('Assigned to Bea Martin.');
    await expect.poll(() => page.getByRole('region', { name: 'Enrollment' }).textContent()).toContain('Bea Martin (bea)');
    expect((await s.pomona.api(`/api/v1/devices/${deviceId}`)).json.device.userId).toBe(created.json.id);
    expectNoConsoleErrors(s);
  });

  it('shows a Mac’s bootstrap token status and, saying the view is audited, its managed administrator password', async () => {
    const { page } = s;
    await page.goto(`/devices/${mac.udid}`);
    const security = page.getByRole('region', { name: 'Security' });
    await expect.poll(() => security.textContent()).toContain('IT Administrator (itadmin)');
    expect(await security.textContent()).toContain('Not escrowed');
    await security.getByRole('button', { name: 'View password…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Password of itadmin' });
    expect(await dialog.textContent()).toContain('recorded in the audit log as viewed by ada');
    expect((await s.pomona.api('/api/v1/audit-events?action=device.managed_admin_password.view')).json.events).toHaveLength(0);
    await dialog.getByRole('button', { name: 'Reveal password' }).click();
    const shown = dialog.getByLabel('Managed administrator password');
    await shown.waitFor();
    expect(await shown.textContent()).toMatch(/^\S{16}$/);
    await s.screenshot('device-managed-admin-password');
    const audit = (await s.pomona.api('/api/v1/audit-events?action=device.managed_admin_password.view')).json.events;
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toContain('ada');
    await dialog.getByRole('button', { name: 'Done' }).click();
    // Rotating asks first; Pomona then asks the Mac for the account's GUID. This Mac was given its
    // account without Setup Assistant, so it knows none: its refusal shows as the last error.
    await security.getByRole('button', { name: 'Rotate password…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Rotate the password of itadmin?' });
    expect(await confirm.textContent()).toContain('stays valid');
    await confirm.getByRole('button', { name: 'Rotate password' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('Rotation sent');
    await expect.poll(async () => (await s.pomona.api(`/api/v1/devices/${mac.udid}/managed-admin`)).json.lastError?.message).toMatch(/no managed administrator named "itadmin"/);
    await page.reload();
    await expect.poll(() => security.textContent()).toContain('Last error');
    await s.screenshot('device-mac-security');
    expectNoConsoleErrors(s);
  });

  it('counts devices and enrollment attempts by state, the abandoned attempt included, per group', async () => {
    const { page } = s;
    await page.goto('/enrollment-status');
    const enrolled = page.getByRole('link', { name: /^2 Enrolled:/ });
    await enrolled.waitFor();
    const abandoned = page.getByRole('link', { name: /^1 Abandoned:/ });
    await abandoned.waitFor();
    const attempts = page.getByRole('table', { name: 'Abandoned enrollment attempts' });
    await expect.poll(() => attempts.textContent()).toContain('Web enrollment');
    expect(await attempts.textContent()).toContain('Lyon');
    const lyon = page.getByRole('table', { name: /per group/ }).getByRole('row').filter({ hasText: 'LYON' });
    expect(await lyon.getByRole('cell').allTextContents()).toEqual(['Lyon (LYON)', '0', '0', '1', '0', '0', '1', '0', '1']);
    await s.screenshot('enrollment-status');
    // a group's abandoned attempts
    await lyon.getByRole('link', { name: '1 abandoned in Lyon' }).click();
    await expect.poll(() => page.url()).toBe(`${s.pomona.url}/enrollment-status?staging=incomplete&group=lyon`);
    expect(await page.getByRole('region', { name: /Abandoned attempts/ }).textContent()).toContain('Only group Lyon');
    // each state leads to its list
    await enrolled.click();
    await expect.poll(() => page.url()).toBe(`${s.pomona.url}/devices?lifecycle=enrolled`);
    await expect.poll(() => page.getByRole('table', { name: 'Devices' }).getByRole('row').count()).toBe(3);
    expectNoConsoleErrors(s);
  });

  it('fits the list, the detail and the status page at tablet width', async () => {
    const page = await s.signInAs(ADMIN.username, ADMIN.password);
    await page.setViewportSize({ width: 820, height: 1180 });
    const loaded: [string, string][] = [['/devices', 'Devices'], [`/devices/${deviceId}`, 'Commands sent to this device'], ['/enrollment-status', 'Abandoned enrollment attempts']];
    for (const [path, table] of loaded) {
      await page.goto(path);
      await page.getByRole('table', { name: table }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
    await page.goto(`/devices/${deviceId}`);
    await page.getByRole('heading', { name: 'Commands' }).waitFor();
    await s.screenshot('device-detail-tablet', page);
    await page.close();
    expectNoConsoleErrors(s);
  });

  it('shows a read-only admin the device but none of the actions', async () => {
    await s.pomona.api('/api/v1/admins', { body: { username: 'rita', password: 'a long enough read-only password', role: 'read-only' } });
    const page = await s.signInAs('rita', 'a long enough read-only password');
    await page.goto(`/devices/${deviceId}`);
    await page.getByRole('heading', { name: 'Commands' }).waitFor();
    await expect.poll(() => page.getByRole('region', { name: 'Commands' }).textContent()).toContain('DeviceInformation');
    for (const name of ['Push now', 'Send command…', 'Move to group…', 'Assign user…', 'Retire…', 'Release from Setup Assistant…']) {
      expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    }
    // the answers stay readable
    expect(await page.getByRole('button', { name: /Result of DeviceInformation/ }).count()).toBe(1);
    await s.screenshot('device-detail-read-only', page);
    await page.close();
    expectNoConsoleErrors(s);
  });

  it('releases a device waiting in Setup Assistant after saying what will happen', async () => {
    // A profile attached to the group makes the setup plan wait for the device's answer; the
    // device sleeps through its enrollment's push, so its plan is still running when the admin acts.
    await attachedProfile(s.pomona, 'global');
    const waiting = await enrolledDevice(s.pomona, { platform: 'iOS', serialNumber: 'E2EWAIT00001', awaitingConfiguration: true, asleep: true });
    const { page } = s;
    await page.goto(`/devices/${waiting.udid}`);
    await expect.poll(() => page.getByRole('region', { name: 'Enrollment' }).textContent()).toContain('In Setup Assistant');
    await expect.poll(() => page.getByRole('region', { name: /Setup plan/ }).textContent()).toContain('running');
    s.pomona.wake(waiting);
    await page.getByRole('button', { name: 'Release from Setup Assistant…' }).click();
    const confirm = page.getByRole('dialog', { name: /Release .* from Setup Assistant/ });
    expect(await confirm.textContent()).toContain('sends DeviceConfigured');
    await confirm.getByRole('button', { name: 'Release now' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('Released');
    const commands = page.getByRole('region', { name: 'Commands' });
    await expect.poll(() => commands.getByRole('row').filter({ hasText: 'DeviceConfigured' }).textContent(), { timeout: 15_000 }).toContain('Done');
    expect(waiting.setupAssistant.awaiting).toBe(false);
    // the plan is read again when the answer arrives
    await expect.poll(() => page.getByRole('region', { name: /Setup plan/ }).textContent()).toContain('2 of 2 steps done · manual');
    await s.screenshot('device-released');
    expectNoConsoleErrors(s);
  });

  it('retires the device after saying what will happen', async () => {
    const { page } = s;
    await page.goto(`/devices/${deviceId}`);
    await page.getByRole('button', { name: 'Retire…' }).click();
    const confirm = page.getByRole('dialog', { name: /Retire/ });
    expect(await confirm.textContent()).toContain('nothing is erased');
    await confirm.getByRole('button', { name: 'Retire device' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('Retired');
    expect((await s.pomona.api(`/api/v1/devices/${deviceId}`)).json.device.lifecycleState).toBe('removed');
    expect(await page.getByRole('button', { name: 'Push now' }).count()).toBe(0);
    expectNoConsoleErrors(s);
  });
});
