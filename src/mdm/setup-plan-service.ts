/**
 * Await configuration (issue 5 §7). When an ADE device's TokenUpdate says AwaitingConfiguration,
 * Setup Assistant waits on its Remote Management pane until the server sends DeviceConfigured.
 * Meanwhile Pomona runs one setup plan per enrollment session: the configuration profiles that
 * apply (the DEP profile's and its group chain's), on macOS AccountConfiguration, then Settings,
 * then DeviceConfigured — as soon as every step is acknowledged, or when the profile's time limit
 * runs out (the periodic job, under a lease, so a node restart loses nothing), or when an admin
 * releases the device by hand. Every step's outcome is recorded.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AbmDeviceStore } from '../abm/abm-device-store.js';
import type { DepProfile } from '../abm/dep-profile.js';
import { accountConfigurationCommand, macOSShortName, type PrimaryAccountPrefill } from '../apple/account-configuration.js';
import { ServiceError } from '../service-error.js';
import type { ConfigurationProfileService } from './configuration-profile-service.js';
import type { ManagedAdminService } from './managed-admin-service.js';
import type { MdmEventMap } from './mdm-events.js';
import { planSteps, platformOf, primaryAccountPrefill, settingsItems, timeLimitMinutes, type Platform, type PrimaryAccountInput, type StepKind } from './setup-plan-builder.js';
import { stepOutcome, type StepError } from './setup-plan-outcome.js';
import type { SetupPlanRow, SetupPlanStepRow, SetupPlanStore } from './setup-plan-store.js';
import type { SystemCommands } from './system-commands.js';

export type { PrimaryAccountInput } from './setup-plan-builder.js';

/** The root of the organization tree (src/org/org-group-service.ts ROOT_GROUP_ID). */
const ROOT_GROUP_ID = 'global';
/** A step still unsent, or a release without DeviceConfigured, this long after the fact: its node stopped. */
const RECOVERY_GRACE_MS = 30_000;
const ACTOR = 'system:setup-plan';

export class SetupPlanError extends ServiceError {
  constructor(code: 'not_found' | 'conflict', message: string) {
    super(code, code, message);
  }
}

/** Who the Mac's primary account is for, when the enrollment knows (the ADE web view supplies it). */
export type PrimaryAccountResolver = (device: { deviceId: string; enrollmentId: string; serialNumber: string | null }) => Promise<PrimaryAccountInput | undefined>;

export interface SetupPlanView {
  id: string;
  deviceId: string;
  enrollmentId: string;
  depProfileId: string | null;
  platform: string | null;
  organizationGroupId: string;
  timeLimitMinutes: number;
  status: 'running' | 'released' | 'cancelled';
  /** released: completed | time-limit | manual; cancelled: re-enrolled | checked-out */
  reason: string | null;
  endedBy: string | null;
  startedAt: number;
  deadlineAt: number;
  endedAt: number | null;
  steps: Array<{
    position: number;
    kind: StepKind;
    label: string;
    requestType: string;
    configurationProfileId: string | null;
    commandUuid: string | null;
    status: SetupPlanStepRow['status'];
    /** what the device answered (Acknowledged, Error, NotNow…), even after the time limit */
    deviceStatus: string | null;
    error: StepError | null;
    queuedAt: number | null;
    answeredAt: number | null;
  }>;
}

export interface DepProfileLookup {
  get(id: string): Promise<{ id: string; settings: DepProfile } | undefined>;
  defaultFor(abmServerId: string): Promise<{ id: string; settings: DepProfile } | undefined>;
}

export interface SetupPlanDeps {
  store: SetupPlanStore;
  /** the device's ABM record, with its server's organization group */
  abmDevices: Pick<AbmDeviceStore, 'enrollmentFacts'>;
  profiles: ConfigurationProfileService;
  depProfiles: DepProfileLookup;
  managedAdmin: ManagedAdminService;
  commands: SystemCommands;
  /** the explicit prefill (web view); without one, the enrolled user's when the profile asks for prefill */
  primaryAccount?: PrimaryAccountResolver;
  log: Logger;
  now?: () => number;
}

export class SetupPlanService {
  readonly #now: () => number;
  #primaryAccount?: PrimaryAccountResolver;

  constructor(private readonly deps: SetupPlanDeps) {
    this.#now = deps.now ?? Date.now;
    this.#primaryAccount = deps.primaryAccount;
  }

  /**
   * Where plans take the Mac's primary-account prefill from (the ADE web view's sign-in, built
   * after this service); plans started afterwards use it.
   */
  resolvePrimaryAccountWith(resolver: PrimaryAccountResolver | undefined): void {
    this.#primaryAccount = resolver;
  }

