/**
 * A small bounds-checked DER reader (with the BER leniencies CMS producers use: indefinite
 * lengths, constructed OCTET STRINGs) and a DER writer. SCEP messages come from devices, so
 * every length is checked against its container, nesting is capped, and failures are one
 * error type. Elements are zero-copy views (`subarray`) of the input, so a signature can be
 * checked over the exact bytes that were signed.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

export class DerError extends Error {}

export interface Der {
  /** the identifier octet: class, constructed bit and tag number (< 31) */
  tag: number;
  /** the whole element, header included */
  raw: Buffer;
  /** the contents (for an indefinite length: without the end-of-contents octets) */
  body: Buffer;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const MAX_DEPTH = 48;

/** [n] constructed (explicit or implicit SEQUENCE/SET) and [n] primitive context tags. */
export const ctxTag = (n: number, constructed = true): number => (constructed ? 0xa0 : 0x80) | n;

function fail(what: string): never {
  throw new DerError(`malformed ${what}`);
}

function readAt(buf: Buffer, offset: number, depth: number, what: string): { el: Der; next: number } {
  if (depth > MAX_DEPTH) fail(`${what} (nested too deeply)`);
  if (offset + 2 > buf.length) fail(`${what} (truncated)`);
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) fail(`${what} (high tag number)`);
  let pos = offset + 1;
  const first = buf[pos++];
  if (first === 0x80) {
    if (!(tag & 0x20)) fail(`${what} (indefinite length on a primitive)`);
    const start = pos;
    for (;;) {
      if (pos + 2 > buf.length) fail(`${what} (missing end of contents)`);
      if (buf[pos] === 0 && buf[pos + 1] === 0) break;
      pos = readAt(buf, pos, depth + 1, what).next;
    }
    return { el: { tag, raw: buf.subarray(offset, pos + 2), body: buf.subarray(start, pos) }, next: pos + 2 };
  }
  let length = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n > 4 || pos + n > buf.length) fail(`${what} (bad length)`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++];
  }
  if (pos + length > buf.length) fail(`${what} (length beyond its container)`);
  return { el: { tag, raw: buf.subarray(offset, pos + length), body: buf.subarray(pos, pos + length) }, next: pos + length };
}

/** Parses exactly one element spanning the whole buffer. */
export function parseDer(buf: Buffer, what = 'DER'): Der {
  const { el, next } = readAt(buf, 0, 0, what);
  if (next !== buf.length) fail(`${what} (trailing bytes)`);
  return el;
}

/** The elements inside a constructed element. */
export function children(el: Der, what = 'DER'): Der[] {
  if (!(el.tag & 0x20)) fail(`${what} (expected a constructed element)`);
  const out: Der[] = [];
  for (let pos = 0; pos < el.body.length; ) {
    const r = readAt(el.body, pos, 1, what);
    out.push(r.el);
    pos = r.next;
  }
  return out;
}

/** Checks the tag and returns the element, so parsers read as a list of expectations. */
export function expectTag(el: Der | undefined, tag: number, what: string): Der {
  if (!el || el.tag !== tag) fail(what);
  return el;
}

/** The children of a SEQUENCE/SET (or context tag) with at least `min` of them. */
export function items(el: Der | undefined, tag: number, what: string, min = 0): Der[] {
  const list = children(expectTag(el, tag, what), what);
  if (list.length < min) fail(what);
  return list;
}

/** Octet-string contents; BER producers may split them into a constructed string of chunks. */
export function octets(el: Der, what = 'OCTET STRING', depth = 0): Buffer {
  if (!(el.tag & 0x20)) return el.body;
  if (depth > 4) fail(what);
  return Buffer.concat(children(el, what).map((c) => octets(c, what, depth + 1)));
}

