/**
 * Device sync against a hostile or failing DEP service, on SQLite and PostgreSQL: wrong JSON,
 * truncated and enormous pages, timeouts, 5xx storms, a session expiring mid-sync, a cursor
 * that never moves, and a Pomona process killed in the middle of a page. The sync never takes
 * the process down, resumes from the last committed cursor, and loses or duplicates nothing.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAbm } from '../src/abm/abm-module.js';
import { DepError } from '../src/abm/dep-errors.js';
import { DepProfileStore } from '../src/abm/dep-profile-store.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { loadSecretBox } from '../src/pki/secret-box.js';
import { startAbmSimulator, type AbmSimulator } from '../src/sim/abm/server.js';
import { createTestDatabaseUrl, skipUnlessAvailable, testDatabaseKinds, type TestDbKind } from './support/db.js';

const SETTINGS = { userAgent: 'pomona-test/1', protocolVersion: 10, tokenWarningDays: 30, assignCooldownHours: 24, jobTickSeconds: 10 };
const FLEET = 450; // five pages of 100

describe.each(testDatabaseKinds)('ABM sync under faults (%s)', (kind: TestDbKind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let sim: AbmSimulator;
    let handle: DatabaseHandle;
    let dbUrl: { url: string; drop(): Promise<void> };
    let dataDir: string;
    let abm: ReturnType<typeof createAbm>;
    let id: string;
    let serials: string[];

    const stored = async () =>
      (await handle.db.selectFrom('abm_devices').select('serial_number').where('abm_server_id', '=', id).where('removed_at', 'is', null).execute()).map((r) => r.serial_number).sort();
    const cursor = async () => (await handle.db.selectFrom('abm_servers').select(['cursor', 'sync_pages']).where('id', '=', id).executeTakeFirstOrThrow());
    const syncError = async () => {
      try {
        await abm.abmSync.run(id);
      } catch (err) {
        return err;
      }
      throw new Error('the sync should have failed');
    };

    beforeEach(async () => {
      sim = await startAbmSimulator({ seed: 11, fetchLimit: { default: 100, maximum: 100 }, syncLimit: { default: 100, maximum: 100 } });
      const apple = sim.createServer({ name: 'Faults' }).serverUuid;
      serials = sim.addDevices(apple, FLEET).sort();
      dbUrl = await createTestDatabaseUrl(kind);
      dataDir = mkdtempSync(join(tmpdir(), 'pomona-faults-'));
      handle = openDatabase(dbUrl.url, { poolSize: 4 });
      await migrateToLatest(handle.db);
      abm = createAbm({
        db: handle.db, secrets: loadSecretBox({ dataDir }), log: pino({ level: 'silent' }), publicUrl: 'https://pomona.example', settings: SETTINGS, nodeId: 'test',
        client: { timeoutMs: 400, retries: 2, sleep: async () => {}, maxResponseBytes: 2 * 1024 * 1024 },
      });
      id = (await abm.abmServers.create({ name: 'Faults', baseUrl: sim.url })).id;
      await abm.abmServers.uploadToken(id, Buffer.from(sim.issueToken(apple, (await abm.abmServers.publicKey(id)).certPem).smime));
    });
    afterEach(async () => {
      await handle.close();
      await dbUrl.drop();
      await sim.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it.each([
      ['wrong JSON', { kind: 'invalid-json' as const }, 'malformed-response'],
      ['a page of the wrong shape', { kind: 'wrong-shape' as const }, 'malformed-response'],
      ['a truncated page', { kind: 'truncate' as const }, undefined],
      ['an enormous page', { kind: 'enormous' as const, bytes: 4 * 1024 * 1024 }, 'malformed-response'],
      ['a storm of 503s', { kind: 'status' as const, status: 503 }, 'server'],
      ['a service that never answers', { kind: 'hang' as const }, 'timeout'],
    ])('stops cleanly on %s and resumes from the last committed page', async (_name, action, expectedKind) => {
      sim.faults.add({ path: '/server/devices', skip: 2, times: Infinity, action });
      const err = await syncError();
      expect(err).toBeInstanceOf(DepError);
      if (expectedKind) expect((err as DepError).kind).toBe(expectedKind);
      const after = await cursor();
      expect(after.sync_pages).toBe(2);
      expect(await stored()).toHaveLength(200);
      const view = await abm.abmServers.view(id);
      expect(view.sync).toMatchObject({ running: false, lastError: (err as Error).message });

      sim.faults.clear();
      const r = await abm.abmSync.run(id);
      expect(r.added).toBe(FLEET - 200);
      expect(await stored()).toEqual(serials);
    });

    it('records a failure before the first page and waits for the interval before trying again', async () => {
      sim.faults.add({ path: '/account', times: Infinity, action: { kind: 'status', status: 503 } });
      await expect(abm.abmSync.run(id)).rejects.toBeInstanceOf(DepError);
      const v = await abm.abmServers.view(id);
      expect(v.sync.lastError).toMatch(/Apple Business Manager/);
      expect(v.sync.nextSyncAt).toBeGreaterThan(Date.now() + 25 * 60_000);
      expect(v.sync.running).toBe(false);
    });

    it('refuses a token already connected to another Pomona ABM server', async () => {
      const other = await abm.abmServers.create({ name: 'Second', baseUrl: sim.url });
      const apple = sim.servers()[0].serverUuid;
      const file = Buffer.from(sim.issueToken(apple, (await abm.abmServers.publicKey(other.id)).certPem, { keepPrevious: true }).smime);
      await expect(abm.abmServers.uploadToken(other.id, file)).rejects.toThrow(/already connected to the ABM server "Faults"/);
    });

    it('waits before defining again a profile Apple refused, and has one default even when two are created at once', async () => {
      sim.faults.add({ method: 'POST', path: '/profile', times: Infinity, action: { kind: 'status', status: 500 } });
      const [a, b] = await Promise.all([
        abm.depProfiles.create(id, { apple: { profile_name: 'First' } }),
        abm.depProfiles.create(id, { apple: { profile_name: 'Second' } }),
      ]);
      expect([a.isDefault, b.isDefault].filter(Boolean)).toHaveLength(1);
      expect(a.apple.defineError).toMatch(/Apple Business Manager/);
      sim.clearRequests();
      const run = await abm.abmAssign.run(id);
      expect(run.errors.join(' ')).toMatch(/tried again after a pause/);
      expect(sim.requests().filter((q) => q.path === '/profile')).toHaveLength(0);
      sim.faults.clear();
      // Saving the profile tries again at once.
      const saved = await abm.depProfiles.update(a.id, { apple: { profile_name: 'First', department: 'IT' } });
      expect(saved.apple.upToDate).toBe(true);

      // A save made from a stale read (another save landed in between, even a Pomona-only one) is refused.
      const store = new DepProfileStore(handle.db);
      const stale = (await store.get(a.id))!;
      await abm.depProfiles.update(a.id, { apple: { profile_name: 'First', department: 'IT' }, pomona: { awaitConfiguration: { timeLimitMinutes: 4 } } });
      expect(await store.updateSettings(a.id, stale.revision, { settings_json: '{}' })).toBe(false);
      expect((await store.get(a.id))!.settings_json).not.toBe('{}');
    });

    it('rides out a short 5xx storm and a session expiring mid-sync', async () => {
      sim.faults.add({ path: '/server/devices', skip: 1, times: 2, action: { kind: 'status', status: 500 } });
      sim.faults.add({ path: '/server/devices', skip: 3, action: { kind: 'expire-session' } });
      const r = await abm.abmSync.run(id);
      expect(r.added).toBe(FLEET);
      expect(await stored()).toEqual(serials);
    });

    it('stops when Apple hands back the same cursor with more to follow', async () => {
      sim.faults.add({ path: '/server/devices', skip: 1, times: Infinity, action: { kind: 'stuck-cursor' } });
      const r = await abm.abmSync.run(id);
      expect(r.pages).toBeLessThan(5);
      sim.faults.clear();
      await abm.abmSync.run(id);
      expect(await stored()).toEqual(serials);
    });

    it('restarts with a full fetch when the cursor expired, and marks devices Apple no longer lists', async () => {
      await abm.abmSync.run(id);
      sim.deleteDevices(serials.slice(0, 10), { fromOrg: true });
      sim.clock.advance(8 * 86_400_000);
      const r = await abm.abmSync.run(id);
      expect(r).toMatchObject({ restartedFullFetch: true, kind: 'full', missing: 10 });
      expect(await stored()).toEqual(serials.slice(10));
    });

    it('runs each due sync once across nodes, with its progress visible while it runs', async () => {
      const second = createAbm({
        db: handle.db, secrets: loadSecretBox({ dataDir }), log: pino({ level: 'silent' }), publicUrl: 'https://pomona.example', settings: SETTINGS, nodeId: 'other-node',
      });
      sim.faults.add({ path: '/server/devices', skip: 2, action: { kind: 'delay', ms: 800 } });
      sim.clearRequests();
      const ticks = Promise.all([abm.abmJob.tick(), second.abmJob.tick()]);
      let seen: Awaited<ReturnType<typeof abm.abmServers.view>> | undefined;
      for (let i = 0; i < 50 && !seen; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const v = await second.abmServers.view(id);
        if (v.sync.running && v.sync.pages >= 2) seen = v;
      }
      expect(seen?.sync).toMatchObject({ running: true, kind: 'full', devices: 200 });
      await ticks;
      // One full fetch: five pages and the sync that follows, not two of each.
      expect(sim.requests().filter((q) => q.path === '/server/devices')).toHaveLength(5);
      expect(await stored()).toEqual(serials);
      const v = await abm.abmServers.view(id);
      expect(v.sync).toMatchObject({ running: false, requested: null });
      // Not due again until the interval has passed.
      await Promise.all([abm.abmJob.tick(), second.abmJob.tick()]);
      expect(sim.requests().filter((q) => q.path === '/server/devices')).toHaveLength(5);
    });

    it('keeps a sync asked for while one runs for the next run', async () => {
      sim.faults.add({ path: '/server/devices', skip: 1, action: { kind: 'delay', ms: 600 } });
      const tick = abm.abmJob.tick();
      await new Promise((r) => setTimeout(r, 300));
      await new Promise((r) => setTimeout(r, 5)); // a later millisecond than the run's start
      await abm.abmServers.requestSync(id, 'sync');
      await tick;
      expect((await abm.abmServers.view(id)).sync.requested).toBe('sync');
      await abm.abmJob.tick();
      expect((await abm.abmServers.view(id)).sync.requested).toBeNull();
    });

    it('keeps a staged key pair apart until the token for it arrives', async () => {
      const before = await abm.abmServers.publicKey(id);
      const staged = await abm.abmServers.stageNewKey(id);
      expect(staged.certPem).not.toBe(before.certPem);
      expect((await abm.abmServers.publicKey(id)).staged).toBe(true);
      // The current token still works while the new key waits.
      expect((await abm.abmServers.testConnection(id)).server_name).toBe('Faults');
      const apple = sim.servers()[0].serverUuid;
      await abm.abmServers.uploadToken(id, Buffer.from(sim.issueToken(apple, staged.certPem).smime));
      const after = await abm.abmServers.publicKey(id);
      expect(after).toMatchObject({ staged: false, certPem: staged.certPem });
      expect((await abm.abmServers.testConnection(id)).server_name).toBe('Faults');
    });

    it('resumes after the Pomona process is killed in the middle of a page', async () => {
      // The third page takes long enough for the kill to land while it is in flight.
      sim.faults.add({ path: '/server/devices', skip: 2, action: { kind: 'delay', ms: 5_000 } });
      const child = fork('test/support/abm-sync-child.ts', [dbUrl.url, dataDir, id], { execArgv: ['--import', 'tsx'], stdio: 'ignore' });
      let pages = 0;
      await new Promise<void>((resolve, reject) => {
        child.on('message', (m: { page?: boolean }) => {
          if (m.page && ++pages === 2) setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 300);
        });
        child.once('exit', (code) => code !== null && reject(new Error(`child exited ${code} before the kill`)));
      });
      await new Promise((r) => child.once('exit', r));
      expect((await cursor()).sync_pages).toBe(2);
      expect(await stored()).toHaveLength(200);

      sim.faults.clear();
      sim.clearRequests();
      const r = await abm.abmSync.run(id);
      // It continued from the stored cursor (a fetch with a cursor), not from the start.
      expect(JSON.parse(sim.requests().filter((q) => q.path === '/server/devices')[0].body)).toMatchObject({ cursor: expect.any(String) });
      expect(r.added).toBe(FLEET - 200);
      expect(await stored()).toEqual(serials);
    }, 30_000);
  });
});