  /** TokenUpdate: a device channel awaiting configuration gets its plan, once per enrollment session. */
  async onTokenUpdate(e: MdmEventMap['tokenUpdate']): Promise<void> {
    if (!e.awaitingConfiguration) return;
    const { store } = this.deps;
    const channel = await store.deviceChannel(e.enrollmentId);
    if (!channel || channel.channel !== 'device' || channel.status !== 'active') return;
    const sessionAt = await store.sessionAt(e.enrollmentId);
    if (await store.forSession(e.enrollmentId, sessionAt)) return;

    const source = await this.#source(e.deviceId, e.enrollmentId);
    const now = this.#now();
    const minutes = timeLimitMinutes(source.profile?.settings);
    const plan: SetupPlanRow = {
      id: randomUUID(), enrollment_id: e.enrollmentId, device_id: e.deviceId, session_at: sessionAt, dep_profile_id: source.profile?.id ?? null,
      platform: source.platform, organization_group_id: source.groupId, primary_account_json: source.prefill ? JSON.stringify(source.prefill) : null,
      time_limit_minutes: minutes, status: 'running', reason: null, ended_by: null, started_at: now, deadline_at: now + minutes * 60_000, ended_at: null,
    };
    const applicable = await this.deps.profiles.applicable({ depProfileId: plan.dep_profile_id, organizationGroupId: plan.organization_group_id });
    const steps = planSteps({ profile: source.profile?.settings, platform: source.platform, profiles: applicable, prefill: source.prefill });
    const inserted = await store.insert(plan, steps.map((s, position) => ({
      plan_id: plan.id, position, kind: s.kind, label: s.label, configuration_profile_id: s.configurationProfileId ?? null, request_type: s.requestType,
      command_uuid: null, status: 'pending' as const, device_status: null, error_json: null, queued_at: null, answered_at: null,
    })));
    if (!inserted) return; // another TokenUpdate of this session got there first
    this.deps.log.info({ planId: plan.id, enrollmentId: e.enrollmentId, depProfileId: plan.dep_profile_id, steps: steps.map((s) => s.requestType) }, 'setup plan started');
    await this.#dispatch(plan);
  }

