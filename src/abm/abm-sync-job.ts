/**
 * The periodic ABM job: for each server with a token, sync its devices when due (by its schedule,
 * or because an admin asked), then assign profiles to the devices that need one (new devices,
 * edited profiles, cooled-down retries) — under the server's lease, so one node does it. The
 * due check is made after taking the lease: another node may just have run the sync.
 */
import type { Logger } from 'pino';
import type { LeaseStore } from '../jobs/lease-store.js';
import { runOnce, withLease, type Job } from '../jobs/scheduler.js';
import type { AbmServerStore } from './abm-server-store.js';
import type { AssignService } from './assign-service.js';
import type { SyncService } from './sync-service.js';

export interface AbmSyncJobOptions {
  servers: AbmServerStore;
  sync: SyncService;
  assign: AssignService;
  leases: LeaseStore;
  nodeId: string;
  log: Logger;
  everyMs?: number;
  leaseMs?: number;
  now?: () => number;
}

export const abmLeaseName = (serverId: string) => `abm-sync:${serverId}`;

export function abmSyncJob(o: AbmSyncJobOptions): Job {
  const now = o.now ?? Date.now;
  return {
    name: 'abm-sync',
    everyMs: o.everyMs ?? 10_000,
    async tick() {
      for (const due of await o.servers.withTokens()) {
        await withLease(o.leases, { name: abmLeaseName(due.id), holder: o.nodeId, ttlMs: o.leaseMs ?? 60_000, now }, async (heartbeat) => {
          const row = await o.servers.get(due.id);
          if (!row || !row.tokens_enc) return;
          const log = o.log.child({ abmServer: row.name });
          const isDue = row.sync_requested !== null || row.next_sync_at === null || row.next_sync_at <= now();
          if (isDue) {
            const requested = row.sync_requested;
            const requestedAt = row.sync_requested_at;
            // One sync per due time across the nodes: a node that died mid-sync leaves its run to
            // be resumed (from the last committed page), one that finished leaves nothing to redo.
            const dueAt = requestedAt ?? row.next_sync_at ?? 0;
            try {
              await runOnce(o.leases.runs, { job: abmLeaseName(row.id), dueAt, holder: o.nodeId, now, log }, async () => {
                try {
                  const result = await o.sync.run(row.id, { full: requested === 'full', heartbeat });
                  log.info({ result }, 'ABM sync finished');
                } catch (err) {
                  log.warn({ err: err instanceof Error ? err.message : err }, 'ABM sync failed');
                }
              });
            } finally {
              // Also when the run had finished already (its node died before taking the request).
              await o.servers.takeSyncRequest(row.id, requestedAt);
            }
          }
          try {
            const assigned = await o.assign.run(row.id, heartbeat);
            if (assigned.sent > 0 || assigned.errors.length > 0) log.info({ assigned }, 'ABM profile assignment');
          } catch (err) {
            log.warn({ err: err instanceof Error ? err.message : err }, 'ABM profile assignment failed');
          }
        });
      }
    },
  };
}
