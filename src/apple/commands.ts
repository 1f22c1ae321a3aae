/**
 * MDM command envelopes: `{CommandUUID, Command: {RequestType, …}}` as siblings at the top
 * level. Any RequestType passes as a raw command; the core set is validated key by key.
 * JSON cannot carry plist <data>, so data keys (InstallProfile.Payload) arrive as base64.
 */
import { randomUUID } from 'node:crypto';
import { buildPlist } from './plist.js';

export class CommandError extends Error {
  override name = 'CommandError';
  readonly statusCode = 400;
}

type Check = (v: unknown) => string | undefined; // an error message, or undefined when fine
type Spec = Record<string, { check: Check; required?: boolean }>;

const str = (max = 1024): Check => (v) => (typeof v === 'string' && v.length <= max ? undefined : `must be a string of at most ${max} characters`);
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
const strings: Check = (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : 'must be an array of strings');
const oneOf = (...xs: string[]): Check => (v) => (typeof v === 'string' && xs.includes(v) ? undefined : `must be one of ${xs.join(', ')}`);
const dict: Check = (v) => (v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) ? undefined : 'must be an object');
const data: Check = (v) => (Buffer.isBuffer(v) || (typeof v === 'string' && /^[A-Za-z0-9+/=\s]+$/.test(v) && v.length > 0) ? undefined : 'must be base64 data');
const pin = (len: number[]): Check => (v) => (typeof v === 'string' && /^\d+$/.test(v) && len.includes(v.length) ? undefined : `must be ${len.join(' or ')} digits`);

const SETTINGS_ITEMS = [
  'Wallpaper', 'DataRoaming', 'VoiceRoaming', 'PersonalHotspot', 'Bluetooth', 'ApplicationConfiguration', 'ApplicationAttributes',
  'DeviceName', 'HostName', 'OrganizationInfo', 'MDMOptions', 'MaximumResidentUsers', 'SharedDeviceConfiguration',
  'DiagnosticSubmission', 'AppAnalytics', 'PasscodeLockGracePeriod', 'TimeZone', 'SoftwareUpdateSettings', 'AccessibilitySettings',
];
const settings: Check = (v) => {
  if (!Array.isArray(v) || v.length === 0) return 'must be a non-empty array of {Item, …}';
  const bad = v.find((s) => !s || typeof s !== 'object' || !SETTINGS_ITEMS.includes((s as { Item?: string }).Item ?? ''));
  return bad === undefined ? undefined : `has an unknown or missing Item (known: ${SETTINGS_ITEMS.join(', ')})`;
};

export const DEFAULT_DEVICE_INFORMATION_QUERIES = [
  'UDID', 'SerialNumber', 'DeviceName', 'Model', 'ModelName', 'ProductName', 'OSVersion', 'BuildVersion', 'IMEI', 'MEID',
  'IsSupervised', 'AwaitingConfiguration', 'IsActivationLockEnabled', 'DeviceCapacity', 'AvailableDeviceCapacity', 'WiFiMAC', 'BluetoothMAC',
];

/** The validated core set: key → check. Unknown keys are refused for these, so typos surface. */
export const TYPED_COMMANDS: Record<string, Spec> = {
  DeviceInformation: { Queries: { check: strings } },
  SecurityInfo: {},
  ProfileList: { ManagedOnly: { check: bool } },
  InstallProfile: { Payload: { check: data, required: true } },
  RemoveProfile: { Identifier: { check: str(), required: true } },
  InstalledApplicationList: { Identifiers: { check: strings }, ManagedAppsOnly: { check: bool } },
  DeviceLock: { PIN: { check: pin([6]) }, Message: { check: str() }, PhoneNumber: { check: str(64) } },
  EraseDevice: {
    PIN: { check: pin([6]) }, PreserveDataPlan: { check: bool }, DisallowProximitySetup: { check: bool },
    ObliterationBehavior: { check: oneOf('Default', 'DoNotObliterate', 'ObliterateWithWarning', 'Always') }, ReturnToService: { check: dict },
  },
  RestartDevice: { NotifyUser: { check: bool }, RebuildKernelCache: { check: bool }, KextPaths: { check: strings } },
  ShutDownDevice: {},
  Settings: { Settings: { check: settings, required: true } },
  DeviceConfigured: {},
};

export interface BuiltCommand {
  uuid: string;
  requestType: string;
  plist: string;
}

export function buildCommand(command: Record<string, unknown>, uuid: string = randomUUID().toUpperCase()): BuiltCommand {
  const { RequestType: requestType, ...keys } = command;
  if (typeof requestType !== 'string' || !/^[A-Za-z][A-Za-z0-9.]{0,99}$/.test(requestType)) throw new CommandError('RequestType must be a name such as DeviceInformation');
  const spec = TYPED_COMMANDS[requestType];
  const body: Record<string, unknown> = { ...keys };
  if (spec) {
    for (const k of Object.keys(keys)) if (!spec[k]) throw new CommandError(`${requestType} has no key ${k} (known: ${Object.keys(spec).join(', ') || 'none'})`);
    for (const [k, s] of Object.entries(spec)) {
      if (keys[k] === undefined) {
        if (s.required) throw new CommandError(`${requestType}.${k} is required`);
        continue;
      }
      const problem = s.check(keys[k]);
      if (problem) throw new CommandError(`${requestType}.${k} ${problem}`);
    }
    if (requestType === 'InstallProfile' && typeof keys.Payload === 'string') body.Payload = Buffer.from(keys.Payload, 'base64');
    if (requestType === 'DeviceInformation' && !keys.Queries) body.Queries = DEFAULT_DEVICE_INFORMATION_QUERIES;
  }
  let plist: string;
  try {
    plist = buildPlist({ CommandUUID: uuid, Command: { RequestType: requestType, ...body } });
  } catch (e) {
    throw new CommandError(`command cannot be expressed as a plist: ${(e as Error).message}`);
  }
  return { uuid, requestType, plist };
}
