import { readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildBinary, parse as plist5Parse } from 'plist';
import { buildPlist, parsePlist, PlistError, type PlistValue } from './plist.js';

const FIXTURES = new URL('../../test/fixtures/apple/', import.meta.url);
const fixtureDirs = ['mdm-samples/checkin', 'mdm-samples/command-results', 'mdm-samples/commands', 'mdm-samples/profiles', 'third-party-client-session/mdm'];
const samples: Array<[string, Buffer]> = fixtureDirs.flatMap((d) =>
  readdirSync(new URL(d, FIXTURES))
    .filter((f) => /\.(plist|mobileconfig)$/.test(f))
    .map((f): [string, Buffer] => [`${d}/${f}`, readFileSync(new URL(`${d}/${f}`, FIXTURES))]),
);

/** plist 5 gives Uint8Array for <data>; ours gives Buffer. */
const toBuffers = (v: unknown): unknown =>
  v instanceof Uint8Array ? Buffer.from(v)
  : Array.isArray(v) ? v.map(toBuffers)
  : v && typeof v === 'object' && !(v instanceof Date) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toBuffers(x)]))
  : v;

const wrap = (inner: string, prolog = '') => `<?xml version="1.0" encoding="UTF-8"?>${prolog}<plist version="1.0">${inner}</plist>`;

