import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  OidcConfigError,
  OidcRelyingParty,
  OidcSignInError,
  OIDC_MESSAGES,
  identityFromClaims,
  redactOidcConfig,
  resolveOidcConfig,
  validateOidcConfig,
  type OidcConfig,
  type OidcFailure,
  type OidcPendingLogin,
  type OidcRelyingPartyOptions,
} from './oidc-provider.js';
import {
  decodeJwt,
  resignJwt,
  startTestOpenIdProvider,
  tamperJwt,
  type TestOpUser,
  type TestOpenIdProvider,
} from './oidc-test-op.js';

const REDIRECT = 'http://127.0.0.1:9/sso/oidc/callback';
const SECRET = 'client-secret-7f3a9c0e51d24b68';

const USERS: TestOpUser[] = [
  {
    sub: 'u-alice',
    preferred_username: 'alice',
    email: 'alice@example.test',
    email_verified: true,
    name: 'Alice Archer',
    groups: ['mdm-admins', 'staff'],
  },
  // no preferred_username: the username falls back to the (verified) address
  { sub: 'u-bob', email: 'bob@example.test', email_verified: true, name: 'Bob Baker' },
  // unverified address: the username falls back to sub
  { sub: 'u-carol', email: 'carol@example.test', email_verified: false },
];

