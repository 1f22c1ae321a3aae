/**
 * SCEP pkiMessages (RFC 8894 §3): the signed outer CMS SignedData with SCEP's authenticated
 * attributes, the PKCS#10 request inside its envelope, and the CertRep answer.
 *
 * Parsing is a bounds-checked DER walk plus node:crypto, not pkijs: PKIOperation is the hot
 * path of mass enrollment and its input is hostile (node-stack.md §4a). The signature is
 * checked over the exact signed-attribute bytes the client sent, re-tagged as a SET.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { buildEnvelope, decryptEnvelope, HASH_OID, OID, type ContentCipher } from './cms-envelope.js';
import {
  TAG, algorithm, certificateFields, children, ctxTag, expectTag, explicit, integer, items, octetString, octets, oid, oidOf,
  parseDer, printableString, seq, setOf, smallIntOf, spkiPublicKey, stringOf, subjectKeyIdOf, time, tlv, type Der,
} from './der.js';
import { pooledRandomBytes } from './random.js';

/** A message that is malformed, tampered with or unsupported; the reason is safe to log and return. */
export class ScepMessageError extends Error {}

export const MessageType = { CertRep: 3, RenewalReq: 17, UpdateReq: 18, PKCSReq: 19, CertPoll: 20, GetCert: 21, GetCRL: 22 } as const;
export const PkiStatus = { SUCCESS: 0, FAILURE: 2, PENDING: 3 } as const;
export const FailInfo = { badAlg: 0, badMessageCheck: 1, badRequest: 2, badTime: 3, badCertID: 4 } as const;
export type Digest = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const SCEP = '2.16.840.1.113733.1.9.';
const ATTR = {
  messageType: SCEP + '2',
  pkiStatus: SCEP + '3',
  failInfo: SCEP + '4',
  senderNonce: SCEP + '5',
  recipientNonce: SCEP + '6',
  transactionID: SCEP + '7',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  challengePassword: '1.2.840.113549.1.9.7',
  extensionRequest: '1.2.840.113549.1.9.14',
} as const;

