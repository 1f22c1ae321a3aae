import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { insertAbmDevice, insertAbmServer, insertDevice, insertGroup } from '../../test/support/fleet.js';
import { OrgGroupService } from '../org/org-group-service.js';
import { OrgGroupStore } from '../org/org-group-store.js';
import { CheckinStore } from './checkin-store.js';
import { DeviceLifecycleError, DeviceLifecycleService } from './device-lifecycle-service.js';
import { DeviceLifecycleStore } from './device-lifecycle-store.js';
import type { Ownership } from './device-lifecycle.js';

describe.each(testDatabaseKinds)('device placement, ownership and retirement (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let lifecycle: DeviceLifecycleService;
    let groups: OrgGroupService;
    const device = (id: string) =>
      db.db.selectFrom('devices').select(['organization_group_id', 'ownership', 'ownership_by_admin', 'lifecycle_state', 'lifecycle_changed_at']).where('id', '=', id).executeTakeFirstOrThrow();

    beforeEach(async () => {
      db = await createTestDatabase(kind);
      groups = new OrgGroupService(new OrgGroupStore(db.db));
      lifecycle = new DeviceLifecycleService({
        store: new DeviceLifecycleStore(db.db),
        checkins: new CheckinStore(db.db, () => 5000),
        defaultOwnership: (g) => groups.setting<Ownership>(g, 'enrollment.defaultOwnership'),
        now: () => 5000,
      });
      await insertGroup(db.db, { id: 'acme', parentId: 'global' });
      await insertGroup(db.db, { id: 'lab', parentId: 'acme' });
      await insertAbmServer(db.db, { id: 'srv-acme', groupId: 'acme' });
      await insertAbmServer(db.db, { id: 'srv-root', groupId: null });
    });
    afterEach(() => db.dispose());

    it('places an ADE device in its ABM server\'s group with that group\'s default ownership', async () => {
      await groups.setSetting('acme', 'enrollment.defaultOwnership', 'corporate-shared', 'test');
      await insertAbmDevice(db.db, { serial: 'ADE-1', serverId: 'srv-acme' });
      await insertDevice(db.db, { id: 'd1', serial: 'ADE-1', state: 'enrolling' });
      await lifecycle.placeEnrollment('d1', 'Device');
      expect(await device('d1')).toMatchObject({ organization_group_id: 'acme', ownership: 'corporate-shared', ownership_by_admin: 0 });
    });

    it('gives other devices their group\'s default ownership (corporate-dedicated unless set), and leaves placed ones where they are', async () => {
      await insertDevice(db.db, { id: 'plain', state: 'enrolling' });
      await lifecycle.placeEnrollment('plain', 'Device');
      expect(await device('plain')).toMatchObject({ organization_group_id: 'global', ownership: 'corporate-dedicated' });

      // Placed by an enrollment flow already: the group stays, the missing ownership comes from that group.
      await groups.setSetting('lab', 'enrollment.defaultOwnership', 'employee-owned', 'test');
      await insertAbmDevice(db.db, { serial: 'ADE-2', serverId: 'srv-acme' });
      await insertDevice(db.db, { id: 'placed', serial: 'ADE-2', groupId: 'lab', state: 'enrolling' });
      await lifecycle.placeEnrollment('placed', 'Device');
      expect(await device('placed')).toMatchObject({ organization_group_id: 'lab', ownership: 'employee-owned' });

      // An ownership already there wins; a server without a group places nothing.
      await insertAbmDevice(db.db, { serial: 'ADE-3', serverId: 'srv-root' });
      await insertDevice(db.db, { id: 'owned', serial: 'ADE-3', ownership: 'corporate-shared', state: 'enrolling' });
      await lifecycle.placeEnrollment('owned', 'Device');
      expect(await device('owned')).toMatchObject({ organization_group_id: 'global', ownership: 'corporate-shared' });

      // A device gone from ABM is not placed by its old server.
      await insertAbmDevice(db.db, { serial: 'ADE-4', serverId: 'srv-acme', removedAt: 1 });
      await insertDevice(db.db, { id: 'gone', serial: 'ADE-4', state: 'enrolling' });
      await lifecycle.placeEnrollment('gone', 'Device');
      expect(await device('gone')).toMatchObject({ organization_group_id: 'global' });
      await lifecycle.placeEnrollment('no-such-device', 'Device');
    });

    it('makes a user enrollment employee-owned and a Shared iPad corporate-shared, unless an admin chose', async () => {
      await insertDevice(db.db, { id: 'byod', serial: null, state: 'enrolling' });
      await lifecycle.placeEnrollment('byod', 'User Enrollment (Device)');
      expect((await device('byod')).ownership).toBe('employee-owned');

      await insertDevice(db.db, { id: 'ipad', state: 'enrolled', ownership: 'corporate-dedicated' });
      await new DeviceLifecycleStore(db.db).markShared('ipad');
      expect((await device('ipad')).ownership).toBe('corporate-shared');

      await insertDevice(db.db, { id: 'ipad2', state: 'enrolled' });
      await lifecycle.setOwnership('ipad2', 'corporate-dedicated');
      await new DeviceLifecycleStore(db.db).markShared('ipad2');
      expect(await device('ipad2')).toMatchObject({ ownership: 'corporate-dedicated', ownership_by_admin: 1 });
    });

    it('sets the ownership an admin asks for, by id, UDID or serial number', async () => {
      await insertDevice(db.db, { id: 'd1', serial: 'SER-1', ownership: 'corporate-dedicated' });
      expect(await lifecycle.setOwnership('SER-1', 'employee-owned')).toEqual({ deviceId: 'd1', from: 'corporate-dedicated', to: 'employee-owned' });
      expect(await lifecycle.setOwnership('UDID-d1', 'corporate-shared')).toEqual({ deviceId: 'd1', from: 'employee-owned', to: 'corporate-shared' });
      const bad = await lifecycle.setOwnership('d1', 'personal').catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(DeviceLifecycleError);
      expect(bad).toMatchObject({ kind: 'invalid', message: 'unknown ownership "personal"; use corporate-dedicated, corporate-shared, employee-owned' });
      expect(await lifecycle.setOwnership('nope', 'employee-owned').catch((e: unknown) => e)).toMatchObject({ kind: 'not_found' });
    });

    it('retires a device: its channels end like a CheckOut and it is removed', async () => {
      await insertDevice(db.db, { id: 'd1', state: 'enrolled', channel: 'active' });
      expect(await lifecycle.retire('d1')).toEqual({ deviceId: 'd1', from: 'enrolled', endedChannels: ['UDID-d1'] });
      expect(await device('d1')).toMatchObject({ lifecycle_state: 'removed', lifecycle_changed_at: 5000 });
      const channel = await db.db.selectFrom('enrollments').select(['status', 'checked_out_at']).where('id', '=', 'UDID-d1').executeTakeFirstOrThrow();
      expect(channel).toEqual({ status: 'removed', checked_out_at: 5000 });
      // A device with no channel left is removed all the same; retiring twice changes nothing more.
      await insertDevice(db.db, { id: 'd2', state: 'unenrolled' });
      expect(await lifecycle.retire('d2')).toEqual({ deviceId: 'd2', from: 'unenrolled', endedChannels: [] });
      expect((await device('d2')).lifecycle_state).toBe('removed');
      expect(await lifecycle.retire('d1')).toEqual({ deviceId: 'd1', from: 'removed', endedChannels: [] });
      expect(await lifecycle.retire('nope').catch((e: unknown) => e)).toMatchObject({ kind: 'not_found', message: 'no device nope' });
    });
  });
});
