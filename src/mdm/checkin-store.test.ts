import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { CheckinStore, type DeviceFacts, type TokenUpdateRecord } from './checkin-store.js';

// The check-in statements are prepared with one argument per column (checkin-store.ts): these
// check each value lands in its own column, and that a value not sent leaves the stored one.
describe.each(testDatabaseKinds)('CheckinStore (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let store: CheckinStore;
    let clock = 1_000;
    const FACTS = ['udid', 'serial_number', 'model', 'model_name', 'product_name', 'device_name', 'os_version', 'build_version', 'imei', 'meid', 'platform'] as const;
    const issue = (name: string) =>
      db.db
        .insertInto('identity_certificates')
        .values({ sha256: name, enrollment_id: null, serial: '01', subject: `CN=${name}`, issued_by_pomona: 1, not_before: 0, not_after: 1e12, der: Buffer.from(name), created_at: 1, bound_at: null })
        .execute();
    const authenticate = (enrollmentId: string, cert: string, facts: DeviceFacts) =>
      store.authenticate({ enrollmentId, type: 'Device', topic: 'topic-a', facts, rawPlist: '<auth/>', certSha256: cert });
    const tokenUpdate = (enrollmentId: string, deviceId: string, rec: Partial<TokenUpdateRecord>) =>
      store.tokenUpdate(
        { enrollmentId, parentId: null, channel: 'device', type: 'Device', topic: 'topic-a', pushMagic: 'magic', tokenHex: 'aa', unlockTokenEnc: null, awaitingConfiguration: false, rawPlist: '<tu/>', ...rec },
        deviceId,
      );
    const device = (id: string) => db.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const enrollment = (id: string) => db.db.selectFrom('enrollments').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      store = new CheckinStore(db.db, () => clock);
    });
    afterAll(async () => db?.dispose());

    it('writes each fact to its own column; a re-Authenticate replaces the facts sent and keeps the others', async () => {
      await issue('c1');
      const facts = Object.fromEntries(FACTS.map((c) => [c, `${c}-1`])) as DeviceFacts;
      const { deviceId, reEnrollment } = await authenticate('E1', 'c1', facts);
      expect(reEnrollment).toBe(false);
      expect(await device(deviceId)).toMatchObject({ ...facts, info_json: null, created_at: 1_000, last_seen_at: 1_000, lifecycle_state: 'enrolling', lifecycle_changed_at: 1_000 });
      expect(await enrollment('E1')).toMatchObject({ device_id: deviceId, channel: 'device', type: 'Device', topic: 'topic-a', status: 'pending', authenticate_plist: '<auth/>', token_update_count: 0 });
      expect(await store.findCertificate('c1')).toEqual({ enrollment_id: 'E1', not_before: 0, not_after: 1e12 });

      clock = 2_000;
      expect(await tokenUpdate('E1', deviceId, {})).toBe(1);
      expect(await device(deviceId)).toMatchObject({ lifecycle_state: 'enrolled', lifecycle_changed_at: 2_000 });

      clock = 3_000;
      await issue('c2');
      const again = await authenticate('E1', 'c2', { udid: 'udid-1', os_version: 'os_version-2', device_name: null, model: undefined });
      expect(again).toEqual({ deviceId, reEnrollment: true });
      expect(await device(deviceId)).toMatchObject({ ...facts, os_version: 'os_version-2', updated_at: 3_000, lifecycle_state: 'enrolling', lifecycle_changed_at: 3_000 });
    });

    it('keeps the stored unlock token and user names when a TokenUpdate carries none', async () => {
      await issue('c3');
      const { deviceId } = await authenticate('E3', 'c3', { udid: 'udid-3' });
      await tokenUpdate('E3', deviceId, { unlockTokenEnc: Buffer.from('unlock-1'), userShortName: 'ann', userLongName: 'Ann A' });
      expect(await tokenUpdate('E3', deviceId, { topic: 'topic-b', tokenHex: 'bb', awaitingConfiguration: true })).toBe(2);
      const kept = await enrollment('E3');
      expect(Buffer.from(kept.unlock_token_enc!).toString()).toBe('unlock-1');
      expect(kept).toMatchObject({ user_short_name: 'ann', user_long_name: 'Ann A', topic: 'topic-b', token_hex: 'bb', awaiting_configuration: 1, status: 'active', token_update_count: 2 });

      await tokenUpdate('E3', deviceId, { unlockTokenEnc: Buffer.from('unlock-2'), userShortName: 'bob', userLongName: 'Bob B' });
      const replaced = await enrollment('E3');
      expect(Buffer.from(replaced.unlock_token_enc!).toString()).toBe('unlock-2');
      expect(replaced).toMatchObject({ user_short_name: 'bob', user_long_name: 'Bob B', awaiting_configuration: 0, token_update_count: 3 });
    });
  });
});
