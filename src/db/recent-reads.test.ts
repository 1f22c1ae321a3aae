import { describe, expect, it } from 'vitest';
import { RecentReads } from './recent-reads.js';

function counter() {
  let n = 0;
  return { load: async () => ++n, get calls() { return n; } };
}

describe('recent reads', () => {
  it('keeps a read for ttlMs, then reads again; clear() drops everything at once', async () => {
    let now = 1000;
    const recent = new RecentReads(500, () => now);
    const c = counter();
    expect(await recent.read('k', c.load)).toBe(1);
    now += 499;
    expect(await recent.read('k', c.load)).toBe(1);
    now += 1;
    expect(await recent.read('k', c.load)).toBe(2);
    recent.clear();
    expect(await recent.read('k', c.load)).toBe(3);
    expect(await recent.read('other', c.load)).toBe(4);
  });

  it('shares one load between concurrent readers of a key', async () => {
    const recent = new RecentReads(1000);
    const c = counter();
    expect(await Promise.all([recent.read('k', c.load), recent.read('k', c.load)])).toEqual([1, 1]);
    expect(c.calls).toBe(1);
  });

  it('does not keep a failed read', async () => {
    const recent = new RecentReads(1000);
    await expect(recent.read('k', () => Promise.reject(new Error('database down')))).rejects.toThrow('database down');
    expect(await recent.read('k', async () => 'read again')).toBe('read again');
  });

  it('keeps nothing with ttlMs 0, and drops all when more keys than maxKeys', async () => {
    const c = counter();
    const off = new RecentReads(0);
    await off.read('k', c.load);
    expect(await off.read('k', c.load)).toBe(2);
    const small = new RecentReads(1000, Date.now, 2);
    const d = counter();
    await small.read('a', d.load);
    await small.read('b', d.load);
    await small.read('c', d.load); // a third key: a and b are dropped
    expect(await small.read('a', d.load)).toBe(4);
  });
});
