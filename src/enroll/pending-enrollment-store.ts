/**
 * Queries for enrollment staging records. Every state change is one conditional UPDATE on the
 * state it leaves, so two requests racing on the same record cannot both move it.
 */
import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { Db } from '../db/database.js';
import type { PendingEnrollmentTable } from '../db/schema.js';
import { groupsWithin } from '../org/scope-store.js';
import { prepared, preparedPerShape, type PreparedQuery } from '../db/prepared.js';

export type PendingEnrollmentRow = Selectable<PendingEnrollmentTable>;

export interface PendingEnrollmentFilter {
  state?: string;
  /** not enrolled and past `expires_at` (the derived "incomplete" state) */
  incompleteAt?: number;
  /** still in flight: not enrolled and not yet expired */
  activeAt?: number;
  mode?: string;
  groupId?: string;
  /** only records placed in groups whose path starts with this (an admin's scope) */
  scopePrefix?: string;
  limit: number;
  offset: number;
}

// Every request of a sign-in reads its record (see src/db/prepared.ts).
const byId = prepared((db, id: string) => db.selectFrom('pending_enrollments').selectAll().where('id', '=', id));
const byCheckInKeyHash = prepared((db, hash: string) => db.selectFrom('pending_enrollments').selectAll().where('checkin_key_hash', '=', hash));

/**
 * transition()'s UPDATE, prepared once per shape — the columns it sets, how many states it
 * leaves, its guards (a handful, from the code). Arguments: the set values, updated_at, id, the
 * states, now, and the terms version when guarded by it.
 */
const transitions = preparedPerShape<unknown[], PendingEnrollmentRow>();
function transitionQuery(columns: string[], states: number, versionGuard: boolean, termsAccepted: boolean): PreparedQuery<unknown[], PendingEnrollmentRow> {
  const n = columns.length;
  return transitions(`${columns.join(',')}|${states}|${versionGuard}|${termsAccepted}`, () =>
    prepared((db, ...a: unknown[]) => {
      const set = Object.fromEntries(columns.map((c, i) => [c, a[i]])) as Updateable<PendingEnrollmentTable>;
      let q = db
        .updateTable('pending_enrollments')
        .set({ ...set, updated_at: a[n] as number })
        .where('id', '=', a[n + 1] as string)
        .where('state', 'in', a.slice(n + 2, n + 2 + states) as string[])
        .where('expires_at', '>', a[n + 2 + states] as number);
      if (versionGuard) q = q.where('terms_version_required', '<=', a[n + 3 + states] as number);
      if (termsAccepted) {
        q = q.where((eb) => eb.or([eb('terms_version_required', 'is', null), eb(eb.fn.coalesce('terms_version', eb.lit(0)), '>=', eb.ref('terms_version_required'))]));
      }
      return q.returningAll();
    }, n + 3 + states + (versionGuard ? 1 : 0)),
  );
}

/**
 * link()'s statements (every ADE Authenticate runs them): the record claimed, if still
 * profile-issued and unexpired or already this enrollment's; the device told how it enrolled;
 * the channel marked ADE. The device is given, or the enrollment's (a subquery: no read).
 */
const deviceOfEnrollment = (db: Db, enrollmentId: string) => db.selectFrom('enrollments').select('device_id').where('id', '=', enrollmentId);
type DeviceTarget = ReturnType<typeof deviceOfEnrollment> | string;
const claimRecord = (db: Db, enrollmentId: string, deviceId: DeviceTarget, now: number, id: string) =>
  db
    .updateTable('pending_enrollments')
    .set({ state: 'enrolled', enrollment_id: enrollmentId, device_id: deviceId, completed_at: now, updated_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb.and([eb('state', '=', 'profile-issued'), eb('expires_at', '>', now)]), eb.and([eb('state', '=', 'enrolled'), eb('enrollment_id', '=', enrollmentId)])]));
