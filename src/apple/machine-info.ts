// MachineInfo: what a device in Setup Assistant sends to the ADE profile's `url` (the POST body)
// and to its `configuration_web_url` (base64 in the `x-apple-aspen-deviceinfo` header) — a plist
// CMS-signed by the device's Apple-issued identity (apple-mdm-protocol.md §2.2–2.3).
//
// Trust: the signer must chain to Apple Root CA *through the pinned Apple iPhone Device CA* (a
// leaf reaching the root through another Apple CA is not a device). Dates are ignored because
// Apple's intermediates expired in 2014 and 2022 and still issue, and SHA-1 is accepted because
// devices sign with it. Signed MachineInfo proves an Apple device made the request, not which one
// is in front of us (Duo's "MDM Me Maybe"): Pomona still matches the serial against ABM.
import { createHash, X509Certificate } from 'node:crypto';
import { isPlistDict, parsePlist, type PlistDict } from './plist.js';
import { certificatePath, verifyAttached } from './cms-sign.js';
import { SignatureError } from './mdm-signature.js';
import { APPLE_IPHONE_CERTIFICATION_AUTHORITY, APPLE_IPHONE_DEVICE_CA, APPLE_ROOT_CA } from './apple-device-ca.js';

export interface MachineInfo {
  udid: string;
  serial: string;
  /** model identifier, e.g. iPhone15,2 or Mac14,7 */
  product: string;
  /** the OS build, e.g. 22A3351 (Apple calls it VERSION) */
  build: string;
  /** e.g. 17.0, possibly with a Rapid Security Response suffix such as "17.0 (a)"; iOS 17 / macOS 14+ */
  osVersion?: string;
  supplementalBuildVersion?: string;
  supplementalOsVersionExtra?: string;
  imei?: string;
  meid?: string;
  language?: string;
  /** the device honours a 403 com.apple.softwareupdate.required */
  canRequestSoftwareUpdate: boolean;
  softwareUpdateDeviceId?: string;
  /** SHA-256 of the signer certificate, for the log and the timeline */
  signerSha256: string;
}

export interface MachineInfoTrust {
  anchorsPem: string[];
  /** intermediates a device may leave out of its certificate bag */
  intermediatesPem: string[];
  /** the CA that must have issued the signer; undefined = any path to an anchor */
  pinnedIssuerPem?: string;
}

/** Real devices: Apple Root CA, through the pinned Apple iPhone Device CA. */
export const APPLE_DEVICE_TRUST: MachineInfoTrust = {
  anchorsPem: [APPLE_ROOT_CA],
  intermediatesPem: [APPLE_IPHONE_DEVICE_CA, APPLE_IPHONE_CERTIFICATION_AUTHORITY],
  pinnedIssuerPem: APPLE_IPHONE_DEVICE_CA,
};

/** Test mode only: a root of our own that the device simulator's identities chain to. */
export const testDeviceTrust = (rootPem: string): MachineInfoTrust => ({ anchorsPem: [rootPem], intermediatesPem: [] });

export class MachineInfoError extends Error {
  override name = 'MachineInfoError';
}

/** Apple's MachineInfo is ~1 KB plus a few certificates; anything far larger is not one. */
export const MAX_MACHINE_INFO_BYTES = 64 * 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Reads the base64 `x-apple-aspen-deviceinfo` header (the web-view form). */
export function machineInfoFromHeader(header: string | string[] | undefined, trust: MachineInfoTrust | MachineInfoTrust[]): MachineInfo {
  if (header === undefined || header === '') throw new MachineInfoError('missing x-apple-aspen-deviceinfo header');
  if (typeof header !== 'string') throw new MachineInfoError('more than one x-apple-aspen-deviceinfo header');
  const b64 = header.trim();
  if (b64.length > (MAX_MACHINE_INFO_BYTES * 4) / 3 + 4) throw new MachineInfoError('x-apple-aspen-deviceinfo is too large');
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) throw new MachineInfoError('x-apple-aspen-deviceinfo is not base64');
  return readMachineInfo(Buffer.from(b64, 'base64'), trust);
}

/**
 * Verifies the CMS signature and trust, then reads the plist. Throws MachineInfoError. With
 * several trusts (Apple's and, in test mode, the simulator's), the signer must satisfy one.
 */
