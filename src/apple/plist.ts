// Apple property lists: a strict reader for device input and a writer for what we send.
//
// Why our own reader instead of plist 5's `parse`: that one goes through @xmldom/xmldom, which
// prints every recoverable XML error to the console (device-controlled log spam), silently keeps
// unknown entity references as text, and costs ~0.1 ms per check-in (this reader: ~0.01 ms).
// Its `parseBinary` has no bounds on shared references (a 40-level DAG of shared arrays expands to
// 2^40 nodes), follows cycles until the stack overflows, and lets a `__proto__` key replace a
// dictionary's prototype. Device bodies are hostile until proven otherwise, so both readers here
// accept only the plist subset Apple writes, check every bound and throw nothing but PlistError.
import { isUtf8 } from 'node:buffer';

export type PlistValue = string | number | boolean | Date | Buffer | PlistValue[] | PlistDict;
export interface PlistDict {
  [key: string]: PlistValue;
}

export class PlistError extends Error {
  override name = 'PlistError';
}

/** Nesting deeper than this is refused; real MDM messages stay under ~8 levels. */
const MAX_DEPTH = 64;

const fail = (reason: string): never => {
  throw new PlistError(reason);
};

/**
 * Parses a device-sent plist (XML, or binary `bplist00` when given as a Buffer) whose top level
 * is a dictionary. `<data>` comes back as Buffer, `<date>` as Date, `<integer>`/`<real>` as number
 * (integers beyond 2^53 lose precision, like plist 5).
 */
export function parsePlist(body: Buffer | string): PlistDict {
  let value: PlistValue;
  try {
    if (typeof body === 'string') {
      if (body.startsWith('bplist')) fail('binary plist must be passed as a Buffer');
      value = new XmlPlistReader(body).document();
    } else if (body.length >= 8 && body.toString('latin1', 0, 8) === 'bplist00') {
      value = readBinaryPlist(body);
    } else {
      if (!isUtf8(body)) fail('body is not UTF-8');
      value = new XmlPlistReader(body.toString('utf8')).document();
    }
  } catch (err) {
    if (err instanceof PlistError) throw err;
    // Anything else (a RangeError from deep recursion, say) is still just a malformed body.
    throw new PlistError('malformed plist', { cause: err });
  }
  if (!isPlistDict(value)) fail('top level is not a dictionary');
  return value as PlistDict;
}

export function isPlistDict(value: unknown): value is PlistDict {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value)
  );
}

// ---------------------------------------------------------------------------------------------
// XML reader

const isXmlWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isNameStart = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a; // a-z A-Z _ :
const isNameChar = (c: number) => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e; // 0-9 - .
// Characters XML 1.0 forbids anywhere in a document, and unpaired surrogates (possible in string input).
const FORBIDDEN_CHARS =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Every character FORBIDDEN_CHARS can match, and paired surrogates too: one pass, no lookaround.
const SUSPECT_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
// Any `&` that does not start one of the five predefined entities or a character reference.
const BAD_AMPERSAND = /&(?!(?:lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});)/;
const REFERENCE = /&(lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});/g;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const INTEGER = /^[+-]?[0-9]+$/;
const REAL = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const REAL_SPECIAL = /^([+-]?)(nan|inf|infinity)$/i;
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeText(raw: string): string {
  let text = raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw; // XML end-of-line handling
  if (!text.includes('&')) return text;
  const bad = BAD_AMPERSAND.exec(text);
  if (bad) {
    const ref = /^&[A-Za-z_][-A-Za-z0-9_.]*;/.exec(text.slice(bad.index));
    fail(ref ? `entity reference ${ref[0]} not allowed` : 'bare & in text');
  }
  text = text.replace(REFERENCE, (_m, ref: string) => {
    if (ref[0] !== '#') return PREDEFINED[ref]!;
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    const legal =
      code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
    if (!legal) fail('character reference to a forbidden character');
    return String.fromCodePoint(code);
  });
  return text;
}

interface Tag {
  name: string;
  empty: boolean; // <name/>
}

class XmlPlistReader {
  private i = 0;

  constructor(private readonly s: string) {}

