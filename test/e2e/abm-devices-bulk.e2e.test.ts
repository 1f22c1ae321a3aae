/**
 * The long operations of the ABM devices page with a few hundred devices from the ABM simulator:
 * the CSV export shows its progress and can be cancelled (nothing is saved, no error), and a bulk
 * assignment shows its progress batch by batch and stops after the batch under way when asked.
 * The browser's requests are held (playwright routes) at the moment the test looks, so what it sees
 * does not depend on how fast the machine is.
 */
import { readFileSync } from 'node:fs';
import type { Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareAde, type AdeFixture } from './support/ade-fixture.js';
import { expectNoConsoleErrors, skipWithoutBrowser, startConsole, type ConsoleSession } from './support/console.js';

const COUNT = 300;
const SERIALS = Array.from({ length: COUNT }, (_, i) => `E2EBULK${String(i + 1).padStart(5, '0')}`);

/** A gate for held requests: `hold` waits until `open` is called. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe.skipIf(skipWithoutBrowser)('ABM devices: export and bulk progress (browser)', () => {
  let ade: AdeFixture;
  let s: ConsoleSession;

  beforeAll(async () => {
    ade = await prepareAde();
    s = await startConsole('sqlite', ade.config);
    await ade.connect(s.pomona, {
      devices: SERIALS.map((serial_number) => ({ serial_number, device_family: 'iPhone', model: 'iPhone 15', os: 'iOS' }) as const),
      profiles: {
        Phones: { apple: { profile_name: 'Phones', await_device_configured: false } },
        Kiosk: { apple: { profile_name: 'Kiosk', await_device_configured: false } },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await ade?.close();
  });

  it('shows the CSV export’s progress, cancels it without saving or an error, and exports every row when let run', async () => {
    const { page } = s;
    await page.goto('/abm-devices');
    const exportButton = page.getByRole('button', { name: `Export CSV (${COUNT})` });
    await exportButton.waitFor();

    // Held: the download is under way, its count against the filter's total, with Cancel.
    const held = gate();
    let downloads = 0;
    page.on('download', () => downloads++);
    await page.route('**/api/v1/abm-devices.csv*', async (route: Route) => {
      await held.opened;
      await route.continue().catch(() => undefined); // the browser may have given up on it
    });
    await exportButton.click();
    const progress = page.getByRole('progressbar');
    await expect.poll(() => progress.getAttribute('aria-label')).toBe(`Downloading CSV… 0 of ${COUNT} devices`);
    await s.screenshot('abm-devices-csv-progress');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await exportButton.waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    held.open();
    await page.unroute('**/api/v1/abm-devices.csv*');
    expect(downloads).toBe(0);

    const [download] = await Promise.all([page.waitForEvent('download'), exportButton.click()]);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/);
    expect(lines).toHaveLength(COUNT + 1); // the header and every device
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(SERIALS);
    expectNoConsoleErrors(s);
  });

  it('assigns in batches with progress, and Stop ends the run after the batch under way', async () => {
    const { page } = s;
    await page.goto('/abm-devices?limit=25');
    await page.getByLabel('Select all on this page').check();
    const bar = page.getByRole('region', { name: 'Bulk actions' });
    await bar.getByRole('button', { name: `Select all ${COUNT} matching devices` }).click();
    await bar.getByText(`${COUNT} selected`).waitFor();

    // The second batch of 100 is held while the test looks and asks to stop.
    const held = gate();
    let batches = 0;
    await page.route('**/api/v1/abm-devices/assign', async (route: Route) => {
      if (++batches === 2) await held.opened;
      await route.continue();
    });
    await page.getByRole('button', { name: 'Assign or move profile…' }).click();
    const dialog = page.getByRole('dialog', { name: `Assign a profile to ${COUNT} devices` });
    await dialog.getByLabel('Enrollment profile').selectOption({ label: 'Kiosk' });
    await dialog.getByRole('button', { name: 'Assign profile' }).click();

    const run = page.getByRole('dialog', { name: 'Assign profile' });
    await expect.poll(() => run.getByRole('progressbar').getAttribute('aria-label')).toBe(`Assigning Kiosk… 100 of ${COUNT} devices`);
    await run.getByRole('button', { name: 'Stop' }).click();
    await run.getByText('Stopping after the current batch…').waitFor();
    expect(await run.getByRole('button', { name: 'Stop' }).isDisabled()).toBe(true);
    await s.screenshot('abm-devices-bulk-stopping');
    held.open();

    await expect.poll(() => run.getByRole('status').textContent()).toBe(`200 of ${COUNT} assigned (100 not attempted: stopped).`);
    expect(batches).toBe(2);
    await page.unroute('**/api/v1/abm-devices/assign');
    await s.screenshot('abm-devices-bulk-stopped');
    const firstRow = page.getByRole('table', { name: 'ABM devices' }).locator('tbody tr').first();
    expect(await firstRow.textContent()).toContain('Phones (default)');
    await run.getByRole('button', { name: 'Done' }).click();
    // The list is read again when the run is closed; only the batches sent took the profile.
    await expect.poll(() => firstRow.textContent()).toContain('Kiosk');
    await page.getByLabel('Enrollment profile').selectOption({ label: 'Kiosk' });
    await page.getByRole('button', { name: 'Export CSV (200)' }).waitFor();
    expectNoConsoleErrors(s);
  });
});

