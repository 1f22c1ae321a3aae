/**
 * The periodic purge of abandoned enrollments: staging records that never reached "enrolled"
 * (shown as incomplete meanwhile) are deleted once older than the configured age (default 30
 * days), and with them the access tokens of account-driven user enrollment. Under a lease, so
 * one node does it; deleting twice would be harmless, but pointless work on every node.
 *
 * A restarted enrollment is a new record (a user enrollment has no identifier to merge on), so
 * nothing but age decides what goes.
 */
import type { Logger } from 'pino';
import type { LeaseStore } from '../jobs/lease-store.js';
import { withLease, type Job } from '../jobs/scheduler.js';
import type { PendingEnrollmentService } from './pending-enrollment-service.js';
import type { UserEnrollmentTokenStore } from './user-enrollment-token-store.js';

export const ENROLLMENT_PURGE_LEASE = 'enrollment-purge';

export interface EnrollmentPurgeJobOptions {
  pending: Pick<PendingEnrollmentService, 'purgeIncomplete'>;
  tokens: UserEnrollmentTokenStore;
  leases: LeaseStore;
  nodeId: string;
  log: Logger;
  /** incomplete records older than this go */
  purgeAfterDays: number;
  everyMs?: number;
  now?: () => number;
}

export function enrollmentPurgeJob(o: EnrollmentPurgeJobOptions): Job {
  const now = o.now ?? Date.now;
  return {
    name: 'enrollment-purge',
    everyMs: o.everyMs ?? 60 * 60_000,
    async tick(due) {
      await withLease(o.leases, { name: ENROLLMENT_PURGE_LEASE, holder: o.nodeId, ttlMs: 5 * 60_000, now, dueAt: due, log: o.log }, async () => {
        const records = await o.pending.purgeIncomplete(o.purgeAfterDays);
        // Access tokens live minutes; the expired ones, and those whose record just went, are kept for nothing.
        const tokens = await o.tokens.purge(now());
        if (records > 0 || tokens > 0) o.log.info({ records, tokens, olderThanDays: o.purgeAfterDays }, 'incomplete enrollments purged');
      });
    },
  };
}
