/**
 * Queries behind an ADE device's timeline: its ABM record, its staging records, the requests
 * refused, its identity certificates, enrollments and setup plans — each read by serial or by
 * the device the serial enrolled as. Kysely only; the story is told in ade-timeline-service.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { AbmDeviceTable, EnrollmentEventTable, PendingEnrollmentTable, SetupPlanStepTable, SetupPlanTable } from '../db/schema.js';

export interface TimelineFacts {
  abm?: Pick<Selectable<AbmDeviceTable>, 'device_assigned_date' | 'device_assigned_by' | 'first_seen_at' | 'profile_assign_time' | 'profile_push_time' | 'profile_uuid' | 'assign_result' | 'assign_error' | 'assign_attempted_at' | 'removed_at'>;
  attempts: Array<Selectable<PendingEnrollmentTable> & { username: string | null }>;
  events: Selectable<EnrollmentEventTable>[];
  identities: { created_at: number; bound_at: number | null; enrollment_id: string | null }[];
  enrollments: { id: string; created_at: number; status: string; token_update_count: number; checked_out_at: number | null }[];
  plans: Array<Selectable<SetupPlanTable> & { steps: Selectable<SetupPlanStepTable>[] }>;
}

/** Enough history per device for an admin, and a bound on what one request reads. */
const LIMIT = 200;

export class AdeTimelineStore {
  constructor(private readonly db: Db) {}

  async record(e: { serialNumber: string; step: string; outcome: string; detail: string; at: number }): Promise<void> {
    await this.db.insertInto('enrollment_events').values({ id: randomUUID(), serial_number: e.serialNumber, at: e.at, step: e.step, outcome: e.outcome, detail: e.detail.slice(0, 1000) }).execute();
  }

  async facts(serial: string): Promise<TimelineFacts> {
    const db = this.db;
    const [abm, attempts, events, device] = await Promise.all([
      db.selectFrom('abm_devices')
        .select(['device_assigned_date', 'device_assigned_by', 'first_seen_at', 'profile_assign_time', 'profile_push_time', 'profile_uuid', 'assign_result', 'assign_error', 'assign_attempted_at', 'removed_at'])
        .where('serial_number', '=', serial).executeTakeFirst(),
      db.selectFrom('pending_enrollments').leftJoin('users', 'users.id', 'pending_enrollments.user_id').selectAll('pending_enrollments').select('users.username')
        .where('pending_enrollments.serial_number', '=', serial).orderBy('pending_enrollments.created_at', 'desc').limit(LIMIT).execute(),
      db.selectFrom('enrollment_events').selectAll().where('serial_number', '=', serial).orderBy('at', 'desc').limit(LIMIT).execute(),
      db.selectFrom('devices').select('id').where('serial_number', '=', serial).executeTakeFirst(),
    ]);
    if (!device) return { abm, attempts, events, identities: [], enrollments: [], plans: [] };
    const enrollments = await db.selectFrom('enrollments').select(['id', 'created_at', 'status', 'token_update_count', 'checked_out_at'])
      .where('device_id', '=', device.id).where('channel', '=', 'device').execute();
    const ids = enrollments.map((e) => e.id);
    const [identities, plans] = await Promise.all([
      ids.length
        ? db.selectFrom('identity_certificates').select(['created_at', 'bound_at', 'enrollment_id']).where('enrollment_id', 'in', ids).orderBy('created_at', 'desc').limit(LIMIT).execute()
        : Promise.resolve([]),
      db.selectFrom('setup_plans').selectAll().where('device_id', '=', device.id).orderBy('started_at', 'desc').limit(20).execute(),
    ]);
    const steps = plans.length
      ? await db.selectFrom('setup_plan_steps').selectAll().where('plan_id', 'in', plans.map((p) => p.id)).orderBy('position').execute()
      : [];
    return { abm, attempts, events, identities, enrollments, plans: plans.map((p) => ({ ...p, steps: steps.filter((s) => s.plan_id === p.id) })) };
  }
}
