import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../../test/support/db.js';
import type { Db } from '../../db/database.js';
import type { NewDevice, NewEnrollment } from '../../db/schema.js';
import { PushStore } from './push-store.js';

/** Devices with a device-channel enrollment each, pushable unless told otherwise. */
async function insertEnrollments(db: Db, rows: Array<{ id: string } & Partial<NewEnrollment>>): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) {
    const chunk = rows.slice(i, i + 200);
    const nulls = { udid: null, serial_number: null, model: null, model_name: null, product_name: null, device_name: null };
    const more = { os_version: null, build_version: null, imei: null, meid: null, info_json: null, last_seen_at: null };
    await db
      .insertInto('devices')
      .values(chunk.map(({ id }): NewDevice => ({ id: `dev-${id}`, ...nulls, ...more, created_at: 1, updated_at: 1 })))
      .execute();
    await db
      .insertInto('enrollments')
      .values(
        chunk.map((over): NewEnrollment => ({
          device_id: `dev-${over.id}`, parent_id: null, channel: 'device', type: 'Device', is_ade: 0,
          user_id: null, user_short_name: null, user_long_name: null,
          topic: 'com.apple.mgmt.External.test', push_magic: `magic-${over.id}`, token_hex: null, token_invalid_at: null,
          unlock_token_enc: null, awaiting_configuration: 0, status: 'active', token_update_count: 1,
          authenticate_plist: null, token_update_plist: null, last_push_at: null, last_push_result: null,
          created_at: 1, updated_at: 1, last_seen_at: null, checked_out_at: null,
          ...over,
        })),
      )
      .execute();
  }
}

describe.each(testDatabaseKinds)('PushStore (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let store: PushStore;
    const ids = Array.from({ length: 1203 }, (_, i) => `E${String(i).padStart(4, '0')}`);

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      store = new PushStore(db.db);
      await insertEnrollments(db.db, ids.map((id) => ({ id, token_hex: id.toLowerCase().padEnd(64, 'a') })));
    });
    afterAll(async () => db?.dispose());

    it('reads the targets of many ids, in chunks, ignoring unknown and repeated ids', async () => {
      const targets = await store.targets([...ids, 'unknown', ids[0]]);
      expect(targets).toHaveLength(ids.length);
      expect(targets.find((t) => t.enrollmentId === 'E0042')).toEqual({
        enrollmentId: 'E0042',
        topic: 'com.apple.mgmt.External.test',
        pushMagic: 'magic-E0042',
        tokenHex: 'e0042'.padEnd(64, 'a'),
        tokenInvalidAt: null,
        status: 'active',
      });
      expect(await store.targets([])).toEqual([]);
    });

    it('records results in bulk and marks invalid tokens', async () => {
      const records = ids.map((id, i) => ({
        enrollmentId: id,
        tokenHex: id.toLowerCase().padEnd(64, 'a'),
        result: i === 1 ? 'invalid-token: Unregistered' : i === 2 ? 'failed: ServiceUnavailable' : 'sent',
        invalidToken: i === 1,
      }));
      await store.recordOutcomes(records, 5_000);
      const rows = await db.db
        .selectFrom('enrollments')
        .select(['id', 'last_push_at', 'last_push_result', 'token_invalid_at'])
        .where('id', 'in', ['E0000', 'E0001', 'E0002', 'E1202'])
        .orderBy('id')
        .execute();
      expect(rows).toEqual([
        { id: 'E0000', last_push_at: 5_000, last_push_result: 'sent', token_invalid_at: null },
        { id: 'E0001', last_push_at: 5_000, last_push_result: 'invalid-token: Unregistered', token_invalid_at: 5_000 },
        { id: 'E0002', last_push_at: 5_000, last_push_result: 'failed: ServiceUnavailable', token_invalid_at: null },
        { id: 'E1202', last_push_at: 5_000, last_push_result: 'sent', token_invalid_at: null },
      ]);
    });

    it('does not mark a token invalid when the device has sent a new one since the push', async () => {
      await db.db.updateTable('enrollments').set({ token_hex: 'ff'.repeat(32) }).where('id', '=', 'E0003').execute();
      await store.recordOutcomes([{ enrollmentId: 'E0003', tokenHex: 'e0003'.padEnd(64, 'a'), result: 'invalid-token: Unregistered', invalidToken: true }], 6_000);
      const row = await db.db.selectFrom('enrollments').select(['token_invalid_at', 'last_push_at']).where('id', '=', 'E0003').executeTakeFirstOrThrow();
      expect(row).toEqual({ token_invalid_at: null, last_push_at: 5_000 });
    });
  });
});
