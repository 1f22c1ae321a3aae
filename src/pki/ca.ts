/**
 * Pomona's certificate authority: the CA that issues device identities over SCEP and the
 * profile-signing identity it certifies. Created on first start (or taken from configured
 * PEM files) and kept in `certificate_authorities` with its key sealed by SecretBox, so
 * every node of a cluster issues under the same CA.
 *
 * Certificates are assembled as DER here and signed with node:crypto: issuance runs once per
 * enrolling device, and this is a fraction of the cost of a generic X.509 library.
 */
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import {
  TAG, algorithm, bitString, boolean, certificateFields, expectTag, explicit, integer, items, nameToString, octetString, oid, parseDer, seq, setOf,
  subjectKeyIdOf, time, tlv, utf8String, type CertificateFields,
} from './der.js';
import type { SecretBox } from './secret-box.js';
import type { CertificateAuthorityRow, ScepStore } from './scep-store.js';
import { pooledRandomBytes } from './random.js';

const generateKeyPairAsync = promisify(generateKeyPair);

const DAY = 86_400_000;
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const EXT = { ski: '2.5.29.14', keyUsage: '2.5.29.15', san: '2.5.29.17', basicConstraints: '2.5.29.19', aki: '2.5.29.35', eku: '2.5.29.37' };
const EKU = { clientAuth: '1.3.6.1.5.5.7.3.2', codeSigning: '1.3.6.1.5.5.7.3.3', emailProtection: '1.3.6.1.5.5.7.3.4' };
/** KeyUsage as DER BIT STRINGs (RFC 5280 bit order; trailing zero bits dropped). */
const KU = {
  keyCertSignCrlSign: Buffer.from([TAG.BIT_STRING, 2, 1, 0x06]),
  digitalSignatureKeyEncipherment: Buffer.from([TAG.BIT_STRING, 2, 5, 0xa0]),
  digitalSignature: Buffer.from([TAG.BIT_STRING, 2, 7, 0x80]),
};
const CA_ROW = 'scep';
const SIGNER_ROW = 'profile-signer';
/** The profile signer is replaced this long before it expires. */
const SIGNER_RENEW_BEFORE = 30 * DAY;

export interface IssuedCertificate {
  der: Buffer;
  pem: string;
  serialHex: string;
  subject: string;
  notBefore: number;
  notAfter: number;
  /** lower-case hex SHA-256 of the DER, the key MDM check-ins use */
  sha256: string;
}

export interface ProfileSigner {
  certPem: string;
  keyPem: string;
  /** the key parsed once: parsing the PEM costs more than the RSA signature itself */
  privateKey: KeyObject;
  /** the certificates to send along with the signer's (the CA), PEM */
  chainPem: string;
}

/** What the CA needs from a certificate request: already parsed and signature-checked by the caller. */
export interface CertificateRequestInfo {
  subject: Buffer; // Name, DER
  spki: Buffer;
  /** requested extensions by OID, each a whole Extension DER; only subjectAltName is honoured */
  extensions?: Map<string, Buffer>;
}

export interface CaLoadOptions {
  store: ScepStore;
  secretBox: SecretBox;
  /** a CA from configuration; both or neither */
  certPem?: string;
  keyPem?: string;
  commonName?: string;
  organization?: string;
  now?: () => number;
}

export class CertificateAuthority {
  readonly certificateDer: Buffer;
  readonly certificatePem: string;
  readonly privateKey: KeyObject;
  readonly notAfter: number;
  readonly #fields: CertificateFields;
  readonly #keyId: Buffer;
  readonly #publicKey: KeyObject;
  readonly #cert: X509Certificate;
  readonly #persist?: { store: ScepStore; secretBox: SecretBox };
  readonly #now: () => number;
  #signer?: Promise<ProfileSigner>;

  private constructor(certPem: string, key: KeyObject, opts: { persist?: { store: ScepStore; secretBox: SecretBox }; now?: () => number }) {
    const cert = new X509Certificate(certPem);
    if (!cert.ca) throw new Error('the SCEP CA certificate is not a CA (BasicConstraints cA is not set)');
    if (key.asymmetricKeyType !== 'rsa') throw new Error('the SCEP CA key must be RSA (devices encrypt their requests to it)');
    if (!cert.checkPrivateKey(key)) throw new Error('the SCEP CA key does not match its certificate');
    this.certificateDer = cert.raw;
    this.certificatePem = cert.toString();
    this.privateKey = key;
    this.#fields = certificateFields(cert.raw);
    this.notAfter = this.#fields.notAfter;
    this.#keyId = subjectKeyId(this.#fields);
    this.#publicKey = createPublicKey(key);
    this.#cert = cert;
    this.#persist = opts.persist;
    this.#now = opts.now ?? Date.now;
  }

  /** A CA from PEM without persistence (tests, tools); `profileSigner()` then lives in memory. */
  static fromPem(certPem: string, keyPem: string, opts: { now?: () => number } = {}): CertificateAuthority {
    return new CertificateAuthority(certPem, createPrivateKey(keyPem), opts);
  }

