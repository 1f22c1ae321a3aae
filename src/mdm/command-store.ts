/**
 * The command queue: one `commands` row per command, one `command_queue` row per target
 * enrollment holding its delivery state and latest result.
 */
import { sql, type AliasedExpression, type ExpressionBuilder, type UpdateQueryBuilder } from 'kysely';
import type { Db } from '../db/database.js';
import { prepared } from '../db/prepared.js';
import type { Database } from '../db/schema.js';

export interface NextCommand {
  uuid: string;
  requestType: string;
  plist: string;
}

/** A device's answer to a command, as stored: the plist as sent and its JSON form. */
export interface Answer {
  commandUuid: string;
  status: string;
  rawPlist: string;
  json: string;
}

export interface ReportOutcome {
  /** the channel's device, and when the channel was last seen (before this report) */
  deviceId: string;
  lastSeenAt: number | null;
  /** set when the answer was stored: a new answer, not a repeat of the stored one (see report) */
  answeredRequestType?: string;
  next?: NextCommand;
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
      await insertCommand(tx, cmd.uuid, cmd.requestType, cmd.plist, now, cmd.createdBy);
      // A command to one channel (every setup-plan step) takes the prepared statement.
      if (enrollmentIds.length === 1) {
        await queueForOne(tx, enrollmentIds[0], cmd.uuid, priority, now);
        return;
      }
      // Chunked so a command to thousands of devices stays under both dialects' parameter limits.
      for (let i = 0; i < enrollmentIds.length; i += 500) {
        await tx
          .insertInto('command_queue')
          .values(enrollmentIds.slice(i, i + 500).map((id) => queued(id, cmd.uuid, priority, now)))
          .execute();
      }
    });
  }

  /**
   * One command report in one statement (no transaction; one round trip on PostgreSQL):
   * stores the answer, if any, and takes the next command, marking it sent — both only while
   * the channel is active and its device channel not removed. Undefined when no row was
   * written: the channel is not active, or there was nothing to store and nothing to send.
   *
   * Commands answered NotNow are offered again only on Idle (a new session always opens with
   * it), so a refused command is never re-sent within the session that refused it.
   *
   * A device whose answer to its report was lost sends the same report again. That repeat
   * stores nothing (the first answered_at stays) and leaves answeredRequestType unset, so the
   * caller reports each result once; the next command is still handed out (again), as the
   * device never heard of it. A repeat with nothing to send is therefore undefined too.
   */
  async report(r: { enrollmentId: string; deviceChannelId: string; answer?: Answer }): Promise<ReportOutcome | undefined> {
    const now = this.now();
    const a = r.answer;
    const { rows } = a
      ? await (a.status === 'NotNow' ? notNowReport : answerReport)(this.db, r.enrollmentId, r.deviceChannelId, now, a.commandUuid, a.status, a.rawPlist, a.json)
      : await idleReport(this.db, r.enrollmentId, r.deviceChannelId, now);
    if (rows.length === 0) return undefined;
    const out: ReportOutcome = { deviceId: rows[0].device_id!, lastSeenAt: rows[0].last_seen_at };
    for (const row of rows) {
      if (a && row.command_uuid === a.commandUuid) out.answeredRequestType = row.request_type ?? undefined;
      else if (row.plist !== null && row.request_type !== null) out.next = { uuid: row.command_uuid, requestType: row.request_type, plist: row.plist };
    }
    return out;
  }

  getCommand(uuid: string) {
    return this.db.selectFrom('commands').selectAll().where('uuid', '=', uuid).executeTakeFirst();
  }

  async results(uuid: string): Promise<CommandResultRow[]> {
    return (await resultsOf(this.db, uuid)).rows;
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

/** A new command_queue row: the command waits for its channel. */
const queued = (enrollmentId: string, commandUuid: string, priority: number, now: number) => ({
  enrollment_id: enrollmentId, command_uuid: commandUuid, status: 'Pending', active: 1, priority, not_now_count: 0,
  not_now_at: null, result_plist: null, result_json: null, queued_at: now, sent_at: null, answered_at: null,
});

// Queued by the setup plan of every ADE enrollment, and read back for its steps' results (see src/db/prepared.ts).
const insertCommand = prepared((db, uuid: string, requestType: string, plist: string, now: number, createdBy: string | null) =>
  db.insertInto('commands').values({ uuid, request_type: requestType, plist, created_at: now, created_by: createdBy }),
);
const queueForOne = prepared((db, enrollmentId: string, commandUuid: string, priority: number, now: number) =>
  db.insertInto('command_queue').values(queued(enrollmentId, commandUuid, priority, now)),
);
const resultsOf = prepared((db, uuid: string) =>
  db
    .selectFrom('command_queue as q')
    .innerJoin('enrollments as e', 'e.id', 'q.enrollment_id')
    .select(['q.enrollment_id', 'e.device_id', 'q.status', 'q.active', 'q.not_now_count', 'q.queued_at', 'q.sent_at', 'q.answered_at', 'q.result_json'])
    .where('q.command_uuid', '=', uuid)
    .orderBy('q.enrollment_id'),
);

/** The channel may take part: it is active, and its device channel (itself, or a user channel's parent) not removed. */
function whereChannelOpen<O>(qb: UpdateQueryBuilder<Database, 'command_queue', 'command_queue', O>, enrollmentId: string, deviceChannelId: string) {
  return qb
    .where((eb) => eb.exists(eb.selectFrom('enrollments as e').select('e.id').where('e.id', '=', enrollmentId).where('e.status', '=', 'active')))
    .where((eb) => eb.exists(eb.selectFrom('enrollments as d').select('d.id').where('d.id', '=', deviceChannelId).where('d.status', '<>', 'removed')));
}

/** The first eligible command of an enrollment: highest priority, then oldest. */
function nextCommandUuid(eb: ExpressionBuilder<Database, 'command_queue'>, enrollmentId: string, statuses: string[], except?: string) {
  let q = eb
    .selectFrom('command_queue as q')
    .select('q.command_uuid')
    .where('q.enrollment_id', '=', enrollmentId)
    .where('q.active', '=', 1)
    .where('q.status', 'in', statuses);
  if (except !== undefined) q = q.where('q.command_uuid', '<>', except);
  return q.orderBy('q.priority', 'desc').orderBy('q.queued_at', 'asc').orderBy('q.command_uuid').limit(1);
}

/** What every report returns per row: the command, and the channel's device and last sighting. */
function returningReport(eb: ExpressionBuilder<Database, 'command_queue'>, enrollmentId: string, plist: AliasedExpression<string | null, 'plist'>) {
  return [
    eb.ref('command_uuid').as('command_uuid'),
    eb.selectFrom('commands as c').select('c.request_type').whereRef('c.uuid', '=', 'command_queue.command_uuid').as('request_type'),
    plist,
    eb.selectFrom('enrollments as e').select('e.device_id').where('e.id', '=', enrollmentId).as('device_id'),
    eb.selectFrom('enrollments as e').select('e.last_seen_at').where('e.id', '=', enrollmentId).as('last_seen_at'),
  ] as const;
}

const plistOf = (eb: ExpressionBuilder<Database, 'command_queue'>) =>
  eb.selectFrom('commands as c').select('c.plist').whereRef('c.uuid', '=', 'command_queue.command_uuid').$asScalar();

// The statement of every command report is built and compiled once per kind (see src/db/prepared.ts).

/** Idle: the next command, NotNow ones included, marked sent. */
const idleReport = prepared((db, enrollmentId: string, deviceChannelId: string, now: number) =>
  whereChannelOpen(
    db
      .updateTable('command_queue')
      .set({ sent_at: now })
      .where('enrollment_id', '=', enrollmentId)
      .where('command_uuid', '=', (eb) => nextCommandUuid(eb, enrollmentId, ['Pending', 'NotNow'])),
    enrollmentId,
    deviceChannelId,
  ).returning((eb) => returningReport(eb, enrollmentId, plistOf(eb).as('plist'))),
);

/**
 * The answer differs from the one stored, or the command was sent again since (a NotNow
 * command offered again and refused again is a new answer, though the same report).
 * Null-safe (never unknown): each comparison with a column that may be null comes with its
 * IS NULL test.
 */
function newAnswer(eb: ExpressionBuilder<Database, 'command_queue'>, status: string, rawPlist: string) {
  return eb.or([
    eb('answered_at', 'is', null),
    eb('status', '<>', status),
    eb('result_plist', 'is', null),
    eb('result_plist', '<>', rawPlist),
    eb.and([eb('sent_at', 'is not', null), eb('sent_at', '>', eb.ref('answered_at'))]),
  ]);
}

/**
 * An answer: two rows of one enrollment in one UPDATE — the answered command gets the result
 * (raw and as JSON) unless it repeats the stored one, the next pending one is marked sent. The
 * next one is chosen among the others, never the answered one, so the choice does not depend
 * on when the database evaluates the subquery relative to the first row's update.
 */
function answerReportQuery(notNow: boolean) {
  return prepared(
    (db, enrollmentId: string, deviceChannelId: string, now: number, commandUuid: string, status: string, rawPlist: string, json: string) =>
      whereChannelOpen(
        db
          .updateTable('command_queue')
          .set((eb) => {
            const answered = sql<boolean>`${eb.ref('command_uuid')} = ${commandUuid}`;
            const either = <T>(ifAnswered: unknown, otherwise: unknown) => sql<T>`case when ${answered} then ${ifAnswered} else ${otherwise} end`;
            return {
              status: either<string>(status, eb.ref('status')),
              result_plist: either<string | null>(rawPlist, eb.ref('result_plist')),
              result_json: either<string | null>(json, eb.ref('result_json')),
              answered_at: either<number | null>(now, eb.ref('answered_at')),
              sent_at: either<number | null>(eb.ref('sent_at'), now),
              ...(notNow
                ? {
                    not_now_count: either<number>(sql`${eb.ref('not_now_count')} + 1`, eb.ref('not_now_count')),
                    not_now_at: either<number | null>(now, eb.ref('not_now_at')),
                  }
                : {}),
            };
          })
          .where('enrollment_id', '=', enrollmentId)
          .where((eb) => eb('command_uuid', 'in', [eb.val(commandUuid), nextCommandUuid(eb, enrollmentId, ['Pending'], commandUuid)]))
          // A filter on the (at most two) rows found by key, so the lookup stays two index probes.
          .where((eb) => eb.or([eb('command_uuid', '<>', commandUuid), newAnswer(eb, status, rawPlist)])),
        enrollmentId,
        deviceChannelId,
      ).returning((eb) =>
        returningReport(eb, enrollmentId, sql<string | null>`case when ${eb.ref('command_uuid')} = ${commandUuid} then null else (${plistOf(eb)}) end`.as('plist')),
      ),
  );
}

const answerReport = answerReportQuery(false);
const notNowReport = answerReportQuery(true);
