/** Queries behind the setup plan: plans and their steps, and what a plan is built from. Kysely only. */
import type { Insertable, Selectable } from 'kysely';
import { isUniqueViolation, type Db } from '../db/database.js';
import { prepared } from '../db/prepared.js';
import type { SetupPlanStepTable, SetupPlanTable } from '../db/schema.js';

export type SetupPlanRow = Selectable<SetupPlanTable>;
export type SetupPlanStepRow = Selectable<SetupPlanStepTable>;
export type StepStatus = SetupPlanStepRow['status'];

export class SetupPlanStore {
  constructor(private readonly db: Db) {}

  // ---- what a plan is built from

  async deviceChannel(enrollmentId: string) {
    return first(await q.deviceChannel(this.db, enrollmentId));
  }

  /** The device-channel enrollment of a device (the newest, should there be several). */
  deviceChannelOf(deviceId: string) {
    return this.db
      .selectFrom('enrollments')
      .select(['id', 'device_id', 'channel', 'status', 'awaiting_configuration'])
      .where('device_id', '=', deviceId)
      .where('channel', '=', 'device')
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * When the enrollment last authenticated: Authenticate (re)binds its identity certificate, so
   * the latest binding marks the current enrollment session (a wiped device enrolling again
   * starts a new one; a repeated TokenUpdate does not).
   */
  async sessionAt(enrollmentId: string): Promise<number> {
    const row = (await q.sessionAt(this.db, enrollmentId)).rows[0];
    return Number(row?.at ?? 0);
  }

  async device(deviceId: string) {
    return first(await q.device(this.db, deviceId));
  }

  async user(userId: string) {
    return first(await q.user(this.db, userId));
  }

  async groupExists(groupId: string): Promise<boolean> {
    return (await q.groupExists(this.db, groupId)).rows.length > 0;
  }

  // ---- plans

  /**
   * Inserts a plan with its steps and cancels the enrollment's plans of earlier sessions still
   * running. False when the session has a plan already (another TokenUpdate, another node).
   */
  async insert(plan: Insertable<SetupPlanTable>, steps: Array<Insertable<SetupPlanStepTable>>): Promise<boolean> {
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('setup_plans').values(plan).execute();
        if (steps.length) await tx.insertInto('setup_plan_steps').values(steps).execute();
        await q.cancelRunningBefore(tx, plan.enrollment_id, 're-enrolled', plan.started_at, plan.session_at);
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async get(id: string): Promise<SetupPlanRow | undefined> {
    return (await q.plan(this.db, id)).rows[0];
  }

  async forSession(enrollmentId: string, sessionAt: number): Promise<SetupPlanRow | undefined> {
    return (await q.forSession(this.db, enrollmentId, sessionAt)).rows[0];
  }

  latestForDevice(deviceId: string): Promise<SetupPlanRow | undefined> {
    return this.db.selectFrom('setup_plans').selectAll().where('device_id', '=', deviceId).orderBy('started_at', 'desc').orderBy('id').limit(1).executeTakeFirst();
  }

  async steps(planId: string): Promise<SetupPlanStepRow[]> {
    return (await q.steps(this.db, planId)).rows;
  }

  async stepByCommand(commandUuid: string): Promise<SetupPlanStepRow | undefined> {
    return (await q.stepByCommand(this.db, commandUuid)).rows[0];
  }

  /** Ends a running plan; false when it was not running (released or cancelled meanwhile, maybe by another node). */
  async end(planId: string, status: 'released' | 'cancelled', reason: string, by: string | null, now: number): Promise<boolean> {
    return Number((await q.end(this.db, planId, status, reason, by, now)).numAffectedRows) === 1;
  }

  /** Cancels the enrollment's running plans of sessions before `sessionAt` (all of them when omitted). */
  async cancelRunning(enrollmentId: string, reason: string, now: number, beforeSession?: number): Promise<void> {
    if (beforeSession === undefined) await q.cancelRunning(this.db, enrollmentId, reason, now);
    else await q.cancelRunningBefore(this.db, enrollmentId, reason, now, beforeSession);
  }

  // ---- steps

  /** Records the command a pending step was queued as; false when it was not pending anymore. */
  async markQueued(planId: string, position: number, commandUuid: string, now: number): Promise<boolean> {
    return Number((await q.markQueued(this.db, planId, position, commandUuid, now)).numAffectedRows) === 1;
  }

  /** A step Pomona could not send (its profile was deleted meanwhile, …): it failed without an answer. */
  async markFailed(planId: string, position: number, errorJson: string, now: number): Promise<void> {
    await this.db
      .updateTable('setup_plan_steps')
      .set({ status: 'error', error_json: errorJson, answered_at: now })
      .where('plan_id', '=', planId)
      .where('position', '=', position)
      .where('status', 'in', ['pending', 'queued'])
      .execute();
  }

  /**
   * The device's answer. The outcome changes only while the step waits for one: a step timed
   * out by the time limit keeps that outcome, and the late answer is kept beside it.
   */
  async recordAnswer(a: { planId: string; position: number; deviceStatus: string; outcome?: 'acknowledged' | 'error'; errorJson: string | null; now: number }): Promise<void> {
    await this.db
      .updateTable('setup_plan_steps')
      .set((eb) => ({
        device_status: a.deviceStatus,
        answered_at: a.now,
        ...(a.errorJson !== null && { error_json: a.errorJson }),
        ...(a.outcome && { status: eb.case().when('status', 'in', ['pending', 'queued']).then(a.outcome).else(eb.ref('status')).end() }),
      }))
      .where('plan_id', '=', a.planId)
      .where('position', '=', a.position)
      .execute();
  }

  /** At the time limit: the steps without an answer (DeviceConfigured aside) timed out. */
  async timeOut(planId: string): Promise<void> {
    await this.db
      .updateTable('setup_plan_steps')
      .set({ status: 'timed-out' })
      .where('plan_id', '=', planId)
      .where('kind', '!=', 'device-configured')
      .where('status', 'in', ['pending', 'queued'])
      .execute();
  }

  // ---- what the periodic job looks for

  overdue(now: number, limit: number): Promise<SetupPlanRow[]> {
    return this.db.selectFrom('setup_plans').selectAll().where('status', '=', 'running').where('deadline_at', '<=', now).orderBy('deadline_at').limit(limit).execute();
  }

  /** Running plans with a step never queued (the node starting them stopped midway). */
  stalled(startedBefore: number, limit: number): Promise<SetupPlanRow[]> {
    return this.#withPendingStep({ plan: 'running', deviceConfigured: false, column: 'p.started_at', before: startedBefore, limit });
  }

  /** Released plans whose DeviceConfigured was never queued (the node releasing them stopped midway). */
  releasedWithoutDeviceConfigured(endedBefore: number, limit: number): Promise<SetupPlanRow[]> {
    return this.#withPendingStep({ plan: 'released', deviceConfigured: true, column: 'p.ended_at', before: endedBefore, limit });
  }

  // Pending steps exist only while plans are in flight, so these start from them (indexed), not
  // from the ever-growing list of plans.
  #withPendingStep(o: { plan: 'running' | 'released'; deviceConfigured: boolean; column: 'p.started_at' | 'p.ended_at'; before: number; limit: number }): Promise<SetupPlanRow[]> {
    return this.db
      .selectFrom('setup_plan_steps as s')
      .innerJoin('setup_plans as p', 'p.id', 's.plan_id')
      .selectAll('p')
      .distinct()
      .where('s.status', '=', 'pending')
      .where('s.kind', o.deviceConfigured ? '=' : '!=', 'device-configured')
      .where('p.status', '=', o.plan)
      .where(o.column, '<', o.before)
      .limit(o.limit)
      .execute();
  }
}

/** The row a query found, if any. */
const first = <R>(result: { rows: R[] }): R | undefined => result.rows[0];

const cancelRunning = (db: Db, enrollmentId: string, reason: string, now: number) =>
  db.updateTable('setup_plans').set({ status: 'cancelled', reason, ended_at: now }).where('enrollment_id', '=', enrollmentId).where('status', '=', 'running');

/** Run at every Authenticate, for every command result, and for every plan (see src/db/prepared.ts). */
const q = {
  deviceChannel: prepared((db, enrollmentId: string) =>
    db.selectFrom('enrollments').select(['id', 'device_id', 'channel', 'status', 'awaiting_configuration']).where('id', '=', enrollmentId),
  ),
  device: prepared((db, deviceId: string) =>
    db.selectFrom('devices').select(['id', 'serial_number', 'product_name', 'organization_group_id', 'enrolled_user_id']).where('id', '=', deviceId),
  ),
  user: prepared((db, userId: string) => db.selectFrom('users').select(['username', 'display_name']).where('id', '=', userId)),
  groupExists: prepared((db, groupId: string) => db.selectFrom('organization_groups').select('id').where('id', '=', groupId)),
  plan: prepared((db, id: string) => db.selectFrom('setup_plans').selectAll().where('id', '=', id)),
  forSession: prepared((db, enrollmentId: string, sessionAt: number) =>
    db.selectFrom('setup_plans').selectAll().where('enrollment_id', '=', enrollmentId).where('session_at', '=', sessionAt),
  ),
  steps: prepared((db, planId: string) => db.selectFrom('setup_plan_steps').selectAll().where('plan_id', '=', planId).orderBy('position')),
  end: prepared((db, planId: string, status: 'released' | 'cancelled', reason: string, by: string | null, now: number) =>
    db.updateTable('setup_plans').set({ status, reason, ended_by: by, ended_at: now }).where('id', '=', planId).where('status', '=', 'running'),
  ),
  markQueued: prepared((db, planId: string, position: number, commandUuid: string, now: number) =>
    db
      .updateTable('setup_plan_steps')
      .set({ status: 'queued', command_uuid: commandUuid, queued_at: now })
      .where('plan_id', '=', planId)
      .where('position', '=', position)
      .where('status', '=', 'pending'),
  ),
  sessionAt: prepared((db, enrollmentId: string) =>
    db.selectFrom('identity_certificates').select((eb) => eb.fn.max('bound_at').as('at')).where('enrollment_id', '=', enrollmentId),
  ),
  stepByCommand: prepared((db, commandUuid: string) => db.selectFrom('setup_plan_steps').selectAll().where('command_uuid', '=', commandUuid)),
  cancelRunning: prepared(cancelRunning),
  cancelRunningBefore: prepared((db, enrollmentId: string, reason: string, now: number, beforeSession: number) =>
    cancelRunning(db, enrollmentId, reason, now).where('session_at', '<', beforeSession),
  ),
};
