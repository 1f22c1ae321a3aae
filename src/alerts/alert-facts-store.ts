/**
 * The facts the alert checks need that no other store answers: assignment outcomes counted per
 * ABM server, and devices stuck in Setup Assistant counted per organization group.
 */
import type { Db } from '../db/database.js';
import type { StuckFacts } from './alert-checks.js';

/** Apple's answer when it throttles assignment; every other result but SUCCESS counts as failed. */
const THROTTLED = 'THROTTLED';

export class AlertFactsStore {
  constructor(private readonly db: Db) {}

  async assignmentCounts(): Promise<Map<string, { failed: number; throttled: number }>> {
    const rows = await this.db
      .selectFrom('abm_devices')
      .select(['abm_server_id', 'assign_result'])
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('removed_at', 'is', null)
      .where('assign_mode', '=', 'auto')
      .where('assign_result', 'is not', null)
      .where('assign_result', '!=', 'SUCCESS')
      .groupBy(['abm_server_id', 'assign_result'])
      .execute();
    const out = new Map<string, { failed: number; throttled: number }>();
    for (const r of rows) {
      const c = out.get(r.abm_server_id) ?? { failed: 0, throttled: 0 };
      if (r.assign_result === THROTTLED) c.throttled += Number(r.n);
      else c.failed += Number(r.n);
      out.set(r.abm_server_id, c);
    }
    return out;
  }

  /** Groups with ADE devices awaiting configuration since before `awaitingBefore`, or setup plans past their deadline. */
  async stuckDevices(awaitingBefore: number, now: number): Promise<StuckFacts[]> {
    const awaiting = await this.db
      .selectFrom('enrollments')
      .innerJoin('devices', 'devices.id', 'enrollments.device_id')
      .select('devices.organization_group_id as group_id')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('enrollments.channel', '=', 'device')
      .where('enrollments.status', '=', 'active')
      .where('enrollments.awaiting_configuration', '=', 1)
      // Since it (re-)enrolled: the enrollment row outlives re-enrollments, the device's lifecycle change does not.
      .where((eb) => eb(eb.fn.coalesce('devices.lifecycle_changed_at', 'enrollments.created_at'), '<', awaitingBefore))
      .groupBy('devices.organization_group_id')
      .execute();
    const overdue = await this.db
      .selectFrom('setup_plans')
      .select('organization_group_id as group_id')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('status', '=', 'running')
      .where('deadline_at', '<', now)
      .groupBy('organization_group_id')
      .execute();
    const byGroup = new Map<string, StuckFacts>();
    const at = (g: string) => byGroup.get(g) ?? byGroup.set(g, { groupId: g, awaiting: 0, overdue: 0 }).get(g)!;
    for (const r of awaiting) at(r.group_id).awaiting += Number(r.n);
    for (const r of overdue) at(r.group_id).overdue += Number(r.n);
    return [...byGroup.values()];
  }
}
