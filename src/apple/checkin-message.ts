// Typed, validated views of what devices send: check-in messages (CheckInURL) and command reports
// (ServerURL). Field names and rules follow apple/device-management `mdm/checkin/*.yaml`; the
// enrollment identity follows NanoMDM (`mdm/type.go`) so IDs stay compatible with its storage.
import type { PlistDict, PlistValue } from './plist.js';

export class CheckinError extends Error {
  override name = 'CheckinError';
}

export type EnrollmentType = 'Device' | 'User' | 'User Enrollment (Device)' | 'User Enrollment' | 'Shared iPad';

export interface EnrollmentIdentity {
  /** the device channel's id: UDID, or EnrollmentID for User Enrollment */
  deviceId: string;
  /** this channel's id: UDID | UDID:UserID | UDID:UserShortName (Shared iPad) | EnrollmentID | EnrollmentID:EnrollmentUserID */
  enrollmentId: string;
  channel: 'device' | 'user';
  type: EnrollmentType;
  userId?: string;
  userShortName?: string;
  userLongName?: string;
  enrollmentUserId?: string;
}

/** Shared iPad users all connect with this UserID; UserShortName names the user. */
export const SHARED_IPAD_USER_ID = 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF';

interface MessageBase {
  identity: EnrollmentIdentity;
  raw: PlistDict;
}
export interface Authenticate extends MessageBase {
  messageType: 'Authenticate';
  topic: string;
  serialNumber?: string;
  deviceName?: string;
  model?: string;
  modelName?: string;
  productName?: string;
  osVersion?: string;
  buildVersion?: string;
  imei?: string;
  meid?: string;
}
export interface TokenUpdate extends MessageBase {
  messageType: 'TokenUpdate';
  topic: string;
  token: Buffer;
  pushMagic: string;
  unlockToken?: Buffer;
  awaitingConfiguration: boolean;
  notOnConsole?: boolean;
}
export interface CheckOut extends MessageBase {
  messageType: 'CheckOut';
  topic?: string;
}
export interface SetBootstrapToken extends MessageBase {
  messageType: 'SetBootstrapToken';
  /** absent or empty: delete the stored token */
  bootstrapToken?: Buffer;
  awaitingConfiguration: boolean;
}
export interface GetBootstrapToken extends MessageBase {
  messageType: 'GetBootstrapToken';
  awaitingConfiguration: boolean;
}
export interface UserAuthenticate extends MessageBase {
  messageType: 'UserAuthenticate';
  /** absent on the first request, present on the second */
  digestResponse?: string;
}
export interface DeclarativeManagement extends MessageBase {
  messageType: 'DeclarativeManagement';
  endpoint: string;
  data?: Buffer;
}
export interface GetToken extends MessageBase {
  messageType: 'GetToken';
  tokenServiceType: string;
  tokenParameters?: PlistDict;
}
export interface ReturnToService extends MessageBase {
  messageType: 'ReturnToService';
}

export type CheckinMessage =
  | Authenticate | TokenUpdate | CheckOut | SetBootstrapToken | GetBootstrapToken
  | UserAuthenticate | DeclarativeManagement | GetToken | ReturnToService;
export type CheckinMessageType = CheckinMessage['messageType'];

export type CommandStatus = 'Idle' | 'Acknowledged' | 'Error' | 'CommandFormatError' | 'NotNow';
const STATUSES: readonly string[] = ['Idle', 'Acknowledged', 'Error', 'CommandFormatError', 'NotNow'];

export interface ErrorChainItem {
  errorCode?: number;
  errorDomain?: string;
  localizedDescription?: string;
  usEnglishDescription?: string;
}

export interface CommandReport {
  status: CommandStatus;
  /** present whenever status is not Idle */
  commandUuid?: string;
  /** some clients (mdmb) echo it; Apple devices mostly do not */
  requestType?: string;
  identity: EnrollmentIdentity;
  errorChain?: ErrorChainItem[];
  raw: PlistDict;
}

// ---------------------------------------------------------------------------------------------

const fail = (reason: string): never => {
  throw new CheckinError(reason);
};