  document(): PlistValue {
    const s = this.s;
    if (s.charCodeAt(0) === 0xfeff) this.i = 1; // BOM
    // The cheap class first: text without control characters or surrogates (nearly all) is done.
    if (SUSPECT_CHARS.test(s) && FORBIDDEN_CHARS.test(s)) fail('forbidden character in XML');
    if (s.includes('<!ENTITY')) fail('entity declarations not allowed');
    this.ws(false); // strict XML forbids whitespace before the declaration; some writers emit it
    if (s.startsWith('<?xml', this.i)) this.declaration();
    let sawDoctype = false;
    for (;;) {
      this.skipMisc();
      if (s.startsWith('<!DOCTYPE', this.i)) {
        if (sawDoctype) fail('second DOCTYPE');
        sawDoctype = true;
        this.doctype();
      } else break;
    }
    const root = this.startTag();
    if (root.name !== 'plist') fail('root element is not <plist>');
    this.skipMisc();
    if (root.empty || this.atEndTag()) fail('empty <plist>');
    const value = this.value(1);
    this.skipMisc();
    this.endTag('plist');
    this.skipMisc();
    if (this.i !== s.length) fail('content after </plist>');
    return value;
  }

  private declaration(): void {
    const end = this.s.indexOf('?>', this.i);
    if (end < 0) fail('unterminated XML declaration');
    const decl = this.s.slice(this.i, end);
    const enc = /\sencoding\s*=\s*["']([^"']*)["']/.exec(decl);
    if (enc && !/^utf-?8$/i.test(enc[1]!)) fail(`unsupported encoding ${enc[1]}`);
    this.i = end + 2;
  }

  // Only the external form Apple writes: <!DOCTYPE plist PUBLIC "…" "…"> (or SYSTEM "…").
  // An internal subset `[...]` is where entities get declared, so it is refused outright.
  private doctype(): void {
    const s = this.s;
    this.i += 9;
    this.ws(true);
    this.name();
    this.ws(false);
    if (s.startsWith('PUBLIC', this.i)) {
      this.i += 6;
      this.ws(true);
      this.quoted();
      this.ws(true);
      this.quoted();
    } else if (s.startsWith('SYSTEM', this.i)) {
      this.i += 6;
      this.ws(true);
      this.quoted();
    }
    this.ws(false);
    if (s[this.i] === '[') fail('DOCTYPE internal subset not allowed');
    if (s[this.i] !== '>') fail('malformed DOCTYPE');
    this.i++;
  }

  private quoted(): string {
    const q = this.s[this.i];
    if (q !== '"' && q !== "'") fail('expected quoted literal');
    const end = this.s.indexOf(q!, this.i + 1);
    if (end < 0) fail('unterminated literal');
    const v = this.s.slice(this.i + 1, end);
    this.i = end + 1;
    return v;
  }

  // ws() and name() run for every tag: character codes, not regular expressions.
  private ws(required: boolean): void {
    const s = this.s;
    const start = this.i;
    while (this.i < s.length && isXmlWs(s.charCodeAt(this.i))) this.i++;
    if (required && this.i === start) fail('expected whitespace');
  }

  /** [A-Za-z_:][-A-Za-z0-9_:.]* — the names plists use (tags, attributes, the DOCTYPE's). */
  private name(): string {
    const s = this.s;
    const start = this.i;
    if (start >= s.length || !isNameStart(s.charCodeAt(start))) fail('expected a name');
    let i = start + 1;
    while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
    this.i = i;
    return s.slice(start, i);
  }

  /** Skips whitespace, comments and processing instructions between elements. */
  private skipMisc(): void {
    const s = this.s;
    for (;;) {
      this.ws(false);
      if (s.startsWith('<!--', this.i)) {
        const end = s.indexOf('-->', this.i + 4);
        if (end < 0) fail('unterminated comment');
        this.i = end + 3;
      } else if (s.startsWith('<?', this.i)) {
        if (/^<\?xml[\s?]/i.test(s.slice(this.i, this.i + 6))) fail('misplaced XML declaration');
        const end = s.indexOf('?>', this.i + 2);
        if (end < 0) fail('unterminated processing instruction');
        this.i = end + 2;
      } else return;
    }
  }

  private startTag(): Tag {
    const s = this.s;
    if (s[this.i] !== '<') fail(this.i >= s.length ? 'unexpected end of document' : 'expected an element');
    this.i++;
    const name = this.name();
    for (;;) {
      const hadWs = this.i < s.length && isXmlWs(s.charCodeAt(this.i));
      this.ws(false);
      const c = s[this.i];
      if (c === '>') {
        this.i++;
        return { name, empty: false };
      }
      if (c === '/' && s[this.i + 1] === '>') {
        this.i += 2;
        return { name, empty: true };
      }
      if (!hadWs) fail(`malformed <${name}> tag`);
      // Attributes (plist version="1.0") carry nothing we use, but must be well-formed.
      this.name();
      this.ws(false);
      if (s[this.i] !== '=') fail('malformed attribute');
      this.i++;
      this.ws(false);
      const v = this.quoted();
      if (v.includes('<')) fail('< in attribute value');
      decodeText(v);
    }
  }

