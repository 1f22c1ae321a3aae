/**
 * MDM push (APNs) certificates: reading one with its private key from PEM or PKCS#12, and
 * making a self-signed look-alike for tests, the demo and the APNs simulator. Pure: no I/O.
 *
 * The topic every device will be told to listen on is the certificate's subject UID
 * (0.9.2342.19200300.100.1.1); Apple's always starts with `com.apple.mgmt.`.
 */
import 'reflect-metadata'; // @peculiar/x509 needs it loaded before it is
import * as x509 from '@peculiar/x509';
import { X509Certificate, createPrivateKey, randomUUID, webcrypto, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

export const TOPIC_OID = '0.9.2342.19200300.100.1.1';
export const TOPIC_PREFIX = 'com.apple.mgmt.';

export type PushCertificateErrorCode =
  | 'not-a-certificate'
  | 'no-topic'
  | 'wrong-topic-prefix'
  | 'missing-key'
  | 'unreadable-key'
  | 'password-required'
  | 'wrong-password'
  | 'key-mismatch'
  | 'expired';

export class PushCertificateError extends Error {
  constructor(
    readonly code: PushCertificateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PushCertificateError';
  }
}

/** What a push certificate says about itself (no key needed). Times are epoch ms. */
export interface PushCertificateInfo {
  topic: string;
  certPem: string;
  subject: string;
  issuer: string;
  notBefore: number;
  notAfter: number;
}

/** A usable push identity: the certificate and its unencrypted PKCS#8 key, both PEM. */
export interface PushCertificate {
  topic: string;
  certPem: string;
  keyPem: string;
  subject: string;
  notBefore: number;
  notAfter: number;
}

/**
 * `cert` is PEM text (which may also hold the key) or PKCS#12 bytes; `key` is a separate PEM
 * key; `password` opens an encrypted PEM key or the PKCS#12 file.
 */
export interface PushCertificateInput {
  cert: string | Uint8Array;
  key?: string | Uint8Array;
  password?: string;
}

export interface ParsePushCertificateOptions {
  /** import a certificate that has already expired (reported, not refused) */
  allowExpired?: boolean;
  now?: number;
}

const NAMES = { UID: TOPIC_OID };

/** Reads topic, subject and validity from a certificate alone; throws unless it is a push certificate. */
export function readPushCertificate(cert: string | Uint8Array): PushCertificateInfo {
  let parsed: x509.X509Certificate;
  try {
    parsed = new x509.X509Certificate(typeof cert === 'string' ? cert : new Uint8Array(cert));
  } catch {
    throw new PushCertificateError('not-a-certificate', 'this is not an X.509 certificate');
  }
  const subject = new x509.Name(parsed.subjectName.toArrayBuffer(), NAMES).toString();
  const uid = parsed.subjectName.getField(TOPIC_OID)[0];
  if (!uid) {
    throw new PushCertificateError(
      'no-topic',
      `certificate "${subject}" has no UID in its subject, so it is not an MDM push certificate`,
    );
  }
  if (!uid.startsWith(TOPIC_PREFIX)) {
    throw new PushCertificateError(
      'wrong-topic-prefix',
      `certificate topic "${uid}" does not start with ${TOPIC_PREFIX}, so it is not an MDM push certificate`,
    );
  }
  return {
    topic: uid,
    certPem: parsed.toString('pem') + '\n',
    subject,
    issuer: new x509.Name(parsed.issuerName.toArrayBuffer(), NAMES).toString(),
    notBefore: parsed.notBefore.getTime(),
    notAfter: parsed.notAfter.getTime(),
  };
}

/** Reads a push certificate and its key, checks they belong together and that it is still valid. */
export function parsePushCertificate(input: PushCertificateInput, opts: ParsePushCertificateOptions = {}): PushCertificate {
  const { certs, key } = isPemText(input.cert) ? fromPem(input) : fromPkcs12(input);
  if (certs.length === 0) throw new PushCertificateError('not-a-certificate', 'no certificate found in the input');
  if (!key) {
    throw new PushCertificateError('missing-key', 'no private key found: give the key with the certificate or as a second file');
  }
  // A file may carry the chain too; the push certificate is the one the key belongs to.
  const leaf = certs.find((c) => matches(c, key)) ?? certs[0];
  const info = readPushCertificate(leaf.raw);
  if (!matches(leaf, key)) {
    throw new PushCertificateError('key-mismatch', `the private key does not belong to the certificate for ${info.topic}`);
  }
  const now = opts.now ?? Date.now();
  if (info.notAfter <= now && !opts.allowExpired) {
    throw new PushCertificateError(
      'expired',
      `the push certificate for ${info.topic} expired on ${new Date(info.notAfter).toISOString()}; ` +
        'renew it in the Apple Push Certificates Portal with the same Apple ID (or import anyway with allowExpired)',
    );
  }
  return {
    topic: info.topic,
    certPem: info.certPem,
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    subject: info.subject,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
  };
}

function isPemText(data: string | Uint8Array): boolean {
  const text = typeof data === 'string' ? data : Buffer.from(data.subarray(0, 4096)).toString('latin1');
  return text.includes('-----BEGIN ');
}

function fromPem(input: PushCertificateInput): { certs: X509Certificate[]; key?: KeyObject } {
  const blocks = [...pemBlocks(toText(input.cert)), ...(input.key ? pemBlocks(toText(input.key)) : [])];
  const certs: X509Certificate[] = [];
  let keyBlock: string | undefined;
  for (const { label, text } of blocks) {
    if (label === 'CERTIFICATE') {
      try {
        certs.push(new X509Certificate(text));
      } catch {
        throw new PushCertificateError('not-a-certificate', 'a CERTIFICATE block in the input cannot be read');
      }
    } else if (label.endsWith('PRIVATE KEY')) keyBlock ??= text;
  }
  return { certs, key: keyBlock === undefined ? undefined : readPemKey(keyBlock, input.password) };
}

function readPemKey(pem: string, password: string | undefined): KeyObject {
  const encrypted = pem.includes('ENCRYPTED');
  if (encrypted && password === undefined) {
    throw new PushCertificateError('password-required', 'the private key is encrypted: a password is needed');
  }
  try {
    return createPrivateKey(encrypted ? { key: pem, passphrase: password } : { key: pem });
  } catch {
    if (encrypted) throw new PushCertificateError('wrong-password', 'the password does not open the private key');
    throw new PushCertificateError('unreadable-key', 'the private key cannot be read (expected PKCS#1 or PKCS#8 PEM)');
  }
}

// node-forge, because Node 20's OpenSSL 3 cannot open legacy (RC2-40) files such as older Keychain exports.
function fromPkcs12(input: PushCertificateInput): { certs: X509Certificate[]; key?: KeyObject } {
  const der = typeof input.cert === 'string' ? Buffer.from(input.cert, 'latin1') : Buffer.from(input.cert);
  let asn1: forge.asn1.Asn1;
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
  } catch {
    throw new PushCertificateError('not-a-certificate', 'this is neither a PEM certificate nor a PKCS#12 file');
  }
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, input.password ?? '');
  } catch (err) {
    const message = err instanceof Error ? err.message : '';
    if (/MAC could not be verified|Invalid password|decrypt/i.test(message)) {
      throw new PushCertificateError('wrong-password', 'the password does not open the PKCS#12 file');
    }
    throw new PushCertificateError('not-a-certificate', 'this is neither a PEM certificate nor a PKCS#12 file');
  }
  const certs: X509Certificate[] = [];
  for (const bag of p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? []) {
    const asn = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
    if (asn) certs.push(new X509Certificate(Buffer.from(forge.asn1.toDer(asn).getBytes(), 'binary')));
  }
  let key: KeyObject | undefined;
  for (const type of [forge.pki.oids.pkcs8ShroudedKeyBag, forge.pki.oids.keyBag]) {
    const bag = p12.getBags({ bagType: type })[type]?.[0];
    if (!bag || key) continue;
    // forge decodes RSA keys only; other key types come back as the raw PKCS#8 structure.
    const pkcs8 = bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : bag.asn1;
    if (pkcs8) key = createPrivateKey({ key: Buffer.from(forge.asn1.toDer(pkcs8).getBytes(), 'binary'), format: 'der', type: 'pkcs8' });
  }
  return { certs, key };
}

