/**
 * Queries user enrollment needs beyond the staging records: each user's Managed Apple Account,
 * and what a device enrolled by user enrollment is (flagged, employee-owned). Kysely only.
 */
import type { Db } from '../db/database.js';

export interface UserAccountRow {
  id: string;
  source: string;
  username: string;
  email: string | null;
  managed_apple_id: string | null;
}

export class UserEnrollmentStore {
  constructor(private readonly db: Db) {}

  user(id: string): Promise<UserAccountRow | undefined> {
    return this.db.selectFrom('users').select(['id', 'source', 'username', 'email', 'managed_apple_id']).where('id', '=', id).executeTakeFirst();
  }

  /** Sets (or, with null, clears) the user's account; false when there is no such user. Throws on a unique violation. */
  async setManagedAppleId(userId: string, managedAppleId: string | null, now: number): Promise<boolean> {
    const res = await this.db.updateTable('users').set({ managed_apple_id: managedAppleId, updated_at: now }).where('id', '=', userId).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /**
   * A user enrollment's device: flagged, employee-owned, and without any hardware identifier —
   * cleared here too, so a device row that ever held one (a re-enrollment from an older record)
   * keeps none.
   */
  async markUserEnrolled(deviceId: string, now: number): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ user_enrolled: 1, ownership: 'employee-owned', udid: null, serial_number: null, imei: null, meid: null, updated_at: now })
      .where('id', '=', deviceId)
      .execute();
  }

  /** The device channel's device row, for an enrollment id (EnrollmentID). */
  async deviceOf(enrollmentId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('enrollments').select('device_id').where('id', '=', enrollmentId).executeTakeFirst();
    return row?.device_id;
  }
}
