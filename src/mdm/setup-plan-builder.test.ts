import { describe, expect, it } from 'vitest';
import { resolveDepProfile, type DepProfileSettings } from '../abm/dep-profile.js';
import { needsAccountConfiguration, planSteps, platformOf, primaryAccountPrefill, settingsItems, timeLimitMinutes } from './setup-plan-builder.js';

const profile = (pomona: DepProfileSettings['pomona'] = {}, apple: Partial<DepProfileSettings['apple']> = {}) =>
  resolveDepProfile({ apple: { profile_name: 'P', ...apple }, pomona });
const admin = { shortName: '_pomona', fullName: 'Pomona Admin' };

describe('platformOf', () => {
  it("prefers ABM's device family, then the product name", () => {
    expect(platformOf('Mac', 'iPhone17,1')).toBe('macOS');
    expect(platformOf('iPad', null)).toBe('iPadOS');
    expect(platformOf('AppleTV', null)).toBe('tvOS');
    expect(platformOf(null, 'MacBookPro18,3')).toBe('macOS');
    expect(platformOf(null, 'iPad13,4')).toBe('iPadOS');
    expect(platformOf('Unknown', 'iPhone17,1')).toBe('iOS');
    expect(platformOf(null, null)).toBeNull();
  });
});

describe('timeLimitMinutes', () => {
  it('is the profile’s, 3 by default, never above 10', () => {
    expect(timeLimitMinutes(undefined)).toBe(3);
    expect(timeLimitMinutes(profile())).toBe(3);
    expect(timeLimitMinutes(profile({ awaitConfiguration: { timeLimitMinutes: 7 } }))).toBe(7);
    expect(timeLimitMinutes(profile({ awaitConfiguration: { timeLimitMinutes: 60 } }))).toBe(10);
  });
});

describe('settingsItems', () => {
  it('sets the time zone on iPhone, iPad and Apple TV, never on a Mac', () => {
    const p = profile({ timeZone: 'Europe/Berlin' });
    for (const platform of ['iOS', 'iPadOS', 'tvOS'] as const) expect(settingsItems(p, platform)).toEqual([{ Item: 'TimeZone', TimeZone: 'Europe/Berlin' }]);
    expect(settingsItems(p, 'macOS')).toEqual([]);
    expect(settingsItems(p, null)).toEqual([]);
    expect(settingsItems(undefined, 'iOS')).toEqual([]);
  });

  it('sends Shared iPad settings to iPads of a Shared iPad profile only, with only what the admin set', () => {
    const shared = profile({ sharedIPad: { maximumResidentUsers: 8, quotaSizeMB: 4096, temporarySessionOnly: true, userSessionTimeoutSeconds: 600 } }, { is_multi_user: true });
    expect(settingsItems(shared, 'iPadOS')).toEqual([{ Item: 'SharedDeviceConfiguration', ResidentUsers: 8, QuotaSize: 4096, TemporarySessionOnly: true, UserSessionTimeout: 600 }]);
    expect(settingsItems(shared, 'iOS')).toEqual([]);
    expect(settingsItems(profile({ sharedIPad: { maximumResidentUsers: 8 } }), 'iPadOS')).toEqual([]); // not a Shared iPad profile
    expect(settingsItems(profile({}, { is_multi_user: true }), 'iPadOS')).toEqual([]); // nothing set
  });
});

describe('primary account', () => {
  it('prefills from the input; the admin’s lock always stands', () => {
    const p = profile({ macOSAccountSetup: { prefill: { enabled: true, lock: true } } });
    expect(primaryAccountPrefill(p, { fullName: ' Jane ', shortName: 'jane', locked: false })).toEqual({ fullName: 'Jane', shortName: 'jane', locked: true });
    expect(primaryAccountPrefill(profile(), { fullName: 'Jane', locked: true })).toEqual({ fullName: 'Jane', locked: true });
    expect(primaryAccountPrefill(profile(), { fullName: ' ' })).toBeUndefined();
    expect(primaryAccountPrefill(profile({ macOSAccountSetup: { primaryAccount: 'skip', localAdmin: admin } }), { fullName: 'Jane' })).toBeUndefined();
    expect(primaryAccountPrefill(undefined, { fullName: 'Jane' })).toBeUndefined();
  });

  it('needs AccountConfiguration on a Mac with a managed admin, a non-default primary account or a prefill', () => {
    expect(needsAccountConfiguration(profile(), 'macOS', undefined)).toBe(false);
    expect(needsAccountConfiguration(profile({ macOSAccountSetup: { localAdmin: admin } }), 'macOS', undefined)).toBe(true);
    expect(needsAccountConfiguration(profile({ macOSAccountSetup: { primaryAccount: 'skip', localAdmin: admin } }), 'macOS', undefined)).toBe(true);
    expect(needsAccountConfiguration(profile(), 'macOS', { fullName: 'Jane', locked: false })).toBe(true);
    expect(needsAccountConfiguration(profile({ macOSAccountSetup: { localAdmin: admin } }), 'iOS', undefined)).toBe(false);
  });
});

describe('planSteps', () => {
  const applied = [
    { profileId: 'a', name: 'Root CA', payloadIdentifier: 'com.example.ca', attachedTo: { kind: 'organization-group' as const, targetId: 'global' } },
    { profileId: 'b', name: 'Wi-Fi', payloadIdentifier: 'com.example.wifi', attachedTo: { kind: 'dep-profile' as const, targetId: 'p' } },
  ];

  it('installs profiles, then sets up the Mac’s accounts, then settings, then releases', () => {
    const p = profile({ macOSAccountSetup: { primaryAccount: 'standard', localAdmin: admin }, timeZone: 'Europe/Paris' });
    const steps = planSteps({ profile: p, platform: 'macOS', profiles: applied, prefill: { fullName: 'Jane', locked: false } });
    expect(steps.map((s) => [s.kind, s.requestType, s.configurationProfileId])).toEqual([
      ['install-profile', 'InstallProfile', 'a'],
      ['install-profile', 'InstallProfile', 'b'],
      ['account-configuration', 'AccountConfiguration', undefined],
      ['device-configured', 'DeviceConfigured', undefined],
    ]);
    expect(steps[0]!.label).toBe('Install "Root CA"');
    expect(steps[2]!.label).toBe('macOS accounts: managed administrator "_pomona", standard primary account, primary account prefilled');
  });

  it('sets the iPhone’s time zone; a device without a DEP profile is only released', () => {
    const steps = planSteps({ profile: profile({ timeZone: 'Europe/Paris' }), platform: 'iOS', profiles: [], prefill: undefined });
    expect(steps.map((s) => s.requestType)).toEqual(['Settings', 'DeviceConfigured']);
    expect(steps[0]!.label).toBe('Settings: TimeZone');
    expect(planSteps({ profile: undefined, platform: null, profiles: [], prefill: undefined }).map((s) => s.kind)).toEqual(['device-configured']);
  });
});
