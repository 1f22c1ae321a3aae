/** Queries behind device placement, ownership and retirement (device-lifecycle-service.ts). */
import type { Db } from '../db/database.js';
import { prepared } from '../db/prepared.js';
import { ROOT_GROUP_ID } from '../org/org-group-service.js';
import type { Ownership } from './device-lifecycle.js';

export interface DeviceRef {
  id: string;
  ownership: string | null;
  lifecycleState: string;
  groupId: string;
  /** the user the device is enrolled to */
  userId: string | null;
}

export interface PlacementFacts {
  groupId: string;
  ownership: string | null;
  /** the group of the ABM server Apple assigned the device to, while it is assigned */
  abmGroupId: string | null;
}

export class DeviceLifecycleStore {
  constructor(private readonly db: Db) {}

  /** A device by Pomona id, UDID or serial number (the newest when a serial is shared). */
  async find(idOrSerial: string): Promise<DeviceRef | undefined> {
    const row = await this.db
      .selectFrom('devices')
      .select(['id', 'ownership', 'lifecycle_state', 'organization_group_id', 'enrolled_user_id'])
      .where((eb) => eb.or([eb('id', '=', idOrSerial), eb('udid', '=', idOrSerial), eb('serial_number', '=', idOrSerial)]))
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && { id: row.id, ownership: row.ownership, lifecycleState: row.lifecycle_state, groupId: row.organization_group_id, userId: row.enrolled_user_id };
  }

  async placementFacts(deviceId: string): Promise<PlacementFacts | undefined> {
    const row = (await placementFacts(this.db, deviceId)).rows[0];
    if (!row) return undefined;
    // An ABM server without a group serves the whole tree, from the root.
    return { groupId: row.organization_group_id, ownership: row.ownership, abmGroupId: row.abm_serial ? (row.abm_group ?? ROOT_GROUP_ID) : null };
  }

  /**
   * Places a new enrollment's device: into `groupId` only while nothing placed it elsewhere (it
   * is still in the root), and with `ownership` only while it has none. Another writer (an
   * enrollment flow) that got there first wins.
   */
  async place(deviceId: string, p: { groupId: string; ownership: Ownership | null }): Promise<void> {
    await place(this.db, deviceId, p.groupId, p.ownership);
  }

  /** A Shared iPad is corporate-shared, unless an admin said otherwise. */
  async markShared(deviceId: string): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ ownership: 'corporate-shared' })
      .where('id', '=', deviceId)
      .where('ownership_by_admin', '=', 0)
      .where((eb) => eb.or([eb('ownership', 'is', null), eb('ownership', '=', 'corporate-dedicated')]))
      .execute();
  }

  async setUser(deviceId: string, userId: string, now: number): Promise<void> {
    await this.db.updateTable('devices').set({ enrolled_user_id: userId, updated_at: now }).where('id', '=', deviceId).execute();
  }

  async setOwnership(deviceId: string, ownership: Ownership, now: number): Promise<void> {
    await this.db.updateTable('devices').set({ ownership, ownership_by_admin: 1, updated_at: now }).where('id', '=', deviceId).execute();
  }

  /** The device channels still managed (an admin retiring the device ends them). */
  async managedChannels(deviceId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('enrollments')
      .select('id')
      .where('device_id', '=', deviceId)
      .where('parent_id', 'is', null)
      .where('status', '!=', 'removed')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Marks the device removed (for a device with no channel left to end). */
  async markRemoved(deviceId: string, now: number): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ lifecycle_state: 'removed', lifecycle_changed_at: now })
      .where('id', '=', deviceId)
      .where('lifecycle_state', '!=', 'removed')
      .execute();
  }
}

// Run once for every new enrollment (see src/db/prepared.ts).
const placementFacts = prepared((db, deviceId: string) =>
  db
    .selectFrom('devices as d')
    .leftJoin('abm_devices as a', (j) => j.onRef('a.serial_number', '=', 'd.serial_number').on('a.removed_at', 'is', null))
    .leftJoin('abm_servers as s', 's.id', 'a.abm_server_id')
    .select(['d.organization_group_id', 'd.ownership', 'a.serial_number as abm_serial', 's.organization_group_id as abm_group'])
    .where('d.id', '=', deviceId),
);
const place = prepared((db, deviceId: string, groupId: string, ownership: Ownership | null) =>
  db
    .updateTable('devices')
    .set((eb) => ({
      organization_group_id: eb.case().when('organization_group_id', '=', ROOT_GROUP_ID).then(groupId).else(eb.ref('organization_group_id')).end(),
      ownership: eb.fn.coalesce('ownership', eb.val(ownership)),
    }))
    .where('id', '=', deviceId),
);
