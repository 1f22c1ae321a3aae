/**
 * What a device does in account-driven user enrollment before it installs the profile, over
 * HTTP as Apple describes it: service discovery, the enrollment request and its 401 challenge,
 * the web view's authentication result, and the second request with the bearer token. The
 * sign-in in between is the person's (a test drives the pages).
 */
import { buildPlist } from '../apple/plist.js';

export interface BearerChallenge {
  method: string;
  url: string;
}

/** The request body a device posts to BaseURL (Apple's example keys). */
export function enrollmentRequestBody(o: { product?: string; version?: string; language?: string } = {}): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(buildPlist({ LANGUAGE: o.language ?? 'en-US', PRODUCT: o.product ?? 'iPhone17,1', VERSION: o.version ?? '22B83' })));
}

/** Step 2–3: the well-known request to the account's domain; returns BaseURL of the `mdm-byod` server. */
export async function discoverBaseUrl(origin: string, userIdentifier: string, modelFamily = 'iPhone', http: typeof fetch = fetch): Promise<string> {
  const url = `${origin}/.well-known/com.apple.remotemanagement?user-identifier=${encodeURIComponent(userIdentifier)}&model-family=${encodeURIComponent(modelFamily)}`;
  const res = await http(url);
  if (res.status !== 200 || !(res.headers.get('content-type') ?? '').startsWith('application/json')) throw new Error(`discovery answered ${res.status}`);
  const doc = (await res.json()) as { Servers?: Array<{ Version?: string; BaseURL?: string }> };
  const server = doc.Servers?.[0];
  if (server?.Version !== 'mdm-byod' || !server.BaseURL) throw new Error('discovery offers no mdm-byod server');
  return server.BaseURL;
}

export type EnrollmentAttempt =
  | { kind: 'challenge'; status: 401; challenge: BearerChallenge }
  | { kind: 'profile'; status: 200; profile: Buffer; contentType: string }
  | { kind: 'refused'; status: number; body: string };

/** Steps 4 and 12: POST the device's request, with the access token the second time. */
export async function attemptEnrollment(baseUrl: string, body: Uint8Array<ArrayBuffer>, accessToken?: string, http: typeof fetch = fetch): Promise<EnrollmentAttempt> {
  const headers: Record<string, string> = { 'content-type': 'application/xml' };
  if (accessToken !== undefined) headers.authorization = `Bearer ${accessToken}`;
  const res = await http(baseUrl, { method: 'POST', headers, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status === 401) {
    const challenge = parseBearerChallenge(res.headers.get('www-authenticate') ?? '');
    if (!challenge) throw new Error('401 without a Bearer challenge: the device cancels the enrollment');
    return { kind: 'challenge', status: 401, challenge };
  }
  if (res.status === 200) return { kind: 'profile', status: 200, profile: bytes, contentType: res.headers.get('content-type') ?? '' };
  return { kind: 'refused', status: res.status, body: bytes.toString() };
}

/** `Bearer method="apple-as-web", url="…"` → its parameters (as the device reads them). */
export function parseBearerChallenge(header: string): BearerChallenge | undefined {
  const m = /^Bearer\s+(.*)$/i.exec(header.trim());
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[1]!.matchAll(/([A-Za-z-]+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  return params.method && params.url ? { method: params.method, url: params.url } : undefined;
}

/** Step 6: the device adds the account the person typed to the web-auth URL. */
export function webAuthUrl(challenge: BearerChallenge, userIdentifier: string): string {
  const u = new URL(challenge.url);
  u.searchParams.set('user-identifier', userIdentifier);
  return u.toString();
}

/** Step 11: the access token from the web view's final redirect, if it is Apple's callback URL. */
export function accessTokenFromResults(location: string): string | undefined {
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'apple-remotemanagement-user-login:' || u.host !== 'authentication-results') return undefined;
  return u.searchParams.get('access-token') ?? undefined;
}