const linkRecord = prepared((db, enrollmentId: string, deviceId: string, now: number, id: string) => claimRecord(db, enrollmentId, deviceId, now, id));
const linkRecordToEnrollmentsDevice = prepared((db, enrollmentId: string, now: number, id: string) => claimRecord(db, enrollmentId, deviceOfEnrollment(db, enrollmentId), now, id));
const describe = (db: Db, target: DeviceTarget, group: string, ownership: string | null, method: string, userId: string | null, tokenId: string | null, now: number) =>
  db
    .updateTable('devices')
    .set({ organization_group_id: group, ownership, enrollment_method: method, enrolled_user_id: userId, registration_token_id: tokenId, updated_at: now })
    .where('id', '=', target);
const describeDevice = prepared((db, deviceId: string, group: string, ownership: string | null, method: string, userId: string | null, tokenId: string | null, now: number) =>
  describe(db, deviceId, group, ownership, method, userId, tokenId, now),
);
const describeEnrollmentsDevice = prepared((db, enrollmentId: string, group: string, ownership: string | null, method: string, userId: string | null, tokenId: string | null, now: number) =>
  describe(db, deviceOfEnrollment(db, enrollmentId), group, ownership, method, userId, tokenId, now),
);
const markAde = prepared((db, enrollmentId: string) => db.updateTable('enrollments').set({ is_ade: 1 }).where('id', '=', enrollmentId));

/** insert()'s INSERT, prepared once per set of columns. */
const inserts = preparedPerShape<unknown[], PendingEnrollmentRow>();

export class PendingEnrollmentStore {
  constructor(private readonly db: Db) {}

  /** Inserts the record and returns it as stored (RETURNING: no second read); prepared once per set of columns. */
  async insert(row: Insertable<PendingEnrollmentTable>): Promise<PendingEnrollmentRow> {
    const columns = (Object.keys(row) as Array<keyof typeof row>).filter((c) => row[c] !== undefined);
    const query = inserts(columns.join(','), () =>
      prepared((db, ...a: unknown[]) => db.insertInto('pending_enrollments').values(Object.fromEntries(columns.map((c, i) => [c, a[i]])) as Insertable<PendingEnrollmentTable>).returningAll(), columns.length),
    );
    return (await query(this.db, ...columns.map((c) => row[c]))).rows[0]!;
  }

  async get(id: string): Promise<PendingEnrollmentRow | undefined> {
    return (await byId(this.db, id)).rows[0];
  }

  /** The latest attempt that enrolled this device. */
  async latestForDevice(deviceId: string): Promise<PendingEnrollmentRow | undefined> {
    return this.db.selectFrom('pending_enrollments').selectAll().where('device_id', '=', deviceId).where('state', '=', 'enrolled').orderBy('completed_at', 'desc').limit(1).executeTakeFirst();
  }

  /** The check-in's one indexed read (unique index on checkin_key_hash). */
  async byCheckInKey(hash: string): Promise<PendingEnrollmentRow | undefined> {
    return (await byCheckInKeyHash(this.db, hash)).rows[0];
  }

  /**
   * Applies `set` if the record is still in one of `from`, not expired, and meets `guard`:
   * `termsVersionAtMost` — terms are required and this version or an older one is;
   * `termsAccepted` — no terms are required or the accepted version is recent enough.
   * Returns the record as changed (RETURNING: no second read), or undefined when nothing changed.
   */
  async transition(
    id: string,
    from: string[],
    now: number,
    set: Updateable<PendingEnrollmentTable>,
    guard: { termsVersionAtMost?: number; termsAccepted?: boolean } = {},
  ): Promise<PendingEnrollmentRow | undefined> {
    // As Kysely's set(): a column whose value is undefined is left alone.
    const columns = (Object.keys(set) as Array<keyof typeof set>).filter((c) => set[c] !== undefined);
    const versionGuard = guard.termsVersionAtMost !== undefined;
    const query = transitionQuery(columns, from.length, versionGuard, guard.termsAccepted ?? false);
    const args = [...columns.map((c) => set[c]), now, id, ...from, now, ...(versionGuard ? [guard.termsVersionAtMost] : [])];
    return (await query(this.db, ...args)).rows[0];
  }

