/**
 * The admin console in a real browser for end-to-end tests: Debian's Chromium driven by
 * playwright-core (never a downloaded browser) against a real Pomona on loopback (startTestServer:
 * its own database, APNs simulator, admin token). Each test signs in as a real admin, fails on
 * any error in the browser console, and saves a screenshot of what it checked under
 * test/e2e/screenshots/ (ignored by git).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import type { TestDbKind } from '../../support/db.js';
import { consoleDir } from '../../../src/http/console-routes.js';

/** The browser: POMONA_CHROMIUM, or Debian's (the binary itself: the /usr/bin wrapper only adds flags). */
export const chromiumPath = [process.env.POMONA_CHROMIUM, '/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p): p is string => !!p && existsSync(p));

/** Browser tests run whenever Chromium is installed and the console is built (npm test builds it). */
export const skipWithoutBrowser = !chromiumPath || !existsSync(join(consoleDir(), 'index.html'));

const screenshots = join(import.meta.dirname, '..', 'screenshots');

export interface ConsoleSession {
  pomona: TestServer;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** errors the page logged or threw; `expectNoConsoleErrors` fails the test on any */
  consoleErrors: string[];
  /** a new signed-in page for another admin (its own browser context) */
  signInAs(username: string, password: string): Promise<Page>;
  screenshot(name: string, page?: Page): Promise<string>;
  close(): Promise<void>;
}

export const ADMIN = { username: 'ada', password: 'a long enough admin password' };

export async function startConsole(kind: TestDbKind = 'sqlite', extra: Record<string, unknown> = {}): Promise<ConsoleSession> {
  const pomona = await startTestServer(kind, extra);
  const created = await pomona.api('/api/v1/admins', { body: { ...ADMIN, role: 'administrator' } });
  if (created.status !== 201) throw new Error(`could not create the console admin: ${JSON.stringify(created.json)}`);
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const consoleErrors: string[] = [];

  const newPage = async (): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: pomona.url });
    const page = await context.newPage();
    page.on('console', (m) => {
      // A refused API call is the browser reporting our own 4xx answer, not a page error.
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    return { context, page };
  };

  const signInAs = async (username: string, password: string) => {
    const { page } = await newPage();
    await page.goto('/');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Sections' }).waitFor();
    return page;
  };

  const first = await newPage();
  await first.page.goto('/');
  await first.page.getByLabel('Username').fill(ADMIN.username);
  await first.page.getByLabel('Password').fill(ADMIN.password);
  await first.page.getByRole('button', { name: 'Sign in' }).click();
  await first.page.getByRole('navigation', { name: 'Sections' }).waitFor();

  return {
    pomona,
    browser,
    context: first.context,
    page: first.page,
    consoleErrors,
    signInAs,
    async screenshot(name, page = first.page) {
      mkdirSync(screenshots, { recursive: true });
      const file = join(screenshots, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await browser.close().catch(() => undefined);
      await pomona.close();
    },
  };
}

export function expectNoConsoleErrors(session: ConsoleSession): void {
  expect(session.consoleErrors, 'errors in the browser console').toEqual([]);
}