  /** The configured CA, else the stored one, else a new one stored for every node to share. */
  static async load(opts: CaLoadOptions): Promise<CertificateAuthority> {
    const now = opts.now ?? Date.now;
    const persist = { store: opts.store, secretBox: opts.secretBox };
    const open = (row: CertificateAuthorityRow) =>
      new CertificateAuthority(row.cert_pem, createPrivateKey(opts.secretBox.openString(row.key_enc)), { persist, now });
    if (opts.certPem || opts.keyPem) {
      if (!opts.certPem || !opts.keyPem) throw new Error('configure both the SCEP CA certificate and its key, or neither');
      const ca = new CertificateAuthority(opts.certPem, createPrivateKey(opts.keyPem), { persist, now });
      const stored = await opts.store.getAuthority(CA_ROW);
      if (stored?.cert_pem !== ca.certificatePem) await opts.store.saveAuthority(ca.#row(now()));
      return ca;
    }
    const stored = await opts.store.getAuthority(CA_ROW);
    if (stored) return open(stored);
    const created = await createCaCertificate({ commonName: opts.commonName, organization: opts.organization, now: now() });
    const ca = new CertificateAuthority(created.certPem, createPrivateKey(created.keyPem), { persist, now });
    if (await opts.store.insertAuthorityIfAbsent(ca.#row(now()))) return ca;
    return open((await opts.store.getAuthority(CA_ROW))!);
  }

  #row(now: number, id = CA_ROW, certPem = this.certificatePem, key = this.privateKey, notAfter = this.notAfter): CertificateAuthorityRow {
    const keyPem = key.export({ format: 'pem', type: 'pkcs8' }) as string;
    return { id, cert_pem: certPem, key_enc: this.#persist!.secretBox.seal(keyPem), not_after: notAfter, created_at: now };
  }

  /**
   * Issues a device identity: subject, key and subjectAltName from the request; 16-byte random
   * serial; valid from 10 minutes ago (device clocks drift) for `validityDays`, never past the CA.
   */
  issue(request: CertificateRequestInfo, opts: { validityDays: number; now?: number }): IssuedCertificate {
    const now = opts.now ?? this.#now();
    const san = request.extensions?.get(EXT.san);
    return this.#issue({
      subject: request.subject,
      spki: request.spki,
      notBefore: now - 10 * 60_000,
      notAfter: Math.min(now + opts.validityDays * DAY, this.notAfter),
      extensions: [
        extension(EXT.keyUsage, true, KU.digitalSignatureKeyEncipherment),
        extension(EXT.eku, false, seq(oid(EKU.clientAuth))),
        ...(san ? [san] : []),
      ],
    });
  }

  #issue(p: { subject: Buffer; spki: Buffer; notBefore: number; notAfter: number; extensions: Buffer[] }): IssuedCertificate {
    const serial = randomSerial();
    const der = signCertificate(
      {
        serial,
        issuer: this.#fields.subject,
        subject: p.subject,
        spki: p.spki,
        notBefore: p.notBefore,
        notAfter: p.notAfter,
        extensions: [
          ...p.extensions,
          extension(EXT.ski, false, octetString(keyIdOf(p.spki))),
          extension(EXT.aki, false, seq(tlv(0x80, this.#keyId))),
        ],
      },
      this.privateKey,
    );
    return {
      der,
      pem: toPem(der),
      serialHex: serial.toString('hex'),
      subject: nameToString(p.subject),
      notBefore: Math.floor(p.notBefore / 1000) * 1000,
      notAfter: Math.floor(p.notAfter / 1000) * 1000,
      sha256: createHash('sha256').update(der).digest('hex'),
    };
  }

  /** The identity that signs enrollment profiles, issued by this CA; created, stored and renewed on demand. */
  profileSigner(): Promise<ProfileSigner> {
    this.#signer ??= this.#loadSigner().catch((err) => {
      this.#signer = undefined;
      throw err;
    });
    return this.#signer;
  }

  async #loadSigner(): Promise<ProfileSigner> {
    const now = this.#now();
    const store = this.#persist?.store;
    const stored = store ? await store.getAuthority(SIGNER_ROW) : undefined;
    if (stored && this.#usableSigner(stored.cert_pem, now)) return this.#signerFrom(stored.cert_pem, this.#persist!.secretBox.openString(stored.key_enc));
    const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
    const issued = this.#issue({
      subject: seq(setOf(seq(oid('2.5.4.3'), utf8String('Pomona Profile Signing')))),
      spki: publicKey.export({ format: 'der', type: 'spki' }),
      notBefore: now - 10 * 60_000,
      notAfter: Math.min(now + 3 * 365 * DAY, this.notAfter),
      extensions: [extension(EXT.keyUsage, true, KU.digitalSignature), extension(EXT.eku, false, seq(oid(EKU.emailProtection), oid(EKU.codeSigning)))],
    });
    const keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    if (store) {
      const row = this.#row(now, SIGNER_ROW, issued.pem, privateKey, issued.notAfter);
      const won = stored ? await store.replaceAuthority(row, stored.cert_pem) : await store.insertAuthorityIfAbsent(row);
      if (!won) {
        const other = (await store.getAuthority(SIGNER_ROW))!; // another node renewed it first: use theirs
        return this.#signerFrom(other.cert_pem, this.#persist!.secretBox.openString(other.key_enc));
      }
    }
    return this.#signerFrom(issued.pem, keyPem);
  }

  #usableSigner(certPem: string, now: number): boolean {
    const cert = new X509Certificate(certPem);
    return cert.verify(this.#publicKey) && Date.parse(cert.validTo) - now > SIGNER_RENEW_BEFORE;
  }

  #signerFrom(certPem: string, keyPem: string): ProfileSigner {
    return { certPem, keyPem, privateKey: createPrivateKey(keyPem), chainPem: this.certificatePem };
  }

  /** True when `certDer` was signed by this CA (for RenewalReq). */
  issuedByUs(certDer: Buffer): boolean {
    try {
      const cert = new X509Certificate(certDer);
      return cert.checkIssued(this.#cert) && cert.verify(this.#publicKey);
    } catch {
      return false;
    }
  }
}

