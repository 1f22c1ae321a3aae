import { describe, expect, it } from 'vitest';
import { pooledRandomBytes } from './random.js';

describe('pooled random bytes', () => {
  it('gives each caller fresh bytes of the size asked, across pool refills and for large sizes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const b = pooledRandomBytes(16 + (i % 17));
      expect(b.length).toBe(16 + (i % 17));
      seen.add(b.toString('hex'));
    }
    expect(seen.size).toBe(2000);
    expect(pooledRandomBytes(5000).length).toBe(5000);
  });

  it('hands out a copy: changing it changes no other value', () => {
    const a = pooledRandomBytes(32);
    const before = Buffer.from(a);
    const b = pooledRandomBytes(32);
    b.fill(0);
    expect(a.equals(before)).toBe(true);
  });

  it('is not visibly biased (each bit set about half the time)', () => {
    const counts = new Array(8).fill(0);
    const n = 20000;
    for (const byte of Buffer.concat(Array.from({ length: n / 16 }, () => pooledRandomBytes(16)))) for (let bit = 0; bit < 8; bit++) counts[bit] += (byte >> bit) & 1;
    for (const c of counts) expect(Math.abs(c / n - 0.5)).toBeLessThan(0.03);
  });
});
