// The enrollment profile (.mobileconfig): a SCEP payload that gets the device its identity and a
// com.apple.mdm payload that points the device at us. Keys follow apple/device-management
// `mdm/profiles/{TopLevel,com.apple.mdm,com.apple.security.scep}.yaml`; the shape matches
// NanoMDM's `docs/enroll.mobileconfig`, which mdmb and real devices accept.
import { createHash } from 'node:crypto';
import { buildPlist, type PlistDict } from './plist.js';

export class MobileconfigError extends Error {
  override name = 'MobileconfigError';
}

/** X.500 subject as the SCEP payload wants it: [[["O","Acme"]],[["CN","foo"]]] (one RDN per entry). */
export type ScepSubject = Array<Array<[string, string]>>;

export type ServerCapability = 'com.apple.mdm.per-user-connections' | 'com.apple.mdm.bootstraptoken' | 'com.apple.mdm.token';

export interface EnrollmentProfileOptions {
  /** commands and results (com.apple.mdm ServerURL); https, or http for local testing */
  serverUrl: string;
  /** check-ins; ServerURL is used when absent */
  checkInUrl?: string;
  /** APNs topic: the UID of the push certificate, com.apple.mgmt.… */
  topic: string;
  scepUrl: string;
  /** SCEP challenge; a one-time one per profile is best */
  challenge?: string;
  /** SCEP CA identifier (sent as `message` with GetCACert) */
  scepName?: string;
  subject?: ScepSubject;
  keysize?: 1024 | 2048 | 4096;
  /** 1 signing, 4 encryption, 5 both */
  keyUsage?: 0 | 1 | 4 | 5;
  caFingerprint?: Buffer;

  /** top-level PayloadIdentifier; keep it stable so a re-sent profile replaces the installed one */
  identifier?: string;
  organization?: string;
  displayName?: string;
  description?: string;
  scope?: 'System' | 'User';
  /** defaults are derived from identifier, serverUrl and topic, so they are stable per server */
  profileUuid?: string;
  scepPayloadUuid?: string;
  mdmPayloadUuid?: string;

  accessRights?: number;
  signMessage?: boolean;
  checkOutWhenRemoved?: boolean;
  serverCapabilities?: ServerCapability[];
  useDevelopmentApns?: boolean;
  /** account-driven enrollment only; needs enrollmentMode */
  assignedManagedAppleId?: string;
  /** BYOD (user enrollment) leaves AccessRights out: the device cancels a BYOD enrollment that has them */
  enrollmentMode?: 'BYOD' | 'ADDE';
  /** the older key profile-based user enrollment reads (iOS 13–17, macOS 10.15–14; removed in iOS 18 / macOS 15) */
  managedAppleId?: string;
  serverUrlPinningCertificateUuids?: string[];
  checkInUrlPinningCertificateUuids?: string[];
  pinningRevocationCheckRequired?: boolean;
  /** further payloads to carry, e.g. the certificate payloads the pinning UUIDs name */
  extraPayloads?: PlistDict[];
}

export const DEFAULT_SERVER_CAPABILITIES: ServerCapability[] = ['com.apple.mdm.per-user-connections', 'com.apple.mdm.bootstraptoken', 'com.apple.mdm.token'];
/** All 13 access-right bits, as NanoMDM's and MicroMDM's example profiles use. */
export const ALL_ACCESS_RIGHTS = 8191;

const UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CAPABILITIES: readonly string[] = DEFAULT_SERVER_CAPABILITIES;

const fail = (reason: string): never => {
  throw new MobileconfigError(reason);
};

