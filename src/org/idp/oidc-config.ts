/**
 * How Pomona talks to one OpenID Provider: the plain object stored per organization group,
 * its defaults, and a validator that lists every problem at once with the field's path.
 */

export const OIDC_TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'none'] as const;
export type OidcTokenEndpointAuthMethod = (typeof OIDC_TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** Which claims (ID token first, then userinfo) fill the Identity. */
export interface OidcClaimNames {
  /** one claim or claims tried in order; default preferred_username, then email, then sub */
  username?: string | string[];
  /** default `email` */
  email?: string;
  /** default `name` */
  displayName?: string;
  /** default `groups`; a dotted path (`realm_access.roles`) reaches into an object claim */
  groups?: string;
}

export interface OidcConfig {
  /** the provider's id in Pomona; becomes `Identity.provider` */
  id: string;
  /** Issuer Identifier; discovery reads `<issuer>/.well-known/openid-configuration` */
  issuer: string;
  clientId: string;
  /** secret: never logged, never shown back (see `redactOidcConfig`); absent for public clients */
  clientSecret?: string;
  /** computed by Pomona from its public URL; registered at the OP */
  redirectUri: string;
  /** default `openid email profile`; `openid` is always sent */
  scopes?: string[];
  /** adds the `groups` scope (for OPs that release the groups claim only on request) */
  requestGroupsScope?: boolean;
  claims?: OidcClaimNames;
  /** tolerance for `exp`/`nbf`/`iat` of ID tokens, in seconds; default 60 */
  clockSkewSeconds?: number;
  /** default `client_secret_basic` with a secret, `none` without */
  tokenEndpointAuthMethod?: OidcTokenEndpointAuthMethod;
  /** per HTTP request to the OP (discovery, token, JWKS, userinfo), in seconds; default 10 */
  timeoutSeconds?: number;
}

/** An OidcConfig with every default applied. */
export interface ResolvedOidcConfig {
  id: string;
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  redirectUri: string;
  scopes: string[];
  claims: { username: string[]; email: string; displayName: string; groups: string };
  clockSkewSeconds: number;
  tokenEndpointAuthMethod: OidcTokenEndpointAuthMethod;
  timeoutSeconds: number;
}

export const OIDC_DEFAULTS = {
  scopes: ['openid', 'email', 'profile'],
  usernameClaims: ['preferred_username', 'email', 'sub'],
  emailClaim: 'email',
  displayNameClaim: 'name',
  groupsClaim: 'groups',
  clockSkewSeconds: 60,
  timeoutSeconds: 10,
} as const;

export const OIDC_LIMITS = {
  clockSkewSeconds: 600,
  timeoutSeconds: 120,
  scopes: 30,
  usernameClaims: 10,
  text: 2048,
} as const;

export interface OidcConfigProblem {
  path: string;
  message: string;
}

export class OidcConfigError extends Error {
  constructor(readonly problems: OidcConfigProblem[]) {
    super(`invalid OpenID Connect configuration: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  }
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts where plain http is tolerated. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Applies defaults without judging (for reading a stored, already validated config). */
export function resolveOidcConfig(config: OidcConfig): ResolvedOidcConfig {
  const scopes = [...(config.scopes ?? OIDC_DEFAULTS.scopes)];
  if (!scopes.includes('openid')) scopes.unshift('openid');
  if (config.requestGroupsScope && !scopes.includes('groups')) scopes.push('groups');
  const username = config.claims?.username;
  const secret = config.clientSecret === '' ? undefined : config.clientSecret;
  return {
    id: config.id,
    issuer: config.issuer,
    clientId: config.clientId,
    clientSecret: secret,
    redirectUri: config.redirectUri,
    scopes,
    claims: {
      username: username === undefined ? [...OIDC_DEFAULTS.usernameClaims] : typeof username === 'string' ? [username] : [...username],
      email: config.claims?.email ?? OIDC_DEFAULTS.emailClaim,
      displayName: config.claims?.displayName ?? OIDC_DEFAULTS.displayNameClaim,
      groups: config.claims?.groups ?? OIDC_DEFAULTS.groupsClaim,
    },
    clockSkewSeconds: config.clockSkewSeconds ?? OIDC_DEFAULTS.clockSkewSeconds,
    tokenEndpointAuthMethod: config.tokenEndpointAuthMethod ?? (secret ? 'client_secret_basic' : 'none'),
    timeoutSeconds: config.timeoutSeconds ?? OIDC_DEFAULTS.timeoutSeconds,
  };
}

/** The config as it may be shown or logged: the secret replaced by whether one is set. */
export function redactOidcConfig(config: OidcConfig): Omit<OidcConfig, 'clientSecret'> & { clientSecretSet: boolean } {
  const { clientSecret, ...rest } = config;
  return { ...rest, clientSecretSet: typeof clientSecret === 'string' && clientSecret.length > 0 };
}

const KNOWN_KEYS = new Set([
  'id', 'issuer', 'clientId', 'clientSecret', 'redirectUri', 'scopes', 'requestGroupsScope', 'claims',
  'clockSkewSeconds', 'tokenEndpointAuthMethod', 'timeoutSeconds',
]);
const CLAIM_KEYS = new Set(['username', 'email', 'displayName', 'groups']);
// RFC 6749 §3.3 scope-token: printable ASCII except space, " and \
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const CLAIM_NAME = /^[^\s.]+(\.[^\s.]+)*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Every problem of a candidate config, each with its path; [] when it is usable.
 * https is required for the issuer and the redirect URI, except on loopback (development).
 */
export function validateOidcConfig(input: unknown): OidcConfigProblem[] {
  const problems: OidcConfigProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (!isRecord(input)) return [{ path: '', message: 'must be an object' }];

  for (const key of Object.keys(input)) if (!KNOWN_KEYS.has(key)) add(key, 'unknown setting');

  const text = (key: string, required: boolean): string | undefined => {
    const v = input[key];
    if (v === undefined) {
      if (required) add(key, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      add(key, 'must be a non-empty string');
      return undefined;
    }
    if (v.length > OIDC_LIMITS.text) add(key, `must be at most ${OIDC_LIMITS.text} characters`);
    if (v !== v.trim()) add(key, 'must not start or end with spaces');
    return v;
  };

  text('id', true);
  const issuer = text('issuer', true);
  if (issuer !== undefined) {
    const url = parseUrl(issuer);
    if (!url) add('issuer', 'must be an absolute URL');
    else {
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
        add('issuer', 'must use https (plain http only on loopback)');
      }
      if (url.search || url.hash || issuer.endsWith('?') || issuer.endsWith('#')) add('issuer', 'must not have a query or a fragment');
      if (url.username || url.password) add('issuer', 'must not contain credentials');
      if (url.pathname.includes('/.well-known/')) add('issuer', 'is the Issuer Identifier, not the discovery document URL');
    }
  }
  const clientId = text('clientId', true);
  if (clientId !== undefined && /[\x00-\x1F\x7F]/.test(clientId)) add('clientId', 'must not contain control characters');

  const hasSecret = input.clientSecret !== undefined && input.clientSecret !== '';
  if (input.clientSecret !== undefined && typeof input.clientSecret !== 'string') add('clientSecret', 'must be a string');
  else if (typeof input.clientSecret === 'string' && input.clientSecret.length > OIDC_LIMITS.text) add('clientSecret', `must be at most ${OIDC_LIMITS.text} characters`);

  const redirectUri = text('redirectUri', true);
  if (redirectUri !== undefined) {
    const url = parseUrl(redirectUri);
    if (!url) add('redirectUri', 'must be an absolute URL');
    else {
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
        add('redirectUri', 'must use https (plain http only on loopback)');
      }
      if (url.hash || redirectUri.includes('#')) add('redirectUri', 'must not have a fragment');
      if (url.username || url.password) add('redirectUri', 'must not contain credentials');
    }
  }

  if (input.scopes !== undefined) {
    if (!Array.isArray(input.scopes)) add('scopes', 'must be a list of scope names');
    else {
      if (input.scopes.length > OIDC_LIMITS.scopes) add('scopes', `at most ${OIDC_LIMITS.scopes} scopes`);
      input.scopes.forEach((s, i) => {
        if (typeof s !== 'string' || !SCOPE_TOKEN.test(s)) add(`scopes.${i}`, 'must be a scope name (printable characters, no spaces or quotes)');
      });
      const seen = new Set<unknown>();
      input.scopes.forEach((s, i) => {
        if (seen.has(s)) add(`scopes.${i}`, 'is listed twice');
        seen.add(s);
      });
    }
  }
  if (input.requestGroupsScope !== undefined && typeof input.requestGroupsScope !== 'boolean') add('requestGroupsScope', 'must be true or false');

  if (input.claims !== undefined) {
    if (!isRecord(input.claims)) add('claims', 'must be an object');
    else {
      const claims = input.claims;
      for (const key of Object.keys(claims)) if (!CLAIM_KEYS.has(key)) add(`claims.${key}`, 'unknown claim mapping');
      const claimName = (path: string, v: unknown) => {
        if (typeof v !== 'string' || !CLAIM_NAME.test(v) || v.length > 256) add(path, 'must be a claim name (no spaces; dots separate a path)');
      };
      if (claims.username !== undefined) {
        if (Array.isArray(claims.username)) {
          if (claims.username.length === 0) add('claims.username', 'must name at least one claim');
          if (claims.username.length > OIDC_LIMITS.usernameClaims) add('claims.username', `at most ${OIDC_LIMITS.usernameClaims} claims`);
          claims.username.forEach((c, i) => claimName(`claims.username.${i}`, c));
        } else claimName('claims.username', claims.username);
      }
      for (const key of ['email', 'displayName', 'groups'] as const) if (claims[key] !== undefined) claimName(`claims.${key}`, claims[key]);
    }
  }

  const seconds = (key: string, min: number, max: number, integer: boolean) => {
    const v = input[key];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      add(key, `must be ${integer ? 'a whole number' : 'a number'} of seconds from ${min} to ${max}`);
    }
  };
  seconds('clockSkewSeconds', 0, OIDC_LIMITS.clockSkewSeconds, true);
  seconds('timeoutSeconds', 0.1, OIDC_LIMITS.timeoutSeconds, false);

  const method = input.tokenEndpointAuthMethod;
  if (method !== undefined) {
    if (!(OIDC_TOKEN_ENDPOINT_AUTH_METHODS as readonly unknown[]).includes(method)) {
      add('tokenEndpointAuthMethod', `must be one of ${OIDC_TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}`);
    } else if (method === 'none' && hasSecret) {
      add('clientSecret', 'must be empty for a public client (tokenEndpointAuthMethod none)');
    } else if (method !== 'none' && !hasSecret) {
      add('clientSecret', `is required by ${String(method)}`);
    }
  }
  return dedupe(problems);
}

function dedupe(problems: OidcConfigProblem[]): OidcConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\n${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function parseUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}
