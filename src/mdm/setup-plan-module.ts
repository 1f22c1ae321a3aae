/**
 * Builds the await-configuration part of Pomona — the configuration-profile library, setup
 * plans, managed macOS administrators, bootstrap-token escrow status and their periodic job — and
 * subscribes it to the check-in events. The composition root calls it once.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import type { SecretBox } from '../pki/secret-box.js';
import { resolveDepProfile, type DepProfileSettings } from '../abm/dep-profile.js';
import { AbmDeviceStore } from '../abm/abm-device-store.js';
import { DepProfileStore } from '../abm/dep-profile-store.js';
import { buildCommand } from '../apple/commands.js';
import { LeaseStore } from '../jobs/lease-store.js';
import type { AuditService } from '../org/audit-service.js';
import type { OrgGroupService } from '../org/org-group-service.js';
import { BootstrapTokenStore } from './bootstrap-token-store.js';
import type { PushPort } from './command-service.js';
import type { CommandStore } from './command-store.js';
import { ConfigurationProfileService } from './configuration-profile-service.js';
import { ConfigurationProfileStore } from './configuration-profile-store.js';
import { ManagedAdminService } from './managed-admin-service.js';
import { ManagedAdminStore } from './managed-admin-store.js';
import type { MdmEvents } from './mdm-events.js';
import { setupPlanJob } from './setup-plan-job.js';
import { SetupPlanService, type PrimaryAccountResolver } from './setup-plan-service.js';
import { SetupPlanStore } from './setup-plan-store.js';
import { systemCommands } from './system-commands.js';

export interface SetupPlanModuleOptions {
  db: Db;
  secrets: SecretBox;
  log: Logger;
  events: MdmEvents;
  commandStore: CommandStore;
  push: PushPort;
  groups: OrgGroupService;
  audit: AuditService;
  nodeId: string;
  /** the explicit primary-account prefill of an enrollment (the ADE web view) */
  primaryAccount?: PrimaryAccountResolver;
  jobEveryMs?: number;
  /** PBKDF2 iterations of managed-admin password hashes (default: Apple's suggested range) */
  hashIterations?: number;
  now?: () => number;
}

/** Only answers to these can concern a plan step or a managed-admin password change (one lookup saved on every other answer). */
const PLAN_REQUESTS = new Set(['InstallProfile', 'AccountConfiguration', 'Settings', 'DeviceConfigured']);
const ADMIN_REQUESTS = new Set(['AccountConfiguration', 'SetAutoAdminPassword', 'DeviceInformation']);

export function createSetupPlans(o: SetupPlanModuleOptions) {
  const depProfiles = new DepProfileStore(o.db);
  const commands = systemCommands({ store: o.commandStore, build: buildCommand, push: o.push, log: o.log });
  const configurationProfiles = new ConfigurationProfileService({
    store: new ConfigurationProfileStore(o.db),
    groupLineage: (id) => o.groups.lineage(id),
    depProfileExists: async (id) => Boolean(await depProfiles.get(id)),
    now: o.now,
  });
  const managedAdmin = new ManagedAdminService({ store: new ManagedAdminStore(o.db), secrets: o.secrets, commands, hashIterations: o.hashIterations, now: o.now });
  const asProfile = (row: { id: string; settings_json: string } | undefined) =>
    row ? { id: row.id, settings: resolveDepProfile(JSON.parse(row.settings_json) as DepProfileSettings) } : undefined;
  const setupPlans = new SetupPlanService({
    store: new SetupPlanStore(o.db),
    abmDevices: new AbmDeviceStore(o.db),
    profiles: configurationProfiles,
    depProfiles: { get: async (id) => asProfile(await depProfiles.get(id)), defaultFor: async (serverId) => asProfile(await depProfiles.defaultFor(serverId)) },
    managedAdmin,
    commands,
    primaryAccount: o.primaryAccount,
    log: o.log,
    now: o.now,
  });
  o.events.on('tokenUpdate', (e) => setupPlans.onTokenUpdate(e));
  o.events.on('authenticate', (e) => setupPlans.onAuthenticate(e));
  o.events.on('checkOut', (e) => setupPlans.onCheckOut(e));
  o.events.on('commandResult', (e) => (PLAN_REQUESTS.has(e.requestType) ? setupPlans.onCommandResult(e) : undefined));
  o.events.on('commandResult', (e) => (ADMIN_REQUESTS.has(e.requestType) ? managedAdmin.onCommandResult(e) : undefined));
  const setupPlanJobInstance = setupPlanJob({
    plans: setupPlans, managedAdmin, audit: o.audit, leases: new LeaseStore(o.db), nodeId: o.nodeId, log: o.log, everyMs: o.jobEveryMs ?? 15_000, now: o.now,
  });
  return { configurationProfiles, setupPlans, managedAdmin, bootstrapTokens: new BootstrapTokenStore(o.db), setupPlanJob: setupPlanJobInstance };
}
