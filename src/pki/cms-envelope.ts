/**
 * CMS EnvelopedData (RFC 5652 §6) as SCEP uses it: decrypt an envelope addressed to our key,
 * and build one for a recipient certificate.
 *
 * Decryption handles RSA key transport with PKCS#1 v1.5 (through pkcs1.ts, since Node 20
 * refuses it natively) and RSA-OAEP, and the content ciphers SCEP clients use: DES-CBC
 * (node-forge, because Node 20's OpenSSL has no single DES), DES-EDE3-CBC and AES-CBC.
 * Every failure after parsing is reported with the same message, so a client cannot tell a
 * bad key-transport block from a bad content padding.
 */
import { constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import {
  TAG, algorithm, certificateFields, ctxTag, expectTag, explicit, integer, items, octetString, octets, oid, oidOf, parseDer, seq, spkiPublicKey, subjectKeyIdOf, tlv,
  type Der,
} from './der.js';
import { decryptPkcs1KeyTransport, rejectionSecret } from './pkcs1.js';
import { pooledRandomBytes } from './random.js';

export class EnvelopeError extends Error {}

export type ContentCipher = 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | 'des-ede3-cbc' | 'des-cbc';
export type KeyTransport = 'rsa-pkcs1' | 'rsa-oaep';
export type OaepHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  pSpecified: '1.2.840.113549.1.1.9',
} as const;

const CIPHERS: Record<string, { name: ContentCipher; keyLength: number; ivLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16, ivLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24, ivLength: 16 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32, ivLength: 16 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
  '1.3.14.3.2.7': { name: 'des-cbc', keyLength: 8, ivLength: 8 },
};
const CIPHER_OID = Object.fromEntries(Object.entries(CIPHERS).map(([o, c]) => [c.name, o])) as Record<ContentCipher, string>;

export const HASH_OID: Record<string, OaepHash> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const OID_OF_HASH = Object.fromEntries(Object.entries(HASH_OID).map(([o, h]) => [h, o])) as Record<OaepHash, string>;

export interface RecipientInfo {
  /** IssuerAndSerialNumber (issuer Name DER + serial INTEGER contents) or SubjectKeyIdentifier */
  issuer?: Buffer;
  serial?: Buffer;
  subjectKeyId?: Buffer;
  keyTransport: KeyTransport;
  oaepHash?: OaepHash;
  encryptedKey: Buffer;
}

export interface ParsedEnvelope {
  recipients: RecipientInfo[];
  /** undefined when the content cipher is one we do not implement (its OID is in cipherOid) */
  cipher?: ContentCipher;
  cipherOid: string;
  iv: Buffer;
  encryptedContent: Buffer;
}

/** Parses ContentInfo(EnvelopedData) without decrypting. Throws DerError/EnvelopeError on malformed input. */
export function parseEnvelope(der: Buffer): ParsedEnvelope {
  const what = 'EnvelopedData';
  const ci = items(parseDer(der, what), TAG.SEQUENCE, what, 2);
  if (oidOf(ci[0]) !== OID.envelopedData) throw new EnvelopeError('content is not EnvelopedData');
  const ed = items(items(ci[1], ctxTag(0), what, 1)[0], TAG.SEQUENCE, what, 3);
  let i = 1;
  if (ed[i].tag === ctxTag(0)) i++; // originatorInfo: certificates we do not need
  const recipients: RecipientInfo[] = [];
  for (const ri of items(ed[i], TAG.SET, what, 1)) {
    if (ri.tag !== TAG.SEQUENCE) continue; // kari [1], kekri [2], pwri [3], ori [4]: not for an RSA key
    const parsed = parseKeyTrans(ri);
    if (parsed) recipients.push(parsed);
  }
  const eci = items(ed[i + 1], TAG.SEQUENCE, what, 2);
  const alg = items(eci[1], TAG.SEQUENCE, what, 1);
  const cipherOid = oidOf(alg[0]);
  const cipher = CIPHERS[cipherOid];
  const iv = alg[1]?.tag === TAG.OCTET_STRING ? alg[1].body : Buffer.alloc(0);
  const content = eci[2];
  if (!content || (content.tag !== ctxTag(0, false) && content.tag !== ctxTag(0))) throw new EnvelopeError('envelope has no encrypted content');
  return { recipients, cipher: cipher?.name, cipherOid, iv, encryptedContent: octets(content, what) };
}