  private endTag(name: string): void {
    const s = this.s;
    if (!s.startsWith('</', this.i)) fail(`expected </${name}>`);
    this.i += 2;
    if (this.name() !== name) fail(`mismatched end tag, expected </${name}>`);
    this.ws(false);
    if (s[this.i] !== '>') fail('malformed end tag');
    this.i++;
  }

  private atEndTag(): boolean {
    return this.s.startsWith('</', this.i);
  }

  /** Character data of a leaf element up to its end tag (entities decoded, CDATA allowed). */
  private text(tag: Tag): string {
    if (tag.empty) return '';
    const s = this.s;
    let out = '';
    for (;;) {
      const lt = s.indexOf('<', this.i);
      if (lt < 0) fail('unexpected end of document');
      if (lt > this.i) out += decodeText(s.slice(this.i, lt));
      this.i = lt;
      if (s.startsWith('</', lt)) {
        this.endTag(tag.name);
        return out;
      } else if (s.startsWith('<![CDATA[', lt)) {
        const end = s.indexOf(']]>', lt + 9);
        if (end < 0) fail('unterminated CDATA');
        out += s.slice(lt + 9, end).replace(/\r\n?/g, '\n');
        this.i = end + 3;
      } else if (s.startsWith('<!--', lt)) {
        const end = s.indexOf('-->', lt + 4);
        if (end < 0) fail('unterminated comment');
        this.i = end + 3;
      } else {
        fail(`unexpected element inside <${tag.name}>`);
      }
    }
  }

  private value(depth: number): PlistValue {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    const tag = this.startTag();
    switch (tag.name) {
      case 'dict':
        return this.dict(tag, depth);
      case 'array': {
        const arr: PlistValue[] = [];
        if (tag.empty) return arr;
        for (;;) {
          this.skipMisc();
          if (this.atEndTag()) break;
          arr.push(this.value(depth + 1));
        }
        this.endTag('array');
        return arr;
      }
      case 'string':
        return this.text(tag);
      case 'integer': {
        const t = this.text(tag).trim();
        if (!INTEGER.test(t)) fail('malformed <integer>');
        return Number(t);
      }
      case 'real': {
        const t = this.text(tag).trim();
        if (REAL.test(t)) return Number(t);
        const special = REAL_SPECIAL.exec(t);
        if (!special) fail('malformed <real>');
        const sign = special![1] === '-' ? -1 : 1;
        return special![2]!.toLowerCase() === 'nan' ? NaN : sign * Infinity;
      }
      case 'true':
      case 'false':
        if (!tag.empty) {
          this.skipMisc();
          this.endTag(tag.name);
        }
        return tag.name === 'true';
      case 'date': {
        const t = this.text(tag).trim();
        const d = DATE.test(t) ? new Date(t) : undefined;
        if (!d || Number.isNaN(d.getTime())) fail('malformed <date>');
        return d!;
      }
      case 'data': {
        const t = this.text(tag).replace(/[ \t\n\r]+/g, '');
        if (!BASE64.test(t) || t.length % 4 === 1) fail('malformed <data>');
        return Buffer.from(t, 'base64');
      }
      default:
        return fail(`unexpected <${tag.name}>`);
    }
  }

  private dict(tag: Tag, depth: number): PlistDict {
    const dict: PlistDict = {};
    if (tag.empty) return dict;
    for (;;) {
      this.skipMisc();
      if (this.atEndTag()) break;
      const keyTag = this.startTag();
      if (keyTag.name !== 'key') fail('expected <key> in <dict>');
      const key = this.text(keyTag);
      this.skipMisc();
      if (this.atEndTag()) fail(`key ${JSON.stringify(key)} has no value`);
      setKey(dict, key, this.value(depth + 1));
    }
    this.endTag('dict');
    return dict;
  }
}

function setKey(dict: PlistDict, key: string, value: PlistValue): void {
  // Duplicate keys are where two parsers may disagree about a message; refuse them.
  if (key === '__proto__') fail('__proto__ key not allowed');
  if (Object.prototype.hasOwnProperty.call(dict, key)) fail(`duplicate key ${JSON.stringify(key.slice(0, 64))}`);
  dict[key] = value;
}

// ---------------------------------------------------------------------------------------------
// Binary reader (bplist00), bounds-checked

const APPLE_EPOCH_MS = 978307200000; // 2001-01-01T00:00:00Z

