import { describe, expect, it } from 'vitest';
import { checkOsRule, compareBuilds, compareOsVersions, parseOsVersion } from './os-gate.js';

const v = (s: string) => parseOsVersion(s)!;
const iphone = (osVersion: string | undefined, build = '21A329', canRequestSoftwareUpdate = true) => ({ platform: 'iOS' as const, osVersion, build, canRequestSoftwareUpdate });

describe('OS versions and builds', () => {
  it('orders versions numerically, with Rapid Security Responses after their release', () => {
    expect(compareOsVersions(v('17.10'), v('17.9'))).toBeGreaterThan(0);
    expect(compareOsVersions(v('17'), v('17.0.0'))).toBe(0);
    expect(compareOsVersions(v('17.0 (a)'), v('17.0'))).toBeGreaterThan(0);
    expect(compareOsVersions(v('17.0 (b)'), v('17.0 (a)'))).toBeGreaterThan(0);
    expect(parseOsVersion('seventeen')).toBeNull();
    expect(compareBuilds('21E236', '21E230')).toBeGreaterThan(0);
    expect(compareBuilds('22A3351', '21Z999')).toBeGreaterThan(0);
    expect(compareBuilds('21E236a', '21E236')).toBeGreaterThan(0);
  });
});

describe('the enrollment OS rule', () => {
  const rule = { minimum: { version: '17.4' }, maximum: { version: '18.2' } };

  it('lets a device within the range enroll, and any device when there is no rule', () => {
    expect(checkOsRule(rule, iphone('17.4'))).toEqual({ kind: 'allow' });
    expect(checkOsRule(rule, iphone('18.2.1'))).toEqual({ kind: 'allow' }); // 18.2 admits 18.2.x
    expect(checkOsRule(undefined, iphone('12.0'))).toEqual({ kind: 'allow' });
  });

  it('asks a device below the minimum to update when it can, with the build when one is set', () => {
    expect(checkOsRule(rule, iphone('17.3.1'))).toEqual({ kind: 'update', osVersion: '17.4' });
    const withBuild = { minimum: { version: '17.4', build: '21E236' }, message: 'Update to enroll' };
    expect(checkOsRule(withBuild, iphone('17.4', '21E230'))).toEqual({ kind: 'update', osVersion: '17.4', buildVersion: '21E236', message: 'Update to enroll' });
    expect(checkOsRule(withBuild, iphone('17.4', '21E236'))).toEqual({ kind: 'allow' });
  });

  it("refuses one that cannot update, with the admin's message or a plain one", () => {
    expect(checkOsRule(rule, iphone('17.3', '21D50', false))).toEqual({ kind: 'refuse', message: 'This device runs 17.3; 17.4 or later is required to enroll. Update it, then start again.' });
    expect(checkOsRule({ ...rule, message: 'Call the help desk' }, iphone('17.3', '21D50', false))).toEqual({ kind: 'refuse', message: 'Call the help desk' });
  });

  it('refuses a device above the maximum', () => {
    expect(checkOsRule(rule, iphone('18.3'))).toMatchObject({ kind: 'refuse', message: expect.stringMatching(/at most 18.2/) });
  });

  it('treats a device that sends no OS_VERSION as older than iOS 17 / macOS 14', () => {
    expect(checkOsRule(rule, iphone(undefined, '20H19', false))).toMatchObject({ kind: 'refuse', message: expect.stringMatching(/older than 17.0/) });
    expect(checkOsRule({ minimum: { version: '16.0' } }, iphone(undefined, '20H19', false))).toEqual({ kind: 'allow' });
    expect(checkOsRule({ minimum: { version: '14.2' } }, { platform: 'macOS', build: '22G120', canRequestSoftwareUpdate: false })).toMatchObject({ kind: 'refuse' });
  });
});