// Identifiers end up in database keys, URLs and logs: keep them to a sane alphabet and length.
const ID = /^[A-Za-z0-9._-]{1,128}$/;
const CONTROL = /[\u0000-\u001F\u007F]/;

function str(d: PlistDict, key: string, required: true, max?: number): string;
function str(d: PlistDict, key: string, required?: false, max?: number): string | undefined;
function str(d: PlistDict, key: string, required = false, max = 4096): string | undefined {
  const v = d[key];
  if (v === undefined) return required ? fail(`${key} missing`) : undefined;
  if (typeof v !== 'string') fail(`${key} must be a string`);
  const s = v as string;
  if (required && s.length === 0) fail(`${key} is empty`);
  if (s.length > max) fail(`${key} too long`);
  return s;
}

function id(d: PlistDict, key: string): string | undefined {
  const v = str(d, key);
  if (v !== undefined && !ID.test(v)) fail(`${key} is not a valid identifier`);
  return v;
}

function data(d: PlistDict, key: string, required = false): Buffer | undefined {
  const v = d[key];
  if (v === undefined) return required ? fail(`${key} missing`) : undefined;
  if (!Buffer.isBuffer(v)) fail(`${key} must be data`);
  return v as Buffer;
}

function bool(d: PlistDict, key: string): boolean | undefined {
  const v = d[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') fail(`${key} must be a boolean`);
  return v as boolean;
}

function dict(d: PlistDict, key: string): PlistDict | undefined {
  const v = d[key];
  if (v === undefined) return undefined;
  if (!isDict(v)) fail(`${key} must be a dictionary`);
  return v as PlistDict;
}

const isDict = (v: PlistValue | undefined): v is PlistDict =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);

/** Resolves the enrollment a message speaks for, as NanoMDM does (UDID wins over EnrollmentID). */
export function enrollmentIdentity(d: PlistDict): EnrollmentIdentity {
  const udid = id(d, 'UDID');
  const enrollmentId = id(d, 'EnrollmentID');
  const userId = id(d, 'UserID');
  const enrollmentUserId = id(d, 'EnrollmentUserID');
  const userShortName = str(d, 'UserShortName', false, 256);
  const userLongName = str(d, 'UserLongName', false, 256);
  if (userShortName !== undefined && CONTROL.test(userShortName)) fail('UserShortName contains control characters');
  if (udid) {
    if (!userId) return { deviceId: udid, enrollmentId: udid, channel: 'device', type: 'Device' };
    if (userId.toUpperCase() === SHARED_IPAD_USER_ID) {
      if (!userShortName) fail('UserShortName missing for a Shared iPad user');
      return { deviceId: udid, enrollmentId: `${udid}:${userShortName}`, channel: 'user', type: 'Shared iPad', userId, userShortName, userLongName };
    }
    return { deviceId: udid, enrollmentId: `${udid}:${userId}`, channel: 'user', type: 'User', userId, userShortName, userLongName };
  }
  if (enrollmentId) {
    if (!enrollmentUserId) return { deviceId: enrollmentId, enrollmentId, channel: 'device', type: 'User Enrollment (Device)' };
    return { deviceId: enrollmentId, enrollmentId: `${enrollmentId}:${enrollmentUserId}`, channel: 'user', type: 'User Enrollment', enrollmentUserId };
  }
  return fail('UDID or EnrollmentID missing');
}