/** Builds the unsigned enrollment profile as an XML plist string (sign it with cms-sign.ts). */
export function buildEnrollmentProfile(opts: EnrollmentProfileOptions): string {
  const organization = opts.organization ?? 'Pomona';
  const identifier = opts.identifier ?? 'com.pomona.enrollment';
  if (!IDENTIFIER.test(identifier)) fail('identifier must be reverse-DNS style');
  url('serverUrl', opts.serverUrl);
  if (opts.checkInUrl !== undefined) url('checkInUrl', opts.checkInUrl);
  url('scepUrl', opts.scepUrl);
  if (!/^com\.apple\.mgmt\.\S+$/.test(opts.topic)) fail('topic must start with com.apple.mgmt.');
  const keysize = opts.keysize ?? 2048;
  if (![1024, 2048, 4096].includes(keysize)) fail('keysize must be 1024, 2048 or 4096');
  const keyUsage = opts.keyUsage ?? 5;
  if (![0, 1, 4, 5].includes(keyUsage)) fail('keyUsage must be 0, 1, 4 or 5');
  if (opts.challenge !== undefined && opts.challenge.length === 0) fail('challenge must not be empty');
  const subject = opts.subject ?? [[['O', organization]], [['CN', `${organization} Identity (%ComputerName%)`]]];
  checkSubject(subject);
  // User enrollments have a fixed set of rights; Apple's client refuses a BYOD profile naming any.
  const byod = opts.enrollmentMode === 'BYOD';
  if (byod && opts.accessRights !== undefined) fail('accessRights cannot be set for a BYOD (user) enrollment');
  const accessRights = opts.accessRights ?? ALL_ACCESS_RIGHTS;
  if (!byod) checkAccessRights(accessRights);
  const capabilities = opts.serverCapabilities ?? DEFAULT_SERVER_CAPABILITIES;
  for (const c of capabilities) if (!CAPABILITIES.includes(c)) fail(`unknown server capability ${c}`);
  if (new Set(capabilities).size !== capabilities.length) fail('serverCapabilities must be unique');
  if (opts.assignedManagedAppleId !== undefined && !opts.enrollmentMode) fail('assignedManagedAppleId needs enrollmentMode');
  if (opts.enrollmentMode !== undefined && !['BYOD', 'ADDE'].includes(opts.enrollmentMode)) fail('enrollmentMode must be BYOD or ADDE');
  if (opts.scope !== undefined && !['System', 'User'].includes(opts.scope)) fail('scope must be System or User');
  const pins = [...(opts.serverUrlPinningCertificateUuids ?? []), ...(opts.checkInUrlPinningCertificateUuids ?? [])];
  for (const p of pins) if (!UUID.test(p)) fail(`pinning certificate UUID ${p} is not a UUID`);
  for (const p of opts.extraPayloads ?? []) checkPayload(p);

  const seed = `${identifier}|${opts.serverUrl}|${opts.topic}`;
  const profileUuid = uuid('profileUuid', opts.profileUuid, `${seed}|profile`);
  const scepUuid = uuid('scepPayloadUuid', opts.scepPayloadUuid, `${seed}|scep`);
  const mdmUuid = uuid('mdmPayloadUuid', opts.mdmPayloadUuid, `${seed}|mdm`);
  const uuids = [profileUuid, scepUuid, mdmUuid, ...(opts.extraPayloads ?? []).map((p) => String(p.PayloadUUID).toUpperCase())];
  if (new Set(uuids).size !== uuids.length) fail('payload UUIDs must be distinct');

  const scep: PlistDict = {
    PayloadContent: {
      URL: opts.scepUrl,
      Name: opts.scepName ?? 'Device Management Identity Certificate',
      Subject: subject,
      ...(opts.challenge !== undefined && { Challenge: opts.challenge }),
      Keysize: keysize,
      'Key Type': 'RSA',
      'Key Usage': keyUsage,
      ...(opts.caFingerprint && { CAFingerprint: opts.caFingerprint }),
    },
    PayloadDisplayName: 'Device Identity Certificate',
    PayloadIdentifier: `${identifier}.scep`,
    PayloadType: 'com.apple.security.scep',
    PayloadUUID: scepUuid,
    PayloadVersion: 1,
  };
  const mdm: PlistDict = {
    ...(!byod && { AccessRights: accessRights }),
    CheckOutWhenRemoved: opts.checkOutWhenRemoved ?? true,
    IdentityCertificateUUID: scepUuid,
    PayloadDisplayName: 'Device Management',
    PayloadIdentifier: `${identifier}.mdm`,
    PayloadType: 'com.apple.mdm',
    PayloadUUID: mdmUuid,
    PayloadVersion: 1,
    ServerCapabilities: capabilities,
    ServerURL: opts.serverUrl,
    ...(opts.checkInUrl !== undefined && { CheckInURL: opts.checkInUrl }),
    SignMessage: opts.signMessage ?? true,
    Topic: opts.topic,
    ...(opts.useDevelopmentApns !== undefined && { UseDevelopmentAPNS: opts.useDevelopmentApns }),
    ...(opts.assignedManagedAppleId !== undefined && { AssignedManagedAppleID: opts.assignedManagedAppleId }),
    ...(opts.enrollmentMode !== undefined && { EnrollmentMode: opts.enrollmentMode }),
    ...(opts.managedAppleId !== undefined && { ManagedAppleID: opts.managedAppleId }),
    ...(opts.serverUrlPinningCertificateUuids && { ServerURLPinningCertificateUUIDs: opts.serverUrlPinningCertificateUuids }),
    ...(opts.checkInUrlPinningCertificateUuids && { CheckInURLPinningCertificateUUIDs: opts.checkInUrlPinningCertificateUuids }),
    ...(opts.pinningRevocationCheckRequired !== undefined && { PinningRevocationCheckRequired: opts.pinningRevocationCheckRequired }),
  };
  return buildPlist({
    PayloadContent: [...(opts.extraPayloads ?? []), scep, mdm],
    PayloadDescription: opts.description ?? `Enrolls this device in ${organization}'s device management.`,
    PayloadDisplayName: opts.displayName ?? `${organization} Enrollment`,
    PayloadIdentifier: identifier,
    PayloadOrganization: organization,
    PayloadScope: opts.scope ?? 'System',
    PayloadType: 'Configuration',
    PayloadUUID: profileUuid,
    PayloadVersion: 1,
  });
}

