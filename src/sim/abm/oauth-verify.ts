/**
 * Server-side OAuth 1.0a (RFC 5849) verification for `GET /session`, HMAC-SHA1 only, the way
 * Apple's Device Assignment service checks it: every parameter is required and checked, the
 * signature is recomputed over the RFC 5849 §3.4.1 base string (the `realm` is not part of it),
 * the timestamp must be near our clock and a nonce cannot be used twice.
 *
 * Status codes follow Apple's table (400 for a malformed, duplicated, missing or unsupported
 * parameter or method; 401 for an unknown consumer key, a bad or expired token, a wrong
 * signature or a used nonce). The bodies are the OAuth Problem Reporting names
 * (`signature_invalid`, `nonce_used`, …): Apple's `token_rejected` and `signature_invalid`
 * bodies are from that vocabulary; the others are our inference.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type OAuthProblem =
  | 'parameter_absent'
  | 'parameter_rejected'
  | 'signature_method_rejected'
  | 'version_rejected'
  | 'consumer_key_unknown'
  | 'token_rejected'
  | 'token_expired'
  | 'timestamp_refused'
  | 'nonce_used'
  | 'signature_invalid';

export type OAuthVerdict =
  | { ok: true; consumerKey: string; token: string }
  | { ok: false; status: 400 | 401; problem: OAuthProblem; detail: string };

/** What the verifier needs to know about a (consumer key, token) pair. */
export type OAuthCredentialLookup = (
  consumerKey: string,
  token: string,
) =>
  | { consumerSecret: string; tokenSecret: string; state: 'valid' | 'rejected' | 'expired' }
  | { unknown: 'consumer' | 'token' };

export interface OAuthVerifierOptions {
  lookup: OAuthCredentialLookup;
  /** wall clock in ms (the client signs with its own wall clock) */
  now: () => number;
  /** accepted distance between oauth_timestamp and our clock; default 300 s */
  timestampSkewSeconds?: number;
}

export interface OAuthRequest {
  method: string;
  /** the absolute URL as the client addressed it: scheme://host[:port]/path?query */
  url: string;
  authorization: string | undefined;
  /** the body, only when it is application/x-www-form-urlencoded (never for Apple's /session) */
  formBody?: string;
}

const REQUIRED = ['oauth_consumer_key', 'oauth_token', 'oauth_signature_method', 'oauth_signature', 'oauth_timestamp', 'oauth_nonce'];
const ALLOWED = new Set([...REQUIRED, 'oauth_version', 'realm']);

/** RFC 5849 §3.6 percent-encoding (RFC 3986 unreserved characters kept). */
export function percentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function percentDecode(s: string): string {
  return decodeURIComponent(s);
}

/** application/x-www-form-urlencoded pairs ('+' is a space), as §3.4.1.3.1 reads query and body. */
function formPairs(s: string): [string, string][] {
  if (!s) return [];
  return s.split('&').map((part) => {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    return [percentDecode(k.replace(/\+/g, ' ')), percentDecode(v.replace(/\+/g, ' '))];
  });
}

/**
 * Parses `Authorization: OAuth k="v", …` (RFC 5849 §3.5.1). Returns the decoded pairs in order,
 * duplicates included, or undefined when the header is not an OAuth header at all.
 */
export function parseOAuthHeader(header: string | undefined): [string, string][] | undefined {
  if (!header) return undefined;
  const m = /^\s*OAuth\s+([\s\S]*)$/i.exec(header);
  if (!m) return undefined;
  const pairs: [string, string][] = [];
  const re = /\s*([^=\s,]+)\s*=\s*"([^"]*)"\s*(,|$)/gy;
  let rest = m[1].trim();
  if (rest === '') return pairs;
  re.lastIndex = 0;
  let pos = 0;
  while (pos < rest.length) {
    re.lastIndex = pos;
    const p = re.exec(rest);
    if (!p) return undefined;
    try {
      pairs.push([percentDecode(p[1]), percentDecode(p[2])]);
    } catch {
      return undefined; // a broken %-escape
    }
    pos = re.lastIndex;
  }
  return pairs;
}

/** The base string URI of §3.4.1.2: lower-case scheme and host, default port dropped, no query. */
export function baseStringUri(url: URL): string {
  const scheme = url.protocol.toLowerCase();
  const host = url.hostname.toLowerCase();
  const port = url.port && !((scheme === 'http:' && url.port === '80') || (scheme === 'https:' && url.port === '443')) ? ':' + url.port : '';
  return `${scheme}//${host}${port}${url.pathname}`;
}

