/**
 * `pomona demo` as someone trying Pomona runs it: a real process with six devices at a quick
 * pace, on SQLite (its own temporary data directory) and on PostgreSQL (--database-url). Every
 * device reaches the outcome the demo plans for it, the admin API shows them, and Ctrl-C stops
 * it cleanly, removing the temporary directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from '../src/demo/admin-api.js';
import { demoFleet } from '../src/demo/demo-fleet.js';
import { createTestDatabaseUrl, skipUnlessAvailable, testDatabaseKinds } from './support/db.js';

/** What this test reads of a device in the admin API's list. */
interface ListedDevice {
  serialNumber: string | null;
  lifecycleState: string;
  enrollmentMethod: string | null;
  organizationGroupId: string;
}

const fleet = demoFleet(6);

describe.each(testDatabaseKinds)('pomona demo (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let child: ChildProcess;
    let out = '';
    let db: { url: string; drop(): Promise<void> } | undefined;
    const exited = () => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
    const printed = async (re: RegExp, timeoutMs = 90_000): Promise<RegExpExecArray> => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`the demo exited (${child.exitCode}):\n${out}`);
        if (Date.now() > end) throw new Error(`not printed in time: ${re}\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    /** The demo's admin API, with the URL and token it printed. */
    const demoApi = async () => {
      const [, url] = (await printed(/running at (http:\/\/\S+)/))!;
      const [, token] = (await printed(/API token\s+(pom_\S+)/))!;
      return adminApi(url!, token!);
    };

    beforeAll(async () => {
      db = kind === 'postgres' ? await createTestDatabaseUrl(kind) : undefined;
      child = spawn(process.execPath, ['bin/pomona.js', 'demo', '--port', '0', '--devices', '6', '--pace', '100', ...(db ? ['--database-url', db.url] : [])], {
        env: { ...process.env, POMONA_CONFIG: '', POMONA_ADMIN_PASSWORD: 'demo admin passphrase' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    });
    afterAll(async () => {
      if (child && child.exitCode === null) {
        child.kill('SIGKILL');
        await exited();
      }
      await db?.drop();
    });

    it('prints where it runs and how to sign in, then each device as it gets the outcome planned for it', async () => {
      await printed(/All 6 devices done: 5 enrolled \(1 after a software update\), 1 refused, 1 Mac configured and released\./);
      expect(out).toMatch(/console\s+http:\/\/127\.0\.0\.1:\d+\/\s+\(sign in as admin \/ demo admin passphrase\)/);
      expect(out).toMatch(/API docs\s+http:\/\/127\.0\.0\.1:\d+\/api\/docs/);
      expect(out).not.toContain('UNEXPECTED');
      const line = (serial: string) => out.split('\n').find((l) => l.includes(serial))!;
      expect(line('IPHONE000001')).toContain('enrolled (no sign-in)');
      expect(line('IPAD00000002')).toContain('signed in as demo in the web view, accepted the terms, enrolled');
      expect(line('MAC000000003')).toContain('enrolled, awaiting configuration');
      expect(out).toMatch(/MAC000000003\s+configured \(managed admin _pomonaadmin\), released from Setup Assistant, bootstrap token escrowed/);
      expect(line('IPHONE000004')).toContain('asked to update to iOS 17.4: updated, then enrolled');
      expect(line('IPHONE000005')).toContain('refused (403): Update this device to iOS 17.4 or later before enrolling it.');
    });

    it('shows the devices in the admin API: enrolled where the demo put them, the refused one only in ABM, the Mac released', async () => {
      const api = await demoApi();
      const { devices } = await api<{ devices: ListedDevice[] }>('/api/v1/devices?limit=100');
      const bySerial = new Map(devices.map((d) => [d.serialNumber, d]));
      for (const spec of fleet) {
        const d = bySerial.get(spec.serial)!;
        expect(d, spec.serial).toBeDefined();
        expect(d.lifecycleState, spec.serial).toBe(spec.expect === 'refused' ? 'registered' : 'enrolled');
        if (spec.expect !== 'refused') expect(d.enrollmentMethod, spec.serial).toBe(spec.profile === 'signIn' ? 'ade-webview' : 'ade');
      }
      const sales = (await api<{ items: Array<{ id: string; groupId: string }> }>('/api/v1/organization-groups')).items.find((g) => g.groupId === 'SALES')!;
      expect(bySerial.get('IPAD00000002')!.organizationGroupId).toBe(sales.id);
      expect(bySerial.get('IPHONE000001')!.organizationGroupId).toBe('global');
      const mac = fleet.find((d) => d.family === 'Mac')!;
      expect(await api(`/api/v1/devices/${mac.udid}/setup-plan`)).toMatchObject({ status: 'released', reason: 'completed' });
      expect((await api<{ bootstrapToken: unknown }>(`/api/v1/devices/${mac.udid}`)).bootstrapToken).toMatchObject({ escrowed: true });
    });

    it('stops cleanly on Ctrl-C and removes its temporary data directory', async () => {
      const [, dir] = (await printed(/data directory\s+(\S+) \(removed at exit\)/))!;
      expect(existsSync(dir!)).toBe(true);
      child.kill('SIGINT');
      expect(await exited()).toBe(0);
      expect(existsSync(dir!)).toBe(false);
    });
  });
}, 120_000);
