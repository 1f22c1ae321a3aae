/**
 * The periodic alert job: under one lease for the whole cluster, run the checks (recording each
 * state change once) and send the deliveries that are due — so two nodes never both notify.
 */
import type { Logger } from 'pino';
import type { LeaseStore } from '../jobs/lease-store.js';
import { withLease, type Job } from '../jobs/scheduler.js';
import type { AlertDelivery } from './alert-delivery.js';
import type { AlertService } from './alert-service.js';

export interface AlertJobOptions {
  alerts: AlertService;
  delivery: AlertDelivery;
  leases: LeaseStore;
  nodeId: string;
  log: Logger;
  everyMs: number;
  leaseMs?: number;
  now?: () => number;
}

export const ALERT_LEASE = 'alerts';

export function alertJob(o: AlertJobOptions): Job {
  return {
    name: 'alerts',
    everyMs: o.everyMs,
    async tick(due) {
      await withLease(o.leases, { name: ALERT_LEASE, holder: o.nodeId, ttlMs: o.leaseMs ?? 120_000, now: o.now, dueAt: due, log: o.log }, async (heartbeat) => {
        try {
          const events = await o.alerts.check();
          if (events.length) o.log.debug({ events: events.length }, 'alert states changed');
        } catch (err) {
          o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'alert checks failed');
        }
        await heartbeat();
        await o.delivery.deliverDue(heartbeat);
      });
    },
  };
}