function parseKeyTrans(ri: Der): RecipientInfo | undefined {
  const what = 'KeyTransRecipientInfo';
  const f = items(ri, TAG.SEQUENCE, what, 4);
  const rid = f[1];
  const alg = items(f[2], TAG.SEQUENCE, what, 1);
  const algOid = oidOf(alg[0]);
  const encryptedKey = expectTag(f[3], TAG.OCTET_STRING, what).body;
  let keyTransport: KeyTransport;
  let oaepHash: OaepHash | undefined;
  if (algOid === OID.rsaEncryption) keyTransport = 'rsa-pkcs1';
  else if (algOid === OID.rsaesOaep) {
    keyTransport = 'rsa-oaep';
    oaepHash = parseOaepParams(alg[1]);
    if (!oaepHash) return undefined;
  } else return undefined;
  if (rid.tag === TAG.SEQUENCE) {
    const ias = items(rid, TAG.SEQUENCE, what, 2);
    return { issuer: expectTag(ias[0], TAG.SEQUENCE, what).raw, serial: expectTag(ias[1], TAG.INTEGER, what).body, keyTransport, oaepHash, encryptedKey };
  }
  if (rid.tag === ctxTag(0, false)) return { subjectKeyId: rid.body, keyTransport, oaepHash, encryptedKey };
  return undefined;
}

/** RSAES-OAEP-params; undefined when they ask for something Node cannot do (different MGF1 hash, a label). */
function parseOaepParams(params: Der | undefined): OaepHash | undefined {
  if (!params || params.tag === TAG.NULL) return 'sha1';
  let hash: OaepHash | undefined = 'sha1';
  let mgfHash: OaepHash | undefined = 'sha1';
  for (const p of items(params, TAG.SEQUENCE, 'RSAES-OAEP-params')) {
    const inner = items(p, p.tag, 'RSAES-OAEP-params', 1)[0];
    const alg = items(inner, TAG.SEQUENCE, 'RSAES-OAEP-params', 1);
    if (p.tag === ctxTag(0)) hash = HASH_OID[oidOf(alg[0])];
    else if (p.tag === ctxTag(1)) {
      if (oidOf(alg[0]) !== OID.mgf1) return undefined;
      mgfHash = HASH_OID[oidOf(items(alg[1], TAG.SEQUENCE, 'MGF1 parameters', 1)[0])];
    } else if (p.tag === ctxTag(2)) {
      if (oidOf(alg[0]) !== OID.pSpecified || (alg[1] && alg[1].body.length > 0)) return undefined;
    }
  }
  return hash && hash === mgfHash ? hash : undefined;
}

export interface EnvelopeRecipient {
  privateKey: KeyObject;
  /** our certificate (DER), to pick our RecipientInfo; without it, or when none matches, the first RSA one is tried */
  certificateDer?: Buffer;
}

/** Decrypts ContentInfo(EnvelopedData) and returns the content and the cipher the sender chose. */
export function decryptEnvelope(der: Buffer | ParsedEnvelope, recipient: EnvelopeRecipient): { content: Buffer; cipher: ContentCipher } {
  const env = Buffer.isBuffer(der) ? parseEnvelope(der) : der;
  const spec = CIPHERS[env.cipherOid];
  if (!spec) throw new EnvelopeError(`unsupported content cipher ${env.cipherOid}`);
  if (env.iv.length !== spec.ivLength) throw new EnvelopeError('bad content-encryption IV');
  if (env.encryptedContent.length === 0 || env.encryptedContent.length % spec.ivLength) throw new EnvelopeError('envelope could not be decrypted');
  const ri = pickRecipient(env.recipients, recipient.certificateDer);
  if (!ri) throw new EnvelopeError('envelope has no RSA recipient');
  let cek: Buffer;
  if (ri.keyTransport === 'rsa-pkcs1') {
    cek = decryptPkcs1KeyTransport(recipient.privateKey, ri.encryptedKey, spec.keyLength, rejectionSecret(recipient.privateKey));
  } else {
    try {
      cek = privateDecrypt({ key: recipient.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: ri.oaepHash }, ri.encryptedKey);
    } catch {
      throw new EnvelopeError('envelope could not be decrypted');
    }
    if (cek.length !== spec.keyLength) throw new EnvelopeError('envelope could not be decrypted');
  }
  return { content: decryptContent(spec.name, cek, env.iv, env.encryptedContent), cipher: spec.name };
}

