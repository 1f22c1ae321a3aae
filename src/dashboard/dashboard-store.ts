/**
 * The counts behind the console's dashboard, each one aggregate query over an admin's subtree:
 * the ADE funnel of the ABM devices, assignment failures, devices by platform and OS version, new
 * devices per day and devices waiting too long in Setup Assistant. Nothing here loads rows.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { abmServersWithin, groupsWithin } from '../org/scope-store.js';

const DAY_MS = 86_400_000;

export interface DashboardCounts {
  funnel: { inAbm: number; assigned: number; pushed: number; enrolled: number };
  assignments: { failed: number; throttled: number };
  byPlatform: { platform: string | null; count: number }[];
  byOsVersion: { platform: string | null; osVersion: string | null; count: number }[];
  newDevicesPerDay: { day: number; count: number }[];
  awaitingConfiguration: { total: number; overdue: number };
}

export class DashboardStore {
  constructor(private readonly db: Db) {}

  /** `scopePrefix`: the admin's group path, undefined for the whole installation */
  async counts(o: { scopePrefix?: string; since: number; overdueBefore: number }): Promise<DashboardCounts> {
    const [funnel, assignments, byPlatform, byOsVersion, perDay, awaiting] = await Promise.all([
      this.#funnel(o.scopePrefix),
      this.#assignments(o.scopePrefix),
      this.#byPlatform(o.scopePrefix),
      this.#byOsVersion(o.scopePrefix),
      this.#perDay(o.scopePrefix, o.since),
      this.#awaiting(o.scopePrefix, o.overdueBefore),
    ]);
    return { funnel, assignments, byPlatform, byOsVersion, newDevicesPerDay: perDay, awaitingConfiguration: awaiting };
  }

  /** ABM devices in Apple Business Manager now, of servers in scope */
  #abmDevices(prefix: string | undefined) {
    let q = this.db.selectFrom('abm_devices as a').where('a.removed_at', 'is', null);
    if (prefix) q = q.where('a.abm_server_id', 'in', abmServersWithin(this.db, prefix));
    return q;
  }

  /** Devices Pomona manages (not retired), in scope */
  #devices(prefix: string | undefined) {
    let q = this.db.selectFrom('devices as d').where('d.lifecycle_state', '!=', 'removed');
    if (prefix) q = q.where('d.organization_group_id', 'in', groupsWithin(this.db, prefix));
    return q;
  }

  async #funnel(prefix: string | undefined): Promise<DashboardCounts['funnel']> {
    const n = (expr: string) => sql<number>`coalesce(sum(case when ${sql.raw(expr)} then 1 else 0 end), 0)`;
    const row = await this.#abmDevices(prefix)
      .leftJoin('devices as d', 'd.id', 'a.device_id')
      .select([
        sql<number>`count(*)`.as('in_abm'),
        n("a.profile_status in ('assigned', 'pushed')").as('assigned'),
        n("a.profile_status = 'pushed'").as('pushed'),
        n("d.lifecycle_state = 'enrolled'").as('enrolled'),
      ])
      .executeTakeFirstOrThrow();
    return { inAbm: Number(row.in_abm), assigned: Number(row.assigned), pushed: Number(row.pushed), enrolled: Number(row.enrolled) };
  }

  async #assignments(prefix: string | undefined): Promise<DashboardCounts['assignments']> {
    const rows = await this.#abmDevices(prefix)
      .where('a.assign_result', 'in', ['FAILED', 'NOT_ACCESSIBLE', 'THROTTLED'])
      .select(['a.assign_result', sql<number>`count(*)`.as('n')])
      .groupBy('a.assign_result')
      .execute();
    const count = (results: string[]) => rows.filter((r) => results.includes(r.assign_result!)).reduce((s, r) => s + Number(r.n), 0);
    return { failed: count(['FAILED', 'NOT_ACCESSIBLE']), throttled: count(['THROTTLED']) };
  }

  async #byPlatform(prefix: string | undefined) {
    const rows = await this.#devices(prefix).select(['d.platform', sql<number>`count(*)`.as('n')]).groupBy('d.platform').orderBy('n', 'desc').execute();
    return rows.map((r) => ({ platform: r.platform, count: Number(r.n) }));
  }

  async #byOsVersion(prefix: string | undefined) {
    const rows = await this.#devices(prefix)
      .select(['d.platform', 'd.os_version', sql<number>`count(*)`.as('n')])
      .groupBy(['d.platform', 'd.os_version'])
      .orderBy('n', 'desc')
      .limit(12)
      .execute();
    return rows.map((r) => ({ platform: r.platform, osVersion: r.os_version, count: Number(r.n) }));
  }

  async #perDay(prefix: string | undefined, since: number) {
    // Whole UTC days as integers: integer division means the same on SQLite and PostgreSQL (bigint).
    const day = sql<number>`d.created_at / ${sql.lit(DAY_MS)}`;
    const rows = await this.#devices(prefix).where('d.created_at', '>=', since).select([day.as('day'), sql<number>`count(*)`.as('n')]).groupBy(day).orderBy(day).execute();
    return rows.map((r) => ({ day: Number(r.day) * DAY_MS, count: Number(r.n) }));
  }

  async #awaiting(prefix: string | undefined, overdueBefore: number) {
    let q = this.db.selectFrom('enrollments as e').innerJoin('devices as d', 'd.id', 'e.device_id').where('e.awaiting_configuration', '=', 1).where('e.status', '=', 'active').where('e.channel', '=', 'device');
    if (prefix) q = q.where('d.organization_group_id', 'in', groupsWithin(this.db, prefix));
    // Waiting since it (re-)enrolled, as the stuck-devices alert counts it (src/alerts/alert-facts-store.ts).
    const row = await q
      .select([sql<number>`count(*)`.as('total'), sql<number>`coalesce(sum(case when coalesce(d.lifecycle_changed_at, e.created_at) < ${overdueBefore} then 1 else 0 end), 0)`.as('overdue')])
      .executeTakeFirstOrThrow();
    return { total: Number(row.total), overdue: Number(row.overdue) };
  }
}
