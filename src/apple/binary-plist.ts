// Binary property lists (`bplist00`), written. Apple asks for some values "converted to binary
// data" — the password hash of AccountConfiguration and SetAutoAdminPassword is a plist serialized
// the way CFPropertyListCreateData(kCFPropertyListBinaryFormat_v1_0) does. Only what Pomona sends
// is supported: dictionaries, arrays, strings, integers, booleans and data. The reader is
// `parsePlist` (src/apple/plist.ts), which accepts both forms.

export type BinaryPlistValue = string | number | boolean | Buffer | BinaryPlistValue[] | { [key: string]: BinaryPlistValue };

export class BinaryPlistError extends Error {
  override name = 'BinaryPlistError';
}

/** One object of the file: its bytes, or a container whose references are written once their size is known. */
type Slot = { bytes: Buffer } | { kind: 0xa0 | 0xd0; count: number; children: number[] };

/** Serializes `value` as a binary plist. Objects are written in the order met; nothing is shared. */
export function buildBinaryPlist(value: BinaryPlistValue): Buffer {
  const slots: Slot[] = [];
  const flatten = (v: BinaryPlistValue, path: string): number => {
    const ref = slots.length;
    slots.push({ bytes: Buffer.alloc(0) });
    if (Array.isArray(v)) {
      slots[ref] = { kind: 0xa0, count: v.length, children: v.map((item, i) => flatten(item, `${path}[${i}]`)) };
    } else if (Buffer.isBuffer(v)) {
      slots[ref] = { bytes: Buffer.concat([marker(0x40, v.length), v]) };
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v);
      const keys = entries.map(([k]) => flatten(k, path));
      const values = entries.map(([k, item]) => flatten(item, `${path}.${k}`));
      slots[ref] = { kind: 0xd0, count: entries.length, children: [...keys, ...values] };
    } else {
      slots[ref] = { bytes: scalar(v, path) };
    }
    return ref;
  };
  flatten(value, '(top)');

  const refSize = bytesFor(slots.length - 1);
  const encoded = slots.map((s) => ('bytes' in s ? s.bytes : Buffer.concat([marker(s.kind, s.count), ...s.children.map((c) => uintBytes(c, refSize))])));
  const header = Buffer.from('bplist00', 'latin1');
  const offsets: number[] = [];
  let at = header.length;
  for (const o of encoded) {
    offsets.push(at);
    at += o.length;
  }
  const offsetSize = bytesFor(at);
  const trailer = Buffer.alloc(32);
  trailer[6] = offsetSize;
  trailer[7] = refSize;
  trailer.writeBigUInt64BE(BigInt(encoded.length), 8);
  trailer.writeBigUInt64BE(0n, 16); // the top object is the first one written
  trailer.writeBigUInt64BE(BigInt(at), 24);
  return Buffer.concat([header, ...encoded, ...offsets.map((o) => uintBytes(o, offsetSize)), trailer]);
}

function scalar(v: string | number | boolean, path: string): Buffer {
  if (typeof v === 'boolean') return Buffer.from([v ? 0x09 : 0x08]);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new BinaryPlistError(`${path}: only integers are supported (got ${v})`);
    if (v >= 0) return integer(v);
    const b = Buffer.alloc(9);
    b[0] = 0x13; // negative integers are always 8 bytes
    b.writeBigInt64BE(BigInt(v), 1);
    return b;
  }
  if (typeof v === 'string') {
    // ASCII strings are stored as bytes; anything else as UTF-16 big-endian code units.
    if (/^[\x00-\x7f]*$/.test(v)) return Buffer.concat([marker(0x50, v.length), Buffer.from(v, 'latin1')]);
    const utf16 = Buffer.from(v, 'utf16le').swap16();
    return Buffer.concat([marker(0x60, utf16.length / 2), utf16]);
  }
  throw new BinaryPlistError(`${path}: unsupported value`);
}

/** An object marker with its count: in the low nibble, or 0xF followed by an integer object. */
function marker(kind: number, count: number): Buffer {
  return count < 15 ? Buffer.from([kind | count]) : Buffer.concat([Buffer.from([kind | 0x0f]), integer(count)]);
}

function integer(v: number): Buffer {
  const size = bytesFor(v);
  return Buffer.concat([Buffer.from([0x10 | Math.log2(size)]), uintBytes(v, size)]);
}

function bytesFor(max: number): 1 | 2 | 4 | 8 {
  return max <= 0xff ? 1 : max <= 0xffff ? 2 : max <= 0xffffffff ? 4 : 8;
}

function uintBytes(v: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  if (size === 8) b.writeBigUInt64BE(BigInt(v));
  else b.writeUIntBE(v, 0, size);
  return b;
}
