import { describe, expect, it } from 'vitest';
import { buildBinaryPlist, BinaryPlistError } from './binary-plist.js';
import { parsePlist } from './plist.js';

describe('buildBinaryPlist', () => {
  it('writes a bplist00 file our strict reader reads back', () => {
    const value = {
      name: 'Jane', empty: '', unicode: 'Zoë – 東京', yes: true, no: false,
      small: 7, byte: 255, short: 65_535, int: 70_000, big: 2 ** 40, negative: -3,
      data: Buffer.from([0, 1, 2, 255]), list: [1, 'two', [Buffer.alloc(0)]], nested: { deeper: { x: 1 } },
    };
    const bytes = buildBinaryPlist(value);
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('bplist00');
    expect(parsePlist(bytes)).toEqual(value);
  });

  it('uses extended counts and wider references past 14 items and 255 objects', () => {
    const long = 'x'.repeat(300);
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]));
    const value = { long, blob: Buffer.alloc(1000, 7), many };
    expect(parsePlist(buildBinaryPlist(value))).toEqual(value);
  });

  it('refuses what it cannot represent', () => {
    expect(() => buildBinaryPlist({ x: 1.5 })).toThrow(BinaryPlistError);
    expect(() => buildBinaryPlist({ x: 1.5 })).toThrow('(top).x: only integers');
  });
});
