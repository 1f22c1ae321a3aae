import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { FLEET_NOW, insertAbmDevice, insertAbmServer, insertDevice, insertGroup } from '../../test/support/fleet.js';
import { Scope } from '../org/scope.js';
import { DashboardService } from './dashboard-service.js';
import { DashboardStore } from './dashboard-store.js';

const DAY = 86_400_000;

describe.each(testDatabaseKinds)('dashboard counts (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let t: TestDatabase;
    let dashboard: DashboardService;
    const branchA = new Scope('a', '/global/a/');

    beforeAll(async () => {
      t = await createTestDatabase(kind);
      const db = t.db;
      await insertGroup(db, { id: 'a', parentId: 'global' });
      await insertGroup(db, { id: 'b', parentId: 'global' });
      await insertAbmServer(db, { id: 'abm-a', groupId: 'a' });
      await insertAbmServer(db, { id: 'abm-b', groupId: 'b' });
      // branch A: 4 in ABM (one unassigned, one assigned, two pushed of which one enrolled), one removed from ABM
      await insertDevice(db, { id: 'dev-a1', groupId: 'a', platform: 'iOS', channel: 'active' });
      await db.updateTable('devices').set({ os_version: '18.1' }).where('id', '=', 'dev-a1').execute();
      await insertDevice(db, { id: 'dev-a2', groupId: 'a', platform: 'macOS', channel: 'active' });
      await db.updateTable('devices').set({ os_version: '15.1', created_at: FLEET_NOW - 3 * DAY }).where('id', '=', 'dev-a2').execute();
      await insertDevice(db, { id: 'dev-a-retired', groupId: 'a', platform: 'iOS', state: 'removed' });
      await insertAbmDevice(db, { serial: 'A1', serverId: 'abm-a', profileStatus: 'empty' });
      await insertAbmDevice(db, { serial: 'A2', serverId: 'abm-a', profileStatus: 'assigned' });
      await insertAbmDevice(db, { serial: 'A3', serverId: 'abm-a', profileStatus: 'pushed' });
      await insertAbmDevice(db, { serial: 'A4', serverId: 'abm-a', profileStatus: 'pushed', deviceId: 'dev-a1' });
      await insertAbmDevice(db, { serial: 'A5', serverId: 'abm-a', profileStatus: 'pushed', removedAt: FLEET_NOW });
      await db.updateTable('abm_devices').set({ assign_result: 'THROTTLED' }).where('serial_number', '=', 'A1').execute();
      await db.updateTable('abm_devices').set({ assign_result: 'NOT_ACCESSIBLE' }).where('serial_number', '=', 'A2').execute();
      // the Mac waits in Setup Assistant, for two hours
      await db.updateTable('enrollments').set({ awaiting_configuration: 1 }).where('device_id', '=', 'dev-a2').execute();
      await db.updateTable('devices').set({ lifecycle_changed_at: FLEET_NOW - 2 * 3600_000 }).where('id', '=', 'dev-a2').execute();
      // branch B: one of each, never visible from A
      await insertDevice(db, { id: 'dev-b1', groupId: 'b', platform: 'iOS', channel: 'active' });
      await insertAbmDevice(db, { serial: 'B1', serverId: 'abm-b', profileStatus: 'pushed', deviceId: 'dev-b1' });
      await db.updateTable('abm_devices').set({ assign_result: 'FAILED' }).where('serial_number', '=', 'B1').execute();
      dashboard = new DashboardService(new DashboardStore(db), { stuckAfterMinutes: 60, now: () => FLEET_NOW });
    });
    afterAll(() => t?.close());

    it('counts the ADE funnel, assignment failures, platforms, OS versions, new devices per day and waiting devices of a subtree', async () => {
      const d = await dashboard.summary(branchA);
      expect(d.funnel).toEqual({ inAbm: 4, assigned: 3, pushed: 2, enrolled: 1 });
      expect(d.assignments).toEqual({ failed: 1, throttled: 1 });
      expect(d.byPlatform.sort((x, y) => String(x.platform).localeCompare(String(y.platform)))).toEqual([
        { platform: 'iOS', count: 1 },
        { platform: 'macOS', count: 1 },
      ]);
      expect(d.byOsVersion).toHaveLength(2);
      expect(d.byOsVersion).toContainEqual({ platform: 'macOS', osVersion: '15.1', count: 1 });
      const today = Math.floor(FLEET_NOW / DAY) * DAY;
      expect(d.since).toBe(today - 29 * DAY);
      expect(d.newDevicesPerDay).toEqual([
        { day: today - 3 * DAY, count: 1 },
        { day: today, count: 1 },
      ]);
      expect(d.awaitingConfiguration).toEqual({ total: 1, overdue: 1 });
    });

    it('counts everything for the whole installation', async () => {
      const d = await dashboard.summary(Scope.GLOBAL);
      expect(d.funnel).toEqual({ inAbm: 5, assigned: 4, pushed: 3, enrolled: 2 });
      expect(d.assignments).toEqual({ failed: 2, throttled: 1 });
      expect(d.byPlatform.find((p) => p.platform === 'iOS')?.count).toBe(2);
    });

    it('does not count a device as overdue before the limit', async () => {
      const patient = new DashboardService(new DashboardStore(t.db), { stuckAfterMinutes: 180, now: () => FLEET_NOW });
      expect((await patient.summary(branchA)).awaitingConfiguration).toEqual({ total: 1, overdue: 0 });
    });
  });
});
