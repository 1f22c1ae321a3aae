// MDM command envelopes: {CommandUUID, Command: {RequestType, …}} with the two as siblings at the
// top level (apple/device-management `mdm/commands/*.yaml`; NanoMDM `mdm/command.go`).
//
// Any RequestType passes as a raw command. The core set below has TypeBox schemas: they validate
// admin input (unknown keys are refused, so typos surface) and describe the commands in OpenAPI.
// JSON cannot carry plist <data>, so data keys are base64 strings in the schemas
// (`contentEncoding: 'base64'`); TypeScript callers may pass Buffers there instead.
import { randomUUID } from 'node:crypto';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { buildPlist, isPlistDict, parsePlist, PlistError } from './plist.js';
import { childrenOf, contentOf, OID, parseSignedData, readTlv } from './mdm-signature.js';

export class CommandError extends Error {
  override name = 'CommandError';
  readonly statusCode = 400;
}

export interface BuiltCommand {
  uuid: string;
  requestType: string;
  /** the XML plist to send the device */
  plist: string;
}

/** A command as JSON or TypeScript hands it to us: RequestType plus the command's keys. */
export type CommandInput = { RequestType: string } & Record<string, unknown>;

const BASE64 = '^[A-Za-z0-9+/]*={0,2}$';
const Data = (description: string, opts: { minLength?: number; maxLength?: number } = {}) =>
  Type.String({ contentEncoding: 'base64', pattern: BASE64, description: `${description} (base64)`, ...opts });
const Strings = (description: string) => Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { description, maxItems: 1000 });
const Command = <P extends Record<string, TSchema>>(requestType: string, description: string, properties: P) =>
  Type.Object({ RequestType: Type.Literal(requestType), ...properties }, { additionalProperties: false, description, title: requestType });
const FindMyPin = Type.String({ pattern: '^[0-9]{6}$', description: 'six-digit Find My PIN (macOS)' });

export const DEFAULT_DEVICE_INFORMATION_QUERIES = [
  'UDID', 'SerialNumber', 'DeviceName', 'Model', 'ModelName', 'ModelNumber', 'ProductName', 'OSVersion', 'BuildVersion',
  'SupplementalBuildVersion', 'SupplementalOSVersionExtra', 'IMEI', 'MEID', 'ICCID', 'WiFiMAC', 'BluetoothMAC', 'EthernetMAC',
  'DeviceCapacity', 'AvailableDeviceCapacity', 'IsSupervised', 'AwaitingConfiguration', 'IsActivationLockEnabled',
  'IsDeviceLocatorServiceEnabled', 'IsMDMLostModeEnabled', 'IsAppleSilicon', 'HostName', 'LocalHostName', 'TimeZone',
  'SoftwareUpdateDeviceID', 'MDMOptions', 'OrganizationInfo',
];

// Settings items (settings.yaml): each a dictionary with an `Item` discriminator.
const Item = <P extends Record<string, TSchema>>(item: string, properties: P) =>
  Type.Object({ Item: Type.Literal(item), ...properties }, { additionalProperties: false, title: item });