function readBinaryPlist(buf: Buffer): PlistValue {
  const len = buf.length;
  if (len < 8 + 1 + 32) fail('binary plist too short');
  const t = len - 32;
  const offsetSize = buf[t + 6]!;
  const refSize = buf[t + 7]!;
  if (offsetSize < 1 || offsetSize > 8 || refSize < 1 || refSize > 8) fail('bad binary plist trailer');
  const numObjects = uint(buf, t + 8, 8);
  const top = uint(buf, t + 16, 8);
  const tableOffset = uint(buf, t + 24, 8);
  if (numObjects < 1 || top >= numObjects || tableOffset < 9 || tableOffset + numObjects * offsetSize > t) {
    fail('bad binary plist trailer');
  }
  const offsetOf = (ref: number): number => {
    if (ref >= numObjects) fail('object reference out of range');
    const off = uint(buf, tableOffset + ref * offsetSize, offsetSize);
    if (off < 8 || off >= tableOffset) fail('object offset out of range');
    return off;
  };
  // Shared references are legal (CF de-duplicates strings), but expanding them must stay linear
  // in the input: cap the total number of expanded objects.
  let budget = Math.max(10_000, 8 * numObjects);
  const onPath = new Set<number>();
  const leaves = new Map<number, PlistValue>(); // decoded strings/data/numbers, shared safely

  const sized = (off: number, marker: number): { size: number; start: number } => {
    const low = marker & 0x0f;
    if (low !== 0x0f) return { size: low, start: off + 1 };
    const intMarker = byte(buf, off + 1, t);
    if (intMarker >> 4 !== 0x1 || (intMarker & 0x0f) > 3) fail('bad length marker');
    const n = 1 << (intMarker & 0x0f);
    return { size: uint(buf, off + 2, n, t), start: off + 2 + n };
  };
  const span = (start: number, bytes: number): Buffer => {
    if (bytes > t - start) fail('object runs past the end');
    return buf.subarray(start, start + bytes);
  };

  const read = (ref: number, depth: number): PlistValue => {
    if (--budget < 0) fail('too many objects');
    if (depth > MAX_DEPTH) fail('nesting too deep');
    const cached = leaves.get(ref);
    if (cached !== undefined) return cached;
    const off = offsetOf(ref);
    const marker = buf[off]!;
    const type = marker >> 4;
    let leaf: PlistValue;
    switch (type) {
      case 0x0:
        if (marker === 0x08) return false;
        if (marker === 0x09) return true;
        return fail('unsupported binary plist singleton');
      case 0x1: {
        const n = 1 << (marker & 0x0f);
        if (n > 8) fail('integer too wide');
        const b = span(off + 1, n);
        leaf = n === 8 ? Number(b.readBigInt64BE(0)) : b.readUIntBE(0, n);
        break;
      }
      case 0x2: {
        const n = 1 << (marker & 0x0f);
        if (n === 4) leaf = span(off + 1, 4).readFloatBE(0);
        else if (n === 8) leaf = span(off + 1, 8).readDoubleBE(0);
        else return fail('bad real size');
        break;
      }
      case 0x3: {
        if (marker !== 0x33) fail('bad date marker');
        const d = new Date(APPLE_EPOCH_MS + span(off + 1, 8).readDoubleBE(0) * 1000);
        if (Number.isNaN(d.getTime())) fail('bad date');
        return d; // Dates are mutable objects: never shared
      }
      case 0x4: {
        const { size, start } = sized(off, marker);
        leaf = Buffer.from(span(start, size));
        break;
      }
      case 0x5: {
        const { size, start } = sized(off, marker);
        const b = span(start, size);
        for (const c of b) if (c > 0x7f) fail('non-ASCII byte in ASCII string');
        leaf = b.toString('latin1');
        break;
      }
      case 0x6: {
        const { size, start } = sized(off, marker);
        if (size > (t - start) / 2) fail('object runs past the end');
        const b = Buffer.from(span(start, size * 2));
        b.swap16(); // UTF-16BE → LE for Buffer's decoder
        leaf = b.toString('utf16le');
        if (FORBIDDEN_CHARS.test(leaf)) fail('forbidden character in string');
        break;
      }
      case 0xa:
      case 0xd: {
        const { size, start } = sized(off, marker);
        const count = type === 0xd ? size * 2 : size;
        if (count > (t - start) / refSize) fail('object runs past the end');
        if (onPath.has(ref)) fail('reference cycle');
        onPath.add(ref);
        const refAt = (k: number): number => uint(buf, start + k * refSize, refSize);
        let out: PlistValue;
        if (type === 0xa) {
          const arr: PlistValue[] = [];
          for (let k = 0; k < size; k++) arr.push(read(refAt(k), depth + 1));
          out = arr;
        } else {
          const dict: PlistDict = {};
          for (let k = 0; k < size; k++) {
            const key = read(refAt(k), depth + 1);
            if (typeof key !== 'string') fail('dictionary key is not a string');
            setKey(dict, key as string, read(refAt(size + k), depth + 1));
          }
          out = dict;
        }
        onPath.delete(ref);
        return out;
      }
      default:
        return fail(`unsupported binary plist object type 0x${type.toString(16)}`);
    }
    leaves.set(ref, leaf);
    return leaf;
  };
  return read(top, 1);
}