/** Validates a check-in plist (already parsed) and returns its typed form. Throws CheckinError. */
export function parseCheckin(raw: PlistDict): CheckinMessage {
  const messageType = str(raw, 'MessageType', true, 64);
  const identity = enrollmentIdentity(raw);
  const base = { identity, raw };
  const deviceChannelOnly = () => identity.channel === 'device' || fail(`${messageType} is only valid on the device channel`);
  switch (messageType) {
    case 'Authenticate':
      deviceChannelOnly();
      data(raw, 'Challenge');
      return {
        ...base, messageType, topic: topic(raw),
        serialNumber: str(raw, 'SerialNumber', false, 64), deviceName: str(raw, 'DeviceName', false, 256),
        model: str(raw, 'Model', false, 64), modelName: str(raw, 'ModelName', false, 128), productName: str(raw, 'ProductName', false, 64),
        osVersion: str(raw, 'OSVersion', false, 64), buildVersion: str(raw, 'BuildVersion', false, 64),
        imei: str(raw, 'IMEI', false, 64), meid: str(raw, 'MEID', false, 64),
      };
    case 'TokenUpdate': {
      const token = data(raw, 'Token', true)!;
      if (token.length === 0 || token.length > 256) fail('Token has an implausible length');
      return {
        ...base, messageType, topic: topic(raw), token, pushMagic: str(raw, 'PushMagic', true, 256),
        unlockToken: data(raw, 'UnlockToken'), awaitingConfiguration: bool(raw, 'AwaitingConfiguration') ?? false,
        notOnConsole: bool(raw, 'NotOnConsole'),
      };
    }
    case 'CheckOut':
      return { ...base, messageType, topic: str(raw, 'Topic', false, 256) };
    case 'SetBootstrapToken':
      deviceChannelOnly();
      return { ...base, messageType, bootstrapToken: data(raw, 'BootstrapToken'), awaitingConfiguration: bool(raw, 'AwaitingConfiguration') ?? false };
    case 'GetBootstrapToken':
      deviceChannelOnly();
      return { ...base, messageType, awaitingConfiguration: bool(raw, 'AwaitingConfiguration') ?? false };
    case 'UserAuthenticate':
      if (identity.channel !== 'user') fail('UserAuthenticate needs a UserID');
      return { ...base, messageType, digestResponse: str(raw, 'DigestResponse', false, 8192) };
    case 'DeclarativeManagement': {
      const endpoint = str(raw, 'Endpoint', true, 1024);
      if (CONTROL.test(endpoint)) fail('Endpoint contains control characters');
      return { ...base, messageType, endpoint, data: data(raw, 'Data') };
    }
    case 'GetToken':
      return { ...base, messageType, tokenServiceType: str(raw, 'TokenServiceType', true, 256), tokenParameters: dict(raw, 'TokenParameters') };
    case 'ReturnToService':
      deviceChannelOnly();
      return { ...base, messageType };
    default:
      return fail(`unknown MessageType ${JSON.stringify(messageType.slice(0, 64))}`);
  }
}

function topic(raw: PlistDict): string {
  const t = str(raw, 'Topic', true, 256);
  if (CONTROL.test(t)) fail('Topic contains control characters');
  return t;
}

/** Validates a command report (Idle or a result) sent to ServerURL. Throws CheckinError. */
export function parseCommandReport(raw: PlistDict): CommandReport {
  const status = str(raw, 'Status', true, 32);
  if (!STATUSES.includes(status)) fail(`unknown Status ${JSON.stringify(status)}`);
  const identity = enrollmentIdentity(raw);
  let commandUuid = str(raw, 'CommandUUID', false, 256);
  if (status !== 'Idle') {
    if (commandUuid === undefined) fail('CommandUUID missing');
    if (commandUuid === '') fail('CommandUUID is empty');
    if (CONTROL.test(commandUuid!)) fail('CommandUUID contains control characters');
  } else {
    commandUuid = undefined; // an Idle report answers nothing, whatever it echoes
  }
  const requestType = str(raw, 'RequestType', false, 128);
  let errorChain: ErrorChainItem[] | undefined;
  const chain = raw.ErrorChain;
  if (chain !== undefined) {
    if (!Array.isArray(chain)) fail('ErrorChain must be an array');
    errorChain = (chain as PlistValue[]).map((item, k) => {
      if (!isDict(item)) return fail(`ErrorChain[${k}] must be a dictionary`);
      const code = item.ErrorCode;
      if (code !== undefined && !Number.isInteger(code)) fail(`ErrorChain[${k}].ErrorCode must be an integer`);
      return {
        errorCode: code as number | undefined, errorDomain: str(item, 'ErrorDomain'),
        localizedDescription: str(item, 'LocalizedDescription'), usEnglishDescription: str(item, 'USEnglishDescription'),
      };
    });
  }
  return { status: status as CommandStatus, commandUuid, requestType, identity, errorChain, raw };
}
