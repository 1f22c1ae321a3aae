// CMS SignedData we produce (signed enrollment profiles, the device simulator's Mdm-Signature)
// and attached SignedData we receive (signed profiles, MachineInfo).
//
// The DER is assembled by hand and signed with node:crypto: pkijs would cost milliseconds per
// message and the simulator signs every request. Verification reuses the fast reader in
// mdm-signature.ts and adds a chain walk to caller-supplied trust anchors.
import { createHash, createPrivateKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { authorityKeyIdOf, isCa, mayIssueCertificates, subjectKeyIdOf } from '../pki/der.js';
import {
  bytesOf, certificateFor, certificateSignatureAlgorithm, childrenOf, guarded, oid, OID, parseSignedData, readTlv, SignatureError,
  verifySignerInfo, type CachedCertificate,
} from './mdm-signature.js';

export interface CmsSigner {
  /** signer certificate, DER or PEM */
  certificate: Buffer | string;
  /** PEM (PKCS#8 or PKCS#1) or a KeyObject; pass a KeyObject on hot paths to skip PEM parsing */
  privateKey: KeyObject | string;
  /** further certificates to include (intermediates, root), DER or PEM (a PEM may hold several) */
  chain?: Array<Buffer | string>;
}

export interface SignOptions {
  signingTime?: Date;
}

/** Detached SignedData over `data` (the body is not embedded), as in an Mdm-Signature header. */
export function signDetached(data: Buffer | string, signer: CmsSigner, opts: SignOptions = {}): Buffer {
  return signedData(toBuffer(data), false, signer, opts);
}

/** SignedData with `data` embedded as eContent, as in a signed .mobileconfig. */
export function signAttached(data: Buffer | string, signer: CmsSigner, opts: SignOptions = {}): Buffer {
  return signedData(toBuffer(data), true, signer, opts);
}

export interface VerifyAttachedOptions {
  /**
   * Trust anchors. When given, the signer must chain to one of them through certificates in the
   * message (each link checked by signature). When absent, only the signature is checked and
   * nothing about trust is proven; an empty array trusts nothing.
   */
  trustedCertificatesPem?: string[];
  /**
   * Intermediates known beforehand, used besides those in the message to reach an anchor (a
   * device may leave Apple's CAs out of its MachineInfo). Never trusted by themselves.
   */
  intermediatesPem?: string[];
  /** Apple's device CA expired in 2014 yet still issues device identities. */
  ignoreDates?: boolean;
  now?: () => number;
}

export interface VerifiedAttached {
  content: Buffer;
  signerCertificateDer: Buffer;
  /** certificates above the signer, nearest first, ending at the anchor when one was reached */
  chain: Buffer[];
  /** every certificate the message carries */
  certificates: Buffer[];
  signingTime?: Date;
}

/** Verifies attached SignedData (signed profile, MachineInfo). Throws SignatureError. */
export function verifyAttached(der: Buffer, opts: VerifyAttachedOptions = {}): VerifiedAttached {
  // Parsed certificates are cached by hash: anchors are the same on every call.
  const anchors = opts.trustedCertificatesPem?.flatMap(pemBlocks).map(certificateFor);
  const known = (opts.intermediatesPem ?? []).flatMap(pemBlocks);
  return guarded(() => {
    const sd = parseSignedData(der);
    if (!sd.eContent) throw new SignatureError('no attached content');
    const { certificate, signingTime } = verifySignerInfo(sd, sd.eContent);
    const path = buildPath(certificate, [...sd.certificates, ...known].map(certificateFor), anchors);
    if (anchors && !path.trusted) throw new SignatureError('signer does not chain to a trusted certificate');
    if (!opts.ignoreDates) {
      const now = opts.now?.() ?? Date.now();
      for (const { fields } of [certificate, ...path.chain]) {
        if (now < fields.notBefore || now > fields.notAfter) throw new SignatureError('certificate outside its validity period');
      }
      const at = signingTime?.getTime();
      if (at !== undefined && (at < certificate.fields.notBefore || at > certificate.fields.notAfter)) {
        throw new SignatureError('signing time outside the signer certificate validity');
      }
    }
    return { content: Buffer.from(sd.eContent), signerCertificateDer: certificate.der, chain: path.chain.map((c) => Buffer.from(c.der)), certificates: sd.certificates.map((c) => Buffer.from(c)), signingTime };
  });
}

/**
 * The issuers above `signerDer`, nearest first, taken from `poolDer` (never trusted themselves)
 * and ending at one of the anchors when one is reached. Links are checked by signature only.
 */
export function certificatePath(signerDer: Buffer, poolDer: Buffer[], anchorsPem: string[]): { chain: Buffer[]; trusted: boolean } {
  return guarded(() => {
    const anchors = anchorsPem.flatMap(pemBlocks).map(certificateFor);
    const path = buildPath(certificateFor(signerDer), poolDer.map(certificateFor), anchors);
    return { chain: path.chain.map((c) => Buffer.from(c.der)), trusted: path.trusted };
  });
}

function buildPath(signer: CachedCertificate, pool: CachedCertificate[], anchors?: CachedCertificate[]) {
  const isAnchor = (c: CachedCertificate) => anchors?.some((a) => a.der.equals(c.der)) ?? false;
  const chain: CachedCertificate[] = [];
  let current = signer;
  for (let depth = 0; depth < 8; depth++) {
    if (isAnchor(current)) return { chain, trusted: true };
    const anchor = anchors?.find((a) => issued(a, current));
    if (anchor) return { chain: [...chain, anchor], trusted: true };
    // Certificates inside the message are candidates for intermediates, never anchors.
    const next = pool.find((c) => ca(c) && !c.der.equals(current.der) && !chain.includes(c) && issued(c, current));
    if (!next) break;
    chain.push(next);
    current = next;
  }
  return { chain, trusted: false };
}

function ca(c: CachedCertificate): boolean {
  try {
    return isCa(c.fields);
  } catch {
    return false; // a malformed BasicConstraints or KeyUsage, as OpenSSL sees it
  }
}

/**
 * Did `issuer` issue `child`? X509Certificate's checkIssued + verify, without OpenSSL's certificate
 * decoder (~0.1 ms per certificate on Node 20, and each device brings a new one): the child's
 * issuer Name equal to the issuer's subject as DER (OpenSSL compares canonical forms, so this is
 * the stricter test), its AuthorityKeyIdentifier equal to the issuer's SubjectKeyIdentifier when
 * both are there, keyCertSign when the issuer has KeyUsage, and the signature over the TBS.
 * Algorithms other than RSA PKCS#1 v1.5 and ECDSA (RSA-PSS, ...) are left to OpenSSL.
 */
export function issued(issuer: CachedCertificate, child: CachedCertificate): boolean {
  const { fields: c } = child;
  try {
    if (!c.issuer.equals(issuer.fields.subject) || !mayIssueCertificates(issuer.fields)) return false;
    const aki = authorityKeyIdOf(c);
    const ski = subjectKeyIdOf(issuer.fields);
    if (aki && ski && !aki.equals(ski)) return false;
    const algorithm = certificateSignatureAlgorithm(c.signatureAlgorithm);
    if (!algorithm) return child.x509.checkIssued(issuer.x509) && child.x509.verify(issuer.publicKey);
    const [keyType, hash] = algorithm;
    if (!c.tbsSignatureAlgorithm.equals(c.signatureAlgorithm) || issuer.publicKey.asymmetricKeyType !== keyType || c.signatureBits[0] !== 0) return false;
    return cryptoVerify(hash, c.tbs, issuer.publicKey, c.signatureBits.subarray(1));
  } catch {
    return false; // a malformed extension or signature: OpenSSL would not call it issued either
  }
}

// ---------------------------------------------------------------------------------------------
// Signing

function signedData(data: Buffer, attached: boolean, signer: CmsSigner, opts: SignOptions): Buffer {
  const certDer = pemBlocks(signer.certificate)[0];
  if (!certDer) throw new TypeError('signer certificate is empty');
  const key = typeof signer.privateKey === 'string' ? createPrivateKey(signer.privateKey) : signer.privateKey;
  const { issuer, serial } = issuerAndSerial(certDer);

  const attrs = [
    seq(derOid(OID.contentType), set(derOid(OID.data))),
    seq(derOid(OID.signingTime), set(derTime(opts.signingTime ?? new Date()))),
    seq(derOid(OID.messageDigest), set(tlv(0x04, createHash('sha256').update(data).digest()))),
  ].sort(Buffer.compare); // DER orders SET OF by encoding
  const signedAttrs = set(...attrs);

  let signatureAlgorithm: Buffer;
  if (key.asymmetricKeyType === 'rsa') signatureAlgorithm = seq(derOid(RSA_ENCRYPTION), NULL);
  else if (key.asymmetricKeyType === 'ec') signatureAlgorithm = seq(derOid(ECDSA_SHA256));
  else throw new TypeError(`cannot sign CMS with a ${key.asymmetricKeyType} key`);
  const signature = cryptoSign('sha256', signedAttrs, key); // RSA: PKCS#1 v1.5; EC: DER ECDSA

  const signerInfo = seq(
    derInteger(1),
    seq(issuer, serial),
    SHA256_ALG,
    Buffer.concat([Buffer.from([0xa0]), signedAttrs.subarray(1)]), // [0] IMPLICIT
    signatureAlgorithm,
    tlv(0x04, signature),
  );
  const certs = [certDer, ...(signer.chain ?? []).flatMap(pemBlocks)].filter((c, k, all) => all.findIndex((x) => x.equals(c)) === k);
  const encap = attached ? seq(derOid(OID.data), tlv(0xa0, tlv(0x04, data))) : seq(derOid(OID.data));
  const sd = seq(derInteger(1), set(SHA256_ALG), encap, tlv(0xa0, ...certs), set(signerInfo));
  return seq(derOid(OID.signedData), tlv(0xa0, sd));
}

function issuerAndSerial(cert: Buffer): { issuer: Buffer; serial: Buffer } {
  try {
    const tbs = childrenOf(cert, childrenOf(cert, readTlv(cert, 0))[0]!);
    const k = tbs[0]!.tag === 0xa0 ? 1 : 0;
    if (tbs[k]!.tag !== 0x02 || tbs[k + 2]!.tag !== 0x30) throw new Error('not a certificate');
    return { serial: bytesOf(cert, tbs[k]!), issuer: bytesOf(cert, tbs[k + 2]!) };
  } catch (err) {
    throw new TypeError('signer certificate is not a DER X.509 certificate', { cause: err });
  }
}

/** DER certificates from a Buffer (taken as DER) or from the PEM blocks in a string. */
function pemBlocks(input: Buffer | string): Buffer[] {
  if (Buffer.isBuffer(input)) return [input];
  const blocks = [...input.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new TypeError('no PEM certificate found');
  return blocks.map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

const toBuffer = (data: Buffer | string) => (typeof data === 'string' ? Buffer.from(data, 'utf8') : data);

// ---------------------------------------------------------------------------------------------
// DER writing

const RSA_ENCRYPTION = oid('1.2.840.113549.1.1.1');
const ECDSA_SHA256 = oid('1.2.840.10045.4.3.2');
const NULL = Buffer.from([0x05, 0x00]);

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  const n = body.length;
  let head: Buffer;
  if (n < 0x80) head = Buffer.from([tag, n]);
  else if (n < 0x100) head = Buffer.from([tag, 0x81, n]);
  else if (n < 0x10000) head = Buffer.from([tag, 0x82, n >> 8, n & 0xff]);
  else if (n < 0x1000000) head = Buffer.from([tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  else head = Buffer.from([tag, 0x84, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([head, body]);
}

const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const set = (...parts: Buffer[]) => tlv(0x31, ...parts);
const derOid = (content: Buffer) => tlv(0x06, content);
const derInteger = (n: number) => tlv(0x02, Buffer.from([n])); // small non-negative versions only
const SHA256_ALG = seq(derOid(oid('2.16.840.1.101.3.4.2.1')), NULL);

function derTime(d: Date): Buffer {
  if (Number.isNaN(d.getTime())) throw new TypeError('invalid signing time');
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const compact = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
  const year = d.getUTCFullYear();
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(compact.slice(2), 'latin1')) : tlv(0x18, Buffer.from(compact, 'latin1'));
}
