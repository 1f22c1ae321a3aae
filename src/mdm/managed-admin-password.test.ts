import { describe, expect, it } from 'vitest';
import { generatePassword } from './managed-admin-password.js';

describe('generatePassword', () => {
  it('makes passwords of the asked length from an unambiguous alphabet, each different', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword(20);
      expect(p).toHaveLength(20);
      expect(p).toMatch(/^[A-HJ-NP-Za-km-z2-9\-_.!#%+=]+$/);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[0-9]/);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
    expect(generatePassword(64)).toHaveLength(64);
  });

  it('refuses lengths outside 8 to 256', () => {
    expect(() => generatePassword(7)).toThrow(RangeError);
    expect(() => generatePassword(257)).toThrow(RangeError);
  });
});