/** A new self-signed CA: RSA 2048, SHA-256, 10 years, BasicConstraints cA (path length 0) and KeyUsage critical. */
export async function createCaCertificate(opts: { commonName?: string; organization?: string; now?: number; years?: number } = {}): Promise<{ certPem: string; keyPem: string }> {
  return selfSigned({
    commonName: opts.commonName ?? 'Pomona Device CA',
    organization: opts.organization ?? 'Pomona',
    now: opts.now,
    days: (opts.years ?? 10) * 365,
    extensions: (keyId) => [
      extension(EXT.basicConstraints, true, seq(boolean(true), integer(0))),
      extension(EXT.keyUsage, true, KU.keyCertSignCrlSign),
      extension(EXT.ski, false, octetString(keyId)),
    ],
  });
}

/**
 * A self-signed end-entity certificate (RSA 2048, SHA-256, keyEncipherment + digitalSignature),
 * such as the public key an admin uploads to Apple Business Manager for a server token.
 */
export async function createKeyExchangeCertificate(opts: { commonName: string; organization?: string; now?: number; days: number }): Promise<{ certPem: string; keyPem: string }> {
  return selfSigned({
    ...opts,
    extensions: (keyId) => [extension(EXT.keyUsage, true, KU.digitalSignatureKeyEncipherment), extension(EXT.ski, false, octetString(keyId))],
  });
}

async function selfSigned(opts: {
  commonName: string;
  organization?: string;
  now?: number;
  days: number;
  extensions: (keyId: Buffer) => Buffer[];
}): Promise<{ certPem: string; keyPem: string }> {
  const now = opts.now ?? Date.now();
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const name = seq(
    ...(opts.organization ? [setOf(seq(oid('2.5.4.10'), utf8String(opts.organization)))] : []),
    setOf(seq(oid('2.5.4.3'), utf8String(opts.commonName))),
  );
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const der = signCertificate(
    { serial: randomSerial(), issuer: name, subject: name, spki, notBefore: now - 10 * 60_000, notAfter: now + opts.days * DAY, extensions: opts.extensions(keyIdOf(spki)) },
    privateKey,
  );
  return { certPem: toPem(der), keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string };
}

interface TbsFields {
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  spki: Buffer;
  notBefore: number;
  notAfter: number;
  extensions: Buffer[];
}

function signCertificate(f: TbsFields, key: KeyObject): Buffer {
  const sigAlg = algorithm(SHA256_WITH_RSA);
  const tbs = seq(
    explicit(0, integer(2)),
    integer(f.serial),
    sigAlg,
    f.issuer,
    seq(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.spki,
    explicit(3, seq(...f.extensions)),
  );
  return seq(tbs, sigAlg, bitString(sign('sha256', tbs, key)));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** 16 random bytes, top bits 01 so the INTEGER is positive and always 16 bytes long. */
function randomSerial(): Buffer {
  const b = pooledRandomBytes(16);
  b[0] = (b[0] & 0x3f) | 0x40;
  return b;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
function keyIdOf(spki: Buffer): Buffer {
  const key = expectTag(items(parseDer(spki, 'SubjectPublicKeyInfo'), TAG.SEQUENCE, 'SubjectPublicKeyInfo', 2)[1], TAG.BIT_STRING, 'SubjectPublicKeyInfo');
  return createHash('sha1').update(key.body.subarray(1)).digest();
}

function subjectKeyId(f: CertificateFields): Buffer {
  return subjectKeyIdOf(f) ?? keyIdOf(f.spki);
}

export function toPem(der: Buffer, label = 'CERTIFICATE'): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
}
