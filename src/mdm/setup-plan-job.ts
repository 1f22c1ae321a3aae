/**
 * The await-configuration clock: releases devices whose setup plan ran past its time limit,
 * finishes what a stopped node left half done, and rotates managed-admin passwords some time
 * after they were viewed. Deadlines live in the database, so whichever node holds the lease
 * when one passes acts on it — a restart or a dead node delays a release by one tick at most.
 */
import type { Logger } from 'pino';
import type { LeaseStore } from '../jobs/lease-store.js';
import { withLease, type Job } from '../jobs/scheduler.js';
import type { AuditService } from '../org/audit-service.js';
import type { ManagedAdminService } from './managed-admin-service.js';
import type { SetupPlanService } from './setup-plan-service.js';

export const SETUP_PLAN_JOB = 'setup-plans';

export function setupPlanJob(o: {
  plans: SetupPlanService;
  managedAdmin: ManagedAdminService;
  audit: AuditService;
  leases: LeaseStore;
  nodeId: string;
  log: Logger;
  everyMs: number;
  now?: () => number;
}): Job {
  const now = o.now ?? Date.now;
  return {
    name: SETUP_PLAN_JOB,
    everyMs: o.everyMs,
    async tick(due) {
      await withLease(o.leases, { name: SETUP_PLAN_JOB, holder: o.nodeId, ttlMs: 60_000, now, dueAt: due, log: o.log }, async (heartbeat) => {
        const { released } = await o.plans.tick(now());
        if (released) o.log.info({ released }, 'setup plans released at their time limit');
        await heartbeat();
        for (const deviceId of await o.managedAdmin.rotateDue(now())) {
          await o.audit.record({ actor: 'system', action: 'device.managed_admin_password.rotate', target: deviceId, outcome: 'success', details: { reason: 'after-view' } });
        }
      });
    },
  };
}
