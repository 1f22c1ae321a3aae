import { describe, expect, it } from 'vitest';
import { checkPasswordPolicy, hashPassword, MIN_PASSWORD_LENGTH, PasswordPolicyError, verifyPassword } from './password.js';

const cheap = { N: 1024, r: 8, p: 1 };

describe('password hashing', () => {
  it('produces a self-describing scrypt string that verifies', async () => {
    const stored = await hashPassword('correct horse battery', cheap);
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same password!', cheap)).not.toBe(await hashPassword('same password!', cheap));
  });

  it('uses the default cost when none is given, and verifies with the stored parameters', async () => {
    const stored = await hashPassword('a default-cost password');
    expect(stored.startsWith('scrypt$32768$8$1$')).toBe(true);
    expect(await verifyPassword('a default-cost password', stored)).toBe(true);
  });

  it('refuses malformed or hostile stored strings without throwing', async () => {
    for (const bad of ['', 'plain', 'bcrypt$x', 'scrypt$1000$8$1$c2FsdA$aGFzaA', 'scrypt$4194304$8$1$c2FsdHNhbHQ$' + 'A'.repeat(43), 'scrypt$1024$8$1$$']) {
      expect(await verifyPassword('whatever password', bad)).toBe(false);
    }
  });

  it('enforces the minimum length with a readable message', () => {
    expect(() => checkPasswordPolicy('short')).toThrow(PasswordPolicyError);
    expect(() => checkPasswordPolicy('x'.repeat(MIN_PASSWORD_LENGTH - 1))).toThrow(/at least 12 characters/);
    expect(() => checkPasswordPolicy('x'.repeat(MIN_PASSWORD_LENGTH))).not.toThrow();
    expect(() => checkPasswordPolicy('x'.repeat(2000))).toThrow(/at most/);
  });
});

describe('argon2id', () => {
  it('hashes with argon2id and verifies through the same entry point', async () => {
    const { hashPasswordArgon2 } = await import('./password.js');
    const h = await hashPasswordArgon2('correct horse battery');
    expect(h).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('correct horse batterz', h)).toBe(false);
    expect(await verifyPassword('x', '$argon2id$garbage')).toBe(false);
  });
});
