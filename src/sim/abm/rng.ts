/**
 * A small seeded PRNG (mulberry32) so generated fleets, serials and probabilistic faults are
 * the same on every run with the same seed. Not for anything secret.
 */
export class Rng {
  private state: number;

  constructor(seed: number | string = 1) {
    this.state = typeof seed === 'number' ? seed >>> 0 : hashSeed(seed);
  }

  /** uniform in [0, 1) */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }

  /**
   * `prefix` + `n` characters drawn from `alphabet`, built from char codes so V8 stores one flat
   * string rather than a rope of concatenations (which adds up over 100,000 long-lived devices).
   */
  chars(alphabet: string, n: number, prefix = ''): string {
    const codes = new Array<number>(prefix.length + n);
    for (let i = 0; i < prefix.length; i++) codes[i] = prefix.charCodeAt(i);
    for (let i = 0; i < n; i++) codes[prefix.length + i] = alphabet.charCodeAt(this.int(alphabet.length));
    return String.fromCharCode(...codes);
  }

  hex(bytes: number): string {
    return this.chars('0123456789abcdef', bytes * 2);
  }

  digits(n: number): string {
    return this.chars('0123456789', n);
  }
}

function hashSeed(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
