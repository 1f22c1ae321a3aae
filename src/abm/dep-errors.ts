/**
 * Errors of the DEP API client: one class, a `kind` to switch on, Apple's code when the body
 * carries one, and a message an admin can act on.
 *
 * Apple's error bodies are opaque text: Apple sends the code bare (`EXHAUSTED_CURSOR`), the
 * depsim simulator JSON-quoted (`"EXHAUSTED_CURSOR"`), so codes are found by substring.
 * Messages and excerpts never carry credentials or session tokens (see `redact`).
 */

export type DepErrorKind =
  /** authentication failed even with a fresh session, or the token may not do this (ACCESS_DENIED) */
  | 'auth'
  /** T_C_NOT_SIGNED: an ABM administrator must accept new terms; nothing else helps */
  | 'terms-not-signed'
  /** token_rejected / signature_invalid: the server token was revoked or replaced; upload a new one */
  | 'token-rejected'
  /** EXHAUSTED_CURSOR (fetch): switch to sync with the same cursor */
  | 'cursor-exhausted'
  /** EXPIRED_CURSOR (sync, cursor older than 7 days): start over with a full fetch */
  | 'cursor-expired'
  /** INVALID_CURSOR or CURSOR_REQUIRED: start over with a full fetch */
  | 'cursor-invalid'
  /** any other 4xx: the request was wrong (bad profile field, no devices, User-Agent refused, …) */
  | 'bad-request'
  /** 404: unknown profile UUID, DEVICE_NOT_FOUND, … */
  | 'not-found'
  /** 5xx (or 429) after every retry */
  | 'server'
  /** connection refused, reset, DNS, … after every retry */
  | 'network'
  /** no complete answer within the per-request timeout, after every retry */
  | 'timeout'
  /** a 2xx whose body is not JSON, not the expected shape, or too large */
  | 'malformed-response';

export interface DepErrorInit {
  kind: DepErrorKind;
  /** `METHOD /path` (no query), e.g. `POST /devices/sync` */
  endpoint: string;
  /** HTTP status; undefined for network faults and timeouts */
  status?: number;
  /** Apple's code, e.g. `T_C_NOT_SIGNED` */
  code?: string;
  /** what the admin reads, without the "Apple Business Manager: " prefix */
  detail: string;
  /** at most BODY_EXCERPT_BYTES of the response body, secrets removed */
  bodyExcerpt?: string;
  /** HTTP requests made for this endpoint before giving up */
  attempts?: number;
  cause?: unknown;
}

export class DepError extends Error {
  override readonly name = 'DepError';
  readonly kind: DepErrorKind;
  readonly endpoint: string;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly bodyExcerpt: string | undefined;
  readonly attempts: number | undefined;

