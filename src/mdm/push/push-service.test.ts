import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../../test/support/db.js';
import { createTestPushCertificate, type PushCertificate } from '../../apple/push-certificate.js';
import type { Db } from '../../db/database.js';
import type { NewDevice, NewEnrollment } from '../../db/schema.js';
import { SecretBox } from '../../pki/secret-box.js';
import { startApnsSimulator, type ApnsSimulator } from '../../sim/apns.js';
import { ApnsClient } from './apns-client.js';
import { PushService } from './push-service.js';
import { PushStore } from './push-store.js';
import { PushCertService } from './pushcert-service.js';
import { PushCertStore } from './pushcert-store.js';

const tokenOf = (id: string) => Buffer.from(id).toString('hex').padEnd(64, '0');

async function insertEnrollment(db: Db, id: string, over: Partial<NewEnrollment>): Promise<void> {
  const nulls = { udid: null, serial_number: null, model: null, model_name: null, product_name: null, device_name: null };
  const more = { os_version: null, build_version: null, imei: null, meid: null, info_json: null, last_seen_at: null };
  await db.insertInto('devices').values({ id: `dev-${id}`, ...nulls, ...more, created_at: 1, updated_at: 1 } satisfies NewDevice).execute();
  await db
    .insertInto('enrollments')
    .values({
      id, device_id: `dev-${id}`, parent_id: null, channel: 'device', type: 'Device', is_ade: 1,
      user_id: null, user_short_name: null, user_long_name: null,
      topic: null, push_magic: `magic-${id}`, token_hex: tokenOf(id), token_invalid_at: null,
      unlock_token_enc: null, awaiting_configuration: 0, status: 'active', token_update_count: 1,
      authenticate_plist: null, token_update_plist: null, last_push_at: null, last_push_result: null,
      created_at: 1, updated_at: 1, last_seen_at: null, checked_out_at: null,
      ...over,
    })
    .execute();
}

