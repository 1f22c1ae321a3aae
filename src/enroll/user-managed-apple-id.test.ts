import { describe, expect, it } from 'vitest';
import { managedAppleIdOf, parseManagedAppleId, sameManagedAppleId } from './user-managed-apple-id.js';

describe('Managed Apple Accounts', () => {
  it('accepts user@fqdn, split at the last @', () => {
    expect(parseManagedAppleId('ann@acme.example')).toBe('ann@acme.example');
    expect(parseManagedAppleId('ann.o+work@appleid.acme.example')).toBe('ann.o+work@appleid.acme.example');
    expect(parseManagedAppleId('"a@b"@acme.example')).toBeUndefined();
    expect(parseManagedAppleId('a@b@acme.example')).toBeUndefined();
    expect(parseManagedAppleId(42)).toBeUndefined();
  });

  it('compares without regard to case', () => {
    expect(sameManagedAppleId('Ann@Acme.Example', 'ann@acme.example')).toBe(true);
    expect(sameManagedAppleId('ann@acme.example', 'bob@acme.example')).toBe(false);
  });

  it('takes the assigned account first, a directory user\'s e-mail next, and nothing for a local user without one', () => {
    expect(managedAppleIdOf({ source: 'local', email: 'ann@gmail.example', managedAppleId: 'ann@acme.example' })).toBe('ann@acme.example');
    expect(managedAppleIdOf({ source: 'idp-1', email: 'ann@acme.example', managedAppleId: null })).toBe('ann@acme.example');
    expect(managedAppleIdOf({ source: 'idp-1', email: 'not an address', managedAppleId: null })).toBeUndefined();
    expect(managedAppleIdOf({ source: 'local', email: 'ann@gmail.example', managedAppleId: null })).toBeUndefined();
  });
});