  /** A new Authenticate starts a new enrollment session: plans of the old one stop. */
  async onAuthenticate(e: MdmEventMap['authenticate']): Promise<void> {
    await this.deps.store.cancelRunning(e.enrollmentId, 're-enrolled', this.#now(), await this.deps.store.sessionAt(e.enrollmentId));
  }

  async onCheckOut(e: MdmEventMap['checkOut']): Promise<void> {
    await this.deps.store.cancelRunning(e.enrollmentId, 'checked-out', this.#now());
  }

  /** A device answered: record the step's outcome; the last success releases the device. */
  async onCommandResult(e: MdmEventMap['commandResult']): Promise<void> {
    const step = await this.deps.store.stepByCommand(e.commandUuid);
    if (!step) return;
    const result = await this.deps.commands.result(e.commandUuid, e.enrollmentId);
    const { outcome, error } = stepOutcome(step.request_type, e.status, result);
    await this.deps.store.recordAnswer({ planId: step.plan_id, position: step.position, deviceStatus: e.status, outcome, errorJson: error ? JSON.stringify(error) : null, now: this.#now() });
    if (outcome === 'acknowledged' && step.kind !== 'device-configured') await this.#releaseIfDone(step.plan_id);
  }

  /** An admin lets the device go now: DeviceConfigured is sent whatever the plan's state. */
  async releaseByHand(deviceId: string, actor: string): Promise<SetupPlanView> {
    const { store } = this.deps;
    const latest = await store.latestForDevice(deviceId);
    if (latest?.status === 'running') {
      await this.#release(latest, 'manual', actor);
      return this.view(deviceId);
    }
    const channel = await store.deviceChannelOf(deviceId);
    if (!channel || channel.status !== 'active') throw new SetupPlanError('conflict', 'the device is not enrolled');
    const current = await store.forSession(channel.id, await store.sessionAt(channel.id));
    if (current) {
      const when = new Date(current.ended_at ?? current.started_at).toISOString();
      throw new SetupPlanError('conflict', `the device's setup plan was already ${current.status} at ${when} (${current.reason ?? 'no reason'})`);
    }
    if (!channel.awaiting_configuration) throw new SetupPlanError('conflict', 'the device is not awaiting configuration (its last TokenUpdate said so)');
    // Awaiting, yet no plan (its start failed): a plan of DeviceConfigured alone, released at once.
    const now = this.#now();
    const plan: SetupPlanRow = {
      id: randomUUID(), enrollment_id: channel.id, device_id: deviceId, session_at: await store.sessionAt(channel.id), dep_profile_id: null, platform: null,
      organization_group_id: ROOT_GROUP_ID, primary_account_json: null, time_limit_minutes: 0, status: 'running', reason: null, ended_by: null,
      started_at: now, deadline_at: now, ended_at: null,
    };
    await store.insert(plan, [{
      plan_id: plan.id, position: 0, kind: 'device-configured', label: 'Release the device from Setup Assistant', configuration_profile_id: null,
      request_type: 'DeviceConfigured', command_uuid: null, status: 'pending', device_status: null, error_json: null, queued_at: null, answered_at: null,
    }]);
    const inserted = await store.get(plan.id);
    if (inserted) await this.#release(inserted, 'manual', actor);
    return this.view(deviceId);
  }

  async view(deviceId: string): Promise<SetupPlanView> {
    const plan = await this.deps.store.latestForDevice(deviceId);
    if (!plan) throw new SetupPlanError('not_found', 'the device has no setup plan (it never awaited configuration while enrolled with Pomona)');
    return viewOf(plan, await this.deps.store.steps(plan.id));
  }

  /**
   * The periodic job's work: release plans past their time limit, and finish what a stopped node
   * left half done (steps never queued, releases without DeviceConfigured). Returns how many plans
   * the time limit released.
   */
  async tick(now = this.#now()): Promise<{ released: number }> {
    const { store, log } = this.deps;
    let released = 0;
    const each = async (plans: SetupPlanRow[], fn: (p: SetupPlanRow) => Promise<unknown>) => {
      for (const p of plans) {
        try {
          await fn(p);
        } catch (err) {
          log.error({ err, planId: p.id }, 'setup plan work failed; retried at the next tick');
        }
      }
    };
    await each(await store.overdue(now, 200), async (p) => (await this.#release(p, 'time-limit', null)) && released++);
    await each(await store.stalled(now - RECOVERY_GRACE_MS, 50), (p) => this.#dispatch(p));
    await each(await store.releasedWithoutDeviceConfigured(now - RECOVERY_GRACE_MS, 50), (p) => this.#sendDeviceConfigured(p));
    return { released };
  }

  /** What the plan is built from: the device's ABM record, its DEP profile, platform, group and prefill. */
  async #source(deviceId: string, enrollmentId: string): Promise<{ profile?: { id: string; settings: DepProfile }; platform: Platform | null; groupId: string; prefill?: PrimaryAccountPrefill }> {
    const { store, depProfiles } = this.deps;
    const device = await store.device(deviceId);
    const abm = device?.serial_number ? await this.deps.abmDevices.enrollmentFacts(device.serial_number) : undefined;
    const profile = abm ? ((abm.profile_id ? await depProfiles.get(abm.profile_id) : undefined) ?? (await depProfiles.defaultFor(abm.abm_server_id))) : undefined;
    // The device's group once the enrollment placed it (the web view's decision), else the
    // profile's, else its ABM server's.
    const candidates = [device?.organization_group_id !== ROOT_GROUP_ID ? device?.organization_group_id : undefined, profile?.settings.pomona.organizationGroupId, abm?.server_group_id];
    let groupId = ROOT_GROUP_ID;
    for (const c of candidates) {
      if (c && (await store.groupExists(c))) {
        groupId = c;
        break;
      }
    }
    let input = this.#primaryAccount ? await this.#primaryAccount({ deviceId, enrollmentId, serialNumber: device?.serial_number ?? null }) : undefined;
    if (!input && profile?.settings.pomona.macOSAccountSetup.prefill.enabled && device?.enrolled_user_id) {
      const user = await store.user(device.enrolled_user_id);
      if (user) input = { fullName: user.display_name ?? undefined, shortName: macOSShortName(user.username) };
    }
    return { profile, platform: platformOf(abm?.device_family, device?.product_name), groupId, prefill: primaryAccountPrefill(profile?.settings, input) };
  }

  /** Queues the plan's steps not queued yet (all but DeviceConfigured), then wakes the device. */
  async #dispatch(plan: SetupPlanRow): Promise<void> {
    const { store, commands } = this.deps;
    const steps = (await store.steps(plan.id)).filter((s) => s.kind !== 'device-configured');
    const profile = plan.dep_profile_id ? (await this.deps.depProfiles.get(plan.dep_profile_id))?.settings : undefined;
    let queued = 0;
    for (const step of steps.filter((s) => s.status === 'pending')) {
      const uuid = randomUUID().toUpperCase();
      // Claim the step first: a recovering node and this one never both send it.
      if (!(await store.markQueued(plan.id, step.position, uuid, this.#now()))) continue;
      try {
        const command = await this.#command(plan, step, profile, uuid);
        await commands.queue(plan.enrollment_id, command, { uuid, actor: ACTOR });
        queued++;
      } catch (err) {
        this.deps.log.warn({ err, planId: plan.id, step: step.position }, 'setup plan step could not be sent');
        await store.markFailed(plan.id, step.position, JSON.stringify({ message: (err as Error).message } satisfies StepError), this.#now());
      }
    }
    if (queued) await commands.push([plan.enrollment_id]);
    await this.#releaseIfDone(plan.id); // a plan of DeviceConfigured alone is done at once
  }

  async #command(plan: SetupPlanRow, step: SetupPlanStepRow, profile: DepProfile | undefined, uuid: string): Promise<Record<string, unknown>> {
    switch (step.kind) {
      case 'install-profile': {
        const payload = step.configuration_profile_id ? await this.deps.profiles.payload(step.configuration_profile_id) : undefined;
        if (!payload) throw new Error('the configuration profile was deleted from the library before it could be sent');
        return { RequestType: 'InstallProfile', Payload: payload };
      }
      case 'account-configuration': {
        if (!profile) throw new Error('the enrollment profile was deleted before the accounts could be set up');
        const account = profile.pomona.macOSAccountSetup;
        const admin = account.localAdmin;
        const passwordHash = admin ? await this.deps.managedAdmin.prepareAccount({ deviceId: plan.device_id, enrollmentId: plan.enrollment_id, admin, commandUuid: uuid }) : undefined;
        return accountConfigurationCommand({
          primaryAccount: account.primaryAccount,
          ...(admin && passwordHash && { managedAdmin: { shortName: admin.shortName, fullName: admin.fullName, hidden: admin.hidden, passwordHash } }),
          ...(plan.primary_account_json && { prefill: JSON.parse(plan.primary_account_json) as PrimaryAccountPrefill }),
        });
      }
      case 'settings': {
        const items = settingsItems(profile, plan.platform as Platform | null);
        if (!items.length) throw new Error('the enrollment profile no longer holds settings for this device');
        return { RequestType: 'Settings', Settings: items };
      }
      default:
        throw new Error(`${step.kind} is not dispatched with the other steps`);
    }
  }

  async #releaseIfDone(planId: string): Promise<void> {
    const plan = await this.deps.store.get(planId);
    if (plan?.status !== 'running') return;
    const steps = (await this.deps.store.steps(planId)).filter((s) => s.kind !== 'device-configured');
    if (steps.every((s) => s.status === 'acknowledged')) await this.#release(plan, 'completed', null);
  }

  /** Ends a running plan as released (once, whichever node gets there first) and sends DeviceConfigured. */
  async #release(plan: SetupPlanRow, reason: 'completed' | 'time-limit' | 'manual', by: string | null): Promise<boolean> {
    if (!(await this.deps.store.end(plan.id, 'released', reason, by, this.#now()))) return false;
    if (reason === 'time-limit') await this.deps.store.timeOut(plan.id);
    this.deps.log.info({ planId: plan.id, enrollmentId: plan.enrollment_id, reason }, 'setup plan released');
    await this.#sendDeviceConfigured(plan);
    return true;
  }

  async #sendDeviceConfigured(plan: SetupPlanRow): Promise<void> {
    const { store, commands } = this.deps;
    const step = (await store.steps(plan.id)).find((s) => s.kind === 'device-configured');
    if (!step || step.status !== 'pending') return;
    // Queued before it is recorded: a node stopping in between leaves the step pending, and the
    // job sends it again (a second DeviceConfigured is harmless: the device answers Error).
    const uuid = await commands.queue(plan.enrollment_id, { RequestType: 'DeviceConfigured' }, { actor: ACTOR });
    await store.markQueued(plan.id, step.position, uuid, this.#now());
    await commands.push([plan.enrollment_id]);
  }
}

function viewOf(p: SetupPlanRow, steps: SetupPlanStepRow[]): SetupPlanView {
  return {
    id: p.id, deviceId: p.device_id, enrollmentId: p.enrollment_id, depProfileId: p.dep_profile_id, platform: p.platform,
    organizationGroupId: p.organization_group_id, timeLimitMinutes: p.time_limit_minutes, status: p.status, reason: p.reason, endedBy: p.ended_by,
    startedAt: p.started_at, deadlineAt: p.deadline_at, endedAt: p.ended_at,
    steps: steps.map((s) => ({
      position: s.position, kind: s.kind, label: s.label, requestType: s.request_type, configurationProfileId: s.configuration_profile_id,
      commandUuid: s.command_uuid, status: s.status, deviceStatus: s.device_status, error: s.error_json ? (JSON.parse(s.error_json) as StepError) : null,
      queuedAt: s.queued_at, answeredAt: s.answered_at,
    })),
  };
}
