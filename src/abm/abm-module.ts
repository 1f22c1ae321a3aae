/**
 * Builds the ABM part of Pomona — stores, the DEP client per server, services and the periodic
 * job — from a database and a few settings. The composition root uses it, and so do tests that
 * need the services with a faster-failing DEP client.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { SecretBox } from '../pki/secret-box.js';
import { LeaseStore } from '../jobs/lease-store.js';
import { DepClient, type DepClientOptions } from './dep-client.js';
import { AbmServerStore } from './abm-server-store.js';
import { AbmDeviceStore } from './abm-device-store.js';
import { DepProfileStore } from './dep-profile-store.js';
import { AbmServerService } from './abm-server-service.js';
import { AbmDeviceService } from './abm-device-service.js';
import { DepProfileService } from './dep-profile-service.js';
import { SyncService, type SyncServiceOptions } from './sync-service.js';
import { AssignService } from './assign-service.js';
import { abmSyncJob } from './abm-sync-job.js';

export interface AbmModuleOptions {
  db: Db;
  secrets: SecretBox;
  log: Logger;
  publicUrl: string;
  settings: Config['abm'];
  nodeId: string;
  /** overrides for every DEP client (tests: short timeouts, no backoff) */
  client?: Partial<Omit<DepClientOptions, 'credentials' | 'sessions' | 'baseUrl'>>;
  now?: () => number;
  /** each ABM sync's end (metrics) */
  onSync?: SyncServiceOptions['onRun'];
}

export function createAbm(o: AbmModuleOptions) {
  const leases = new LeaseStore(o.db);
  const serverStore = new AbmServerStore(o.db);
  const deviceStore = new AbmDeviceStore(o.db);
  const profileStore = new DepProfileStore(o.db);
  const abmServers = new AbmServerService({
    store: serverStore,
    secrets: o.secrets,
    leases,
    now: o.now,
    expiryWarningDays: o.settings.tokenWarningDays,
    clients: (c) => new DepClient({ ...c, userAgent: o.settings.userAgent, protocolVersion: o.settings.protocolVersion, ...o.client }),
  });
  const depProfiles = new DepProfileService({ profiles: profileStore, devices: deviceStore, servers: abmServers, publicUrl: o.publicUrl, now: o.now });
  const abmSync = new SyncService({ servers: abmServers, serverStore, devices: deviceStore, profiles: profileStore, now: o.now, onRun: o.onSync });
  const abmAssign = new AssignService({
    servers: abmServers,
    devices: deviceStore,
    profiles: profileStore,
    ensureDefined: (p) => depProfiles.ensureDefined(p),
    cooldownMs: o.settings.assignCooldownHours * 3_600_000,
    now: o.now,
  });
  const abmDevices = new AbmDeviceService({ devices: deviceStore, profiles: profileStore, servers: serverStore, now: o.now });
  const abmJob = abmSyncJob({ servers: serverStore, sync: abmSync, assign: abmAssign, leases, nodeId: o.nodeId, log: o.log, everyMs: o.settings.jobTickSeconds * 1000, leaseMs: (o.settings.jobLeaseSeconds ?? 60) * 1000, now: o.now });
  return { leases, abmServers, depProfiles, abmSync, abmAssign, abmDevices, abmJob };
}
