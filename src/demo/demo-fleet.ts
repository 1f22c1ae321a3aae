/**
 * The devices `pomona demo` enrolls: a fixed, readable mix so every run shows the same story.
 * The first six cover every case (so `--devices 6` shows them all): an iPhone without sign-in,
 * an iPad signing in through the web view, a Mac awaiting configuration, an iPhone below the
 * minimum OS that updates and enrolls, one that cannot update and is refused, and an iPhone
 * signing in. Further devices repeat a mix of the ordinary cases (one more updater every eight).
 */
import type { DeviceFamily, DeviceOs } from '../sim/abm/device-record.js';

/** Which of the demo's DEP profiles a device is on (see demo-setup.ts). */
export type DemoProfileKey = 'phones' | 'signIn' | 'macs';

/** What the demo expects of a device: enrolled as is, enrolled after a software update, or refused. */
export type DemoExpectation = 'enrolled' | 'updated' | 'refused';

export interface DemoDeviceSpec {
  serial: string;
  udid: string;
  family: Extract<DeviceFamily, 'iPhone' | 'iPad' | 'Mac'>;
  os: Extract<DeviceOs, 'iOS' | 'iPadOS' | 'OSX'>;
  /** Apple's model identifier (MachineInfo PRODUCT) and the model name ABM shows */
  product: string;
  model: string;
  osVersion: string;
  build: string;
  /** MDM_CAN_REQUEST_SOFTWARE_UPDATE */
  canUpdate: boolean;
  profile: DemoProfileKey;
  expect: DemoExpectation;
}

/** The minimum iOS/iPadOS the demo's phone profile asks for, and the message of its refusal. */
export const DEMO_MINIMUM_IOS = '17.4';
export const DEMO_OS_MESSAGE = `Update this device to iOS ${DEMO_MINIMUM_IOS} or later before enrolling it.`;

type Kind = 'current' | 'old' | 'stuck';
interface Role {
  family: DemoDeviceSpec['family'];
  profile: DemoProfileKey;
  kind?: Kind;
}

const FIRST: Role[] = [
  { family: 'iPhone', profile: 'phones' },
  { family: 'iPad', profile: 'signIn' },
  { family: 'Mac', profile: 'macs' },
  { family: 'iPhone', profile: 'phones', kind: 'old' },
  { family: 'iPhone', profile: 'phones', kind: 'stuck' },
  { family: 'iPhone', profile: 'signIn' },
];
const CYCLE: Role[] = [
  { family: 'iPad', profile: 'phones' },
  { family: 'iPhone', profile: 'signIn' },
  { family: 'Mac', profile: 'macs' },
  { family: 'iPhone', profile: 'phones' },
  { family: 'iPad', profile: 'signIn' },
  { family: 'iPhone', profile: 'phones', kind: 'old' },
  { family: 'Mac', profile: 'macs' },
  { family: 'iPhone', profile: 'phones' },
];

const HARDWARE = {
  iPhone: { product: 'iPhone16,1', model: 'iPhone 15 Pro', os: 'iOS', current: ['18.1', '22B83'] },
  iPad: { product: 'iPad13,18', model: 'iPad (10th generation)', os: 'iPadOS', current: ['18.1', '22B83'] },
  Mac: { product: 'Mac14,2', model: 'MacBook Air (M2, 2022)', os: 'OSX', current: ['15.1', '24B83'] },
} as const;
const OLD_IOS = ['17.2', '21C62'] as const;

export function demoFleet(count: number): DemoDeviceSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const role = i < FIRST.length ? FIRST[i]! : CYCLE[(i - FIRST.length) % CYCLE.length]!;
    const hw = HARDWARE[role.family];
    const kind = role.kind ?? 'current';
    const [osVersion, build] = kind === 'current' ? hw.current : OLD_IOS;
    const n = i + 1;
    // Serials say what the device is (12 characters, as Apple's); UDIDs look like each platform's.
    const serial = role.family.toUpperCase() + String(n).padStart(12 - role.family.length, '0');
    const udid = role.family === 'Mac'
      ? `5E1C0000-0000-4000-8000-${String(n).padStart(12, '0')}`
      : `00008130-${String(n).padStart(16, '0')}`;
    return {
      serial, udid, family: role.family, os: hw.os, product: hw.product, model: hw.model, osVersion, build,
      canUpdate: kind !== 'stuck', profile: role.profile,
      expect: kind === 'old' ? 'updated' : kind === 'stuck' ? 'refused' : 'enrolled',
    };
  });
}