/** Signature algorithm → hash (undefined for rsaEncryption: the digest algorithm decides). */
const SIGNATURE_HASH: Record<string, Digest | undefined> = {
  [OID.rsaEncryption]: undefined,
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const DIGEST_OID = Object.fromEntries(Object.entries(HASH_OID).map(([o, h]) => [h, o])) as Record<Digest, string>;

export interface PkiMessage {
  messageType: number;
  transactionId: string;
  /** the transactionID value as received, echoed byte for byte in the reply */
  transactionIdDer: Buffer;
  senderNonce?: Buffer;
  recipientNonce?: Buffer;
  pkiStatus?: number;
  failInfo?: number;
  digest: Digest;
  signerCertificateDer: Buffer;
  signerPublicKey: KeyObject;
  /** every certificate in the SignedData, in order */
  certificates: Buffer[];
  /** eContent (for SCEP: ContentInfo(EnvelopedData)), empty when absent */
  content: Buffer;
}

function bad(reason: string): never {
  throw new ScepMessageError(reason);
}

/**
 * Parses a pkiMessage and verifies its signature. The signer certificate comes from the message
 * itself (RFC 8894 requests are signed with a self-signed or existing certificate) unless
 * `signerCertificateDer` is given (a client checking a CertRep against the CA it fetched).
 */
export function parsePkiMessage(der: Buffer, opts: { signerCertificateDer?: Buffer } = {}): PkiMessage {
  const sd = parseSignedData(der);
  if (sd.signerInfos.length !== 1) bad(`expected one signer, found ${sd.signerInfos.length}`);
  const si = parseSignerInfo(sd.signerInfos[0]);
  const signerCertificateDer = opts.signerCertificateDer ?? findSigner(sd.certificates, si.sid);
  const signerPublicKey = publicKeyOf(certificateFields(signerCertificateDer).spki);
  if (!si.signedAttrs) bad('signer has no authenticated attributes');
  const attrs = readAttributes(si.signedAttrs);

  const messageDigest = attrs.get(ATTR.messageDigest);
  if (!messageDigest || messageDigest.tag !== TAG.OCTET_STRING) bad('messageDigest attribute missing');
  if (!createHash(si.digest).update(sd.content).digest().equals(messageDigest.body)) bad('message digest does not match the content');
  const contentType = attrs.get(ATTR.contentType);
  if (contentType && oidOf(contentType) !== sd.contentType) bad('contentType attribute does not match the content');
  const signedBytes = Buffer.concat([Buffer.from([TAG.SET]), si.signedAttrs.raw.subarray(1)]);
  const hash = si.signatureHash ?? si.digest;
  if (!verifySignature(hash, signedBytes, signerPublicKey, si.signature)) bad('signature does not verify');

  const messageType = Number(scepString(attrs.get(ATTR.messageType), 'messageType'));
  const tid = attrs.get(ATTR.transactionID);
  const transactionId = scepString(tid, 'transactionID');
  const nonce = (o: string) => {
    const v = attrs.get(o);
    if (!v) return undefined;
    if (v.tag !== TAG.OCTET_STRING || v.body.length === 0 || v.body.length > 64) bad('malformed nonce');
    return v.body;
  };
  return {
    messageType,
    transactionId,
    transactionIdDer: tid!.raw,
    senderNonce: nonce(ATTR.senderNonce),
    recipientNonce: nonce(ATTR.recipientNonce),
    pkiStatus: attrs.has(ATTR.pkiStatus) ? Number(scepString(attrs.get(ATTR.pkiStatus), 'pkiStatus')) : undefined,
    failInfo: attrs.has(ATTR.failInfo) ? Number(scepString(attrs.get(ATTR.failInfo), 'failInfo')) : undefined,
    digest: si.digest,
    signerCertificateDer,
    signerPublicKey,
    certificates: sd.certificates,
    content: sd.content,
  };
}

interface SignedDataParts {
  contentType: string;
  content: Buffer;
  certificates: Buffer[];
  signerInfos: Der[];
}

function parseSignedData(der: Buffer): SignedDataParts {
  const what = 'SignedData';
  const ci = items(parseDer(der, 'pkiMessage'), TAG.SEQUENCE, what, 2);
  if (oidOf(ci[0]) !== OID.signedData) bad('pkiMessage is not a CMS SignedData');
  const f = items(items(ci[1], ctxTag(0), what, 1)[0], TAG.SEQUENCE, what, 4);
  const encap = items(f[2], TAG.SEQUENCE, what, 1);
  const contentType = oidOf(encap[0]);
  let content: Buffer = Buffer.alloc(0);
  if (encap[1]) {
    const inner = items(encap[1], ctxTag(0), what, 1)[0];
    if (inner.tag !== TAG.OCTET_STRING && inner.tag !== (TAG.OCTET_STRING | 0x20)) bad('eContent is not an OCTET STRING');
    content = octets(inner);
  }
  let i = 3;
  const certificates: Buffer[] = [];
  if (f[i]?.tag === ctxTag(0)) {
    for (const c of children(f[i], what)) if (c.tag === TAG.SEQUENCE) certificates.push(c.raw);
    i++;
  }
  if (f[i]?.tag === ctxTag(1)) i++; // CRLs
  return { contentType, content, certificates, signerInfos: items(f[i], TAG.SET, what) };
}

interface SignerInfoParts {
  sid: { issuer: Buffer; serial: Buffer } | { subjectKeyId: Buffer };
  digest: Digest;
  signatureHash?: Digest;
  signedAttrs?: Der;
  signature: Buffer;
}

function parseSignerInfo(el: Der): SignerInfoParts {
  const what = 'SignerInfo';
  const f = items(el, TAG.SEQUENCE, what, 5);
  const sid =
    f[1].tag === TAG.SEQUENCE
      ? (([issuer, serial]) => ({ issuer: expectTag(issuer, TAG.SEQUENCE, what).raw, serial: expectTag(serial, TAG.INTEGER, what).body }))(items(f[1], TAG.SEQUENCE, what, 2))
      : { subjectKeyId: expectTag(f[1], ctxTag(0, false), what).body };
  const digest = HASH_OID[oidOf(items(f[2], TAG.SEQUENCE, what, 1)[0])] as Digest | undefined;
  if (!digest) bad('unsupported digest algorithm');
  let i = 3;
  const signedAttrs = f[i].tag === ctxTag(0) ? f[i++] : undefined;
  const sigAlg = oidOf(items(f[i++], TAG.SEQUENCE, what, 1)[0]);
  if (!(sigAlg in SIGNATURE_HASH)) bad('unsupported signature algorithm');
  const signature = expectTag(f[i], TAG.OCTET_STRING, what).body;
  return { sid, digest, signatureHash: SIGNATURE_HASH[sigAlg], signedAttrs, signature };
}

function findSigner(certificates: Buffer[], sid: SignerInfoParts['sid']): Buffer {
  for (const der of certificates) {
    const c = certificateFields(der);
    if ('issuer' in sid ? c.issuer.equals(sid.issuer) && c.serial.equals(sid.serial) : subjectKeyIdOf(c)?.equals(sid.subjectKeyId)) return der;
  }
  return bad('signer certificate not found in the message');
}

function publicKeyOf(spki: Buffer): KeyObject {
  try {
    return spkiPublicKey(spki);
  } catch {
    return bad('unreadable public key');
  }
}

function verifySignature(hash: Digest, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}

/** Attribute OID → first value; duplicates are refused (an attacker could hide a second messageDigest). */
function readAttributes(el: Der): Map<string, Der> {
  const out = new Map<string, Der>();
  for (const a of children(el, 'attributes')) {
    const [type, values] = items(a, TAG.SEQUENCE, 'attribute', 2);
    const id = oidOf(type);
    if (out.has(id)) bad(`duplicate attribute ${id}`);
    const [first] = items(values, TAG.SET, 'attribute values', 1);
    out.set(id, first);
  }
  return out;
}

function scepString(el: Der | undefined, name: string): string {
  if (!el) bad(`${name} attribute missing`);
  const s = stringOf(el, name);
  if (s.length === 0 || s.length > 128) bad(`malformed ${name}`);
  return s;
}

// ---- PKCS#10 ----

export interface CertificationRequest {
  subject: Buffer; // Name, DER
  spki: Buffer;
  publicKey: KeyObject;
  challengePassword?: string;
  /** requested extensions: extnID → the whole Extension DER (copied verbatim into the certificate) */
  extensions: Map<string, Buffer>;
}

/** Parses a PKCS#10 request and checks its self-signature and key. */
export function parseCertificationRequest(der: Buffer): CertificationRequest {
  const what = 'certification request';
  const [infoEl, algEl, sigEl] = items(parseDer(der, what), TAG.SEQUENCE, what, 3);
  const info = items(infoEl, TAG.SEQUENCE, what, 3);
  if (smallIntOf(info[0], what) !== 0) bad('unsupported certification request version');
  const subject = expectTag(info[1], TAG.SEQUENCE, what).raw;
  const spki = expectTag(info[2], TAG.SEQUENCE, what).raw;
  const publicKey = publicKeyOf(spki);
  const type = publicKey.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') bad(`unsupported key type ${type}`);
  if (type === 'rsa' && (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 1024) bad('RSA key shorter than 1024 bits');
  const hash = SIGNATURE_HASH[oidOf(items(algEl, TAG.SEQUENCE, what, 1)[0])];
  if (!hash) bad('unsupported request signature algorithm');
  const sig = expectTag(sigEl, TAG.BIT_STRING, what).body;
  if (sig.length < 2 || sig[0] !== 0 || !verifySignature(hash, infoEl.raw, publicKey, sig.subarray(1))) bad('request signature does not verify');

  let challengePassword: string | undefined;
  const extensions = new Map<string, Buffer>();
  const attrsEl = info[3];
  if (attrsEl && attrsEl.tag === ctxTag(0)) {
    for (const a of children(attrsEl, what)) {
      const [type, values] = items(a, TAG.SEQUENCE, what, 2);
      const id = oidOf(type);
      const first = items(values, TAG.SET, what, 1)[0];
      if (id === ATTR.challengePassword) challengePassword = stringOf(first, 'challengePassword');
      else if (id === ATTR.extensionRequest) {
        for (const ext of items(first, TAG.SEQUENCE, what)) extensions.set(oidOf(items(ext, TAG.SEQUENCE, what, 2)[0]), ext.raw);
      }
    }
  }
  return { subject, spki, publicKey, challengePassword, extensions };
}

/** Decrypts a request's pkcsPKIEnvelope with the CA key and parses the PKCS#10 inside. */
export function openCertificationRequest(
  msg: PkiMessage,
  ca: { privateKey: KeyObject; certificateDer: Buffer },
): { request: CertificationRequest; cipher: ContentCipher } {
  if (msg.content.length === 0) bad('request has no pkcsPKIEnvelope');
  const { content, cipher } = decryptEnvelope(msg.content, { privateKey: ca.privateKey, certificateDer: ca.certificateDer });
  return { request: parseCertificationRequest(content), cipher };
}

// ---- building ----

export interface SignedDataSigner {
  certificateDer: Buffer;
  privateKey: KeyObject;
}

const attribute = (type: string, value: Buffer): Buffer => seq(oid(type), setOf(value));

/**
 * Builds ContentInfo(SignedData) with attached `content` (omitted when undefined), one signer
 * identified by issuer and serial, signed attributes contentType, signingTime, messageDigest
 * plus `attributes` (encoded Attribute SEQUENCEs), and `certificates` in the given order.
 */
export function buildSignedData(opts: {
  content?: Buffer;
  signer: SignedDataSigner;
  digest: Digest;
  attributes?: Buffer[];
  certificates: Buffer[];
  signingTime?: number;
}): Buffer {
  const data = opts.content ?? Buffer.alloc(0);
  const signerFields = certificateFields(opts.signer.certificateDer);
  const attrs = [
    attribute(ATTR.contentType, oid(OID.data)),
    attribute(ATTR.signingTime, time(opts.signingTime ?? Date.now())),
    attribute(ATTR.messageDigest, octetString(createHash(opts.digest).update(data).digest())),
    ...(opts.attributes ?? []),
  ];
  const signedSet = setOf(...attrs);
  const signature = sign(opts.digest, signedSet, opts.signer.privateKey);
  const digestAlg = algorithm(DIGEST_OID[opts.digest], null);
  const keyType = opts.signer.privateKey.asymmetricKeyType;
  // sha*WithRSAEncryption as micromdm/scep writes it (the CertRep form devices are known to take).
  const sigAlg = keyType === 'rsa' ? algorithm(signatureOid(opts.digest, '1.2.840.113549.1.1.')) : algorithm(signatureOid(opts.digest, '1.2.840.10045.'), null);
  const signerInfo = seq(
    integer(1),
    seq(signerFields.issuer, tlv(TAG.INTEGER, signerFields.serial)),
    digestAlg,
    Buffer.concat([Buffer.from([ctxTag(0)]), signedSet.subarray(1)]),
    sigAlg,
    octetString(signature),
  );
  return signedDataContentInfo(setOf(digestAlg), opts.content, opts.certificates, setOf(signerInfo));
}

function signatureOid(digest: Digest, family: string): string {
  return Object.entries(SIGNATURE_HASH).find(([o, h]) => h === digest && o.startsWith(family))![0];
}

function signedDataContentInfo(digestAlgs: Buffer, content: Buffer | undefined, certificates: Buffer[], signerInfos: Buffer): Buffer {
  const encap = content === undefined ? seq(oid(OID.data)) : seq(oid(OID.data), explicit(0, octetString(content)));
  const certs = certificates.length ? [tlv(ctxTag(0), ...certificates)] : [];
  return seq(oid(OID.signedData), explicit(0, seq(integer(1), digestAlgs, encap, ...certs, signerInfos)));
}

/** A degenerate certificates-only SignedData (RFC 8894 §3.4), as in CertRep and GetCACert with an RA. */
export function buildCertsOnly(certificates: Buffer[]): Buffer {
  return signedDataContentInfo(tlv(TAG.SET), undefined, certificates, tlv(TAG.SET));
}

export function parseCertsOnly(der: Buffer): Buffer[] {
  return parseSignedData(der).certificates;
}

export interface PkiMessageFields {
  messageType: number;
  transactionId: string | Buffer; // a string, or a received transactionID value to echo verbatim
  senderNonce: Buffer;
  recipientNonce?: Buffer;
  pkiStatus?: number;
  failInfo?: number;
}

/** The SCEP authenticated attributes (all PrintableString except the nonces). */
export function scepAttributes(f: PkiMessageFields): Buffer[] {
  const out = [
    attribute(ATTR.messageType, printableString(String(f.messageType))),
    attribute(ATTR.transactionID, Buffer.isBuffer(f.transactionId) ? f.transactionId : printableString(f.transactionId)),
    attribute(ATTR.senderNonce, octetString(f.senderNonce)),
  ];
  if (f.recipientNonce) out.push(attribute(ATTR.recipientNonce, octetString(f.recipientNonce)));
  if (f.pkiStatus !== undefined) out.push(attribute(ATTR.pkiStatus, printableString(String(f.pkiStatus))));
  if (f.failInfo !== undefined) out.push(attribute(ATTR.failInfo, printableString(String(f.failInfo))));
  return out;
}

export interface CertRepOptions {
  ca: SignedDataSigner;
  request: Pick<PkiMessage, 'transactionIdDer' | 'senderNonce' | 'digest' | 'signerCertificateDer'>;
  now?: number;
  /** SUCCESS with the issued certificate, or FAILURE with a failInfo */
  issued?: { certificateDer: Buffer; cipher: ContentCipher };
  failInfo?: number;
}

/**
 * CertRep (messageType 3) signed by the CA with the request's digest algorithm. On success the
 * content is an envelope to the requester's signer certificate (PKCS#1 v1.5 key transport, the
 * cipher the request used) around a certs-only SignedData with the issued certificate, and the
 * issued certificate also comes first in the outer certificate set (as micromdm/scep does).
 * On failure the content is empty, as in micromdm/scep, whose replies devices are known to accept.
 */
export function buildCertRep(opts: CertRepOptions): Buffer {
  const fields: PkiMessageFields = {
    messageType: MessageType.CertRep,
    transactionId: opts.request.transactionIdDer,
    senderNonce: pooledRandomBytes(16),
    recipientNonce: opts.request.senderNonce,
    pkiStatus: opts.issued ? PkiStatus.SUCCESS : PkiStatus.FAILURE,
    failInfo: opts.issued ? undefined : (opts.failInfo ?? FailInfo.badRequest),
  };
  const content = opts.issued
    ? buildEnvelope(buildCertsOnly([opts.issued.certificateDer]), opts.request.signerCertificateDer, { cipher: opts.issued.cipher })
    : Buffer.alloc(0);
  return buildSignedData({
    content,
    signer: opts.ca,
    digest: opts.request.digest,
    attributes: scepAttributes(fields),
    certificates: opts.issued ? [opts.issued.certificateDer, opts.ca.certificateDer] : [opts.ca.certificateDer],
    signingTime: opts.now,
  });
}
