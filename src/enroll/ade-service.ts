/**
 * Automated Device Enrollment, the device's side: a device in Setup Assistant presents its signed
 * MachineInfo (to the profile's `url`, or in the web view's header); Pomona finds the device in
 * ABM and the Pomona profile it is on, applies the profile's OS rule, and either answers with an
 * enrollment profile (authentication off) or sends the user through sign-in (web view).
 *
 * Everything here refuses rather than guesses: a serial Pomona's ABM servers never listed, a
 * serial now on another ABM server than the profile the device names, a device Apple removed.
 */
import type { MachineInfo } from '../apple/machine-info.js';
import { usesPomonaWebView, type DepProfile } from '../abm/dep-profile.js';
import type { EnrollmentProfileRef } from '../abm/dep-profile-service.js';
import type { AbmEnrollmentRecord } from '../abm/abm-device-service.js';
import type { Ownership } from '../org/group-settings.js';
import type { Platform } from '../org/registration-token-service.js';
import { ServiceError } from '../service-error.js';
import { macOSShortName } from '../apple/account-configuration.js';
import { checkOsRule, type OsGateDecision } from './os-gate.js';
import { platformOfProduct, type PendingEnrollment, type PendingEnrollmentService } from './pending-enrollment-service.js';

export class AdeRefusal extends ServiceError {
  /** `known`: the serial is one of ours, so the refusal goes on its timeline */
  constructor(message: string, readonly known = true) {
    super('refused', 'refused', message);
  }
}

/** Where a device belongs: its ABM record, the Pomona profile it is on, and the group it lands in. */
export interface AdeTarget {
  serial: string;
  serverId: string;
  groupId: string;
  profile: { id: string; name: string; settings: DepProfile };
  platform: Platform | null;
}

export type AdeAnswer =
  | { kind: 'profile'; body: Buffer; pending: PendingEnrollment }
  | { kind: 'software-update'; osVersion: string; buildVersion?: string; message?: string };

export interface AdeDeps {
  abmDevices: { forEnrollment(serial: string): Promise<AbmEnrollmentRecord | undefined> };
  depProfiles: { forEnrollment(ref: { id: string } | { defaultOf: string }): Promise<EnrollmentProfileRef | undefined> };
  users: {
    byUsername(username: string): Promise<{ id: string } | undefined>;
    stagingUser(): Promise<{ id: string }>;
    view(id: string): Promise<{ id: string; defaultGroupId: string; username: string; displayName: string | null }>;
    mappedGroup(userId: string): Promise<string | undefined>;
  };
  groups: {
    setting<T>(groupId: string, key: 'enrollment.defaultOwnership'): Promise<T>;
    isWithin(groupId: string, ancestorId: string): Promise<boolean>;
  };
  pending: PendingEnrollmentService;
  /** the signed device enrollment profile whose CheckInURL carries the staging record's key */
  buildProfile(checkInKey: string): Promise<Buffer>;
  /** the device's timeline: requests refused or sent to update */
  events: { record(e: { serialNumber: string; step: AdeStep; outcome: 'refused' | 'update-required'; detail: string }): Promise<void> };
  /** every step's outcome, successes included, for metrics; 'profile-delivered' once a profile is built */
  onStep?: (e: { step: AdeStep | 'profile-delivered'; outcome: 'ok' | 'update-required' | 'refused' | 'failed' }) => void;
}

export type AdeStep = 'enrollment-request' | 'web-view' | 'custom-page';

export class AdeEnrollmentService {
  constructor(private readonly d: AdeDeps) {}

  /** The device's ABM record and profile. `profileId` is the one named in the URL Apple gave the device. */
  async target(info: MachineInfo, profileId?: string): Promise<AdeTarget> {
    const device = await this.d.abmDevices.forEnrollment(info.serial);
    // Unknown serials are not recorded: anyone with a device certificate could fill the table.
    if (!device) throw new AdeRefusal(`serial ${info.serial} is not in any of this server's Apple Business Manager accounts`, false);
    if (device.removedAt !== null) throw new AdeRefusal(`serial ${info.serial} was removed from Apple Business Manager`);
    let profile;
    if (profileId) {
      profile = await this.d.depProfiles.forEnrollment({ id: profileId });
      if (!profile) throw new AdeRefusal(`the enrollment profile this device was given (${profileId}) no longer exists; assign it a profile again`);
      if (profile.abmServerId !== device.abmServerId) throw new AdeRefusal(`serial ${info.serial} belongs to another ABM server than the profile "${profile.name}" it presented`);
    } else {
      profile = await this.d.depProfiles.forEnrollment(device.profileId ? { id: device.profileId } : { defaultOf: device.abmServerId });
      if (!profile) throw new AdeRefusal(`the ABM server of serial ${info.serial} has no enrollment profile`);
    }
    const { settings } = profile;
    return {
      serial: info.serial,
      serverId: device.abmServerId,
      groupId: settings.pomona.organizationGroupId ?? device.serverGroupId ?? 'global',
      profile: { id: profile.id, name: profile.name, settings },
      platform: platformOfProduct(info.product) ?? null,
    };
  }