function matches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

function toText(data: string | Uint8Array): string {
  return typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
}

function pemBlocks(text: string): { label: string; text: string }[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
  return [...text.matchAll(re)].map((m) => ({ label: m[1], text: m[0] }));
}

const RSA_SHA256 = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};

/**
 * A self-signed certificate shaped like Apple's (UID topic, CN=APSP:<uuid>, EKU clientAuth,
 * RSA 2048) with its key. A negative `days` makes one that has already expired.
 */
export async function createTestPushCertificate(opts: { topic?: string; days?: number; now?: number } = {}): Promise<PushCertificate> {
  const id = randomUUID();
  const topic = opts.topic ?? `${TOPIC_PREFIX}External.${id}`;
  const now = opts.now ?? Date.now();
  const notAfter = new Date(now + (opts.days ?? 365) * 86_400_000);
  const notBefore = new Date(Math.min(now, notAfter.getTime()) - 86_400_000);
  const keys = (await webcrypto.subtle.generateKey(RSA_SHA256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: [{ [TOPIC_OID]: [topic] }, { CN: [`APSP:${id}`] }, { C: ['US'] }],
      keys,
      signingAlgorithm: RSA_SHA256,
      notBefore,
      notAfter,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      ],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
  const info = readPushCertificate(cert.toString('pem'));
  return { topic, certPem: info.certPem, keyPem, subject: info.subject, notBefore: info.notBefore, notAfter: info.notAfter };
}