  constructor(init: DepErrorInit) {
    super(`Apple Business Manager: ${init.detail}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.endpoint = init.endpoint;
    this.status = init.status;
    this.code = init.code;
    this.bodyExcerpt = init.bodyExcerpt;
    this.attempts = init.attempts;
  }
}

export const BODY_EXCERPT_BYTES = 1024;

interface CodeInfo {
  kind: DepErrorKind;
  text: string;
}

/**
 * Codes Apple documents (and depsim's FORBIDDEN), most specific first, because the search is
 * by substring (`DEVICE_NOT_FOUND` contains `NOT_FOUND`). `kind` here applies to 4xx answers;
 * a 5xx is always 'server'.
 */
const KNOWN_CODES: [code: string, info: CodeInfo][] = [
  ['T_C_NOT_SIGNED', { kind: 'terms-not-signed', text: 'the organisation must accept the new terms and conditions in Apple Business Manager' }],
  ['token_rejected', { kind: 'token-rejected', text: 'the server token was revoked or replaced in Apple Business Manager; download a new token and upload it to Pomona' }],
  ['signature_invalid', { kind: 'token-rejected', text: 'the server token is no longer valid (revoked or replaced in Apple Business Manager); download a new token and upload it to Pomona' }],
  ['ACCESS_DENIED', { kind: 'auth', text: 'this MDM server\'s token is not allowed to make this request' }],
  ['EXHAUSTED_CURSOR', { kind: 'cursor-exhausted', text: 'the device fetch cursor is exhausted; continue with sync' }],
  ['EXPIRED_CURSOR', { kind: 'cursor-expired', text: 'the device sync cursor has expired (older than 7 days); a full fetch is needed' }],
  ['INVALID_CURSOR', { kind: 'cursor-invalid', text: 'the device cursor was not accepted; a full fetch is needed' }],
  ['CURSOR_REQUIRED', { kind: 'cursor-invalid', text: 'a device sync needs a cursor; a full fetch is needed' }],
  ['USER_AGENT_INVALID', { kind: 'bad-request', text: 'Apple refused Pomona\'s User-Agent header; configure a different one' }],
  ['USER_AGENT_MISSING', { kind: 'bad-request', text: 'Apple saw no User-Agent header' }],
  ['DEVICE_ID_REQUIRED', { kind: 'bad-request', text: 'the request named no devices' }],
  ['PROFILE_UUID_REQUIRED', { kind: 'bad-request', text: 'the request named no enrollment profile' }],
  ['MALFORMED_REQUEST_BODY', { kind: 'bad-request', text: 'Apple could not read the request' }],
  ['CONFIG_NAME_REQUIRED', { kind: 'bad-request', text: 'the enrollment profile needs a name' }],
  ['CONFIG_NAME_INVALID', { kind: 'bad-request', text: 'the enrollment profile\'s name is empty or longer than 125 characters' }],
  ['CONFIG_URL_REQUIRED', { kind: 'bad-request', text: 'the enrollment profile needs an MDM enrollment URL' }],
  ['CONFIG_URL_INVALID', { kind: 'bad-request', text: 'the enrollment profile\'s URL is not a valid URL (or longer than 2000 characters)' }],
  ['DEPARTMENT_INVALID', { kind: 'bad-request', text: 'the enrollment profile\'s department is empty or longer than 125 characters' }],
  ['FLAGS_INVALID', { kind: 'bad-request', text: 'the enrollment profile\'s flags contradict each other (not removable requires supervised)' }],
  ['LOCALE_INVALID', { kind: 'bad-request', text: 'the enrollment profile\'s language and region are not a valid combination' }],
  ['MAGIC_INVALID', { kind: 'bad-request', text: 'the enrollment profile\'s org_magic is empty or longer than 256 characters' }],
  ['SUPPORT_EMAIL_INVALID', { kind: 'bad-request', text: 'the enrollment profile\'s support e-mail address is empty or longer than 250 characters' }],
  ['SUPPORT_PHONE_INVALID', { kind: 'bad-request', text: 'the enrollment profile\'s support phone number is empty or longer than 50 characters' }],
  ['ORG_NOT_SUPPORTED', { kind: 'bad-request', text: 'the organisation does not support this request' }],
  ['DEVICE_NOT_FOUND', { kind: 'not-found', text: 'the device is not known (or is not a replacement device)' }],
  ['NOT_FOUND', { kind: 'not-found', text: 'Apple does not know what the request names' }],
  ['FORBIDDEN', { kind: 'auth', text: 'Apple refused the auth session even after a new one was opened' }],
];

/** An upper-case Apple-style code that is the whole body, bare or JSON-quoted. */
const LONE_CODE = /^"?([A-Z][A-Z0-9_]{2,63})"?$/;
const ANY_CONFIG_CODE = /CONFIG_[A-Z_]+/;

/** Finds Apple's error code in a response body, if it has one. */
export function findDepErrorCode(body: string): string | undefined {
  for (const [code] of KNOWN_CODES) if (body.includes(code)) return code;
  const config = ANY_CONFIG_CODE.exec(body);
  if (config) return config[0];
  return LONE_CODE.exec(body.trim())?.[1];
}

/** Whether this answer means "your auth session is unknown or expired": re-authenticate once. */
export function isSessionRejected(status: number, body: string): boolean {
  if (status === 401) return true;
  // depsim answers 403 FORBIDDEN for an unknown session; other 403s (terms, revoked token,
  // access denied) must reach the caller instead of being masked by a re-authentication.
  return status === 403 && findDepErrorCode(body) === 'FORBIDDEN';
}

/** Copies `text` with every secret replaced, then cut to BODY_EXCERPT_BYTES of UTF-8. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  const bytes = Buffer.from(out, 'utf8');
  if (bytes.length <= BODY_EXCERPT_BYTES) return out;
  // cut on a character boundary: decoding a cut multi-byte sequence would yield U+FFFD
  return `${bytes.subarray(0, BODY_EXCERPT_BYTES).toString('utf8').replace(/\uFFFD+$/, '')}…`;
}

/** The error for a non-2xx answer from Apple. `body` must already be redacted. */
export function depErrorFromResponse(a: {
  endpoint: string;
  status: number;
  body: string;
  attempts?: number;
  /** the answer came from GET /session (an auth failure there is about the server token) */
  session?: boolean;
}): DepError {
  const code = findDepErrorCode(a.body);
  const info = KNOWN_CODES.find(([c]) => c === code)?.[1];
  const where = `${code ? `${code}; ` : ''}HTTP ${a.status} from ${a.endpoint}`;
  const base = { endpoint: a.endpoint, status: a.status, code, bodyExcerpt: a.body || undefined, attempts: a.attempts };
  if (a.status >= 500 || a.status === 429) {
    const tries = a.attempts && a.attempts > 1 ? ` after ${a.attempts} attempts` : '';
    return new DepError({ ...base, kind: 'server', detail: `the service is failing${tries}; try again later (${where})` });
  }
  if (info && !(code === 'FORBIDDEN' && a.status !== 403)) {
    return new DepError({ ...base, kind: info.kind, detail: `${info.text} (${where})` });
  }
  if (a.status === 401 || a.status === 403) {
    const detail = a.session
      ? 'the server token was not accepted; check that it is current, or download a new one from Apple Business Manager and upload it to Pomona'
      : a.status === 401
        ? 'the request was refused even with a new auth session'
        : 'the request was refused';
    return new DepError({ ...base, kind: 'auth', detail: `${detail} (${where})` });
  }
  if (a.status === 404) {
    return new DepError({ ...base, kind: 'not-found', detail: `Apple does not know what the request names (${where})` });
  }
  const excerpt = a.body ? `: ${oneLine(a.body, 200)}` : '';
  return new DepError({ ...base, kind: 'bad-request', detail: `the request was rejected (${where})${excerpt}` });
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max)}…`;
}
