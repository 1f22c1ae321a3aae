/**
 * What a setup plan holds, from the device's DEP profile, its platform and the configuration
 * profiles that apply to it: InstallProfile for each profile, then on macOS AccountConfiguration,
 * then Settings, then DeviceConfigured. Pure: no I/O, so each rule is tested on its own.
 */
import type { DepProfile } from '../abm/dep-profile.js';
import { DEFAULTS, LIMITS } from '../abm/dep-profile.js';
import type { PrimaryAccountPrefill } from '../apple/account-configuration.js';
import { platformOfAbmFamily, platformOfProduct, type Platform } from '../apple/platform.js';
import type { AppliedProfile } from './configuration-profile-service.js';

export type { Platform } from '../apple/platform.js';
export type StepKind = 'install-profile' | 'account-configuration' | 'settings' | 'device-configured';

export interface StepSpec {
  kind: StepKind;
  label: string;
  requestType: string;
  configurationProfileId?: string;
}

/** The prefill a web view (or the enrolled user) supplies for the macOS primary account. */
export interface PrimaryAccountInput {
  fullName?: string;
  shortName?: string;
  locked?: boolean;
}

/** The platform from ABM's device_family, else from the product name the device reported. */
export function platformOf(deviceFamily: string | null | undefined, productName: string | null | undefined): Platform | null {
  return platformOfAbmFamily(deviceFamily) ?? platformOfProduct(productName);
}

/** The await-configuration time limit in minutes: the profile's, within Apple-sane bounds. */
export function timeLimitMinutes(profile: DepProfile | undefined): number {
  const m = profile?.pomona.awaitConfiguration.timeLimitMinutes ?? DEFAULTS.awaitTimeLimitMinutes;
  return Math.min(LIMITS.awaitMinutes.max, Math.max(LIMITS.awaitMinutes.min, m));
}

/** The Settings items the profile holds for this platform (TimeZone: iOS/iPadOS/tvOS 14+; Shared iPad). */
export function settingsItems(profile: DepProfile | undefined, platform: Platform | null): Array<Record<string, unknown>> {
  if (!profile) return [];
  const items: Array<Record<string, unknown>> = [];
  const tz = profile.pomona.timeZone;
  if (tz && (platform === 'iOS' || platform === 'iPadOS' || platform === 'tvOS')) items.push({ Item: 'TimeZone', TimeZone: tz });
  const s = profile.pomona.sharedIPad;
  if (platform === 'iPadOS' && profile.apple.is_multi_user) {
    // SharedDeviceConfiguration (iPadOS 13.4+) replaces MaximumResidentUsers; only keys the admin set.
    const shared: Record<string, unknown> = {
      ...(s.maximumResidentUsers !== undefined && { ResidentUsers: s.maximumResidentUsers }),
      ...(s.quotaSizeMB !== undefined && { QuotaSize: s.quotaSizeMB }),
      ...(s.temporarySessionOnly && { TemporarySessionOnly: true }),
      ...(s.temporarySessionTimeoutSeconds !== undefined && { TemporarySessionTimeout: s.temporarySessionTimeoutSeconds }),
      ...(s.userSessionTimeoutSeconds !== undefined && { UserSessionTimeout: s.userSessionTimeoutSeconds }),
    };
    if (Object.keys(shared).length) items.push({ Item: 'SharedDeviceConfiguration', ...shared });
  }
  return items;
}

/** The primary-account prefill that applies, or undefined (skipped primary account, nothing known). */
export function primaryAccountPrefill(profile: DepProfile | undefined, input: PrimaryAccountInput | undefined): PrimaryAccountPrefill | undefined {
  if (!profile || !input || profile.pomona.macOSAccountSetup.primaryAccount === 'skip') return undefined;
  const fullName = input.fullName?.trim() || undefined;
  const shortName = input.shortName?.trim() || undefined;
  if (!fullName && !shortName) return undefined;
  // The admin's lock stands whatever the web view says; the web view may lock what the admin did not.
  return { ...(fullName && { fullName }), ...(shortName && { shortName }), locked: profile.pomona.macOSAccountSetup.prefill.lock || input.locked === true };
}

/** Whether the Mac gets AccountConfiguration: a managed admin, a non-default primary account, or a prefill. */
export function needsAccountConfiguration(profile: DepProfile | undefined, platform: Platform | null, prefill: PrimaryAccountPrefill | undefined): boolean {
  if (!profile || platform !== 'macOS') return false;
  const a = profile.pomona.macOSAccountSetup;
  return a.localAdmin !== undefined || a.primaryAccount !== 'admin' || prefill !== undefined;
}

export function planSteps(o: { profile: DepProfile | undefined; platform: Platform | null; profiles: AppliedProfile[]; prefill: PrimaryAccountPrefill | undefined }): StepSpec[] {
  const steps: StepSpec[] = o.profiles.map((p) => ({ kind: 'install-profile', label: `Install "${p.name}"`, requestType: 'InstallProfile', configurationProfileId: p.profileId }));
  if (needsAccountConfiguration(o.profile, o.platform, o.prefill)) {
    const a = o.profile!.pomona.macOSAccountSetup;
    const what = [
      a.localAdmin && `managed administrator "${a.localAdmin.shortName}"`,
      a.primaryAccount === 'skip' ? 'no primary account' : a.primaryAccount === 'standard' ? 'standard primary account' : undefined,
      o.prefill && 'primary account prefilled',
    ].filter(Boolean);
    steps.push({ kind: 'account-configuration', label: `macOS accounts: ${what.join(', ')}`, requestType: 'AccountConfiguration' });
  }
  const items = settingsItems(o.profile, o.platform);
  if (items.length) steps.push({ kind: 'settings', label: `Settings: ${items.map((i) => i.Item as string).join(', ')}`, requestType: 'Settings' });
  steps.push({ kind: 'device-configured', label: 'Release the device from Setup Assistant', requestType: 'DeviceConfigured' });
  return steps;
}
