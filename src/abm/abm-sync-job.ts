/**
 * The periodic ABM job: for each server whose sync is due (by its schedule, or because an admin
 * asked), sync its devices and then assign profiles — under the server's lease, so one node
 * does it. After taking the lease the server is read again: another node may just have run it.
 */
import type { Logger } from 'pino';
import type { LeaseStore } from '../jobs/lease-store.js';
import { withLease, type Job } from '../jobs/scheduler.js';
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
      for (const due of await o.servers.dueForSync(now())) {
        await withLease(o.leases, { name: abmLeaseName(due.id), holder: o.nodeId, ttlMs: o.leaseMs ?? 60_000, now }, async (heartbeat) => {
          const row = await o.servers.get(due.id);
          if (!row || !row.tokens_enc) return;
          const isDue = row.sync_requested !== null || row.next_sync_at === null || row.next_sync_at <= now();
          if (!isDue) return;
          const requested = row.sync_requested;
          const log = o.log.child({ abmServer: row.name });
          try {
            const result = await o.sync.run(row.id, { full: requested === 'full', heartbeat });
            log.info({ result }, 'ABM sync finished');
          } catch (err) {
            log.warn({ err: err instanceof Error ? err.message : err }, 'ABM sync failed');
          } finally {
            await o.servers.takeSyncRequest(row.id, requested);
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