function pickRecipient(list: RecipientInfo[], certDer?: Buffer): RecipientInfo | undefined {
  const mine = certDer && list.find((r) => addressedTo(r, certDer));
  // Some clients re-encode our issuer name; the implicit-rejection path keeps a wrong guess harmless.
  return mine || list[0];
}

/** Whether the RecipientInfo names this certificate (issuer and serial, or subject key identifier). */
export function addressedTo(ri: RecipientInfo, certDer: Buffer): boolean {
  const cert = certificateFields(certDer);
  if (ri.issuer) return ri.issuer.equals(cert.issuer) && ri.serial!.equals(cert.serial);
  if (!ri.subjectKeyId) return false;
  try {
    return !!subjectKeyIdOf(cert)?.equals(ri.subjectKeyId);
  } catch {
    return false; // a malformed identifier names nobody
  }
}

function decryptContent(cipher: ContentCipher, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  try {
    if (cipher === 'des-cbc') {
      const d = forge.cipher.createDecipher('DES-CBC', key.toString('latin1'));
      d.start({ iv: iv.toString('latin1') });
      d.update(forge.util.createBuffer(data.toString('latin1')));
      if (!d.finish()) throw new Error('bad padding');
      return Buffer.from(d.output.getBytes(), 'latin1');
    }
    const d = createDecipheriv(cipher, key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    throw new EnvelopeError('envelope could not be decrypted');
  }
}

function encryptContent(cipher: ContentCipher, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  if (cipher === 'des-cbc') {
    const c = forge.cipher.createCipher('DES-CBC', key.toString('latin1'));
    c.start({ iv: iv.toString('latin1') });
    c.update(forge.util.createBuffer(data.toString('latin1')));
    c.finish();
    return Buffer.from(c.output.getBytes(), 'latin1');
  }
  const c = createCipheriv(cipher, key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

export interface BuildEnvelopeOptions {
  cipher?: ContentCipher;
  keyTransport?: KeyTransport;
  oaepHash?: OaepHash;
}

/**
 * Encrypts `content` to `recipientCertDer` and returns ContentInfo(EnvelopedData), version 0 with
 * one KeyTransRecipientInfo identified by issuer and serial. Defaults: AES-128-CBC, PKCS#1 v1.5
 * (what SCEP clients expect; Node still allows v1.5 public-key encryption).
 */
export function buildEnvelope(content: Buffer, recipientCertDer: Buffer, opts: BuildEnvelopeOptions = {}): Buffer {
  const cipher = opts.cipher ?? 'aes-128-cbc';
  const spec = CIPHERS[CIPHER_OID[cipher]];
  if (!spec) throw new Error(`unsupported content cipher ${cipher}`);
  const cert = certificateFields(recipientCertDer);
  const publicKey = spkiPublicKey(cert.spki);
  if (publicKey.asymmetricKeyType !== 'rsa') throw new EnvelopeError('recipient key is not RSA');
  const cek = pooledRandomBytes(spec.keyLength);
  const iv = pooledRandomBytes(spec.ivLength);
  const oaep = opts.keyTransport === 'rsa-oaep';
  const hash = opts.oaepHash ?? 'sha1';
  const encryptedKey = publicEncrypt(
    oaep ? { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash } : { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
    cek,
  );
  const keyAlg = !oaep
    ? algorithm(OID.rsaEncryption)
    : hash === 'sha1'
      ? algorithm(OID.rsaesOaep, seq())
      : algorithm(OID.rsaesOaep, seq(explicit(0, algorithm(OID_OF_HASH[hash])), explicit(1, algorithm(OID.mgf1, algorithm(OID_OF_HASH[hash])))));
  const ktri = seq(integer(0), seq(cert.issuer, tlv(TAG.INTEGER, cert.serial)), keyAlg, octetString(encryptedKey));
  const eci = seq(oid(OID.data), algorithm(CIPHER_OID[cipher], octetString(iv)), tlv(ctxTag(0, false), encryptContent(cipher, cek, iv, content)));
  return seq(oid(OID.envelopedData), explicit(0, seq(integer(0), tlv(TAG.SET, ktri), eci)));
}