function expectPlistError(body: Buffer | string, reason?: RegExp): void {
  let thrown: unknown;
  try {
    parsePlist(body);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(PlistError);
  if (reason) expect((thrown as Error).message).toMatch(reason);
}

/** A hand-assembled bplist00: objects are encoded bytes, references are 1 byte, offsets 2 bytes. */
function bplist(objects: Buffer[], top = 0): Buffer {
  const parts: Buffer[] = [Buffer.from('bplist00')];
  const offsets: number[] = [];
  let at = 8;
  for (const o of objects) {
    offsets.push(at);
    parts.push(o);
    at += o.length;
  }
  const table = Buffer.alloc(offsets.length * 2);
  offsets.forEach((o, k) => table.writeUInt16BE(o, k * 2));
  const trailer = Buffer.alloc(32);
  trailer[6] = 2;
  trailer[7] = 1;
  trailer.writeBigUInt64BE(BigInt(objects.length), 8);
  trailer.writeBigUInt64BE(BigInt(top), 16);
  trailer.writeBigUInt64BE(BigInt(at), 24);
  return Buffer.concat([...parts, table, trailer]);
}

describe('parsePlist on recorded messages', () => {
  it.each(samples)('%s parses like plist 5 and survives a round trip', (_name, body) => {
    const ours = parsePlist(body);
    expect(ours).toEqual(toBuffers(plist5Parse(body.toString('utf8'))));
    expect(parsePlist(buildPlist(ours))).toEqual(ours);
    expect(parsePlist(body.toString('utf8'))).toEqual(ours);
  });

  it('types values: data as Buffer, numeric character references decoded', () => {
    const tu = parsePlist(readFileSync(new URL('mdm-samples/checkin/TokenUpdate.1.plist', FIXTURES)));
    expect(Buffer.isBuffer(tu.Token)).toBe(true);
    expect((tu.Token as Buffer).length).toBe(32);
    expect(tu.AwaitingConfiguration).toBe(false);
    const auth = parsePlist(readFileSync(new URL('third-party-client-session/mdm/01-Authenticate.request.plist', FIXTURES)));
    expect(auth.DeviceName).toBe("NPQWVPKAW5YT's Computer");
    const err = parsePlist(readFileSync(new URL('mdm-samples/command-results/resp-error.plist', FIXTURES)));
    expect((err.ErrorChain as Array<Record<string, PlistValue>>)[0]!.ErrorCode).toBe(-909);
  });

  it('reads binary plists (bplist00) as Buffers', () => {
    const xml = parsePlist(readFileSync(new URL('mdm-samples/command-results/secinfo.plist', FIXTURES)));
    expect(parsePlist(Buffer.from(buildBinary(xml as never)))).toEqual(xml);
    const v = parsePlist(
      Buffer.from(buildBinary({ s: 'héllo ✓', n: -5, big: 2 ** 40, r: 1.25, t: true, d: new Date('2020-01-01T00:00:00Z'), b: new Uint8Array([1, 2, 3]) } as never)),
    );
    expect(v).toEqual({ s: 'héllo ✓', n: -5, big: 2 ** 40, r: 1.25, t: true, d: new Date('2020-01-01T00:00:00Z'), b: Buffer.from([1, 2, 3]) });
  });

  it('accepts the XML that other writers produce: BOM, comments, CDATA, CRLF, single quotes', () => {
    const body = '\uFEFF<?xml version=\'1.0\' encoding=\'utf-8\'?>\r\n<!-- hi --><!DOCTYPE plist SYSTEM "x.dtd">\r\n<plist>\r\n<dict><key>a</key><string><![CDATA[<x>&y]]> &amp; b\r\nc</string><key>e</key><dict/><key>f</key><array/><key>g</key><true></true><key>r</key><real>-1.5e3</real></dict></plist>\r\n';
    expect(parsePlist(body)).toEqual({ a: '<x>&y & b\nc', e: {}, f: [], g: true, r: -1500 });
    expect(parsePlist('\n  ' + wrap('<dict/>'))).toEqual({});
  });

  it('accepts names with every allowed character, whitespace inside tags, and paired surrogates', () => {
    const body = '<?xml version="1.0"?>\n<!DOCTYPE\tplist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "x">\n<plist version = "1.0" x_y:z.w-1=\'2\' >\r\n\t<dict\n><key >a</key\t><string>\uD83D\uDE00 ok</string ><key>b</key><true\r\n/></dict></plist>';
    expect(parsePlist(body)).toEqual({ a: '\uD83D\uDE00 ok', b: true });
    expect(parsePlist(Buffer.from(body))).toEqual({ a: '\uD83D\uDE00 ok', b: true });
  });
});

describe('parsePlist refuses hostile or malformed input', () => {
  const dict = '<dict><key>a</key><string>x</string></dict>';
  it.each([
    ['internal DTD subset', wrap(dict, '<!DOCTYPE plist [ <!ELEMENT plist ANY> ]>'), /internal subset|not allowed/],
    ['billion laughs', wrap('<dict><key>a</key><string>&lol9;</string></dict>', '<!DOCTYPE plist [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'), /entity/],
    ['external entity (XXE)', wrap('<dict><key>a</key><string>&xxe;</string></dict>', '<!DOCTYPE plist [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'), /entity/],
    ['undeclared entity reference', wrap('<dict><key>a</key><string>&foo;</string></dict>'), /entity reference &foo; not allowed/],
    ['bare ampersand', wrap('<dict><key>a</key><string>a & b</string></dict>'), /bare &/],
    ['char ref to NUL', wrap('<dict><key>a</key><string>&#0;</string></dict>'), /forbidden/],
    ['raw control character', wrap('<dict><key>a</key><string>\u0001</string></dict>'), /forbidden character/],
    ['top-level array', wrap('<array/>'), /not a dictionary/],
    ['top-level string', wrap('<string>x</string>'), /not a dictionary/],
    ['empty plist', wrap(''), /empty <plist>/],
    ['root is not plist', `<dict>${dict}</dict>`, /root element/],
    ['mismatched tags', wrap('<dict><key>a</key><string>x</dict></plist>'), /mismatched|expected/],
    ['key without value', wrap('<dict><key>a</key></dict>'), /has no value/],
    ['value without key', wrap('<dict><string>x</string></dict>'), /expected <key>/],
    ['duplicate key', wrap('<dict><key>a</key><true/><key>a</key><false/></dict>'), /duplicate key/],
    ['__proto__ key', wrap('<dict><key>__proto__</key><dict><key>x</key><true/></dict></dict>'), /__proto__/],
    ['unknown element', wrap('<dict><key>a</key><null/></dict>'), /unexpected <null>/],
    ['text in dict', wrap('<dict>junk<key>a</key><true/></dict>'), /expected/],
    ['bad integer', wrap('<dict><key>a</key><integer>12x</integer></dict>'), /integer/],
    ['bad real', wrap('<dict><key>a</key><real>1..2</real></dict>'), /real/],
    ['bad date', wrap('<dict><key>a</key><date>yesterday</date></dict>'), /date/],
    ['bad data', wrap('<dict><key>a</key><data>@@@@</data></dict>'), /data/],
    ['content after plist', wrap(dict) + '<x/>', /after <\/plist>/],
    ['UTF-16 declaration', `<?xml version="1.0" encoding="UTF-16"?><plist>${dict}</plist>`, /encoding/],
    ['binary plist text', 'bplist00xyz', /Buffer|too short/],
    ['deep nesting', wrap('<dict><key>a</key>' + '<array>'.repeat(200) + '</array>'.repeat(200) + '</dict>'), /too deep/],
    ['tag name starting with a digit', wrap('<dict><key>a</key><1x/></dict>'), /expected a name/],
    ['empty tag name', wrap('<dict><key>a</key>< true/></dict>'), /expected a name/],
    ['attribute without whitespace', '<plist version="1.0"x="1"><dict/></plist>', /malformed <plist> tag/],
    ['DOCTYPE without whitespace', wrap(dict, '<!DOCTYPEplist>'), /expected whitespace/],
    ['U+FFFE', wrap('<dict><key>a</key><string>\uFFFE</string></dict>'), /forbidden character/],
  ])('%s', (_name, body, reason) => {
    expectPlistError(body, reason);
    expectPlistError(Buffer.from(body), reason);
  });

  it('refuses unpaired surrogates in string input (UTF-8 bytes cannot carry them)', () => {
    expectPlistError(wrap('<dict><key>a</key><string>\uD800x</string></dict>'), /forbidden character/);
    expectPlistError(wrap('<dict><key>a</key><string>x\uDC00</string></dict>'), /forbidden character/);
  });

  it('refuses non-UTF-8 bytes', () => {
    expectPlistError(Buffer.concat([Buffer.from(wrap('<dict><key>a</key><string>')), Buffer.from([0xc3, 0x28]), Buffer.from('</string></dict>')]), /UTF-8/);
  });

  it('refuses a binary plist whose shared references expand exponentially, quickly', () => {
    const depth = 40;
    // object 0: { x: <object 1> }; object k (1..depth): [k+1, k+1]; object depth+1: "x"
    const objects = [Buffer.from([0xd1, depth + 1, 1])];
    for (let k = 1; k <= depth; k++) objects.push(Buffer.from([0xa2, k + 1, k + 1]));
    objects.push(Buffer.from([0x51, 0x78]));
    const started = Date.now();
    expectPlistError(bplist(objects), /too many objects/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses binary plist cycles, bad trailers, UIDs and non-string keys', () => {
    expectPlistError(bplist([Buffer.from([0xd1, 1, 2]), Buffer.from([0x51, 0x61]), Buffer.from([0xa1, 2])]), /cycle/);
    expectPlistError(bplist([Buffer.from([0xd1, 1, 2]), Buffer.from([0x51, 0x61]), Buffer.from([0x80, 1])]), /unsupported/);
    expectPlistError(bplist([Buffer.from([0xd1, 1, 1]), Buffer.from([0x10, 5])]), /key is not a string/);
    expectPlistError(bplist([Buffer.from([0xd1, 1, 9]), Buffer.from([0x51, 0x61])]), /out of range/);
    const good = bplist([Buffer.from([0xd1, 1, 2]), Buffer.from([0x51, 0x61]), Buffer.from([0x09])]);
    expect(parsePlist(good)).toEqual({ a: true });
    const bad = Buffer.from(good);
    bad.writeBigUInt64BE(2n ** 62n, bad.length - 24); // numObjects
    expectPlistError(bad, /integer out of range|trailer/);
  });
});

describe('buildPlist', () => {
  it('writes Apple-style XML with integers, reals, data, dates and escaping', () => {
    const xml = buildPlist({ i: 3, r: 1.5, neg: -2, big: 2n ** 70n, d: Buffer.from('hi'), u8: new Uint8Array([255]), at: new Date('2026-01-02T03:04:05.678Z'), s: 'a<b>&c\r\n', t: true, e: [], o: {}, skip: undefined });
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n<dict>\n')).toBe(true);
    expect(xml).toContain('<integer>3</integer>');
    expect(xml).toContain('<real>1.5</real>');
    expect(xml).toContain('<integer>1180591620717411303424</integer>');
    expect(xml).toContain('<data>aGk=</data>');
    expect(xml).toContain('<data>/w==</data>');
    expect(xml).toContain('<date>2026-01-02T03:04:05Z</date>');
    expect(xml).toContain('<string>a&lt;b&gt;&amp;c&#13;\n</string>');
    expect(xml).not.toContain('skip');
    const back = parsePlist(xml);
    expect(back.s).toBe('a<b>&c\r\n');
    expect(back.r).toBe(1.5);
    expect(back.u8).toEqual(Buffer.from([255]));
  });

  it.each([
    [{ a: null }, /^a: null/],
    [{ a: [1, undefined] }, /^a\[1\]: undefined/],
    [{ a: { b: NaN } }, /^a\.b: NaN/],
    [{ a: () => 1 }, /function/],
    [{ a: new Map() }, /Map is not a plist value/],
    [{ a: new Date('x') }, /invalid Date/],
    [{ a: '\uD800' }, /character XML cannot carry/],
  ])('refuses %o', (value, reason) => {
    expect(() => buildPlist(value)).toThrow(PlistError);
    expect(() => buildPlist(value)).toThrow(reason);
  });

  it('refuses cycles', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => buildPlist(a)).toThrow(/too deep/);
  });
});