  /** The profile's OS rule for this device's platform. */
  osDecision(target: AdeTarget, info: MachineInfo): OsGateDecision {
    const rule = target.platform ? target.profile.settings.pomona.osRules[target.platform] : undefined;
    return checkOsRule(rule, { platform: target.platform, osVersion: info.osVersion, build: info.build, canRequestSoftwareUpdate: info.canRequestSoftwareUpdate });
  }

  /**
   * `POST /enroll/ade`: authentication off. The enrollment goes to the profile's group with the
   * group's default ownership (corporate when unset) and the profile's user assignment.
   */
  async enroll(info: MachineInfo, opts: { profileId?: string; sourceAddress?: string } = {}): Promise<AdeAnswer> {
    return this.#noted(info, 'enrollment-request', () => this.#enroll(info, opts));
  }

  /**
   * The web view's first load: where the device belongs, or Apple's update answer. The caller
   * then starts the sign-in (mode 'ade-webview') for the target.
   */
  async webView(info: MachineInfo, profileId?: string): Promise<{ kind: 'sign-in'; target: AdeTarget } | Extract<AdeAnswer, { kind: 'software-update' }>> {
    return this.#noted(info, 'web-view', async () => {
      const target = await this.target(info, profileId);
      const os = this.#gate(target, info);
      return os ?? { kind: 'sign-in', target };
    });
  }

  /** Records on the device's timeline what was refused, or answered with "update first". */
  async #noted<T extends { kind: string }>(info: MachineInfo, step: AdeStep, fn: () => Promise<T>): Promise<T> {
    try {
      const answer = await fn();
      this.d.onStep?.({ step, outcome: answer.kind === 'software-update' ? 'update-required' : 'ok' });
      if (answer.kind === 'software-update') {
        const a = answer as unknown as { osVersion: string; buildVersion?: string };
        await this.d.events.record({ serialNumber: info.serial, step, outcome: 'update-required', detail: `runs ${info.osVersion ?? info.build}; asked to update to ${a.osVersion}${a.buildVersion ? ` (${a.buildVersion})` : ''}` });
      }
      return answer;
    } catch (err) {
      this.d.onStep?.({ step, outcome: err instanceof AdeRefusal ? 'refused' : 'failed' });
      if (err instanceof AdeRefusal && err.known) await this.d.events.record({ serialNumber: info.serial, step, outcome: 'refused', detail: err.message });
      throw err;
    }
  }

  /** The OS rule as an answer: Apple's update 403, a refusal (thrown), or undefined to go on. */
  #gate(target: AdeTarget, info: MachineInfo): Extract<AdeAnswer, { kind: 'software-update' }> | undefined {
    const os = this.osDecision(target, info);
    if (os.kind === 'update') return { kind: 'software-update', osVersion: os.osVersion, buildVersion: os.buildVersion, message: os.message };
    if (os.kind === 'refuse') throw new AdeRefusal(os.message);
    return undefined;
  }

  async #enroll(info: MachineInfo, opts: { profileId?: string; sourceAddress?: string }): Promise<AdeAnswer> {
    const target = await this.target(info, opts.profileId);
    const update = this.#gate(target, info);
    if (update) return update;
    const { pomona } = target.profile.settings;
    if (usesPomonaWebView(target.profile.settings)) {
      // Apple sends such devices to the web view; a POST here would skip the sign-in.
      throw new AdeRefusal(`the profile "${target.profile.name}" signs the user in through the web view; this request skipped it`);
    }
    let userId: string | null = null;
    if (pomona.userAssignment.mode === 'staging') userId = (await this.d.users.stagingUser()).id;
    if (pomona.userAssignment.mode === 'defined') {
      const user = await this.d.users.byUsername(pomona.userAssignment.username!);
      if (!user) throw new AdeRefusal(`the profile "${target.profile.name}" assigns devices to user "${pomona.userAssignment.username}", who does not exist`);
      userId = user.id;
    }
    const { pending } = await this.d.pending.create({
      mode: 'ade',
      serialNumber: info.serial,
      groupId: target.groupId,
      platform: target.platform ?? undefined,
      sourceAddress: opts.sourceAddress,
      context: { ...machineContext(info), profileId: target.profile.id, abmServerId: target.serverId, userAssignment: pomona.userAssignment.mode },
    });
    await this.d.pending.authenticate(pending.id, {
      userId, groupId: target.groupId, ownership: await this.#ownership(target.groupId), platform: target.platform, termsVersion: null,
    });
    return this.#issue(pending.id);
  }

  /**
   * `POST /enroll/ade/custom-profile`: an external page signed the user in itself and asks for the
   * profile of the device whose MachineInfo it forwards, for that user (or nobody). `within` says
   * whether the device's group lies in the caller's scope.
   */
  async customProfile(info: MachineInfo, o: { user?: string; within: (groupId: string) => Promise<boolean>; sourceAddress?: string }): Promise<AdeAnswer> {
    return this.#noted(info, 'custom-page', async () => {
      const target = await this.target(info);
      if (!(await o.within(target.groupId))) throw new AdeRefusal(`serial ${info.serial} lies outside this API token's scope`);
      const update = this.#gate(target, info);
      if (update) return update;
      let userId: string | null = null;
      if (o.user) {
        const user = (await this.d.users.view(o.user).catch(() => undefined)) ?? (await this.d.users.byUsername(o.user));
        if (!user) throw new AdeRefusal(`there is no user "${o.user}"`);
        userId = user.id;
      }
      const { pending } = await this.d.pending.create({
        mode: 'ade-custom', serialNumber: info.serial, groupId: target.groupId, platform: target.platform ?? undefined, sourceAddress: o.sourceAddress,
        context: { ...machineContext(info), profileId: target.profile.id, abmServerId: target.serverId },
      });
      const { groupId } = await this.placeSignedIn(pending, userId);
      await this.d.pending.authenticate(pending.id, {
        userId, groupId, ownership: await this.#ownership(groupId), platform: target.platform, termsVersion: null, method: 'external page',
      });
      return this.#issue(pending.id);
    });
  }

  /**
   * Where a web-view enrollment goes once someone signed in: the group the user's groups map to
   * wins; otherwise the lower of the profile's group and the user's (or the token's) group — the
   * user's when it sits inside the profile's branch, else the profile's, which is where the ABM
   * server placed the device.
   */
  async placeSignedIn(pending: PendingEnrollment, userId: string | null, tokenGroupId?: string): Promise<{ groupId: string }> {
    const profileGroup = pending.groupId ?? 'global';
    const mapped = userId ? await this.d.users.mappedGroup(userId) : undefined;
    if (mapped) return { groupId: mapped };
    const own = tokenGroupId ?? (userId ? (await this.d.users.view(userId)).defaultGroupId : undefined);
    if (own && own !== profileGroup && (await this.d.groups.isWithin(own, profileGroup))) return { groupId: own };
    return { groupId: profileGroup };
  }

  /**
   * Whether this web-view enrollment first asks the user for the Mac's primary account (a Mac, a
   * profile that prefills it, no answer yet), and what to propose: the signed-in user's names.
   */
  async accountStep(p: PendingEnrollment): Promise<{ fullName: string; shortName: string; locked: boolean } | undefined> {
    if (p.platform !== 'macOS' || p.context.primaryAccount || typeof p.context.profileId !== 'string') return undefined;
    const profile = await this.d.depProfiles.forEnrollment({ id: p.context.profileId });
    const prefill = profile?.settings.pomona.macOSAccountSetup.prefill;
    if (!prefill?.enabled) return undefined;
    const user = p.userId ? await this.d.users.view(p.userId) : undefined;
    return { fullName: user?.displayName ?? '', shortName: user ? (macOSShortName(user.username) ?? '') : '', locked: prefill.lock };
  }

  /** Records the primary account the user chose; the setup plan prefills it (see `primaryAccountFor`). */
  async chooseAccount(p: PendingEnrollment, input: { fullName: string; shortName: string }): Promise<PendingEnrollment> {
    const fullName = input.fullName.trim();
    const shortName = input.shortName.trim();
    if (!fullName || fullName.length > 128 || /[\p{Cc}]/u.test(fullName)) throw new AdeRefusal('enter your full name (at most 128 characters)', false);
    if (!/^[a-z_][a-z0-9_.-]{0,30}$/.test(shortName)) throw new AdeRefusal('the account name must start with a lower-case letter and use only a–z, 0–9, _ . - (at most 31)', false);
    const step = await this.accountStep(p);
    return this.d.pending.addContext(p.id, { primaryAccount: { fullName, shortName, locked: step?.locked ?? false } });
  }

  /** For the setup plan: the Mac account chosen in the web view of the enrollment that enrolled the device. */
  async primaryAccountFor(deviceId: string): Promise<{ fullName: string; shortName: string; locked: boolean } | undefined> {
    const p = await this.d.pending.latestForDevice(deviceId);
    return p?.mode === 'ade-webview' ? (p.context.primaryAccount as { fullName: string; shortName: string; locked: boolean } | undefined) : undefined;
  }

  /** The web view's answer once sign-in and terms are done: the profile for this staging record. */
  issueFor(pending: PendingEnrollment): Promise<AdeAnswer> {
    return this.#issue(pending.id);
  }

  async #issue(pendingId: string): Promise<AdeAnswer> {
    const { pending, checkInKey } = await this.d.pending.profileIssued(pendingId);
    const body = await this.d.buildProfile(checkInKey);
    this.d.onStep?.({ step: 'profile-delivered', outcome: 'ok' });
    return { kind: 'profile', body, pending };
  }

  async #ownership(groupId: string): Promise<Ownership> {
    return (await this.d.groups.setting<Ownership | null>(groupId, 'enrollment.defaultOwnership').catch(() => null)) ?? 'corporate-dedicated';
  }
}

/** What the staging record keeps of the device's MachineInfo (for the timeline and the link at check-in). */
export function machineContext(info: MachineInfo): Record<string, unknown> {
  return { serial: info.serial, udid: info.udid, product: info.product, osVersion: info.osVersion ?? null, build: info.build };
}
