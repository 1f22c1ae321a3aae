/** The lifecycle migration on a database that already holds devices: backfilled states, platforms, ownership spellings and ABM links. */
import { Migrator, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, skipUnlessAvailable, testDatabaseKinds } from '../../../test/support/db.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../database.js';
import { migrationProvider } from './index.js';

describe.each(testDatabaseKinds)('migration 0009-device-lifecycle (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let handle: DatabaseHandle;
    let drop: () => Promise<void>;
    beforeEach(async () => {
      const made = kind === 'sqlite' ? { url: 'sqlite::memory:', drop: async () => {} } : await createTestDatabaseUrl(kind);
      drop = made.drop;
      handle = openDatabase(made.url, { poolSize: 2 });
    });
    afterEach(async () => {
      await handle.close();
      await drop();
    });

    it('derives each device\'s state from its device channel and links ABM records to devices', async () => {
      const { error } = await new Migrator({ db: handle.db, provider: migrationProvider }).migrateTo('0008-user-enrollment');
      expect(error).toBeUndefined();
      const db = handle.db;
      const device = (id: string, serial: string | null, product: string | null, ownership: string | null, updatedAt = 100) =>
        sql`INSERT INTO devices (id, udid, serial_number, product_name, created_at, updated_at, ownership) VALUES (${id}, ${id}, ${serial}, ${product}, 1, ${updatedAt}, ${ownership})`.execute(db);
      const channel = (id: string, deviceId: string, status: string, extra: { invalidAt?: number; result?: string; checkedOutAt?: number; updatedAt?: number; parentId?: string } = {}) =>
        sql`INSERT INTO enrollments (id, device_id, parent_id, channel, type, status, token_invalid_at, last_push_result, checked_out_at, created_at, updated_at)
            VALUES (${id}, ${deviceId}, ${extra.parentId ?? null}, ${extra.parentId ? 'user' : 'device'}, 'Device', ${status}, ${extra.invalidAt ?? null}, ${extra.result ?? null},
                    ${extra.checkedOutAt ?? null}, 1, ${extra.updatedAt ?? 200})`.execute(db);
      await device('active', 'S-ACTIVE', 'iPhone17,1', 'corporate_dedicated');
      await channel('active', 'active', 'active');
      await channel('active:user', 'active', 'removed', { parentId: 'active' });
      await device('pending', 'S-PENDING', 'iPad13,4', 'BYOD');
      await channel('pending', 'pending', 'pending');
      await device('out', 'S-OUT', 'Mac16,10', 'Shared');
      await channel('out', 'out', 'removed', { checkedOutAt: 300, updatedAt: 300 });
      await device('gone', null, 'MacBookPro18,3', 'whatever');
      await channel('gone', 'gone', 'active', { invalidAt: 400, result: 'invalid-token: Unregistered', updatedAt: 400 });
      await device('bad-token', null, 'AppleTV14,1', null);
      await channel('bad-token', 'bad-token', 'active', { invalidAt: 400, result: 'invalid-token: BadDeviceToken' });
      await device('lonely', null, null, null);
      const now = 1;
      for (const serial of ['S-ACTIVE', 'S-ABM-ONLY']) {
        await sql`INSERT INTO abm_devices (serial_number, abm_server_id, apple_json, first_seen_at, last_seen_at, assign_mode, updated_at)
                  VALUES (${serial}, 'srv', '{}', ${now}, ${now}, 'auto', ${now})`.execute(db);
      }

      await migrateToLatest(db);
      const rows = await db.selectFrom('devices').select(['id', 'lifecycle_state', 'lifecycle_changed_at', 'platform', 'ownership', 'ownership_by_admin']).orderBy('id').execute();
      expect(rows).toEqual([
        { id: 'active', lifecycle_state: 'enrolled', lifecycle_changed_at: 200, platform: 'iOS', ownership: 'corporate-dedicated', ownership_by_admin: 0 },
        { id: 'bad-token', lifecycle_state: 'enrolled', lifecycle_changed_at: 200, platform: 'tvOS', ownership: null, ownership_by_admin: 0 },
        { id: 'gone', lifecycle_state: 'unenrolled', lifecycle_changed_at: 400, platform: 'macOS', ownership: null, ownership_by_admin: 0 },
        { id: 'lonely', lifecycle_state: 'enrolling', lifecycle_changed_at: 100, platform: null, ownership: null, ownership_by_admin: 0 },
        { id: 'out', lifecycle_state: 'unenrolled', lifecycle_changed_at: 300, platform: 'macOS', ownership: 'corporate-shared', ownership_by_admin: 0 },
        { id: 'pending', lifecycle_state: 'enrolling', lifecycle_changed_at: 200, platform: 'iPadOS', ownership: 'employee-owned', ownership_by_admin: 0 },
      ]);
      const links = await db.selectFrom('abm_devices').select(['serial_number', 'device_id']).orderBy('serial_number').execute();
      expect(links).toEqual([{ serial_number: 'S-ABM-ONLY', device_id: null }, { serial_number: 'S-ACTIVE', device_id: 'active' }]);
    });
  });
});
