/**
 * OpenID Connect relying party: authorization code flow with PKCE (S256) through openid-client.
 * Used for admin-console SSO and for end users on the enrollment web pages.
 *
 * Stateless between the two halves of a login: `startLogin` returns the values the caller keeps
 * server-side (in the database, keyed by `state`, so any node can finish the login) and
 * `finishLogin` gets them back with the callback URL. Deleting the pending row before calling
 * `finishLogin` makes a callback single-use; the OP refuses a code used twice in any case.
 *
 * Every failure is an `OidcSignInError` (a `SignInError`): a message the user may see and a
 * `reason` (`<code>: <detail>`) for logs and audit. Neither ever contains a secret, a code or a
 * token.
 */
import { timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import { SignInError, type Identity } from './identity.js';
import {
  OidcConfigError,
  isLoopbackHost,
  resolveOidcConfig,
  validateOidcConfig,
  type OidcConfig,
  type ResolvedOidcConfig,
} from './oidc-config.js';

export {
  OIDC_DEFAULTS,
  OIDC_LIMITS,
  OIDC_TOKEN_ENDPOINT_AUTH_METHODS,
  OidcConfigError,
  redactOidcConfig,
  resolveOidcConfig,
  validateOidcConfig,
  type OidcClaimNames,
  type OidcConfig,
  type OidcConfigProblem,
  type OidcTokenEndpointAuthMethod,
  type ResolvedOidcConfig,
} from './oidc-config.js';

/** Why a sign-in failed; the first word of `SignInError.reason`. */
export type OidcFailure =
  /** the callback URL is not one (unparseable, no code, repeated parameters) */
  | 'invalid_callback'
  /** the stored pending login is malformed */
  | 'invalid_pending'
  /** the pending login is older than `pendingMaxAgeMs` */
  | 'login_expired'
  | 'state_mismatch'
  /** the OP sent `error=` to the callback (access_denied, login_required, …) */
  | 'op_error'
  /** discovery document unreachable, not JSON, for another issuer, or naming insecure endpoints */
  | 'discovery_failed'
  /** a connection to the OP failed (refused, reset, DNS) or the OP answered HTTP 5xx */
  | 'unavailable'
  /** the OP did not answer within `timeoutSeconds` */
  | 'timeout'
  /** the token endpoint refused the code (invalid_grant: replayed, expired, wrong PKCE verifier) */
  | 'token_rejected'
  /** the ID token's signature does not verify with any key the OP publishes */
  | 'bad_signature'
  /** `iss` of the ID token or the `iss` callback parameter is not this OP */
  | 'wrong_issuer'
  /** the ID token is not for this client (`aud`/`azp`) */
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'nonce_mismatch'
  /** any other defect of the ID token or the token response */
  | 'invalid_id_token'
  | 'userinfo_failed'
  /** none of the configured username claims is present */
  | 'missing_username';

export const OIDC_MESSAGES = {
  verify: 'the sign-in could not be verified',
  unavailable: 'the identity provider is not available; try again later',
  refused: 'the identity provider did not complete the sign-in',
  expired: 'the sign-in took too long; start again',
} as const;

function messageFor(code: OidcFailure): string {
  switch (code) {
    case 'discovery_failed':
    case 'unavailable':
    case 'timeout':
      return OIDC_MESSAGES.unavailable;
    case 'op_error':
      return OIDC_MESSAGES.refused;
    case 'login_expired':
      return OIDC_MESSAGES.expired;
    default:
      return OIDC_MESSAGES.verify;
  }
}

export class OidcSignInError extends SignInError {
  constructor(
    readonly code: OidcFailure,
    detail: string,
  ) {
    super(messageFor(code), `${code}: ${detail}`);
    this.name = 'OidcSignInError';
  }
}

/** What the caller keeps between `startLogin` and `finishLogin` (secret: the verifier). */
export interface OidcPendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** epoch ms (the relying party's clock) */
  createdAt: number;
}

export interface OidcStartOptions {
  /** pre-fills the OP's login form */
  loginHint?: string;
  /** `login` forces re-authentication at the OP (e.g. before a sensitive admin action) */
  prompt?: 'login' | 'consent' | 'select_account' | 'none';
}

export interface OidcRelyingPartyOptions {
  /** epoch ms; ID token times and the pending login's age are judged against it */
  now?: () => number;
  /** allow plain http to an issuer on loopback (development and tests only) */
  allowInsecureLoopback?: boolean;
  /** how long a user may take between `startLogin` and the callback; default 10 minutes */
  pendingMaxAgeMs?: number;
  /** the discovery document is read again after this long; default 24 hours */
  discoveryMaxAgeMs?: number;
}

const DEFAULT_PENDING_MAX_AGE_MS = 10 * 60_000;
const DEFAULT_DISCOVERY_MAX_AGE_MS = 24 * 3600_000;
/** an OP's error_description is shown in logs only, trimmed to this */
const MAX_DESCRIPTION = 200;

type Endpoint = 'discovery' | 'token endpoint' | 'JWKS' | 'userinfo endpoint' | 'OP';

class InsecureEndpointError extends Error {}

/** Per-call bookkeeping shared between the fetch wrapper and error mapping. */
interface CallContext {
  stage: 'discovery' | 'token' | 'userinfo';
  lastEndpoint: Endpoint;
  onTokenResponse?: (body: unknown) => void;
}

export class OidcRelyingParty {
  readonly #config: ResolvedOidcConfig;
  readonly #now: () => number;
  readonly #allowHttp: boolean;
  readonly #pendingMaxAgeMs: number;
  readonly #discoveryMaxAgeMs: number;
  #metadata: { value: client.ServerMetadata; at: number } | undefined;
  #discovering: Promise<client.ServerMetadata> | undefined;
  #jwks: client.ExportedJWKSCache | undefined;

  constructor(config: OidcConfig, opts: OidcRelyingPartyOptions = {}) {
    const problems = validateOidcConfig(config);
    if (problems.length) throw new OidcConfigError(problems);
    this.#config = resolveOidcConfig(config);
    this.#now = opts.now ?? Date.now;
    this.#pendingMaxAgeMs = opts.pendingMaxAgeMs ?? DEFAULT_PENDING_MAX_AGE_MS;
    this.#discoveryMaxAgeMs = opts.discoveryMaxAgeMs ?? DEFAULT_DISCOVERY_MAX_AGE_MS;
    const issuer = new URL(this.#config.issuer);
    this.#allowHttp = issuer.protocol === 'http:';
    if (this.#allowHttp && !opts.allowInsecureLoopback) {
      throw new OidcConfigError([{ path: 'issuer', message: 'plain http is allowed only with allowInsecureLoopback (development)' }]);
    }
  }

  /** The provider's id in Pomona (`Identity.provider`). */
  get id(): string {
    return this.#config.id;
  }

  /** Builds the OP's authorization URL; the caller stores `pending` keyed by `pending.state`. */
  async startLogin(options: OidcStartOptions = {}): Promise<{ redirectUrl: string; pending: OidcPendingLogin }> {
    const metadata = await this.#discover();
    const config = this.#configuration(metadata, { stage: 'token', lastEndpoint: 'OP' });
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const parameters: Record<string, string> = {
      response_type: 'code',
      redirect_uri: this.#config.redirectUri,
      scope: this.#config.scopes.join(' '),
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    };
    if (options.loginHint) parameters.login_hint = options.loginHint;
    if (options.prompt) parameters.prompt = options.prompt;
    const redirectUrl = client.buildAuthorizationUrl(config, parameters).href;
    return { redirectUrl, pending: { state, nonce, codeVerifier, createdAt: this.#now() } };
  }

  /**
   * Completes the login from the URL the OP redirected the browser to (absolute, or the path
   * and query as the route saw them). Only its query counts: the redirect URI sent to the token
   * endpoint is always the configured one, whatever host or scheme the request arrived with.
   */
  async finishLogin(callbackUrl: string | URL, pending: OidcPendingLogin): Promise<Identity> {
    const params = this.#callbackParams(callbackUrl);
    this.#checkPending(pending);

    const state = params.get('state');
    if (state === null) throw new OidcSignInError('state_mismatch', 'the callback carries no state');
    if (!sameString(state, pending.state)) throw new OidcSignInError('state_mismatch', 'the callback state is not the one this login started with');

    const metadata = await this.#discover();
    const iss = params.get('iss');
    if (iss !== null && iss !== metadata.issuer) {
      throw new OidcSignInError('wrong_issuer', 'the callback names another issuer (iss parameter)');
    }
    if (iss === null && metadata.authorization_response_iss_parameter_supported) {
      throw new OidcSignInError('wrong_issuer', 'the callback lacks the iss parameter this OP always sends');
    }
    const error = params.get('error');
    if (error !== null) {
      const description = params.get('error_description');
      throw new OidcSignInError('op_error', `${printable(error, 64)}${description ? ` (${printable(description, MAX_DESCRIPTION)})` : ''}`);
    }
    if (!params.get('code')) throw new OidcSignInError('invalid_callback', 'the callback carries neither a code nor an error');

    const ctx: CallContext = { stage: 'token', lastEndpoint: 'token endpoint' };
    const config = this.#configuration(metadata, ctx);
    client.enableNonRepudiationChecks(config); // verify the ID token's signature, not only TLS
    if (this.#jwks) client.setJwksCache(config, this.#jwks);
    ctx.onTokenResponse = (body) => this.#refreshKeysOnUnknownKid(config, body);

    const current = new URL(this.#config.redirectUri);
    current.search = params.toString();
    let claims: Record<string, unknown>;
    let accessToken: string;
    try {
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new OidcSignInError('invalid_id_token', 'the token response has no ID token');
      claims = { ...idClaims };
      accessToken = tokens.access_token;
    } catch (err) {
      throw toSignInError(err, ctx, this.#config.timeoutSeconds);
    } finally {
      const cache = client.getJwksCache(config);
      if (cache) this.#jwks = cache;
    }

    if (this.#needsUserInfo(claims) && metadata.userinfo_endpoint) {
      ctx.stage = 'userinfo';
      ctx.lastEndpoint = 'userinfo endpoint';
      try {
        const userinfo = await client.fetchUserInfo(config, accessToken, claims.sub as string);
        claims = { ...userinfo, ...claims };
      } catch (err) {
        throw toSignInError(err, ctx, this.#config.timeoutSeconds);
      }
    }
    return identityFromClaims(this.#config, claims);
  }

  #callbackParams(callbackUrl: string | URL): URLSearchParams {
    let url: URL;
    try {
      url = typeof callbackUrl === 'string' ? new URL(callbackUrl, this.#config.redirectUri) : new URL(callbackUrl.href);
    } catch {
      throw new OidcSignInError('invalid_callback', 'the callback URL cannot be parsed');
    }
    if (url.hash.length > 1) throw new OidcSignInError('invalid_callback', 'the callback has a fragment (only query responses are accepted)');
    const params = url.searchParams;
    for (const name of ['code', 'state', 'error', 'iss']) {
      if (params.getAll(name).length > 1) throw new OidcSignInError('invalid_callback', `the callback repeats the ${name} parameter`);
    }
    return params;
  }

  #checkPending(pending: OidcPendingLogin): void {
    const p = pending as unknown as Record<string, unknown> | null;
    if (
      typeof p !== 'object' || p === null ||
      !nonEmpty(p.state) || !nonEmpty(p.nonce) || !nonEmpty(p.codeVerifier) ||
      typeof p.createdAt !== 'number' || !Number.isFinite(p.createdAt)
    ) {
      throw new OidcSignInError('invalid_pending', 'the stored login is incomplete');
    }
    const age = this.#now() - (p.createdAt as number);
    if (age > this.#pendingMaxAgeMs) throw new OidcSignInError('login_expired', `the login started ${Math.round(age / 1000)} s ago`);
    if (age < -this.#config.clockSkewSeconds * 1000) throw new OidcSignInError('invalid_pending', 'the stored login was created in the future');
  }

  #needsUserInfo(claims: Record<string, unknown>): boolean {
    const names = this.#config.claims;
    const wanted = [names.username[0]!, names.email, names.displayName, names.groups];
    return wanted.some((name) => claimValue(claims, name) === undefined);
  }

  /**
   * openid-client re-reads the JWKS on an unknown `kid` only when its copy is older than 60 s,
   * and by then the code is spent. So the token response is looked at before the ID token is
   * verified: a `kid` the cached key set does not have makes this login read the JWKS again
   * (once: the fresh copy is then used as it is).
   */
  #refreshKeysOnUnknownKid(config: client.Configuration, body: unknown): void {
    const cached = this.#jwks;
    if (!cached || typeof body !== 'object' || body === null) return;
    const idToken = (body as Record<string, unknown>).id_token;
    if (typeof idToken !== 'string') return;
    let kid: unknown;
    try {
      kid = (JSON.parse(Buffer.from(idToken.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>).kid;
    } catch {
      return; // a malformed token fails verification on its own
    }
    if (typeof kid !== 'string') return;
    if (cached.jwks.keys.some((k) => k.kid === kid)) return;
    client.setJwksCache(config, { jwks: { keys: [] }, uat: 0 }); // stale: forces a download
  }

  #configuration(metadata: client.ServerMetadata, ctx: CallContext): client.Configuration {
    const c = this.#config;
    const metadataForClient: Partial<client.ClientMetadata> = {
      client_secret: c.clientSecret,
      token_endpoint_auth_method: c.tokenEndpointAuthMethod,
      // openid-client compares token times with Date.now() + clockSkew: shift it to our clock
      [client.clockSkew]: Math.round((this.#now() - Date.now()) / 1000),
      [client.clockTolerance]: c.clockSkewSeconds,
    };
    const config = new client.Configuration(metadata, c.clientId, metadataForClient, clientAuth(c));
    config.timeout = c.timeoutSeconds;
    config[client.customFetch] = this.#fetch(ctx, metadata);
    if (this.#allowHttp) client.allowInsecureRequests(config);
    return config;
  }

  /** fetch for openid-client: https only (http on loopback when allowed), endpoint bookkeeping. */
  #fetch(ctx: CallContext, metadata: client.ServerMetadata | undefined): client.CustomFetch {
    return async (url, options) => {
      const target = new URL(url);
      if (!this.#secureEnough(target)) throw new InsecureEndpointError(`refusing plain ${target.protocol} request to ${target.host}`);
      ctx.lastEndpoint = endpointName(url, metadata, ctx);
      const response = await fetch(url, options as RequestInit);
      if (ctx.onTokenResponse && metadata && url === metadata.token_endpoint && response.ok) {
        const body: unknown = await response.clone().json().catch(() => undefined);
        ctx.onTokenResponse(body);
      }
      return response;
    };
  }

  #secureEnough(url: URL): boolean {
    return url.protocol === 'https:' || (this.#allowHttp && url.protocol === 'http:' && isLoopbackHost(url.hostname));
  }

  /** Discovery, cached per instance; concurrent callers share one request; failures are not cached. */
  async #discover(): Promise<client.ServerMetadata> {
    const cached = this.#metadata;
    if (cached && this.#now() - cached.at < this.#discoveryMaxAgeMs) return cached.value;
    this.#discovering ??= this.#runDiscovery().finally(() => {
      this.#discovering = undefined;
    });
    return this.#discovering;
  }

  async #runDiscovery(): Promise<client.ServerMetadata> {
    const ctx: CallContext = { stage: 'discovery', lastEndpoint: 'discovery' };
    let metadata: client.ServerMetadata;
    try {
      const config = await client.discovery(new URL(this.#config.issuer), this.#config.clientId, undefined, client.None(), {
        [client.customFetch]: this.#fetch(ctx, undefined),
        execute: this.#allowHttp ? [client.allowInsecureRequests] : [],
        timeout: this.#config.timeoutSeconds,
      });
      metadata = { ...config.serverMetadata() };
    } catch (err) {
      throw toSignInError(err, ctx, this.#config.timeoutSeconds);
    }
    for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
      if (typeof metadata[key] !== 'string') throw new OidcSignInError('discovery_failed', `the discovery document has no ${key}`);
    }
    for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint'] as const) {
      const value = metadata[key];
      if (value === undefined) continue;
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        throw new OidcSignInError('discovery_failed', `the discovery document's ${key} is not a URL`);
      }
      if (!this.#secureEnough(url)) throw new OidcSignInError('discovery_failed', `the discovery document's ${key} is not https`);
    }
    if (metadata.response_types_supported && !metadata.response_types_supported.includes('code')) {
      throw new OidcSignInError('discovery_failed', 'the OP does not offer the authorization code flow');
    }
    this.#metadata = { value: metadata, at: this.#now() };
    return metadata;
  }
}

function clientAuth(c: ResolvedOidcConfig): client.ClientAuth {
  switch (c.tokenEndpointAuthMethod) {
    case 'client_secret_basic':
      return client.ClientSecretBasic(c.clientSecret);
    case 'client_secret_post':
      return client.ClientSecretPost(c.clientSecret);
    case 'client_secret_jwt':
      return client.ClientSecretJwt(c.clientSecret);
    case 'none':
      return client.None();
  }
}

function endpointName(url: string, metadata: client.ServerMetadata | undefined, ctx: CallContext): Endpoint {
  if (ctx.stage === 'discovery' || !metadata) return 'discovery';
  if (url === metadata.token_endpoint) return 'token endpoint';
  if (url === metadata.jwks_uri) return 'JWKS';
  if (url === metadata.userinfo_endpoint) return 'userinfo endpoint';
  return 'OP';
}

// ---------------------------------------------------------------------------------------------
// Claims → Identity

/** A claim by name, or by dotted path into object claims (`realm_access.roles`); own keys only. */
export function claimValue(claims: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name] ?? undefined;
  if (!name.includes('.')) return undefined;
  let node: unknown = claims;
  for (const part of name.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node ?? undefined;
}

const MAX_CLAIM_TEXT = 256;
const MAX_GROUPS = 1000;

function text(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t && t.length <= MAX_CLAIM_TEXT ? t : undefined;
}

/** Maps verified claims (ID token, completed from userinfo) to the Identity. */
export function identityFromClaims(config: ResolvedOidcConfig, claims: Record<string, unknown>): Identity {
  const subject = claims.sub;
  if (typeof subject !== 'string' || subject === '') throw new OidcSignInError('invalid_id_token', 'the ID token has no sub');
  const names = config.claims;

  let username: string | undefined;
  for (const name of names.username) {
    // An address the OP has not verified must not become a sign-in name.
    if ((name === 'email' || name === names.email) && claims.email_verified === false) continue;
    username = text(claimValue(claims, name));
    if (username !== undefined) break;
  }
  if (username === undefined) {
    throw new OidcSignInError('missing_username', `none of the claims ${names.username.join(', ')} is present`);
  }

  const emailValue = text(claimValue(claims, names.email));
  const email = emailValue && emailValue.includes('@') ? emailValue : undefined;
  const displayName = text(claimValue(claims, names.displayName));

  const rawGroups = claimValue(claims, names.groups);
  const list = Array.isArray(rawGroups) ? rawGroups : rawGroups === undefined ? [] : [rawGroups];
  const groups = [...new Set(list.map(text).filter((g): g is string => g !== undefined))].slice(0, MAX_GROUPS);

  const identity: Identity = { provider: config.id, subject, username, groups };
  if (email) identity.email = email;
  if (displayName) identity.displayName = displayName;
  return identity;
}

// ---------------------------------------------------------------------------------------------
// openid-client errors → OidcSignInError

function toSignInError(err: unknown, ctx: CallContext, timeoutSeconds: number): OidcSignInError {
  if (err instanceof OidcSignInError) return err;
  const where = ctx.lastEndpoint;
  const inDiscovery = ctx.stage === 'discovery';
  const fail = (code: OidcFailure, detail: string) => new OidcSignInError(inDiscovery && code !== 'timeout' ? 'discovery_failed' : code, detail);

  if (err instanceof InsecureEndpointError) return new OidcSignInError('discovery_failed', `${where}: ${err.message}`);
  if (isTimeout(err)) return fail('timeout', `${where} did not answer within ${timeoutSeconds} s`);
  const net = networkCause(err);
  if (net) return fail('unavailable', `${where} unreachable (${net})`);

  if (err instanceof client.AuthorizationResponseError) return fail('op_error', printable(err.error, 64));
  if (err instanceof client.ResponseBodyError) {
    const detail = `${where} answered HTTP ${err.status} ${printable(err.error, 64)}${err.error_description ? ` (${printable(err.error_description, MAX_DESCRIPTION)})` : ''}`;
    return fail(ctx.stage === 'userinfo' ? 'userinfo_failed' : 'token_rejected', detail);
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    return fail(ctx.stage === 'userinfo' ? 'userinfo_failed' : 'token_rejected', `${where} answered HTTP ${err.status} with an authentication challenge`);
  }

  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const inner = (e?.cause ?? {}) as { message?: unknown; code?: unknown; cause?: unknown };
  const innerMessage = typeof inner.message === 'string' ? inner.message : typeof e?.message === 'string' ? e.message : 'unknown error';
  const claim = (inner.cause as { claim?: unknown } | undefined)?.claim;

  if (ctx.stage === 'userinfo') return fail('userinfo_failed', `${where}: ${innerMessage}`);
  switch (code) {
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      if (claim === 'nonce') return fail('nonce_mismatch', 'the ID token nonce is not the one this login sent');
      if (claim === 'iss') return fail('wrong_issuer', 'the ID token was issued by another issuer');
      if (claim === 'aud' || claim === 'azp') return fail('wrong_audience', 'the ID token is meant for another client');
      return fail('invalid_id_token', innerMessage);
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      if (claim === 'exp') return fail('expired', 'the ID token has expired');
      if (claim === 'nbf' || claim === 'iat') return fail('not_yet_valid', `the ID token is not valid yet (${claim})`);
      return fail('invalid_id_token', innerMessage);
    case 'OAUTH_KEY_SELECTION_FAILED':
      return fail('bad_signature', 'no key published by the OP matches the ID token (kid/alg)');
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM': {
      const status = (inner as { status?: unknown }).status;
      const detail = `${where} answered HTTP ${typeof status === 'number' ? status : '(unexpected status)'}`;
      return fail(typeof status === 'number' && status >= 500 ? 'unavailable' : 'token_rejected', detail);
    }
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
      return fail(inDiscovery ? 'discovery_failed' : 'invalid_id_token', `${where} did not answer with JSON`);
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED':
      return fail('discovery_failed', inDiscovery ? 'the discovery document names another issuer' : innerMessage);
    case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
    case 'OAUTH_REQUEST_PROTOCOL_FORBIDDEN':
      return fail('discovery_failed', `${where}: only https is allowed`);
    case 'OAUTH_INVALID_RESPONSE':
      if (/signature verification failed/i.test(innerMessage)) return fail('bad_signature', 'the ID token signature does not verify');
      return fail('invalid_id_token', innerMessage);
    default:
      return fail(inDiscovery ? 'discovery_failed' : 'invalid_id_token', `${where}: ${innerMessage}`);
  }
}

function isTimeout(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (name === 'TimeoutError' || code === 'OAUTH_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return true;
  }
  return false;
}

/** A system error code (ECONNREFUSED, …) anywhere in the cause chain of a fetch failure. */
function networkCause(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT|UND_ERR_CLOSED)$/.test(code)) return code;
  }
  if (err instanceof TypeError && err.message === 'fetch failed') return 'fetch failed';
  return undefined;
}

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Text from the OP for a log line: printable ASCII, bounded. */
function printable(s: unknown, max: number): string {
  const t = String(s ?? '').replace(/[^\x20-\x7E]/g, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}