describe('parsePlist fuzz: only PlistError escapes', () => {
  const tryParse = (b: Buffer) => {
    try {
      parsePlist(b);
    } catch (err) {
      if (!(err instanceof PlistError)) throw new Error(`non-PlistError for input ${b.toString('base64')}: ${String(err)}`);
    }
  };
  const binarySample = Buffer.from(buildBinary(parsePlist(samples[0]![1]) as never));
  const bodies = [...samples.map(([, b]) => b), binarySample];

  it('random bytes, with and without a bplist00 header', () => {
    for (let k = 0; k < 2000; k++) {
      const r = randomBytes(1 + (k % 200));
      tryParse(r);
      tryParse(Buffer.concat([Buffer.from('bplist00'), r]));
      tryParse(Buffer.concat([Buffer.from('<?xml version="1.0"?><plist><dict>'), r]));
    }
  });

  it('truncations and bit flips of real samples', () => {
    for (const body of bodies) {
      for (let cut = 0; cut < body.length; cut += 7) tryParse(body.subarray(0, cut));
      for (let k = 0; k < 300; k++) {
        const m = Buffer.from(body);
        const at = Math.floor(Math.random() * m.length);
        m[at] = m[at]! ^ (1 << Math.floor(Math.random() * 8));
        tryParse(m);
      }
    }
  });
});