function byte(buf: Buffer, at: number, limit: number): number {
  if (at >= limit) fail('object runs past the end');
  return buf[at]!;
}

/** Unsigned big-endian integer of 1..8 bytes; values beyond 2^53 are refused. */
function uint(buf: Buffer, at: number, n: number, limit = buf.length): number {
  if (at < 0 || at + n > limit) fail('object runs past the end');
  if (n <= 6) return buf.readUIntBE(at, n);
  const v = n === 8 ? buf.readBigUInt64BE(at) : BigInt(buf.readUIntBE(at, 1)) * 2n ** 48n + BigInt(buf.readUIntBE(at + 1, 6));
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('integer out of range');
  return Number(v);
}

// ---------------------------------------------------------------------------------------------
// Writer

const XML_HEADER =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
  '<plist version="1.0">\n';

/**
 * Serializes a value as an XML plist with Apple's DOCTYPE. Buffers and other byte views become
 * <data>, Dates <date>, whole numbers <integer> and other finite numbers <real> (1.5 stays real),
 * bigint <integer>. Object properties that are `undefined` are left out (optional fields); null,
 * non-finite numbers, functions, class instances and unpaired surrogates are refused with a
 * PlistError naming the path.
 */
export function buildPlist(value: unknown): string {
  const out: string[] = [XML_HEADER];
  writeValue(out, value, '', 0, '(root)');
  out.push('</plist>\n');
  return out.join('');
}

function escapeXml(s: string, path: string): string {
  if (FORBIDDEN_CHARS.test(s)) throw new PlistError(`${path}: string contains a character XML cannot carry`);
  // \r is escaped because XML parsers turn a raw CR into LF.
  return s.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

function writeValue(out: string[], v: unknown, indent: string, depth: number, path: string): void {
  if (depth > MAX_DEPTH) throw new PlistError(`${path}: nesting too deep (or a cycle)`);
  switch (typeof v) {
    case 'string':
      out.push(indent, '<string>', escapeXml(v, path), '</string>\n');
      return;
    case 'boolean':
      out.push(indent, v ? '<true/>\n' : '<false/>\n');
      return;
    case 'bigint':
      out.push(indent, '<integer>', v.toString(), '</integer>\n');
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new PlistError(`${path}: ${v} is not a plist number`);
      if (Number.isInteger(v)) out.push(indent, '<integer>', BigInt(v).toString(), '</integer>\n');
      else out.push(indent, '<real>', String(v), '</real>\n');
      return;
    case 'object':
      break;
    default:
      throw new PlistError(`${path}: ${typeof v} is not a plist value`);
  }
  if (v === null) throw new PlistError(`${path}: null is not a plist value`);
  if (ArrayBuffer.isView(v)) {
    const b64 = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    out.push(indent, '<data>', b64, '</data>\n');
  } else if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new PlistError(`${path}: invalid Date`);
    out.push(indent, '<date>', v.toISOString().replace(/\.\d{3}Z$/, 'Z'), '</date>\n');
  } else if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(indent, '<array/>\n');
      return;
    }
    out.push(indent, '<array>\n');
    for (let k = 0; k < v.length; k++) writeValue(out, v[k], indent + '\t', depth + 1, `${path}[${k}]`);
    out.push(indent, '</array>\n');
  } else {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      throw new PlistError(`${path}: ${proto?.constructor?.name ?? 'object'} is not a plist value`);
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) {
      out.push(indent, '<dict/>\n');
      return;
    }
    out.push(indent, '<dict>\n');
    for (const [k, x] of entries) {
      const p = path === '(root)' ? k : `${path}.${k}`;
      out.push(indent, '\t<key>', escapeXml(k, p), '</key>\n');
      writeValue(out, x, indent + '\t', depth + 1, p);
    }
    out.push(indent, '</dict>\n');
  }
}
