/**
 * Stands in for Apple iPhone Device CA in tests and the demo: issues each simulated device the
 * identity it signs its MachineInfo with. Pomona trusts its root only in test mode
 * (`machineInfoTestRootFile`), never in place of Apple's pinned chain otherwise.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { buildPlist } from '../apple/plist.js';
import { signAttached } from '../apple/cms-sign.js';
import { CertificateAuthority, createCaCertificate } from '../pki/ca.js';
import { oid, seq, setOf, utf8String } from '../pki/der.js';

const generateRsa = promisify(generateKeyPair);

export interface DeviceIdentity {
  certPem: string;
  privateKey: KeyObject;
}

/** The keys Apple documents for MachineInfo (other/machineinfo.yaml); Pomona reads these. */
export interface MachineInfoFields {
  UDID?: string;
  SERIAL?: string;
  PRODUCT?: string;
  VERSION?: string;
  OS_VERSION?: string;
  IMEI?: string;
  MEID?: string;
  LANGUAGE?: string;
  MDM_CAN_REQUEST_SOFTWARE_UPDATE?: boolean;
  SOFTWARE_UPDATE_DEVICE_ID?: string;
  [key: string]: unknown;
}

export class SimulatedDeviceCa {
  private constructor(private readonly ca: CertificateAuthority) {}

  static async create(): Promise<SimulatedDeviceCa> {
    const { certPem, keyPem } = await createCaCertificate({ commonName: 'Pomona Simulated Device CA', organization: 'Pomona Simulator' });
    return new SimulatedDeviceCa(CertificateAuthority.fromPem(certPem, keyPem));
  }

  /** What Pomona trusts in test mode. */
  get rootPem(): string {
    return this.ca.certificatePem;
  }

  /**
   * A device identity like Apple's: CN = a UUID, RSA 2048. A key pair may be given (benchmarks:
   * every device still gets a certificate of its own, which is what Pomona parses and caches).
   */
  async issue(commonName: string, keyPair?: { publicKey: KeyObject; privateKey: KeyObject }): Promise<DeviceIdentity> {
    const { publicKey, privateKey } = keyPair ?? (await generateRsa('rsa', { modulusLength: 2048 }));
    const issued = this.ca.issue(
      { subject: seq(setOf(seq(oid('2.5.4.3'), utf8String(commonName)))), spki: publicKey.export({ format: 'der', type: 'spki' }) },
      { validityDays: 3650 },
    );
    return { certPem: issued.pem, privateKey };
  }
}

/** MachineInfo as a device sends it: the plist, CMS-signed with the content attached. */
export function signMachineInfo(fields: MachineInfoFields, identity: DeviceIdentity): Buffer {
  const plist = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return signAttached(buildPlist(plist), { certificate: identity.certPem, privateKey: identity.privateKey });
}
