import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildPlist, parsePlist } from './plist.js';
import { createPasswordHash, DEFAULT_ITERATIONS, parsePasswordHash, PasswordHashError, verifyPassword } from './password-hash.js';

describe('password hash (SALTED-SHA512-PBKDF2)', () => {
  it('is a binary plist with entropy, salt and iterations exactly as Apple describes', async () => {
    const salt = Buffer.alloc(32, 0x11);
    const bytes = await createPasswordHash('correct horse', { salt, iterations: 1000 });
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('bplist00');
    const dict = parsePlist(bytes);
    expect(Object.keys(dict)).toEqual(['SALTED-SHA512-PBKDF2']);
    const inner = dict['SALTED-SHA512-PBKDF2'] as Record<string, unknown>;
    expect(Object.keys(inner).sort()).toEqual(['entropy', 'iterations', 'salt']);
    expect(inner.salt).toEqual(salt);
    expect(inner.iterations).toBe(1000);
    // PBKDF2-HMAC-SHA512 with a 128-byte derived key, as macOS and MicroMDM compute it
    expect(inner.entropy).toEqual(pbkdf2Sync('correct horse', salt, 1000, 128, 'sha512'));
  });

  it('defaults to a fresh 32-byte salt and Apple-range iterations', async () => {
    const a = parsePasswordHash(await createPasswordHash('pw'));
    const b = parsePasswordHash(await createPasswordHash('pw'));
    expect(a.iterations).toBe(DEFAULT_ITERATIONS);
    expect(a.iterations).toBeGreaterThanOrEqual(20_000);
    expect(a.iterations).toBeLessThanOrEqual(40_000);
    expect(a.salt).toHaveLength(32);
    expect(a.salt.equals(b.salt)).toBe(false);
  });

  it('verifies the password it was made from and no other', async () => {
    const hash = parsePasswordHash(await createPasswordHash('Zoë-secret', { iterations: 500 }));
    expect(verifyPassword('Zoë-secret', hash)).toBe(true);
    expect(verifyPassword('zoë-secret', hash)).toBe(false);
  });

  it('reads the XML form too (what MicroMDM sends)', () => {
    const salt = Buffer.alloc(32, 3);
    const entropy = pbkdf2Sync('pw', salt, 10, 128, 'sha512');
    const xml = Buffer.from(buildPlist({ 'SALTED-SHA512-PBKDF2': { entropy, salt, iterations: 10 } }));
    expect(verifyPassword('pw', parsePasswordHash(xml))).toBe(true);
  });

  it('refuses malformed hashes with the reason', () => {
    const salt = Buffer.alloc(32);
    const bad = (v: unknown) => () => parsePasswordHash(Buffer.from(buildPlist(v)));
    expect(() => parsePasswordHash(Buffer.from('not a plist'))).toThrow(PasswordHashError);
    expect(bad({ 'SALTED-SHA1': {} })).toThrow('no SALTED-SHA512-PBKDF2 dictionary');
    expect(bad({ 'SALTED-SHA512-PBKDF2': { entropy: Buffer.alloc(0), salt, iterations: 1 } })).toThrow('entropy');
    expect(bad({ 'SALTED-SHA512-PBKDF2': { entropy: Buffer.alloc(128), salt: Buffer.alloc(16), iterations: 1 } })).toThrow('salt must be 32 bytes');
    expect(bad({ 'SALTED-SHA512-PBKDF2': { entropy: Buffer.alloc(128), salt, iterations: 0 } })).toThrow('iterations');
    expect(bad({ 'SALTED-SHA512-PBKDF2': { entropy: Buffer.alloc(128), salt, iterations: '40000' } })).toThrow('iterations');
  });

  it('refuses a salt of the wrong size when creating', async () => {
    await expect(createPasswordHash('x', { salt: Buffer.alloc(8) })).rejects.toThrow('32 bytes');
  });
});