const Enabled = { Enabled: Type.Boolean() };
const Int = (min?: number, max?: number) => Type.Integer({ ...(min !== undefined && { minimum: min }), ...(max !== undefined && { maximum: max }) });
const OneOf = <T extends string | number>(...values: T[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Opt = Type.Optional;
const SettingsItem = Type.Union(
  [
    Item('Wallpaper', { Image: Data('PNG or JPEG image', { minLength: 1 }), Where: OneOf(1, 2, 3) }),
    Item('DataRoaming', Enabled),
    Item('VoiceRoaming', Enabled),
    Item('PersonalHotspot', Enabled),
    Item('Bluetooth', Enabled),
    Item('ApplicationConfiguration', { Identifier: Type.String({ minLength: 1 }), Configuration: Opt(Type.Record(Type.String(), Type.Unknown())) }),
    Item('ApplicationAttributes', {
      Identifier: Type.String({ minLength: 1 }),
      Attributes: Opt(Type.Object({
        VPNUUID: Opt(Type.String()), ContentFilterUUID: Opt(Type.String()), DNSProxyUUID: Opt(Type.String()),
        AssociatedDomains: Opt(Strings('associated domains')), AssociatedDomainsEnableDirectDownloads: Opt(Type.Boolean()), Removable: Opt(Type.Boolean()),
      }, { additionalProperties: false })),
    }),
    Item('DeviceName', { DeviceName: Type.String({ minLength: 1, maxLength: 255 }) }),
    Item('HostName', { HostName: Type.String({ minLength: 1, maxLength: 255 }) }),
    Item('OrganizationInfo', {
      OrganizationInfo: Opt(Type.Object({
        OrganizationName: Type.String({ minLength: 1 }), OrganizationShortName: Opt(Type.String()), OrganizationAddress: Opt(Type.String()),
        OrganizationPhone: Opt(Type.String()), OrganizationEmail: Opt(Type.String()), OrganizationMagic: Opt(Type.String()),
      }, { additionalProperties: false })),
    }),
    Item('MDMOptions', {
      MDMOptions: Type.Object({
        ActivationLockAllowedWhileSupervised: Opt(Type.Boolean()), BootstrapTokenAllowed: Opt(Type.Boolean()),
        PromptUserToAllowBootstrapTokenForAuthentication: Opt(Type.Boolean()),
      }, { additionalProperties: false }),
    }),
    Item('MaximumResidentUsers', { MaximumResidentUsers: Int(1) }),
    Item('SharedDeviceConfiguration', {
      QuotaSize: Opt(Int(0)), ResidentUsers: Opt(Int(0)), UserSessionTimeout: Opt(Int(0)), TemporarySessionTimeout: Opt(Int(0)),
      TemporarySessionOnly: Opt(Type.Boolean()), ManagedAppleIDDefaultDomains: Opt(Strings('domains offered at login')), OnlineAuthenticationGracePeriod: Opt(Int(0)),
    }),
    Item('DiagnosticSubmission', Enabled),
    Item('AppAnalytics', Enabled),
    Item('PasscodeLockGracePeriod', { PasscodeLockGracePeriod: Int(0, 14400) }),
    Item('TimeZone', { TimeZone: Type.String({ minLength: 1, description: 'IANA name; iOS 14+/tvOS 14+, not macOS' }) }),
    Item('SoftwareUpdateSettings', { RecommendationCadence: OneOf(0, 1, 2) }),
    Item('AccessibilitySettings', {
      BoldTextEnabled: Opt(Type.Boolean()), IncreaseContrastEnabled: Opt(Type.Boolean()), ReduceMotionEnabled: Opt(Type.Boolean()),
      ReduceTransparencyEnabled: Opt(Type.Boolean()), TextSize: Opt(Int(0, 11)), TouchAccommodationsEnabled: Opt(Type.Boolean()),
      VoiceOverEnabled: Opt(Type.Boolean()), ZoomEnabled: Opt(Type.Boolean()),
    }),
  ],
  { discriminator: { propertyName: 'Item' } },
);

export const DeviceInformationCommand = Command('DeviceInformation', 'Query device attributes', {
  Queries: Opt(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 200, description: 'keys to query; default: a common set' })),
  DeviceAttestationNonce: Opt(Data('up to 32 bytes, for DevicePropertiesAttestation', { maxLength: 44 })),
});
export const SecurityInfoCommand = Command('SecurityInfo', 'Query security state (FileVault, SIP, bootstrap token…)', {});
export const ProfileListCommand = Command('ProfileList', 'List installed configuration profiles', { ManagedOnly: Opt(Type.Boolean()) });
export const InstallProfileCommand = Command('InstallProfile', 'Install a configuration profile (XML, binary or CMS-signed)', {
  Payload: Data('the profile', { minLength: 1 }),
});
export const RemoveProfileCommand = Command('RemoveProfile', 'Remove a profile by its PayloadIdentifier', { Identifier: Type.String({ minLength: 1, maxLength: 1024 }) });
export const InstalledApplicationListCommand = Command('InstalledApplicationList', 'List installed apps', {
  Identifiers: Opt(Strings('bundle identifiers to report on')),
  ManagedAppsOnly: Opt(Type.Boolean()),
});
export const DeviceLockCommand = Command('DeviceLock', 'Lock the device now', {
  PIN: Opt(FindMyPin),
  Message: Opt(Type.String({ maxLength: 1024, description: 'shown on the Lock Screen (iOS 7+, macOS 10.14+)' })),
  PhoneNumber: Opt(Type.String({ maxLength: 64, description: 'shown on the Lock Screen (iOS 7+, macOS 11.5+)' })),
});
export const EraseDeviceCommand = Command('EraseDevice', 'Erase the device', {
  PIN: Opt(FindMyPin),
  PreserveDataPlan: Opt(Type.Boolean()),
  DisallowProximitySetup: Opt(Type.Boolean()),
  ObliterationBehavior: Opt(OneOf('Default', 'DoNotObliterate', 'ObliterateWithWarning', 'Always')),
  ReturnToService: Opt(Type.Object({
    Enabled: Type.Boolean(),
    WiFiProfileData: Opt(Data('Wi-Fi profile installed after the erase')),
    MDMProfileData: Opt(Data('enrollment profile used after the erase; required for unsupervised devices')),
  }, { additionalProperties: false, description: 'iOS 17+' })),
});
export const RestartDeviceCommand = Command('RestartDevice', 'Restart the device', {
  NotifyUser: Opt(Type.Boolean()),
  RebuildKernelCache: Opt(Type.Boolean()),
  KextPaths: Opt(Strings('kexts to add to the auxiliary kernel cache')),
});
export const ShutDownDeviceCommand = Command('ShutDownDevice', 'Shut the device down', {});
export const SettingsCommand = Command('Settings', 'Apply one-time settings', { Settings: Type.Array(SettingsItem, { minItems: 1, maxItems: 100 }) });
export const DeviceConfiguredCommand = Command('DeviceConfigured', 'Let an ADE device that awaits configuration leave Setup Assistant’s Remote Management pane', {});

