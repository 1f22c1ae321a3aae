/**
 * ABM devices and their ADE timelines in a real browser, against Pomona connected to the ABM
 * simulator (test/e2e/support/ade-fixture.ts): search, filter and sort on the server; a bulk
 * assignment with a result per device (one refused by Apple); the CSV of the current filter
 * read back from the download; simulated devices going through ADE and showing up enrolled with
 * their timeline (sign-in, terms, a refusal with its reason); a read-only admin offered no bulk
 * action.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareAde, type AdeFixture, type AdeOrganization } from './support/ade-fixture.js';
import { expectNoConsoleErrors, skipWithoutBrowser, startConsole, type ConsoleSession } from './support/console.js';

const PHONES = ['E2EPHONE0001', 'E2EPHONE0002', 'E2EPHONE0003', 'E2EPHONE0004', 'E2EPHONE0005'];
const PADS = ['E2EPAD00001', 'E2EPAD00002'];
const MAC = 'E2EMAC00001';
const USER = { username: 'erin', password: 'erin has a long passphrase' };

describe.skipIf(skipWithoutBrowser)('ABM devices and ADE timeline (browser)', () => {
  let ade: AdeFixture;
  let s: ConsoleSession;
  let org: AdeOrganization;

  /** The serial numbers in the table, in order. */
  const serials = (page: Page) => page.getByRole('table', { name: 'ABM devices' }).locator('tbody tr td:nth-child(2) a').allTextContents();
  const serialsRO = (page: Page) => page.getByRole('table', { name: 'ABM devices' }).locator('tbody tr td:nth-child(1) a').allTextContents();

  beforeAll(async () => {
    ade = await prepareAde();
    s = await startConsole('sqlite', ade.config);
    org = await ade.connect(s.pomona, {
      devices: [
        ...PHONES.map((serial_number, i) => ({ serial_number, device_family: 'iPhone', model: 'iPhone 15', os: 'iOS', description: `Sales phone ${i + 1}` }) as const),
        ...PADS.map((serial_number) => ({ serial_number, device_family: 'iPad', model: 'iPad Air', os: 'iOS', description: 'Warehouse iPad' }) as const),
        { serial_number: MAC, device_family: 'Mac', model: 'MacBook Air', os: 'OSX', description: 'Design Mac' } as const,
      ],
      profiles: {
        Phones: {
          apple: { profile_name: 'Phones', await_device_configured: false },
          pomona: { osRules: { iOS: { minimum: { version: '17.4' }, message: 'Update this iPhone to iOS 17.4 first.' } } },
        },
        'Sign-in': { apple: { profile_name: 'Sign-in', await_device_configured: false }, pomona: { authentication: { enabled: true, methods: ['password'] } } },
        Macs: { apple: { profile_name: 'Macs', await_device_configured: true } },
      },
      user: USER,
      termsOfUse: 'This device belongs to the company.',
    });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await ade?.close();
  });

  it('searches, filters and sorts on the server, keeping the filter in the address', async () => {
    const { page } = s;
    await page.getByRole('link', { name: 'ABM devices' }).click();
    await expect.poll(() => serials(page)).toEqual([MAC, ...PADS, ...PHONES]);
    await expect.poll(() => page.getByRole('table', { name: 'ABM devices' }).locator('tbody tr').first().textContent()).toContain('Phones (default)');

    await page.getByLabel('Search').fill('warehouse');
    await expect.poll(() => serials(page)).toEqual(PADS);
    expect(page.url()).toContain('q=warehouse');
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Lifecycle').selectOption({ label: 'Registered' });
    await page.getByRole('button', { name: 'Serial number' }).click(); // ascending already: now descending
    await expect.poll(() => serials(page)).toEqual([...[...PHONES].reverse(), ...[...PADS].reverse(), MAC]);
    await page.getByLabel('Lifecycle').selectOption({ label: 'Enrolled' });
    await page.getByRole('heading', { name: 'No devices match these filters' }).waitFor();
    await s.screenshot('abm-devices-empty-filter');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('button', { name: 'Model' }).click(); // SQLite: byte order, 'MacBook Air' before 'iPad Air'
    await expect.poll(() => serials(page)).toEqual([MAC, ...PADS, ...PHONES]);
    await page.getByRole('button', { name: 'Model' }).click();
    await expect.poll(() => serials(page)).toEqual([...PHONES, ...PADS, MAC]);
    await s.screenshot('abm-devices-list');
    await page.setViewportSize({ width: 820, height: 1100 });
    await s.screenshot('abm-devices-list-tablet');
    await page.setViewportSize({ width: 1280, height: 860 });
    expectNoConsoleErrors(s);
  });

  it('assigns a profile to the selected devices and shows each device’s result', async () => {
    const { page } = s;
    // Beyond the page: every device the filter matches, read from the server.
    await page.goto('/abm-devices?q=E2EPHONE&limit=3');
    await expect.poll(() => serials(page)).toEqual(PHONES.slice(0, 3));
    await page.getByLabel('Select all on this page').check();
    const bar = page.getByRole('region', { name: 'Bulk actions' });
    await bar.getByText('3 selected').waitFor();
    await bar.getByRole('button', { name: 'Select all 5 matching devices' }).click();
    await bar.getByText('5 selected').waitFor();
    await bar.getByRole('button', { name: 'Clear selection' }).click();
    expect(await bar.count()).toBe(0);

    await page.goto('/abm-devices');
    await expect.poll(() => serials(page)).toHaveLength(8);
    // Apple refuses one of them.
    ade.sim.scriptAssignResult([PHONES[3]!], 'FAILED');
    for (const serial of [PHONES[2]!, PHONES[3]!, PADS[0]!]) await page.getByLabel(`Select ${serial}`).check();
    await page.getByRole('region', { name: 'Bulk actions' }).getByText('3 selected').waitFor();
    await page.getByRole('button', { name: 'Assign or move profile…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Assign a profile to 3 devices' });
    await dialog.getByLabel('Enrollment profile').selectOption({ label: 'Sign-in' });
    await dialog.getByRole('button', { name: 'Assign profile' }).click();

    const results = page.getByRole('dialog', { name: 'Assign profile' });
    await expect.poll(() => results.getByRole('status').textContent()).toContain('2 of 3 assigned; 1 not');
    const rows = await results.getByRole('table', { name: 'Result per device' }).locator('tbody tr').allTextContents();
    expect(rows[0]).toContain(PHONES[3]);
    expect(rows[0]).toContain('Failed at Apple');
    expect(rows.slice(1).every((r) => r.includes('Done'))).toBe(true);
    await s.screenshot('abm-devices-bulk-results');
    await results.getByRole('button', { name: 'Done' }).click();

    await page.getByLabel('Enrollment profile').selectOption({ label: 'Sign-in' });
    await expect.poll(() => serials(page)).toEqual([PADS[0], PHONES[2], PHONES[3]]);
    // Pomona keeps the refused one on the profile and says what Apple answered.
    const refused = page.getByRole('row').filter({ hasText: PHONES[3]! });
    await expect.poll(() => refused.textContent()).toContain('FAILED');

    // Removing a profile says what will happen first.
    await page.getByLabel('Enrollment profile').selectOption({ label: 'Any profile' });
    await page.getByLabel(`Select ${PHONES[4]}`).check();
    await page.getByRole('button', { name: 'Remove profile…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove the enrollment profile from 1 device?' });
    expect(await confirm.textContent()).toContain('will not enroll with Pomona');
    await confirm.getByRole('button', { name: 'Remove profile' }).click();
    const removed = page.getByRole('dialog', { name: 'Remove profile' });
    await expect.poll(() => removed.getByRole('status').textContent()).toContain('1 of 1 removed');
    await removed.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByRole('row').filter({ hasText: PHONES[4]! }).textContent()).toContain('None (removed by an admin)');
    expectNoConsoleErrors(s);
  });

  it('exports the current filter as CSV, showing the download', async () => {
    const { page } = s;
    await page.goto(`/abm-devices?profile=${org.profiles['Sign-in']}`);
    await expect.poll(() => serials(page)).toHaveLength(3);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV (3)' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^abm-devices-\d{4}-\d\d-\d\d\.csv$/);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/);
    const header = lines[0]!.split(',');
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
    expect(rows.map((r) => r.serial_number)).toEqual([PADS[0], PHONES[2], PHONES[3]]);
    expect(rows.map((r) => r.pomona_profile)).toEqual(['Sign-in', 'Sign-in', 'Sign-in']);
    expect(rows.map((r) => r.lifecycle_state)).toEqual(['registered', 'registered', 'registered']);
    expect(rows.find((r) => r.serial_number === PHONES[3])?.assign_result).toBe('FAILED');
    await s.screenshot('abm-devices-csv');
    expectNoConsoleErrors(s);
  });

  it('shows devices enrolling through ADE as enrolled, each with its timeline', async () => {
    const { page } = s;
    await page.goto('/abm-devices?lifecycle=enrolled');
    await page.getByRole('heading', { name: 'No devices match these filters' }).waitFor();
    await org.api('/api/v1/abm-devices/assign', { body: { serverId: org.serverId, serials: [MAC], profileId: org.profiles.Macs } });
    const outcomes = await ade.enroll([
      PHONES[0]!,
      PHONES[2]!, // on Sign-in: web view, password, terms
      PADS[1]!,
      MAC, // awaits configuration until Pomona releases it
      { serial: PHONES[1]!, osVersion: '16.7', build: '20H19', canRequestSoftwareUpdate: false }, // below the profile's minimum: refused
    ]);
    expect(outcomes.map((o) => o.outcome.kind)).toEqual(['enrolled', 'enrolled', 'enrolled', 'enrolled', 'refused']);
    await expect.poll(() => outcomes[3]!.device.device.setupAssistant.configured, { timeout: 20_000 }).toBe(true);
    await ade.sync(); // Apple now reports the profiles as pushed
    await page.reload();
    await expect.poll(() => serials(page)).toEqual([MAC, PADS[1], PHONES[0], PHONES[2]]);
    await s.screenshot('abm-devices-enrolled');

    await page.getByRole('link', { name: `${PHONES[2]} timeline` }).click();
    const timeline = page.getByRole('list', { name: 'ADE timeline, oldest first' });
    await expect.poll(() => timeline.textContent()).toContain('First check-in');
    const text = (await timeline.textContent())!;
    for (const step of ['Added to Apple Business Manager', 'Enrollment profile assigned', 'Profile pushed to the device', 'Web view opened', 'Signed in', 'Terms of use accepted', 'Enrollment profile delivered']) {
      expect(text).toContain(step);
    }
    expect(text).toContain(`${USER.username} (password)`);
    expect(text.indexOf('Web view opened')).toBeLessThan(text.indexOf('First check-in'));
    const device = (await s.pomona.api(`/api/v1/abm-devices/${PHONES[2]}`)).json;
    expect(await page.getByRole('link', { name: 'Open the enrolled device' }).getAttribute('href')).toBe(`/devices/${device.deviceId}`);
    await s.screenshot('abm-device-timeline');
    await page.setViewportSize({ width: 820, height: 1100 });
    await s.screenshot('abm-device-timeline-tablet');
    await page.setViewportSize({ width: 1280, height: 860 });

    // The Mac: its await-configuration steps and its release.
    await page.goto(`/abm-devices/${MAC}`);
    const mac = page.getByRole('list', { name: 'ADE timeline, oldest first' });
    await expect.poll(() => mac.textContent()).toContain('Released from await configuration');
    expect(await mac.textContent()).toContain('Awaiting configuration');
    expect(await mac.textContent()).toContain('every step succeeded');
    // the release comes after the device's answer to DeviceConfigured, last
    expect((await mac.locator(':scope > li').allTextContents()).at(-1)).toContain('Released from await configuration');
    await s.screenshot('abm-device-timeline-mac');

    // The refused device: still registered, its timeline says why in red.
    await page.goto(`/abm-devices/${PHONES[1]}`);
    const failed = page.getByRole('list', { name: 'ADE timeline, oldest first' }).locator('li[data-outcome="failed"]');
    await expect.poll(() => failed.first().textContent()).toContain('Update this iPhone to iOS 17.4 first.');
    expect(await failed.first().getByText('Failed', { exact: true }).isVisible()).toBe(true);
    expect(await page.getByRole('link', { name: 'Open the enrolled device' }).count()).toBe(0);
    await s.screenshot('abm-device-timeline-refused');
    expectNoConsoleErrors(s);
  });

  it('keeps to the organization group chosen in the switcher (devices belong to their ABM server’s group)', async () => {
    const { page } = s;
    const sales = (await s.pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Sales', groupId: 'SALES' } })).json.id as string;
    await page.goto('/abm-devices');
    await page.reload(); // the switcher lists the new group
    await page.getByLabel('Organization group').selectOption({ label: 'Sales (SALES)' });
    await page.getByRole('heading', { name: 'No ABM server serves Sales' }).waitFor();
    await s.screenshot('abm-devices-other-group');
    expect((await s.pomona.api(`/api/v1/abm-servers/${org.serverId}`, { method: 'PATCH', body: { organizationGroupId: sales } })).status).toBe(200);
    await page.reload();
    await expect.poll(() => serials(page)).toHaveLength(8);
    await page.getByLabel('Organization group').selectOption({ label: 'Global (GLOBAL)' });
    await expect.poll(() => serials(page)).toHaveLength(8);
    expectNoConsoleErrors(s);
  });

  it('offers a read-only admin the list, the export and the timelines, but no bulk action', async () => {
    expect((await s.pomona.api('/api/v1/admins', { body: { username: 'rhea', password: 'rhea reads but never writes', role: 'read-only' } })).status).toBe(201);
    const page = await s.signInAs('rhea', 'rhea reads but never writes');
    await page.goto('/abm-devices');
    await expect.poll(() => serialsRO(page)).toHaveLength(8);
    expect(await page.getByRole('checkbox').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Assign|Remove profile/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Export CSV/ }).isVisible()).toBe(true);
    await s.screenshot('abm-devices-read-only', page);
    expectNoConsoleErrors(s);
  });
});