function url(name: string, value: string): void {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) fail(`${name} must be an http(s) URL`);
}

function checkSubject(subject: ScepSubject): void {
  const ok =
    Array.isArray(subject) && subject.length > 0 &&
    subject.every((rdn) => Array.isArray(rdn) && rdn.length > 0 && rdn.every((p) => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string' && s.length > 0)));
  if (!ok) fail('subject must be an array of arrays of [type, value] string pairs');
}

// AccessRights rules from com.apple.mdm.yaml: never 0, "install profiles" (2) needs "inspect
// profiles" (1), "install provisioning profiles" (128) needs "inspect provisioning profiles" (64).
function checkAccessRights(r: number): void {
  if (!Number.isInteger(r) || r < 1 || r > ALL_ACCESS_RIGHTS) fail('accessRights must be an integer from 1 to 8191');
  if (r & 2 && !(r & 1)) fail('accessRights: bit 2 (install profiles) requires bit 1 (inspect profiles)');
  if (r & 128 && !(r & 64)) fail('accessRights: bit 128 (install provisioning profiles) requires bit 64');
}

function checkPayload(p: PlistDict): void {
  if (typeof p.PayloadType !== 'string' || typeof p.PayloadIdentifier !== 'string' || typeof p.PayloadUUID !== 'string' || !UUID.test(p.PayloadUUID)) {
    fail('extra payloads need PayloadType, PayloadIdentifier and a PayloadUUID');
  }
  if (p.PayloadVersion !== 1) fail('extra payloads need PayloadVersion 1');
}

/** The given UUID (checked), or a stable name-based one: same server, same profile UUIDs. */
function uuid(name: string, given: string | undefined, seed: string): string {
  if (given !== undefined) return UUID.test(given) ? given.toUpperCase() : fail(`${name} is not a UUID`);
  const h = createHash('sha256').update(seed).digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5 layout (name-based)
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = h.subarray(0, 16).toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