/** The typed commands by RequestType; each schema is complete (RequestType included) for OpenAPI. */
export const commandSchemas = {
  DeviceInformation: DeviceInformationCommand,
  SecurityInfo: SecurityInfoCommand,
  ProfileList: ProfileListCommand,
  InstallProfile: InstallProfileCommand,
  RemoveProfile: RemoveProfileCommand,
  InstalledApplicationList: InstalledApplicationListCommand,
  DeviceLock: DeviceLockCommand,
  EraseDevice: EraseDeviceCommand,
  RestartDevice: RestartDeviceCommand,
  ShutDownDevice: ShutDownDeviceCommand,
  Settings: SettingsCommand,
  DeviceConfigured: DeviceConfiguredCommand,
} as const;
export type TypedRequestType = keyof typeof commandSchemas;
export type TypedCommand = { [K in TypedRequestType]: Static<(typeof commandSchemas)[K]> }[TypedRequestType];

/** Any other command: a RequestType and whatever keys it takes, unchecked beyond being plist-able. */
export const RawCommandSchema = Type.Object(
  { RequestType: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9.]{0,99}$' }) },
  { additionalProperties: true, description: 'any MDM command, passed through unchecked', title: 'RawCommand' },
);

const REQUEST_TYPE = /^[A-Za-z][A-Za-z0-9.]{0,99}$/;
const COMMAND_UUID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Builds a command envelope. A RequestType from the typed set is validated against its schema
 * (base64 data keys become <data>, DeviceInformation gets default Queries); any other RequestType
 * passes through as given. Throws CommandError naming the offending key.
 */
export function buildCommand(command: CommandInput | Record<string, unknown>, uuid?: string): BuiltCommand {
  const requestType = checkRequestType(command);
  const schema = (commandSchemas as Record<string, TSchema>)[requestType];
  return envelope(schema ? normalize(requestType, schema, command) : command, requestType, uuid);
}

/** Builds an envelope without schema validation, for keys our schemas do not know yet. */
export function buildRawCommand(command: CommandInput | Record<string, unknown>, uuid?: string): BuiltCommand {
  return envelope(command, checkRequestType(command), uuid);
}

function checkRequestType(command: unknown): string {
  if (!isObject(command)) throw new CommandError('a command must be an object with a RequestType');
  const t = command.RequestType;
  if (typeof t !== 'string' || !REQUEST_TYPE.test(t)) throw new CommandError('RequestType must be a name such as DeviceInformation');
  return t;
}

function envelope(command: Record<string, unknown>, requestType: string, uuid = randomUUID().toUpperCase()): BuiltCommand {
  if (!COMMAND_UUID.test(uuid)) throw new CommandError('CommandUUID must be 1–128 letters, digits, dots, dashes or underscores');
  const { RequestType: _, ...keys } = command;
  try {
    return { uuid, requestType, plist: buildPlist({ CommandUUID: uuid, Command: { RequestType: requestType, ...keys } }) };
  } catch (err) {
    if (err instanceof PlistError) throw new CommandError(`${requestType}.${err.message.replace(/^Command\./, '')}`);
    throw err;
  }
}

function normalize(requestType: string, schema: TSchema, input: Record<string, unknown>): Record<string, unknown> {
  const json = convertData(schema, input, 'toJson') as Record<string, unknown>;
  const problem = explain(schema, json, requestType);
  if (problem) throw new CommandError(problem);
  const command = convertData(schema, json, 'toPlist') as Record<string, unknown>;
  if (requestType === 'DeviceInformation' && command.Queries === undefined) command.Queries = DEFAULT_DEVICE_INFORMATION_QUERIES;
  if (requestType === 'InstallProfile') checkProfilePayload(command.Payload as Buffer);
  return command;
}

