/**
 * The OS rule a profile sets for new ADE enrollments (minimum, optional build, optional maximum),
 * applied to what the device's MachineInfo says. Separate from any later OS-update policy.
 *
 * A device below the minimum that can update (MDM_CAN_REQUEST_SOFTWARE_UPDATE, iOS 17 / macOS 14
 * and later) is told to update with Apple's `com.apple.softwareupdate.required` 403; one that
 * cannot is refused with the admin's message. Devices older than iOS 17 / macOS 14 send no
 * OS_VERSION at all, which itself says they are older than those releases.
 */
import type { OsRule } from '../abm/dep-profile.js';
import type { Platform } from '../org/registration-token-service.js';

export type OsGateDecision =
  | { kind: 'allow' }
  | { kind: 'update'; osVersion: string; buildVersion?: string; message?: string }
  | { kind: 'refuse'; message: string };

/** The first release on each platform whose MachineInfo carries OS_VERSION. */
const FIRST_REPORTING: Partial<Record<Platform, string>> = { iOS: '17.0', iPadOS: '17.0', macOS: '14.0', tvOS: '17.0', visionOS: '1.0' };

interface Version {
  parts: number[];
  /** Rapid Security Response letter: "17.0 (a)" is newer than 17.0 */
  rsr: string;
}

export function parseOsVersion(text: string): Version | null {
  const m = /^(\d{1,4}(?:\.\d{1,4}){0,3})(?:\s*\(([a-z])\))?$/.exec(text.trim());
  if (!m) return null;
  return { parts: m[1]!.split('.').map(Number), rsr: m[2] ?? '' };
}

/** <0, 0, >0 like a comparator; 17 = 17.0 = 17.0.0. */
export function compareOsVersions(a: Version, b: Version): number {
  for (let i = 0; i < Math.max(a.parts.length, b.parts.length); i++) {
    const d = (a.parts[i] ?? 0) - (b.parts[i] ?? 0);
    if (d) return d;
  }
  return a.rsr < b.rsr ? -1 : a.rsr > b.rsr ? 1 : 0;
}

/** Builds such as 21E236 or 22A3351a: train number, letter, number, optional suffix. */
export function compareBuilds(a: string, b: string): number {
  const key = (s: string) => {
    const m = /^(\d+)([A-Z])(\d+)([a-z]?)$/.exec(s.trim());
    return m ? [Number(m[1]), m[2]!.charCodeAt(0), Number(m[3]), m[4] ? m[4].charCodeAt(0) : 0] : null;
  };
  const [x, y] = [key(a), key(b)];
  if (!x || !y) return a.localeCompare(b);
  for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

export interface DeviceOs {
  platform: Platform | null;
  osVersion?: string;
  build: string;
  canRequestSoftwareUpdate: boolean;
}

export function checkOsRule(rule: OsRule | undefined, device: DeviceOs): OsGateDecision {
  if (!rule || (!rule.minimum && !rule.maximum)) return { kind: 'allow' };
  const reported = device.osVersion ? parseOsVersion(device.osVersion) : null;
  const first = device.platform ? FIRST_REPORTING[device.platform] : undefined;
  const running = device.osVersion ?? (first ? `a release older than ${first}` : 'an unknown release');

  if (rule.minimum) {
    const min = parseOsVersion(rule.minimum.version)!;
    let below: boolean | null;
    if (reported) {
      const c = compareOsVersions(reported, min);
      below = c < 0 || (c === 0 && !!rule.minimum.build && compareBuilds(device.build, rule.minimum.build) < 0);
    } else {
      // No OS_VERSION: older than the first release that reports it. Below the minimum for sure
      // when that release is at or below the minimum; otherwise we cannot tell and let it in.
      below = first && compareOsVersions(parseOsVersion(first)!, min) <= 0 ? true : null;
    }
    if (below) {
      const wanted = `${rule.minimum.version}${rule.minimum.build ? ` (${rule.minimum.build})` : ''}`;
      if (device.canRequestSoftwareUpdate) return { kind: 'update', osVersion: rule.minimum.version, buildVersion: rule.minimum.build, message: rule.message };
      return { kind: 'refuse', message: rule.message ?? `This device runs ${running}; ${wanted} or later is required to enroll. Update it, then start again.` };
    }
  }
  // A maximum of 17.2 admits 17.2.x: the reported version is compared to as many parts as given.
  const max = rule.maximum ? parseOsVersion(rule.maximum.version)! : null;
  if (max && reported && compareOsVersions({ parts: reported.parts.slice(0, max.parts.length), rsr: '' }, max) > 0) {
    return { kind: 'refuse', message: rule.message ?? `This device runs ${device.osVersion}; your organization allows at most ${rule.maximum!.version} to enroll.` };
  }
  return { kind: 'allow' };
}