describe.each(testDatabaseKinds)('PushService end to end (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let sim: ApnsSimulator;
    let client: ApnsClient;
    let service: PushService;
    let a: PushCertificate;
    let b: PushCertificate;
    let unknownTopic: string;
    const logs: unknown[] = [];
    let now = 1_700_000_000_000;

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      [a, b] = await Promise.all([createTestPushCertificate(), createTestPushCertificate()]);
      unknownTopic = 'com.apple.mgmt.External.no-certificate';
      sim = await startApnsSimulator({ trustedClientCerts: [a.certPem, b.certPem] });
      client = new ApnsClient({ baseUrl: sim.url, ca: sim.caPem, attempts: 2, sleep: async () => {} });
      const pushcerts = new PushCertService(new PushCertStore(db.db, new SecretBox(randomBytes(32))));
      await pushcerts.import({ certPem: a.certPem, keyPem: a.keyPem });
      await pushcerts.import({ certPem: b.certPem, keyPem: b.keyPem }, { force: true });
      const log = { info: (o: object, m: string) => void logs.push([o, m]), warn: (o: object, m: string) => void logs.push([o, m]) };
      service = new PushService({ store: new PushStore(db.db), pushcerts, client, log, now: () => now });

      await insertEnrollment(db.db, 'A1', { topic: a.topic });
      await insertEnrollment(db.db, 'A2', { topic: a.topic });
      await insertEnrollment(db.db, 'B1', { topic: b.topic });
      await insertEnrollment(db.db, 'GONE', { topic: a.topic });
      await insertEnrollment(db.db, 'NOTOKEN', { topic: a.topic, token_hex: null, push_magic: null, status: 'pending' });
      await insertEnrollment(db.db, 'REMOVED', { topic: a.topic, status: 'removed' });
      await insertEnrollment(db.db, 'ORPHAN', { topic: unknownTopic });
      sim.markUnregistered(tokenOf('GONE'));
    });
    afterAll(async () => {
      await client?.close();
      await sim?.close();
      await db?.dispose();
    });

    const row = (id: string) =>
      db.db.selectFrom('enrollments').select(['last_push_at', 'last_push_result', 'token_invalid_at']).where('id', '=', id).executeTakeFirstOrThrow();

    it('pushes every reachable enrollment with its own topic certificate and says why the others were not', async () => {
      const outcomes = await service.push(['A1', 'A2', 'B1', 'GONE', 'NOTOKEN', 'REMOVED', 'ORPHAN', 'nobody', 'A1']);
      expect(outcomes.map((o) => [o.enrollmentId, o.status])).toEqual([
        ['A1', 'sent'],
        ['A2', 'sent'],
        ['B1', 'sent'],
        ['GONE', 'invalid-token'],
        ['NOTOKEN', 'no-token'],
        ['REMOVED', 'no-token'],
        ['ORPHAN', 'no-certificate'],
        ['nobody', 'no-token'],
      ]);
      expect(outcomes[0].apnsId).toMatch(/^[0-9A-F-]{36}$/);
      expect(outcomes[3].reason).toBe('Unregistered');
      expect(outcomes[6].reason).toContain(unknownTopic);

      const delivered = sim.pushes.map((p) => [p.token, p.topic, p.pushMagic]);
      expect(delivered).toEqual(
        expect.arrayContaining([
          [tokenOf('A1'), a.topic, 'magic-A1'],
          [tokenOf('A2'), a.topic, 'magic-A2'],
          [tokenOf('B1'), b.topic, 'magic-B1'],
        ]),
      );
      expect(delivered).toHaveLength(3);
      expect(sim.stats.sessions).toBe(2); // one per topic
    });

    it('records the outcome on each enrollment and marks the unregistered token', async () => {
      expect(await row('A1')).toEqual({ last_push_at: now, last_push_result: 'sent', token_invalid_at: null });
      expect(await row('GONE')).toEqual({ last_push_at: now, last_push_result: 'invalid-token: Unregistered', token_invalid_at: now });
      expect(await row('NOTOKEN')).toEqual({ last_push_at: null, last_push_result: null, token_invalid_at: null });
      expect(await row('ORPHAN')).toEqual({ last_push_at: null, last_push_result: null, token_invalid_at: null });
    });

    it('skips an enrollment whose token APNs rejected, until a new TokenUpdate', async () => {
      const before = sim.requests.length;
      now += 1000;
      const [gone] = await service.push(['GONE']);
      expect(gone).toMatchObject({ enrollmentId: 'GONE', status: 'invalid-token', reason: expect.stringMatching(/waiting for a new TokenUpdate/) });
      expect(sim.requests.length).toBe(before);
      expect((await row('GONE')).last_push_at).toBe(now - 1000);

      // what the check-in service does on TokenUpdate: a new token, the mark cleared
      await db.db.updateTable('enrollments').set({ token_hex: tokenOf('GONE2'), token_invalid_at: null }).where('id', '=', 'GONE').execute();
      expect((await service.push(['GONE']))[0].status).toBe('sent');
    });

    it('records a failure when APNs keeps failing', async () => {
      sim.injectFaults(503, 2);
      now += 1000;
      const [a2] = await service.push(['A2']);
      expect(a2).toMatchObject({ status: 'failed', reason: 'ServiceUnavailable' });
      expect(await row('A2')).toEqual({ last_push_at: now, last_push_result: 'failed: ServiceUnavailable', token_invalid_at: null });
    });

    it('never logs tokens or PushMagic', () => {
      const text = JSON.stringify(logs);
      expect(logs.length).toBeGreaterThan(0);
      for (const id of ['A1', 'A2', 'B1', 'GONE']) {
        expect(text).not.toContain(tokenOf(id));
        expect(text).not.toContain(`magic-${id}`);
      }
    });

    it('returns nothing for nothing', async () => {
      expect(await service.push([])).toEqual([]);
    });
  });
});