export function readMachineInfo(der: Buffer, trust: MachineInfoTrust | MachineInfoTrust[]): MachineInfo {
  if (der.length === 0) throw new MachineInfoError('empty MachineInfo');
  if (der.length > MAX_MACHINE_INFO_BYTES) throw new MachineInfoError('MachineInfo is too large');
  let verified;
  try {
    // The signature first (no anchors: trust is judged below, by the same code the tests
    // exercise with Apple's real device certificates).
    verified = verifyAttached(der, { ignoreDates: true });
  } catch (err) {
    if (err instanceof SignatureError) throw refusedBecause(err.message);
    throw err;
  }
  // The first trust that accepts the signer ends the search; a refusal is only a reason (no
  // Error made) until none accepts: in test mode Apple's trust refuses every simulated device.
  const trusts = Array.isArray(trust) ? trust : [trust];
  let firstRefusal: string | undefined;
  const accepted = trusts.some((t) => {
    const reason = identityRefusal(verified.signerCertificateDer, verified.certificates, t);
    firstRefusal ??= reason;
    return reason === undefined;
  });
  if (!accepted) throw refusedBecause(firstRefusal ?? 'nothing is trusted');
  let plist: PlistDict;
  try {
    plist = parsePlist(verified.content);
  } catch (err) {
    throw new MachineInfoError(`MachineInfo content is not a plist: ${(err as Error).message}`);
  }
  if (!isPlistDict(plist)) throw new MachineInfoError('MachineInfo content is not a dictionary');
  return machineInfoFrom(plist, createHash('sha256').update(verified.signerCertificateDer).digest('hex'));
}

/**
 * The signer must chain to an anchor, and (for Apple) its issuer must be the pinned Device CA.
 * Throws MachineInfoError.
 */
export function checkDeviceIdentity(signerDer: Buffer, bag: Buffer[], trust: MachineInfoTrust): void {
  const refusal = identityRefusal(signerDer, bag, trust);
  if (refusal !== undefined) throw refusedBecause(refusal);
}

const refusedBecause = (reason: string) => new MachineInfoError(`MachineInfo signature refused: ${reason}`);

/** Why `trust` refuses the signer, or undefined when it accepts it. */
function identityRefusal(signerDer: Buffer, bag: Buffer[], trust: MachineInfoTrust): string | undefined {
  let path;
  try {
    path = certificatePath(signerDer, [...bag, ...trust.intermediatesPem.map(pemToDer)], trust.anchorsPem);
  } catch (err) {
    if (err instanceof SignatureError) return err.message;
    throw err;
  }
  if (!path.trusted) return 'the signer does not chain to a trusted device CA';
  if (trust.pinnedIssuerPem && !path.chain[0]?.equals(pemToDer(trust.pinnedIssuerPem))) return 'the signer was not issued by Apple iPhone Device CA';
  return undefined;
}

// The trusts' certificates are constants: each PEM is parsed once, not for every MachineInfo.
const derOfPem = new Map<string, Buffer>();
function pemToDer(pem: string): Buffer {
  let der = derOfPem.get(pem);
  if (!der) derOfPem.set(pem, (der = new X509Certificate(pem).raw));
  return der;
}

// Identifiers are short ASCII tokens; anything else is refused rather than stored.
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9 ._,()\-]{0,63}$/;

function machineInfoFrom(p: PlistDict, signerSha256: string): MachineInfo {
  const text = (key: string, required: boolean): string | undefined => {
    const v = p[key];
    if (v === undefined || v === '') {
      if (required) throw new MachineInfoError(`MachineInfo has no ${key}`);
      return undefined;
    }
    if (typeof v !== 'string' || !IDENTIFIER.test(v)) throw new MachineInfoError(`MachineInfo ${key} is not a valid value`);
    return v;
  };
  const canUpdate = p.MDM_CAN_REQUEST_SOFTWARE_UPDATE;
  if (canUpdate !== undefined && typeof canUpdate !== 'boolean') throw new MachineInfoError('MachineInfo MDM_CAN_REQUEST_SOFTWARE_UPDATE is not a boolean');
  return {
    udid: text('UDID', true)!,
    serial: text('SERIAL', true)!,
    product: text('PRODUCT', true)!,
    build: text('VERSION', true)!,
    osVersion: text('OS_VERSION', false),
    supplementalBuildVersion: text('SUPPLEMENTAL_BUILD_VERSION', false),
    supplementalOsVersionExtra: text('SUPPLEMENTAL_OS_VERSION_EXTRA', false),
    imei: text('IMEI', false),
    meid: text('MEID', false),
    language: text('LANGUAGE', false),
    canRequestSoftwareUpdate: canUpdate === true,
    softwareUpdateDeviceId: text('SOFTWARE_UPDATE_DEVICE_ID', false),
    signerSha256,
  };
}