// ---------------------------------------------------------------------------------------------
// Schema walking: data conversion and readable errors

type Json = { [k: string]: unknown };
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !(v instanceof Date);
const isConstUnion = (s: Json) => Array.isArray(s.anyOf) && (s.anyOf as Json[]).every((b) => 'const' in b);

function branchFor(schema: Json, value: Json): Json | undefined {
  const key = (schema.discriminator as { propertyName?: string } | undefined)?.propertyName;
  const branches = schema.anyOf as Json[];
  if (key) return branches.find((b) => (b.properties as Json | undefined)?.[key] && ((b.properties as Json)[key] as Json).const === value[key]);
  return branches.find((b) => Value.Check(b as TSchema, value));
}

/** Buffers → base64 before validation ('toJson'), base64 → Buffers after ('toPlist'), where the schema says data. */
function convertData(schema: TSchema, value: unknown, to: 'toJson' | 'toPlist'): unknown {
  const s = schema as Json;
  if (s.contentEncoding === 'base64') {
    if (to === 'toJson' && ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    if (to === 'toPlist' && typeof value === 'string') return Buffer.from(value, 'base64');
    return value;
  }
  if (Array.isArray(s.anyOf) && isObject(value)) {
    const branch = branchFor(s, value);
    return branch ? convertData(branch as TSchema, value, to) : value;
  }
  if (s.type === 'object' && isObject(value)) {
    const props = (s.properties ?? {}) as Record<string, TSchema>;
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = props[k] ? convertData(props[k], v, to) : v;
    return out;
  }
  if (s.type === 'array' && Array.isArray(value) && s.items) return value.map((v) => convertData(s.items as TSchema, v, to));
  return value;
}

/** The first problem with `value`, as "Command.Key …", or undefined when it conforms. */
function explain(schema: TSchema, value: unknown, path: string): string | undefined {
  if (Value.Check(schema, value)) return undefined;
  const s = schema as Json;
  if (isConstUnion(s)) return `${path} must be one of ${(s.anyOf as Json[]).map((b) => JSON.stringify(b.const)).join(', ')}`;
  if (Array.isArray(s.anyOf) && isObject(value)) {
    const key = (s.discriminator as { propertyName?: string } | undefined)?.propertyName;
    const branch = branchFor(s, value);
    if (branch) return explain(branch as TSchema, value, path);
    if (key) {
      const known = (s.anyOf as Json[]).map((b) => ((b.properties as Json)[key] as Json).const as string);
      return `${path}.${key} must be one of ${known.join(', ')}`;
    }
  }
  if (s.type === 'object' && isObject(value)) {
    const props = (s.properties ?? {}) as Record<string, TSchema>;
    for (const k of (s.required ?? []) as string[]) if (value[k] === undefined) return `${path}.${k} is required`;
    if (s.additionalProperties === false) {
      const unknown = Object.keys(value).find((k) => !(k in props));
      const known = Object.keys(props).filter((k) => k !== 'RequestType');
      if (unknown) return `${path}.${unknown} is not a known key here (known: ${known.join(', ') || 'none'})`;
    }
    for (const [k, p] of Object.entries(props)) {
      const problem = value[k] === undefined ? undefined : explain(p, value[k], `${path}.${k}`);
      if (problem) return problem;
    }
  }
  if (s.type === 'array' && Array.isArray(value) && s.items) {
    const items = value as unknown[];
    for (let k = 0; k < items.length; k++) {
      const problem = explain(s.items as TSchema, items[k], `${path}[${k}]`);
      if (problem) return problem;
    }
  }
  const first = Value.Errors(schema, value)[0];
  return `${path}${first ? first.instancePath.replace(/\//g, '.') : ''} ${first?.message ?? 'is invalid'}`;
}

/** InstallProfile.Payload must be a configuration profile: a plist, or CMS SignedData holding one. */
function checkProfilePayload(payload: Buffer): void {
  let profile = payload;
  if (payload[0] === 0x30) {
    try {
      const ci = readTlv(payload, 0);
      const [type] = childrenOf(payload, ci);
      if (!type || !contentOf(payload, type).equals(OID.signedData)) throw new Error('not SignedData');
      const content = parseSignedData(payload).eContent;
      if (!content) throw new Error('detached');
      profile = content;
    } catch {
      throw new CommandError('InstallProfile.Payload is DER but not a CMS SignedData with the profile attached');
    }
  }
  try {
    const dict = parsePlist(profile);
    if (!isPlistDict(dict) || dict.PayloadType !== 'Configuration') throw new Error('not a profile');
  } catch {
    throw new CommandError('InstallProfile.Payload is not a configuration profile (PayloadType Configuration)');
  }
}
