import { describe, expect, it } from 'vitest';
import { discover } from './user-discovery.js';

const base = 'https://mdm.acme.example';

describe('account-driven service discovery', () => {
  it('answers any well-formed account with the BYOD server at the public URL', () => {
    const a = discover({ 'user-identifier': 'ann@acme.example', 'model-family': 'iPhone' }, base);
    expect(a).toEqual({
      kind: 'servers', userIdentifier: 'ann@acme.example', modelFamily: 'iPhone',
      body: { Servers: [{ Version: 'mdm-byod', BaseURL: 'https://mdm.acme.example/enroll/user/account' }] },
    });
    expect(discover({ 'user-identifier': 'bob@other.example.org' }, base).kind).toBe('servers');
  });

  it.each(['iPad', 'iPhone', 'Mac', 'RealityDevice'])('offers user enrollment to %s', (family) => {
    expect(discover({ 'user-identifier': 'ann@acme.example', 'model-family': family }, base).kind).toBe('servers');
  });

  it.each(['AppleTV', 'Watch'])('refuses %s with com.apple.well-known.failed', (family) => {
    const a = discover({ 'user-identifier': 'ann@acme.example', 'model-family': family }, base);
    expect(a).toMatchObject({ kind: 'refused', body: { code: 'com.apple.well-known.failed' } });
  });

  it.each<[string, Record<string, unknown>]>([
    ['no user-identifier', { 'model-family': 'iPhone' }],
    ['no @', { 'user-identifier': 'ann' }],
    ['empty user part', { 'user-identifier': '@acme.example' }],
    ['no domain', { 'user-identifier': 'ann@' }],
    ['a bare host', { 'user-identifier': 'ann@localhost' }],
    ['an IP address', { 'user-identifier': 'ann@10.0.0.1' }],
    ['whitespace', { 'user-identifier': 'ann smith@acme.example' }],
    ['markup', { 'user-identifier': '<script>@acme.example' }],
    ['control characters', { 'user-identifier': 'ann\u0000@acme.example' }],
    ['too long', { 'user-identifier': `${'a'.repeat(250)}@acme.example` }],
    ['repeated parameter', { 'user-identifier': ['ann@acme.example', 'bob@acme.example'] }],
    ['unknown model family', { 'user-identifier': 'ann@acme.example', 'model-family': 'Toaster' }],
    ['repeated model family', { 'user-identifier': 'ann@acme.example', 'model-family': ['iPhone', 'iPad'] }],
  ])('refuses %s as a bad request', (_name, query) => {
    expect(discover(query, base).kind).toBe('bad-request');
  });
});