const CLIENTS = [
  { client_id: 'pomona', client_secret: SECRET, redirect_uris: [REDIRECT] },
  { client_id: 'pomona-public', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' as const },
];

let op: TestOpenIdProvider;
const reasons: string[] = [];

beforeAll(async () => {
  op = await startTestOpenIdProvider({ users: USERS, clients: CLIENTS });
});
afterEach(() => {
  op.mode = 'forward';
  op.failStatus.clear();
  op.tokenResponseHook = undefined;
});
afterAll(async () => {
  await op?.close();
});

function config(overrides: Partial<OidcConfig> = {}, issuer = op.issuer): OidcConfig {
  return {
    id: 'corp-oidc',
    issuer,
    clientId: 'pomona',
    clientSecret: SECRET,
    redirectUri: REDIRECT,
    requestGroupsScope: true,
    ...overrides,
  };
}

function party(overrides: Partial<OidcConfig> = {}, opts: OidcRelyingPartyOptions = {}, issuer?: string): OidcRelyingParty {
  return new OidcRelyingParty(config(overrides, issuer), { allowInsecureLoopback: true, ...opts });
}

async function signIn(rp: OidcRelyingParty, login = 'u-alice', provider = op): Promise<{ callback: string; pending: OidcPendingLogin }> {
  const { redirectUrl, pending } = await rp.startLogin();
  const callback = await provider.authorize(redirectUrl, { login });
  return { callback, pending };
}

async function refusal(promise: Promise<unknown>, code: OidcFailure): Promise<OidcSignInError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a refusal with ${code}`).toBeInstanceOf(OidcSignInError);
  const error = caught as OidcSignInError;
  reasons.push(error.reason, error.message);
  expect(error.reason).toMatch(new RegExp(`^${code}: `));
  expect(error.code).toBe(code);
  return error;
}

function count(provider: TestOpenIdProvider, path: string): number {
  return provider.requests.filter((p) => p === path).length;
}

/** A port that refuses connections: bound, then closed. */
async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('validateOidcConfig', () => {
  it('accepts a minimal config and a loopback http issuer', () => {
    expect(validateOidcConfig({ id: 'x', issuer: 'https://login.example.com/tenant', clientId: 'c', clientSecret: 's', redirectUri: 'https://mdm.example.com/sso/cb' })).toEqual([]);
    expect(validateOidcConfig({ id: 'x', issuer: 'http://127.0.0.1:8080', clientId: 'c', redirectUri: 'http://localhost:3000/cb' })).toEqual([]);
    expect(validateOidcConfig(config())).toEqual([]);
  });

  it('lists every problem with its path', () => {
    const problems = validateOidcConfig({
      issuer: 'http://idp.example.com/.well-known/openid-configuration?x=1',
      clientId: '',
      redirectUri: 'https://mdm.example.com/cb#frag',
      scopes: ['openid', 'a b', 'openid'],
      requestGroupsScope: 'yes',
      claims: { username: [], groups: 'two words', nickname: 'x' },
      clockSkewSeconds: -1,
      timeoutSeconds: 0,
      tokenEndpointAuthMethod: 'private_key_jwt',
      extra: 1,
    });
    const paths = problems.map((p) => p.path);
    for (const path of [
      'id', 'issuer', 'clientId', 'redirectUri', 'scopes.1', 'scopes.2', 'requestGroupsScope',
      'claims.username', 'claims.groups', 'claims.nickname', 'clockSkewSeconds', 'timeoutSeconds',
      'tokenEndpointAuthMethod', 'extra',
    ]) {
      expect(paths, path).toContain(path);
    }
    const issuer = problems.filter((p) => p.path === 'issuer').map((p) => p.message);
    expect(issuer).toContain('must use https (plain http only on loopback)');
    expect(issuer).toContain('must not have a query or a fragment');
    expect(issuer).toContain('is the Issuer Identifier, not the discovery document URL');
    expect(validateOidcConfig('nope')).toEqual([{ path: '', message: 'must be an object' }]);
  });

  it('matches the secret to the token endpoint auth method', () => {
    const base = { id: 'x', issuer: 'https://idp.example.com', clientId: 'c', redirectUri: 'https://mdm.example.com/cb' };
    expect(validateOidcConfig({ ...base, tokenEndpointAuthMethod: 'none', clientSecret: 's' })).toEqual([
      { path: 'clientSecret', message: 'must be empty for a public client (tokenEndpointAuthMethod none)' },
    ]);
    expect(validateOidcConfig({ ...base, tokenEndpointAuthMethod: 'client_secret_post' })).toEqual([
      { path: 'clientSecret', message: 'is required by client_secret_post' },
    ]);
  });

  it('applies the defaults', () => {
    const resolved = resolveOidcConfig({ id: 'x', issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 's', redirectUri: 'https://m.example.com/cb' });
    expect(resolved).toMatchObject({
      scopes: ['openid', 'email', 'profile'],
      claims: { username: ['preferred_username', 'email', 'sub'], email: 'email', displayName: 'name', groups: 'groups' },
      clockSkewSeconds: 60,
      tokenEndpointAuthMethod: 'client_secret_basic',
      timeoutSeconds: 10,
    });
    expect(resolveOidcConfig({ ...config(), clientSecret: undefined, scopes: ['email'] })).toMatchObject({
      scopes: ['openid', 'email', 'groups'],
      tokenEndpointAuthMethod: 'none',
    });
  });

  it('never shows the secret back, not even through the relying party', () => {
    const redacted = redactOidcConfig(config());
    expect(JSON.stringify(redacted)).not.toContain(SECRET);
    expect(redacted.clientSecretSet).toBe(true);
    expect(inspect(party(), { depth: 10, showHidden: true })).not.toContain(SECRET);
    expect(JSON.stringify(party())).not.toContain(SECRET);
  });

  it('refuses an invalid config, and plain http unless loopback is allowed explicitly', () => {
    expect(() => new OidcRelyingParty(config({ clientId: '' }))).toThrow(OidcConfigError);
    expect(() => new OidcRelyingParty(config())).toThrow(/allowInsecureLoopback/);
  });
});

describe('OidcRelyingParty against a real OpenID Provider (oidc-provider on loopback)', () => {
  it('signs a user in: code + PKCE S256, state, nonce, groups from userinfo', async () => {
    const rp = party();
    const before = op.requests.length;
    const { redirectUrl, pending } = await rp.startLogin({ loginHint: 'alice' });
    const url = new URL(redirectUrl);
    expect(url.origin + url.pathname).toBe(`${op.issuer}/auth`);
    const q = url.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe('pomona');
    expect(q.get('redirect_uri')).toBe(REDIRECT);
    expect(q.get('scope')).toBe('openid email profile groups');
    expect(q.get('state')).toBe(pending.state);
    expect(q.get('nonce')).toBe(pending.nonce);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toBe(createHash('sha256').update(pending.codeVerifier).digest('base64url'));
    expect(q.get('login_hint')).toBe('alice');
    expect(redirectUrl).not.toContain(SECRET);
    expect(redirectUrl).not.toContain(pending.codeVerifier);
    expect(pending.createdAt).toBeGreaterThan(Date.now() - 5000);

    const callback = await op.authorize(redirectUrl, { login: 'u-alice' });
    expect(callback.startsWith(`${REDIRECT}?`)).toBe(true);
    const identity = await rp.finishLogin(callback, pending);
    expect(identity).toEqual({
      provider: 'corp-oidc',
      subject: 'u-alice',
      username: 'alice',
      email: 'alice@example.test',
      displayName: 'Alice Archer',
      groups: ['mdm-admins', 'staff'],
    });
    // the OP (conformIdTokenClaims) put only sub in the ID token: the rest came from userinfo
    const seen = op.requests.slice(before);
    expect(seen).toContain('/token');
    expect(seen).toContain('/jwks');
    expect(seen).toContain('/me');
  });

  it('falls back from preferred_username to a verified email, then to sub', async () => {
    const rp = party();
    const bob = await signIn(rp, 'u-bob');
    expect(await rp.finishLogin(bob.callback, bob.pending)).toEqual({
      provider: 'corp-oidc', subject: 'u-bob', username: 'bob@example.test', email: 'bob@example.test', displayName: 'Bob Baker', groups: [],
    });
    const carol = await signIn(rp, 'u-carol');
    expect(await rp.finishLogin(carol.callback, carol.pending)).toEqual({
      provider: 'corp-oidc', subject: 'u-carol', username: 'u-carol', email: 'carol@example.test', groups: [],
    });
  });

  it('signs in with a public client (no secret, PKCE only) and accepts the callback as a path', async () => {
    const rp = party({ clientId: 'pomona-public', clientSecret: undefined });
    const { callback, pending } = await signIn(rp);
    const url = new URL(callback);
    const identity = await rp.finishLogin(url.pathname + url.search, pending);
    expect(identity.username).toBe('alice');
  });

  it('reads discovery once per instance', async () => {
    const rp = party();
    const before = count(op, '/.well-known/openid-configuration');
    for (let i = 0; i < 2; i++) {
      const { callback, pending } = await signIn(rp);
      await rp.finishLogin(callback, pending);
    }
    expect(count(op, '/.well-known/openid-configuration') - before).toBe(1);
  });

  it('refuses a callback whose state is not the login’s', async () => {
    const rp = party();
    const first = await signIn(rp);
    const second = await rp.startLogin();
    // the callback of one login presented with another login's stored values
    await refusal(rp.finishLogin(first.callback, second.pending), 'state_mismatch');
    const changed = new URL(first.callback);
    changed.searchParams.set('state', `${first.pending.state}x`);
    const error = await refusal(rp.finishLogin(changed, first.pending), 'state_mismatch');
    expect(error.message).toBe(OIDC_MESSAGES.verify);
    changed.searchParams.delete('state');
    await refusal(rp.finishLogin(changed, first.pending), 'state_mismatch');
  });

  it('refuses a replayed code', async () => {
    const rp = party();
    const { callback, pending } = await signIn(rp);
    await rp.finishLogin(callback, pending);
    const error = await refusal(rp.finishLogin(callback, pending), 'token_rejected');
    expect(error.reason).toContain('invalid_grant');
    expect(error.reason).not.toContain(new URL(callback).searchParams.get('code'));
  });

  it('refuses a code redeemed with another PKCE verifier (the OP enforces PKCE)', async () => {
    const rp = party();
    const { callback, pending } = await signIn(rp);
    const error = await refusal(rp.finishLogin(callback, { ...pending, codeVerifier: `${pending.codeVerifier}x` }), 'token_rejected');
    expect(error.reason).toContain('invalid_grant');
  });

  it('refuses a tampered ID token (payload changed, signature kept)', async () => {
    const rp = party();
    const { callback, pending } = await signIn(rp);
    op.tokenResponseHook = (body) => ({ ...body, id_token: tamperJwt(body.id_token as string, (p) => { p.sub = 'u-bob'; }) });
    const error = await refusal(rp.finishLogin(callback, pending), 'bad_signature');
    expect(error.message).toBe(OIDC_MESSAGES.verify);
  });

  it('refuses an ID token signed with a key the OP does not publish, reading the JWKS again once', async () => {
    const rp = party();
    const warm = await signIn(rp);
    await rp.finishLogin(warm.callback, warm.pending); // JWKS now cached
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

    // same kid as the OP's key: the cached key is used and the signature fails
    let login = await signIn(rp);
    op.tokenResponseHook = (body) => ({ ...body, id_token: resignJwt(body.id_token as string, () => {}, attacker) });
    let jwks = count(op, '/jwks');
    await refusal(rp.finishLogin(login.callback, login.pending), 'bad_signature');
    expect(count(op, '/jwks') - jwks).toBe(0);

    // unknown kid: the key set is fetched again (once), the kid is still unknown
    login = await signIn(rp);
    op.tokenResponseHook = (body) => ({ ...body, id_token: resignJwt(body.id_token as string, () => {}, attacker, 'attacker-kid') });
    jwks = count(op, '/jwks');
    await refusal(rp.finishLogin(login.callback, login.pending), 'bad_signature');
    expect(count(op, '/jwks') - jwks).toBe(1);
  });

  it('refuses ID tokens for another client or from another issuer, even when validly signed', async () => {
    const rp = party();
    let login = await signIn(rp);
    op.tokenResponseHook = (body) => ({ ...body, id_token: resignJwt(body.id_token as string, (p) => { p.aud = 'another-client'; }, op.keys[0]!) });
    await refusal(rp.finishLogin(login.callback, login.pending), 'wrong_audience');

    login = await signIn(rp);
    op.tokenResponseHook = (body) => ({ ...body, id_token: resignJwt(body.id_token as string, (p) => { p.aud = ['pomona', 'another-client']; }, op.keys[0]!) });
    await refusal(rp.finishLogin(login.callback, login.pending), 'wrong_audience');

    login = await signIn(rp);
    op.tokenResponseHook = (body) => ({ ...body, id_token: resignJwt(body.id_token as string, (p) => { p.iss = 'https://evil.example.com'; }, op.keys[0]!) });
    await refusal(rp.finishLogin(login.callback, login.pending), 'wrong_issuer');

    // mix-up: the callback claims another OP answered (RFC 9207 iss parameter)
    login = await signIn(rp);
    const mixed = new URL(login.callback);
    mixed.searchParams.set('iss', 'https://evil.example.com');
    await refusal(rp.finishLogin(mixed, login.pending), 'wrong_issuer');
    mixed.searchParams.delete('iss');
    await refusal(rp.finishLogin(mixed, login.pending), 'wrong_issuer');
  });

  it('refuses an expired ID token (fake clock: 5 minutes later, the token lived 2)', async () => {
    let now = Date.now();
    const rp = party({}, { now: () => now });
    const { callback, pending } = await signIn(rp);
    now += 5 * 60_000;
    const error = await refusal(rp.finishLogin(callback, pending), 'expired');
    expect(error.message).toBe(OIDC_MESSAGES.verify);
  });

  it('accepts an ID token within the allowed clock skew', async () => {
    let now = Date.now();
    const rp = party({ clockSkewSeconds: 300 }, { now: () => now });
    const { callback, pending } = await signIn(rp);
    now += 5 * 60_000; // 2 min lifetime + 5 min skew > 5 min
    expect((await rp.finishLogin(callback, pending)).username).toBe('alice');
  });

  it('refuses an ID token whose nonce is not the login’s', async () => {
    const rp = party();
    const { callback, pending } = await signIn(rp);
    await refusal(rp.finishLogin(callback, { ...pending, nonce: 'another-nonce' }), 'nonce_mismatch');
  });

  it('reports an error the OP sends back (the user aborted: access_denied)', async () => {
    const rp = party();
    const { redirectUrl, pending } = await rp.startLogin();
    const callback = await op.authorize(redirectUrl, { abort: true });
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    const error = await refusal(rp.finishLogin(callback, pending), 'op_error');
    expect(error.reason).toBe('op_error: access_denied (End-User aborted interaction)');
    expect(error.message).toBe(OIDC_MESSAGES.refused);
  });

  it('refuses a login that took too long, before talking to the OP', async () => {
    let now = Date.now();
    const rp = party({}, { now: () => now });
    const { callback, pending } = await signIn(rp);
    now += 11 * 60_000;
    const tokens = count(op, '/token');
    const error = await refusal(rp.finishLogin(callback, pending), 'login_expired');
    expect(error.message).toBe(OIDC_MESSAGES.expired);
    expect(count(op, '/token')).toBe(tokens);
  });

  it('refuses malformed callbacks and stored logins', async () => {
    const rp = party();
    const { callback, pending } = await signIn(rp);
    await refusal(rp.finishLogin('http://[not a url', pending), 'invalid_callback');
    const noCode = new URL(callback);
    noCode.searchParams.delete('code');
    await refusal(rp.finishLogin(noCode, pending), 'invalid_callback');
    const twice = new URL(callback);
    twice.searchParams.append('code', 'other');
    await refusal(rp.finishLogin(twice, pending), 'invalid_callback');
    await refusal(rp.finishLogin(callback, { ...pending, codeVerifier: '' }), 'invalid_pending');
    await refusal(rp.finishLogin(callback, null as unknown as OidcPendingLogin), 'invalid_pending');
    // the code was never redeemed: the real login still works
    expect((await rp.finishLogin(callback, pending)).subject).toBe('u-alice');
  });

  it('refuses a sign-in without the configured username claim', async () => {
    const rp = party({ claims: { username: 'employee_number' } });
    const { callback, pending } = await signIn(rp);
    const error = await refusal(rp.finishLogin(callback, pending), 'missing_username');
    expect(error.reason).toBe('missing_username: none of the claims employee_number is present');
  });

  it('fails clearly when the OP is down', async () => {
    const down = party({}, {}, `http://127.0.0.1:${await closedPort()}`);
    const error = await refusal(down.startLogin(), 'discovery_failed');
    expect(error.reason).toMatch(/^discovery_failed: discovery unreachable \(ECONNREFUSED\)/);
    expect(error.message).toBe(OIDC_MESSAGES.unavailable);

    // discovery cached, then the OP goes away before the callback
    const rp = party();
    const { callback, pending } = await signIn(rp);
    op.mode = 'refuse';
    const later = await refusal(rp.finishLogin(callback, pending), 'unavailable');
    expect(later.reason).toMatch(/^unavailable: token endpoint unreachable \(UND_ERR_SOCKET\)$/);
  });

  it('times out on an OP that does not answer', async () => {
    op.mode = 'hang';
    const hanging = party({ timeoutSeconds: 0.3 });
    const error = await refusal(hanging.startLogin(), 'timeout');
    expect(error.reason).toBe('timeout: discovery did not answer within 0.3 s');

    op.mode = 'forward';
    const rp = party({ timeoutSeconds: 0.3 });
    const { callback, pending } = await signIn(rp);
    op.mode = 'hang';
    const later = await refusal(rp.finishLogin(callback, pending), 'timeout');
    expect(later.reason).toBe('timeout: token endpoint did not answer within 0.3 s');
  });

  it('reports failing OP endpoints (HTTP 5xx) by name', async () => {
    let rp = party();
    let login = await signIn(rp);
    op.failStatus.set('/token', 503);
    let error = await refusal(rp.finishLogin(login.callback, login.pending), 'unavailable');
    expect(error.reason).toBe('unavailable: token endpoint answered HTTP 503');
    op.failStatus.clear();

    rp = party(); // no cached key set: the JWKS is read during this login
    login = await signIn(rp);
    op.failStatus.set('/jwks', 502);
    error = await refusal(rp.finishLogin(login.callback, login.pending), 'unavailable');
    expect(error.reason).toBe('unavailable: JWKS answered HTTP 502');
    op.failStatus.clear();

    login = await signIn(rp);
    op.failStatus.set('/me', 500);
    error = await refusal(rp.finishLogin(login.callback, login.pending), 'userinfo_failed');
    expect(error.reason).toMatch(/^userinfo_failed: userinfo endpoint/);
    op.failStatus.clear();

    op.failStatus.set('/.well-known/openid-configuration', 500);
    await refusal(party().startLogin(), 'discovery_failed');
  });

  it('refuses a discovery document for another issuer', async () => {
    // same server, other spelling: the document names 127.0.0.1, not localhost
    const rp = party({}, {}, op.issuer.replace('127.0.0.1', 'localhost'));
    const error = await refusal(rp.startLogin(), 'discovery_failed');
    expect(error.reason).toBe('discovery_failed: the discovery document names another issuer');
    const missing = party({}, {}, `${op.issuer}/tenant-b`);
    await refusal(missing.startLogin(), 'discovery_failed');
  });

  it('never puts a secret, a code or a token in a reason', () => {
    expect(reasons.length).toBeGreaterThan(20);
    for (const reason of reasons) {
      expect(reason).not.toContain(SECRET);
      expect(reason).not.toMatch(/ey[A-Za-z0-9_-]{10,}\./); // no JWT
    }
  });
});