/** The signature base string of RFC 5849 §3.4.1; `params` are decoded pairs without realm and oauth_signature. */
export function signatureBaseString(method: string, url: string, params: [string, string][]): string {
  const u = new URL(url);
  const all = [...params, ...formPairs(u.search.slice(1))].map(([k, v]) => [percentEncode(k), percentEncode(v)] as const);
  all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const normalized = all.map(([k, v]) => `${k}=${v}`).join('&');
  return `${method.toUpperCase()}&${percentEncode(baseStringUri(u))}&${percentEncode(normalized)}`;
}

export function hmacSha1Signature(baseString: string, consumerSecret: string, tokenSecret: string): string {
  return createHmac('sha1', `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`).update(baseString).digest('base64');
}

export class OAuthVerifier {
  private readonly skewMs: number;
  /** nonce key → the time (ms) after which its timestamp would be refused anyway */
  private readonly nonces = new Map<string, number>();
  private lastPrune = 0;

  constructor(private readonly opts: OAuthVerifierOptions) {
    this.skewMs = (opts.timestampSkewSeconds ?? 300) * 1000;
  }

  verify(req: OAuthRequest): OAuthVerdict {
    const fail = (status: 400 | 401, problem: OAuthProblem, detail: string): OAuthVerdict => ({ ok: false, status, problem, detail });
    const pairs = parseOAuthHeader(req.authorization);
    if (!pairs) return fail(400, 'parameter_absent', 'no OAuth Authorization header');
    const p = new Map<string, string>();
    for (const [k, v] of pairs) {
      if (!ALLOWED.has(k)) return fail(400, 'parameter_rejected', `unsupported parameter ${k}`);
      if (p.has(k)) return fail(400, 'parameter_rejected', `duplicated parameter ${k}`);
      p.set(k, v);
    }
    for (const k of REQUIRED) if (!p.get(k)) return fail(400, 'parameter_absent', `missing ${k}`);
    if (p.get('oauth_signature_method') !== 'HMAC-SHA1') return fail(400, 'signature_method_rejected', 'only HMAC-SHA1 is supported');
    if (p.has('oauth_version') && p.get('oauth_version') !== '1.0') return fail(400, 'version_rejected', 'oauth_version must be 1.0');
    const ts = p.get('oauth_timestamp')!;
    if (!/^\d{1,12}$/.test(ts)) return fail(400, 'parameter_rejected', 'oauth_timestamp is not a number');

    const consumerKey = p.get('oauth_consumer_key')!;
    const token = p.get('oauth_token')!;
    const creds = this.opts.lookup(consumerKey, token);
    if ('unknown' in creds) return creds.unknown === 'consumer' ? fail(401, 'consumer_key_unknown', 'unknown consumer key') : fail(401, 'token_rejected', 'unknown access token');

    const now = this.opts.now();
    const tsMs = Number(ts) * 1000;
    if (Math.abs(now - tsMs) > this.skewMs) return fail(401, 'timestamp_refused', 'oauth_timestamp too far from the server clock');

    const signed = pairs.filter(([k]) => k !== 'realm' && k !== 'oauth_signature');
    let base: string;
    try {
      base = signatureBaseString(req.method, req.url, [...signed, ...(req.formBody ? formPairs(req.formBody) : [])]);
    } catch {
      return fail(400, 'parameter_rejected', 'undecodable query or body');
    }
    const expected = Buffer.from(hmacSha1Signature(base, creds.consumerSecret, creds.tokenSecret));
    const given = Buffer.from(p.get('oauth_signature')!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return fail(401, 'signature_invalid', 'signature does not match');

    // Only a correctly signed request consumes its nonce, so nobody can burn another client's nonces.
    this.prune(now);
    const nonceKey = `${consumerKey} ${token} ${ts} ${p.get('oauth_nonce')}`;
    if (this.nonces.has(nonceKey)) return fail(401, 'nonce_used', 'nonce already used');
    this.nonces.set(nonceKey, tsMs + this.skewMs);

    if (creds.state === 'rejected') return fail(401, 'token_rejected', 'token revoked or replaced');
    if (creds.state === 'expired') return fail(401, 'token_expired', 'access token expired');
    return { ok: true, consumerKey, token };
  }

  private prune(now: number): void {
    if (now - this.lastPrune < 10_000 && this.nonces.size < 100_000) return;
    this.lastPrune = now;
    for (const [k, until] of this.nonces) if (until < now) this.nonces.delete(k);
  }
}
