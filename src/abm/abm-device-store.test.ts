/**
 * The ABM device list's filters that read beyond the record: the lifecycle state (the linked
 * device row's, else the record's own, as device-lifecycle.ts defines it) and an admin's scope.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { insertAbmDevice, insertAbmServer, insertDevice, insertGroup } from '../../test/support/fleet.js';
import { AbmDeviceStore, type DeviceFilter } from './abm-device-store.js';

const GONE = 1_760_000_100_000;

describe.each(testDatabaseKinds)('AbmDeviceStore lifecycle and scope (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let store: AbmDeviceStore;
    const page = { limit: 100, offset: 0, sort: 'serial_number' as const, descending: false };
    const serials = async (f: DeviceFilter) => (await store.list(f, page)).rows.map((r) => r.serial_number);

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      store = new AbmDeviceStore(db.db);
      await insertGroup(db.db, { id: 'east', parentId: 'global' });
      await insertAbmServer(db.db, { id: 'srv-east', groupId: 'east' });
      await insertAbmServer(db.db, { id: 'srv-root', groupId: null });
      // Known only from ABM: registered, enrolling (Apple says the profile was pushed), removed.
      await insertAbmDevice(db.db, { serial: 'A-REGISTERED', serverId: 'srv-east', model: 'iPad Air' });
      await insertAbmDevice(db.db, { serial: 'B-PUSHED', serverId: 'srv-east', profileStatus: 'pushed', model: 'iPhone 15' });
      await insertAbmDevice(db.db, { serial: 'C-GONE', serverId: 'srv-root', removedAt: GONE });
      // Linked to device rows: their state wins; unenrolled and gone from ABM reads as removed.
      await insertDevice(db.db, { id: 'd-enrolled', serial: 'D-ENROLLED', state: 'enrolled' });
      await insertAbmDevice(db.db, { serial: 'D-ENROLLED', serverId: 'srv-east', profileStatus: 'pushed', deviceId: 'd-enrolled', model: 'MacBook Air' });
      await insertDevice(db.db, { id: 'd-left', serial: 'E-UNENROLLED', state: 'unenrolled' });
      await insertAbmDevice(db.db, { serial: 'E-UNENROLLED', serverId: 'srv-root', deviceId: 'd-left' });
      await insertDevice(db.db, { id: 'd-retired', serial: 'F-UNENROLLED-GONE', state: 'unenrolled' });
      await insertAbmDevice(db.db, { serial: 'F-UNENROLLED-GONE', serverId: 'srv-root', deviceId: 'd-retired', removedAt: GONE });
      await insertDevice(db.db, { id: 'd-kept', serial: 'G-ENROLLED-GONE', state: 'enrolled' });
      await insertAbmDevice(db.db, { serial: 'G-ENROLLED-GONE', serverId: 'srv-root', deviceId: 'd-kept', removedAt: GONE });
    });
    afterAll(async () => db?.dispose());

    it('lists each record with its lifecycle state', async () => {
      const { rows, total } = await store.list({}, page);
      expect(total).toBe(7);
      expect(Object.fromEntries(rows.map((r) => [r.serial_number, r.lifecycle_state]))).toEqual({
        'A-REGISTERED': 'registered', 'B-PUSHED': 'enrolling', 'C-GONE': 'removed', 'D-ENROLLED': 'enrolled',
        'E-UNENROLLED': 'unenrolled', 'F-UNENROLLED-GONE': 'removed', 'G-ENROLLED-GONE': 'enrolled',
      });
      expect(await store.getListed('F-UNENROLLED-GONE')).toMatchObject({ lifecycle_state: 'removed', device_id: 'd-retired' });
      // a later page, in either order, keeps each row's own state
      const later = await store.list({}, { ...page, limit: 2, offset: 2 });
      expect(later.rows.map((r) => [r.serial_number, r.lifecycle_state])).toEqual([['C-GONE', 'removed'], ['D-ENROLLED', 'enrolled']]);
      const back = await store.list({}, { ...page, limit: 2, offset: 1, descending: true });
      expect(back.rows.map((r) => [r.serial_number, r.lifecycle_state])).toEqual([['F-UNENROLLED-GONE', 'removed'], ['E-UNENROLLED', 'unenrolled']]);
    });

    it('filters by lifecycle state, counting only what matches', async () => {
      expect(await serials({ lifecycle: 'registered' })).toEqual(['A-REGISTERED']);
      expect(await serials({ lifecycle: 'enrolling' })).toEqual(['B-PUSHED']);
      expect(await serials({ lifecycle: 'enrolled' })).toEqual(['D-ENROLLED', 'G-ENROLLED-GONE']);
      expect(await serials({ lifecycle: 'unenrolled' })).toEqual(['E-UNENROLLED']);
      expect(await serials({ lifecycle: 'removed' })).toEqual(['C-GONE', 'F-UNENROLLED-GONE']);
      expect((await store.list({ lifecycle: 'removed' }, page)).total).toBe(2);
      // with the other filters, and sorted by a column both tables have (model): the record's
      const both = await store.list({ lifecycle: 'enrolled', state: 'active' }, { ...page, sort: 'model', descending: true });
      expect(both).toMatchObject({ total: 1, rows: [{ serial_number: 'D-ENROLLED', model: 'MacBook Air' }] });
    });

    it("keeps to an admin's scope: only devices of ABM servers in the subtree", async () => {
      expect(await serials({ scopePrefix: '/global/east/' })).toEqual(['A-REGISTERED', 'B-PUSHED', 'D-ENROLLED']);
      expect(await serials({ scopePrefix: '/global/east/', lifecycle: 'removed' })).toEqual([]);
    });

    it('exports with the same filter and the state', async () => {
      const out = [];
      for await (const r of store.iterate({ lifecycle: 'enrolled', search: 'enrolled-gone' }, 1)) out.push([r.serial_number, r.lifecycle_state]);
      expect(out).toEqual([['G-ENROLLED-GONE', 'enrolled']]);
    });
  });
});