describe('key rotation at the OP', () => {
  let rotating: TestOpenIdProvider;
  beforeAll(async () => {
    rotating = await startTestOpenIdProvider({ users: USERS, clients: CLIENTS });
  });
  afterAll(async () => {
    await rotating?.close();
  });

  it('verifies tokens signed with the new key after one JWKS refresh', async () => {
    const rp = party({}, {}, rotating.issuer);
    let login = await signIn(rp, 'u-alice', rotating);
    await rp.finishLogin(login.callback, login.pending);
    expect(count(rotating, '/jwks')).toBe(1);

    login = await signIn(rp, 'u-alice', rotating);
    await rp.finishLogin(login.callback, login.pending);
    expect(count(rotating, '/jwks')).toBe(1); // cached

    const oldKid = rotating.keys[0]!.kid;
    const fresh = await rotating.rotateKeys();
    expect(fresh.kid).not.toBe(oldKid);
    login = await signIn(rp, 'u-alice', rotating);
    let kid: unknown;
    rotating.tokenResponseHook = (body) => {
      kid = decodeJwt(body.id_token as string).header.kid;
      return body;
    };
    const identity = await rp.finishLogin(login.callback, login.pending);
    expect(kid).toBe(fresh.kid);
    expect(identity.groups).toEqual(['mdm-admins', 'staff']);
    expect(count(rotating, '/jwks')).toBe(2);
  });
});

