/** Queries for the managed macOS administrator accounts and their sealed passwords. Kysely only. */
import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { ManagedAdminAccountTable } from '../db/schema.js';

export type ManagedAdminRow = Selectable<ManagedAdminAccountTable>;

export interface PendingChange {
  passwordEnc: Buffer;
  commandUuid: string;
  requestType: 'AccountConfiguration' | 'SetAutoAdminPassword' | 'DeviceInformation';
  reason: string;
  now: number;
}

export class ManagedAdminStore {
  constructor(private readonly db: Db) {}

  get(deviceId: string): Promise<ManagedAdminRow | undefined> {
    return this.db.selectFrom('managed_admin_accounts').selectAll().where('device_id', '=', deviceId).executeTakeFirst();
  }

  byPendingCommand(commandUuid: string): Promise<ManagedAdminRow | undefined> {
    return this.db.selectFrom('managed_admin_accounts').selectAll().where('pending_command_uuid', '=', commandUuid).executeTakeFirst();
  }

  /**
   * A new account (AccountConfiguration during Setup Assistant, so after an erase): whatever the
   * device had before is gone with it, so the row starts over with only the pending password.
   */
  async replace(row: Insertable<ManagedAdminAccountTable>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('managed_admin_accounts').where('device_id', '=', row.device_id).execute();
      await tx.insertInto('managed_admin_accounts').values(row).execute();
    });
  }

  /** Starts a change unless one is under way; false when one is. */
  async startChange(deviceId: string, c: PendingChange): Promise<boolean> {
    const res = await this.db
      .updateTable('managed_admin_accounts')
      .set({ pending_password_enc: c.passwordEnc, pending_command_uuid: c.commandUuid, pending_request_type: c.requestType, pending_reason: c.reason, pending_since: c.now, updated_at: c.now })
      .where('device_id', '=', deviceId)
      .where('pending_command_uuid', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** The GUID is known: the change goes on with SetAutoAdminPassword. */
  async continueChange(deviceId: string, fromCommand: string, guid: string, commandUuid: string, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('managed_admin_accounts')
      .set({ guid, pending_command_uuid: commandUuid, pending_request_type: 'SetAutoAdminPassword', updated_at: now })
      .where('device_id', '=', deviceId)
      .where('pending_command_uuid', '=', fromCommand)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** The Mac acknowledged: the pending password becomes the current one. */
  async promote(deviceId: string, commandUuid: string, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('managed_admin_accounts')
      .set((eb) => ({
        password_enc: eb.ref('pending_password_enc'), password_set_at: now, pending_password_enc: null, pending_command_uuid: null,
        pending_request_type: null, pending_reason: null, pending_since: null, rotate_at: null, last_error: null, last_error_at: null, updated_at: now,
      }))
      .where('device_id', '=', deviceId)
      .where('pending_command_uuid', '=', commandUuid)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** The change failed: the current password stays, the reason is kept. */
  async abandon(deviceId: string, commandUuid: string, error: string, now: number): Promise<void> {
    await this.db
      .updateTable('managed_admin_accounts')
      .set({ pending_password_enc: null, pending_command_uuid: null, pending_request_type: null, pending_reason: null, pending_since: null, last_error: error, last_error_at: now, updated_at: now })
      .where('device_id', '=', deviceId)
      .where('pending_command_uuid', '=', commandUuid)
      .execute();
  }

  async viewed(deviceId: string, now: number, rotateAt: number | null): Promise<void> {
    await this.db
      .updateTable('managed_admin_accounts')
      .set((eb) => ({
        last_viewed_at: now,
        // An earlier rotation already scheduled stays: each view may only bring it closer.
        rotate_at: rotateAt === null ? eb.ref('rotate_at') : eb.case().when('rotate_at', 'is', null).then(rotateAt).when('rotate_at', '>', rotateAt).then(rotateAt).else(eb.ref('rotate_at')).end(),
      }))
      .where('device_id', '=', deviceId)
      .execute();
  }

  dueForRotation(now: number, limit: number): Promise<ManagedAdminRow[]> {
    return this.db
      .selectFrom('managed_admin_accounts')
      .selectAll()
      .where('rotate_at', '<=', now)
      .where('pending_command_uuid', 'is', null)
      .orderBy('rotate_at')
      .limit(limit)
      .execute();
  }
}
