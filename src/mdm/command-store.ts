/**
 * The command queue: one `commands` row per command, one `command_queue` row per target
 * enrollment holding its delivery state and latest result.
 */
import type { Db } from '../db/database.js';

export interface NextCommand {
  uuid: string;
  requestType: string;
  plist: string;
}

export interface CommandResultRow {
  enrollment_id: string;
  device_id: string;
  status: string;
  active: number;
  not_now_count: number;
  queued_at: number;
  sent_at: number | null;
  answered_at: number | null;
  result_json: string | null;
}

export class CommandStore {
  /** Commands queued one after another in the same millisecond must still be delivered in order. */
  #lastQueuedAt = 0;

  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  async enqueue(cmd: { uuid: string; requestType: string; plist: string; createdBy: string | null }, enrollmentIds: string[], priority = 0): Promise<void> {
    const now = (this.#lastQueuedAt = Math.max(this.now(), this.#lastQueuedAt + 1));
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('commands').values({ uuid: cmd.uuid, request_type: cmd.requestType, plist: cmd.plist, created_at: now, created_by: cmd.createdBy }).execute();
      // Chunked so a command to thousands of devices stays under both dialects' parameter limits.
      for (let i = 0; i < enrollmentIds.length; i += 500) {
        await tx
          .insertInto('command_queue')
          .values(
            enrollmentIds.slice(i, i + 500).map((id) => ({
              enrollment_id: id, command_uuid: cmd.uuid, status: 'Pending', active: 1, priority, not_now_count: 0,
              not_now_at: null, result_plist: null, result_json: null, queued_at: now, sent_at: null, answered_at: null,
            })),
          )
          .execute();
      }
    });
  }

  /**
   * The next command for an enrollment. Commands the device answered NotNow are offered
   * again only when `includeNotNow` (a new session, which always opens with Idle), so a
   * refused command is never re-sent within the session that refused it.
   */
  async next(enrollmentId: string, includeNotNow: boolean): Promise<NextCommand | undefined> {
    const row = await this.db
      .selectFrom('command_queue as q')
      .innerJoin('commands as c', 'c.uuid', 'q.command_uuid')
      .select(['c.uuid', 'c.request_type', 'c.plist'])
      .where('q.enrollment_id', '=', enrollmentId)
      .where('q.active', '=', 1)
      .where('q.status', 'in', includeNotNow ? ['Pending', 'NotNow'] : ['Pending'])
      .orderBy('q.priority', 'desc')
      .orderBy('q.queued_at', 'asc')
      .orderBy('q.command_uuid')
      .limit(1)
      .executeTakeFirst();
    if (!row) return undefined;
    await this.db
      .updateTable('command_queue')
      .set({ sent_at: this.now() })
      .where('enrollment_id', '=', enrollmentId)
      .where('command_uuid', '=', row.uuid)
      .execute();
    return { uuid: row.uuid, requestType: row.request_type, plist: row.plist };
  }

  /** Stores a result; false when no such command was queued for this enrollment. */
  async recordResult(enrollmentId: string, commandUuid: string, status: string, rawPlist: string, json: string): Promise<{ requestType: string } | undefined> {
    const now = this.now();
    const notNow = status === 'NotNow';
    const res = await this.db
      .updateTable('command_queue')
      .set((eb) => ({
        status,
        result_plist: rawPlist,
        result_json: json,
        answered_at: now,
        ...(notNow ? { not_now_count: eb('not_now_count', '+', 1), not_now_at: now } : {}),
      }))
      .where('enrollment_id', '=', enrollmentId)
      .where('command_uuid', '=', commandUuid)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return undefined;
    const cmd = await this.db.selectFrom('commands').select('request_type').where('uuid', '=', commandUuid).executeTakeFirst();
    return cmd ? { requestType: cmd.request_type } : undefined;
  }

  getCommand(uuid: string) {
    return this.db.selectFrom('commands').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  results(uuid: string): Promise<CommandResultRow[]> {
    return this.db
      .selectFrom('command_queue as q')
      .innerJoin('enrollments as e', 'e.id', 'q.enrollment_id')
      .select(['q.enrollment_id', 'e.device_id', 'q.status', 'q.active', 'q.not_now_count', 'q.queued_at', 'q.sent_at', 'q.answered_at', 'q.result_json'])
      .where('q.command_uuid', '=', uuid)
      .orderBy('q.enrollment_id')
      .execute();
  }

  /** Commands for the enrollments of one device, newest first. */
  forDevice(deviceId: string, limit: number, offset: number) {
    return this.db
      .selectFrom('command_queue as q')
      .innerJoin('enrollments as e', 'e.id', 'q.enrollment_id')
      .innerJoin('commands as c', 'c.uuid', 'q.command_uuid')
      .select(['c.uuid', 'c.request_type', 'c.created_at', 'c.created_by', 'q.enrollment_id', 'q.status', 'q.active', 'q.not_now_count', 'q.queued_at', 'q.sent_at', 'q.answered_at', 'q.result_json'])
      .where('e.device_id', '=', deviceId)
      .orderBy('q.queued_at', 'desc')
      .orderBy('c.uuid')
      .limit(limit)
      .offset(offset)
      .execute();
  }
}