export function oidOf(el: Der | undefined, what = 'OBJECT IDENTIFIER'): string {
  const b = expectTag(el, TAG.OID, what).body;
  if (b.length === 0 || b.length > 64 || b[b.length - 1] & 0x80) fail(what);
  const parts: number[] = [];
  let v = 0;
  for (const byte of b) {
    v = v * 128 + (byte & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 256) fail(what);
    if (!(byte & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** Text of a string-typed element (PrintableString, UTF8String, IA5String, ...). */
export function stringOf(el: Der | undefined, what = 'string'): string {
  if (!el) fail(what);
  if (el.tag === TAG.BMP_STRING) return el.body.length % 2 ? fail(what) : Buffer.from(el.body).swap16().toString('utf16le');
  if (![TAG.UTF8_STRING, TAG.PRINTABLE_STRING, TAG.IA5_STRING, TAG.T61_STRING, 0x1a /* VisibleString */].includes(el.tag as never)) fail(what);
  return el.body.toString(el.tag === TAG.UTF8_STRING ? 'utf8' : 'latin1');
}

/** INTEGER contents without a leading sign byte; small non-negative values as numbers. */
export function smallIntOf(el: Der | undefined, what = 'INTEGER'): number {
  const b = expectTag(el, TAG.INTEGER, what).body;
  if (b.length === 0 || b.length > 4 || b[0] & 0x80) fail(what);
  return b.reduce((n, x) => n * 256 + x, 0);
}

export function timeOf(el: Der | undefined, what = 'time'): number {
  if (!el || (el.tag !== TAG.UTC_TIME && el.tag !== TAG.GENERALIZED_TIME)) fail(what);
  const s = el.body.toString('latin1');
  const m = el.tag === TAG.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s);
  if (!m) fail(what);
  let year = Number(m[1]);
  if (el.tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900;
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
}

// ---- writer ----

function header(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.from([tag, length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  return Buffer.concat([header(tag, body.length), body]);
}

export const seq = (...parts: Buffer[]): Buffer => tlv(TAG.SEQUENCE, ...parts);
/** SET OF, sorted by encoding as DER requires (verifiers such as OpenSSL may re-encode it). */
export const setOf = (...parts: Buffer[]): Buffer => tlv(TAG.SET, ...[...parts].sort(Buffer.compare));
export const explicit = (n: number, ...parts: Buffer[]): Buffer => tlv(ctxTag(n), ...parts);
export const octetString = (b: Buffer): Buffer => tlv(TAG.OCTET_STRING, b);
export const printableString = (s: string): Buffer => tlv(TAG.PRINTABLE_STRING, Buffer.from(s, 'latin1'));
export const utf8String = (s: string): Buffer => tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
export const bitString = (b: Buffer): Buffer => tlv(TAG.BIT_STRING, Buffer.from([0]), b);
export const boolean = (v: boolean): Buffer => Buffer.from([TAG.BOOLEAN, 1, v ? 0xff : 0]);
export const NULL = Buffer.from([TAG.NULL, 0]);

export function oid(dotted: string): Buffer {
  const p = dotted.split('.').map(Number);
  const arcs = [p[0] * 40 + p[1], ...p.slice(2)];
  const bytes: number[] = [];
  for (const arc of arcs) {
    const enc = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) enc.unshift((v & 0x7f) | 0x80);
    bytes.push(...enc);
  }
  return tlv(TAG.OID, Buffer.from(bytes));
}

/** A non-negative INTEGER from big-endian magnitude bytes or a small number. */
export function integer(v: Buffer | number): Buffer {
  let b: Buffer;
  if (typeof v === 'number') {
    const bytes: number[] = [];
    for (let n = v; bytes.length === 0 || n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    b = Buffer.from(bytes);
  } else b = v;
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && !(b[i + 1] & 0x80)) i++;
  b = b.subarray(i);
  if (b.length === 0) b = Buffer.from([0]);
  return tlv(TAG.INTEGER, b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
export function time(ms: number): Buffer {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(TAG.UTC_TIME, Buffer.from(iso.slice(2), 'latin1')) : tlv(TAG.GENERALIZED_TIME, Buffer.from(iso, 'latin1'));
}

/** AlgorithmIdentifier with NULL parameters (RSA) or with the given parameters. */
export const algorithm = (dotted: string, params: Buffer | null = NULL): Buffer => seq(oid(dotted), ...(params ? [params] : []));

// ---- X.509 fields the CMS code needs (issuer and serial for recipient/signer identifiers) ----

export interface CertificateFields {
  /** TBSCertificate (the signed part) */
  tbs: Buffer;
  serial: Buffer; // INTEGER contents
  issuer: Buffer; // Name, DER
  subject: Buffer; // Name, DER
  spki: Buffer; // SubjectPublicKeyInfo, DER
  /** AlgorithmIdentifier DER: the outer one, and the copy inside the TBS (RFC 5280 wants them equal) */
  signatureAlgorithm: Buffer;
  tbsSignatureAlgorithm: Buffer;
  /** the signature's BIT STRING contents (the unused-bits octet, then the signature) */
  signatureBits: Buffer;
  notBefore: number;
  notAfter: number;
  /** extnID → { critical, value (the extnValue contents) } */
  extensions: Map<string, { critical: boolean; value: Buffer }>;
}

export function certificateFields(certDer: Buffer): CertificateFields {
  const what = 'certificate';
  const [tbsEl, sigAlgEl, sigEl] = items(parseDer(certDer, what), TAG.SEQUENCE, what, 3);
  const tbs = items(tbsEl, TAG.SEQUENCE, what, 6);
  const f = tbs[0].tag === ctxTag(0) ? tbs.slice(1) : tbs; // v1 certificates have no version field
  if (f.length < 6) fail(what);
  const validity = items(f[3], TAG.SEQUENCE, what, 2);
  const extensions = new Map<string, { critical: boolean; value: Buffer }>();
  const extsEl = f.slice(6).find((e) => e.tag === ctxTag(3));
  if (extsEl) {
    for (const ext of items(items(extsEl, ctxTag(3), what, 1)[0], TAG.SEQUENCE, what)) {
      const parts = items(ext, TAG.SEQUENCE, what, 2);
      const critical = parts.length === 3 && parts[1].tag === TAG.BOOLEAN && parts[1].body[0] !== 0;
      extensions.set(oidOf(parts[0]), { critical, value: expectTag(parts[parts.length - 1], TAG.OCTET_STRING, what).body });
    }
  }
  return {
    tbs: tbsEl.raw,
    signatureAlgorithm: expectTag(sigAlgEl, TAG.SEQUENCE, what).raw,
    tbsSignatureAlgorithm: expectTag(f[1], TAG.SEQUENCE, what).raw,
    signatureBits: expectTag(sigEl, TAG.BIT_STRING, what).body,
    serial: expectTag(f[0], TAG.INTEGER, what).body,
    issuer: expectTag(f[2], TAG.SEQUENCE, what).raw,
    subject: expectTag(f[4], TAG.SEQUENCE, what).raw,
    spki: expectTag(f[5], TAG.SEQUENCE, what).raw,
    notBefore: timeOf(validity[0]),
    notAfter: timeOf(validity[1]),
    extensions,
  };
}

const NAME_LABELS: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.4': 'SN', '2.5.4.5': 'serialNumber', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O',
  '2.5.4.11': 'OU', '2.5.4.42': 'GN', '1.2.840.113549.1.9.1': 'emailAddress', '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
};

/** A Name as "CN=…, O=…" in encoded order, for logs and listings (not for comparisons). */
export function nameToString(nameDer: Buffer): string {
  const parts: string[] = [];
  for (const rdn of items(parseDer(nameDer, 'Name'), TAG.SEQUENCE, 'Name')) {
    for (const atv of items(rdn, TAG.SET, 'Name')) {
      const [type, value] = items(atv, TAG.SEQUENCE, 'Name', 2);
      const id = oidOf(type);
      let text: string;
      try {
        text = stringOf(value);
      } catch {
        text = `#${value.raw.toString('hex')}`;
      }
      parts.push(`${NAME_LABELS[id] ?? id}=${text}`);
    }
  }
  return parts.join(', ');
}

/** keyIdentifier of the SubjectKeyIdentifier extension, if there is one. */
export function subjectKeyIdOf(f: CertificateFields): Buffer | undefined {
  const ext = f.extensions.get('2.5.29.14');
  return ext && expectTag(parseDer(ext.value, 'SubjectKeyIdentifier'), TAG.OCTET_STRING, 'SubjectKeyIdentifier').body;
}

/** keyIdentifier ([0]) of the AuthorityKeyIdentifier extension, if there is one. */
export function authorityKeyIdOf(f: CertificateFields): Buffer | undefined {
  const ext = f.extensions.get('2.5.29.35');
  return ext && items(parseDer(ext.value, 'AuthorityKeyIdentifier'), TAG.SEQUENCE, 'AuthorityKeyIdentifier').find((e) => e.tag === ctxTag(0, false))?.body;
}

/** KeyUsage, when present, allows keyCertSign (what OpenSSL's X509_check_issued asks of an issuer). */
export function mayIssueCertificates(f: CertificateFields): boolean {
  const ext = f.extensions.get('2.5.29.15');
  if (!ext) return true;
  const bits = expectTag(parseDer(ext.value, 'KeyUsage'), TAG.BIT_STRING, 'KeyUsage').body;
  return bits.length > 1 && (bits[1] & 0x04) !== 0; // bit 5, keyCertSign
}

/** What X509Certificate's `ca` reports (X509_check_ca() == 1): BasicConstraints cA, and keyCertSign if KeyUsage is present. */
export function isCa(f: CertificateFields): boolean {
  const ext = f.extensions.get('2.5.29.19');
  if (!ext) return false;
  const [cA] = items(parseDer(ext.value, 'BasicConstraints'), TAG.SEQUENCE, 'BasicConstraints');
  return cA?.tag === TAG.BOOLEAN && cA.body.length === 1 && cA.body[0] !== 0 && mayIssueCertificates(f);
}

const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
/** named curve OID → JWK crv and coordinate length */
const EC_CURVES: Record<string, { crv: string; size: number }> = {
  '1.2.840.10045.3.1.7': { crv: 'P-256', size: 32 },
  '1.3.132.0.34': { crv: 'P-384', size: 48 },
  '1.3.132.0.35': { crv: 'P-521', size: 66 },
};

/**
 * The public key of a SubjectPublicKeyInfo. Node 20's OpenSSL 3 decoder costs ~0.1 ms per SPKI,
 * so the common keys are built without it: RSA imported as PKCS#1 (~3 µs), EC on a NIST curve
 * with an uncompressed point from its coordinates as a JWK (about half the decoder's cost;
 * OpenSSL still checks the point is on the curve). Anything else, and any key the JWK import
 * refuses, goes to the decoder, so malformed keys fail as they always did.
 */
export function spkiPublicKey(spki: Buffer): KeyObject {
  const what = 'SubjectPublicKeyInfo';
  const parts = items(parseDer(spki, what), TAG.SEQUENCE, what, 2);
  const [alg, params] = items(parts[0], TAG.SEQUENCE, what, 1);
  const bits = expectTag(parts[1], TAG.BIT_STRING, what).body;
  const algorithm = oidOf(alg);
  if (parts.length === 2 && bits[0] === 0) {
    if (algorithm === RSA_ENCRYPTION) return createPublicKey({ key: bits.subarray(1), format: 'der', type: 'pkcs1' });
    const curve = algorithm === EC_PUBLIC_KEY && params?.tag === TAG.OID ? EC_CURVES[oidOf(params)] : undefined;
    if (curve && bits.length === 2 + 2 * curve.size && bits[1] === 0x04) {
      const coordinate = (at: number) => bits.subarray(at, at + curve.size).toString('base64url');
      try {
        return createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: coordinate(2), y: coordinate(2 + curve.size) }, format: 'jwk' });
      } catch {
        // a point off the curve: let the decoder refuse it, with the error callers have always seen
      }
    }
  }
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}
