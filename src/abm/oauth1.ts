/**
 * OAuth 1.0a request signing (RFC 5849), HMAC-SHA1 only: what Apple's DEP `GET /session` needs.
 *
 * Pure functions over node:crypto. The pieces (percent-encoding, base string URI, parameter
 * normalisation, base string, signing key) are exported so each can be checked against the
 * RFC's printed examples.
 */
import { createHmac, randomBytes } from 'node:crypto';

/** A request parameter as a name/value pair (names may repeat, so not a map). */
export type OAuthParam = readonly [name: string, value: string];

/**
 * RFC 5849 §3.6: UTF-8, then every octet outside ALPHA / DIGIT / "-" / "." / "_" / "~" as %XX
 * with upper-case hex. encodeURIComponent leaves `!'()*` bare, so those are escaped here.
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * RFC 5849 §3.4.1.2: scheme and host in lower case, the port only when it is not the scheme's
 * default, the path, and no query or fragment. (WHATWG URL already lower-cases and drops
 * default ports.)
 */
export function baseStringUri(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname || '/'}`;
}

/**
 * RFC 5849 §3.4.1.3.2: encode names and values, sort by name then value (byte order of the
 * encoded strings, which are ASCII), join as `name=value` with `&`.
 */
export function normalizeParameters(params: readonly OAuthParam[]): string {
  return params
    .map(([n, v]) => [percentEncode(n), percentEncode(v)] as const)
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

/**
 * RFC 5849 §3.4.1.1: `METHOD&enc(base string URI)&enc(normalized parameters)`. `params` is every
 * parameter that is signed: the `oauth_*` protocol parameters (without `oauth_signature` and
 * `realm`), the URL's query parameters and any form body parameters.
 */
export function signatureBaseString(method: string, url: string, params: readonly OAuthParam[]): string {
  return [method.toUpperCase(), percentEncode(baseStringUri(url)), percentEncode(normalizeParameters(params))].join('&');
}

/** RFC 5849 §3.4.2: the HMAC-SHA1 key is `enc(client secret)&enc(token secret)`. */
export function signingKey(consumerSecret: string, tokenSecret: string): string {
  return `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`;
}

/** RFC 5849 §3.4.2: base64 of HMAC-SHA1(signing key, base string). */
export function hmacSha1Signature(baseString: string, consumerSecret: string, tokenSecret: string): string {
  return createHmac('sha1', signingKey(consumerSecret, tokenSecret)).update(baseString, 'utf8').digest('base64');
}

export interface OAuth1Credentials {
  consumerKey: string;
  consumerSecret: string;
  token: string;
  tokenSecret: string;
}

export interface OAuth1Request {
  method: string;
  /** the full request URL; its query parameters are signed too (§3.4.1.3.1) */
  url: string;
  credentials: OAuth1Credentials;
  /** `realm` goes into the header but never into the signature (§3.4.1.3.1) */
  realm?: string;
  /** Unix seconds; default now */
  timestamp?: number;
  /** default 16 random bytes as hex */
  nonce?: string;
  /** send `oauth_version="1.0"` (default true; RFC 5849 §1.2's example omits it) */
  includeVersion?: boolean;
  /** form-encoded body parameters, if any (DEP sends none) */
  bodyParams?: readonly OAuthParam[];
}

/**
 * The `Authorization` header value for a request, on one line: `OAuth realm="…", oauth_…="…", …`
 * in the order Apple's documentation lists the parameters.
 */
export function oauth1AuthorizationHeader(req: OAuth1Request): string {
  const { credentials: c } = req;
  const timestamp = String(req.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = req.nonce ?? randomBytes(16).toString('hex');
  const version: OAuthParam[] = req.includeVersion === false ? [] : [['oauth_version', '1.0']];
  const protocol: OAuthParam[] = [
    ['oauth_consumer_key', c.consumerKey],
    ['oauth_token', c.token],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', timestamp],
    ['oauth_nonce', nonce],
    ...version,
  ];
  const query: OAuthParam[] = [...new URL(req.url).searchParams];
  const signature = hmacSha1Signature(
    signatureBaseString(req.method, req.url, [...protocol, ...query, ...(req.bodyParams ?? [])]),
    c.consumerSecret,
    c.tokenSecret,
  );
  const ordered: OAuthParam[] = [
    ['oauth_consumer_key', c.consumerKey],
    ['oauth_token', c.token],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_signature', signature],
    ['oauth_timestamp', timestamp],
    ['oauth_nonce', nonce],
    ...version,
  ];
  const parts = ordered.map(([n, v]) => `${percentEncode(n)}="${percentEncode(v)}"`);
  if (req.realm !== undefined) {
    if (/["\\\r\n]/.test(req.realm)) throw new TypeError('OAuth realm must not contain quotes, backslashes or line breaks');
    parts.unshift(`realm="${req.realm}"`);
  }
  return `OAuth ${parts.join(', ')}`;
}