  /**
   * Marks the record enrolled by this enrollment and writes what the device should know about
   * how it enrolled — in one transaction, and only if no other enrollment claimed it first
   * (a retried Authenticate from the same enrollment passes again). Without `deviceId`, the
   * device is the enrollment's (a subquery: no read on the check-in path).
   */
  async link(
    id: string,
    ids: { enrollmentId: string; deviceId?: string },
    device: { organization_group_id: string; ownership: string | null; enrollment_method: string; enrolled_user_id: string | null; registration_token_id: string | null },
    now: number,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const claimed = ids.deviceId
        ? await linkRecord(trx, ids.enrollmentId, ids.deviceId, now, id)
        : await linkRecordToEnrollmentsDevice(trx, ids.enrollmentId, now, id);
      if (Number(claimed.numAffectedRows) !== 1) return false;
      const facts = [device.organization_group_id, device.ownership, device.enrollment_method, device.enrolled_user_id, device.registration_token_id, now] as const;
      if (ids.deviceId) await describeDevice(trx, ids.deviceId, ...facts);
      else await describeEnrollmentsDevice(trx, ids.enrollmentId, ...facts);
      // The device channel enrolled through Automated Device Enrollment (shown on the enrollment).
      if (device.enrollment_method.startsWith('ade')) await markAde(trx, ids.enrollmentId);
      return true;
    });
  }

  async list(f: PendingEnrollmentFilter): Promise<PendingEnrollmentRow[]> {
    let q = this.db.selectFrom('pending_enrollments').selectAll();
    if (f.state) q = q.where('state', '=', f.state);
    if (f.incompleteAt !== undefined) q = q.where('state', '!=', 'enrolled').where('expires_at', '<=', f.incompleteAt);
    if (f.activeAt !== undefined) q = q.where('expires_at', '>', f.activeAt);
    if (f.mode) q = q.where('mode', '=', f.mode);
    if (f.groupId) q = q.where('organization_group_id', '=', f.groupId);
    if (f.scopePrefix) q = q.where('organization_group_id', 'in', groupsWithin(this.db, f.scopePrefix));
    return q.orderBy('created_at', 'desc').orderBy('id').limit(f.limit).offset(f.offset).execute();
  }

  /**
   * How many records each group holds in each state, one aggregate: a record not enrolled by its
   * expiry counts as incomplete (abandoned), as list() sees it. Records still signing in have no group.
   */
  async countByGroupAndState(f: { scopePrefix?: string; now: number }): Promise<{ groupId: string | null; state: string; count: number }[]> {
    // `now` as a literal: a bound parameter would differ between SELECT and GROUP BY, which PostgreSQL refuses.
    const state = sql<string>`case when state = 'enrolled' then 'enrolled' when expires_at <= ${sql.lit(Math.trunc(f.now))} then 'incomplete' else state end`;
    let q = this.db.selectFrom('pending_enrollments').select(['organization_group_id', state.as('s'), sql<number>`count(*)`.as('n')]);
    if (f.scopePrefix) q = q.where('organization_group_id', 'in', groupsWithin(this.db, f.scopePrefix));
    const rows = await q.groupBy(['organization_group_id', state]).execute();
    return rows.map((r) => ({ groupId: r.organization_group_id, state: r.s, count: Number(r.n) }));
  }

  /** Deletes records never enrolled and created before `before`; returns how many. */
  async purgeIncomplete(before: number): Promise<number> {
    const res = await this.db.deleteFrom('pending_enrollments').where('state', '!=', 'enrolled').where('created_at', '<', before).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