describe('an OP that puts every claim in the ID token', () => {
  let rich: TestOpenIdProvider;
  beforeAll(async () => {
    rich = await startTestOpenIdProvider({ users: USERS, clients: CLIENTS, conformIdTokenClaims: false });
  });
  afterAll(async () => {
    await rich?.close();
  });

  it('needs no userinfo request', async () => {
    const rp = party({}, {}, rich.issuer);
    const { callback, pending } = await signIn(rp, 'u-alice', rich);
    expect((await rp.finishLogin(callback, pending)).groups).toEqual(['mdm-admins', 'staff']);
    expect(count(rich, '/me')).toBe(0);
  });
});

describe('identityFromClaims', () => {
  const resolved = resolveOidcConfig(config({ claims: { groups: 'realm_access.roles', username: ['upn', 'sub'] } }, 'https://idp.example.com'));

  it('reads dotted claim paths, single-string groups, and drops junk', () => {
    expect(identityFromClaims(resolved, { sub: 's1', upn: 'jdoe', realm_access: { roles: ['a', 'a', ' b ', 3, {}, ''] } })).toEqual({
      provider: 'corp-oidc', subject: 's1', username: 'jdoe', groups: ['a', 'b', '3'],
    });
    expect(identityFromClaims(resolved, { sub: 's1', realm_access: { roles: 'solo' }, email: 'not-an-address' })).toEqual({
      provider: 'corp-oidc', subject: 's1', username: 's1', groups: ['solo'],
    });
  });

  it('does not walk into prototypes', () => {
    expect(identityFromClaims(resolved, { sub: 's1', realm_access: {}, constructor: 'x' }).groups).toEqual([]);
    const proto = resolveOidcConfig(config({ claims: { username: ['__proto__.polluted', 'sub'] } }, 'https://idp.example.com'));
    expect(identityFromClaims(proto, { sub: 's1' }).username).toBe('s1');
  });
});
