/**
 * Client for Apple's DEP (Device Assignment) API at mdmenrollment.apple.com: one typed method per
 * endpoint over Node's global fetch.
 *
 * Session handling follows NanoDEP's transport: use the stored `X-ADM-Auth-Session`; when there
 * is none, or Apple answers 401 (or depsim's 403 FORBIDDEN), open a new one with the OAuth 1.0a
 * signed `GET /session` and replay the request once. Any response may rotate the session
 * through its `X-ADM-Auth-Session` header. The session lives in an injected store (the
 * database), so every Pomona node shares one instead of each opening its own; within one
 * client, concurrent calls open at most one session at a time.
 *
 * 5xx (and 429), network faults and timeouts are retried with exponential backoff and jitter;
 * every other answer is final. Errors are DepError (./dep-errors.ts); nothing secret (OAuth
 * secrets, tokens, signatures, session tokens) goes into a message, an excerpt or an event.
 */
import {
  DepError,
  depErrorFromResponse,
  isSessionRejected,
  redact,
} from './dep-errors.js';
import type {
  AccountDetail,
  ActivationLockRequest,
  ActivationLockStatusResponse,
  AssignProfileResponse,
  ClearProfileResponse,
  DefineProfileResponse,
  DeviceListResponse,
  DisownResponse,
  FetchDeviceRequest,
  FetchDeviceResponse,
  FetchedProfile,
  Profile,
  ReplacementDetailsResponse,
  SyncDeviceRequest,
} from './dep-types.js';
import { oauth1AuthorizationHeader } from './oauth1.js';

export const DEP_BASE_URL = 'https://mdmenrollment.apple.com';
export const DEP_CONTENT_TYPE = 'application/json;charset=UTF8';
export const DEP_PROTOCOL_VERSION = 10;
export const DEP_SESSION_HEADER = 'X-ADM-Auth-Session';

/** The four OAuth values from the decrypted server token (`.p7m`). */
export interface DepCredentials {
  consumerKey: string;
  consumerSecret: string;
  accessToken: string;
  accessSecret: string;
}

/** Where the auth session of one ABM server lives (the database, shared by every node). */
export interface DepSessionStore {
  load(): Promise<string | undefined>;
  save(token: string): Promise<void>;
}

/** One HTTP request to Apple, for metrics and logs. */
export interface DepCallEvent {
  /** `METHOD /path` without the query, e.g. `POST /devices/sync`, `GET /session` */
  endpoint: string;
  status: number | 'network' | 'timeout';
  ms: number;
}

export interface DepClientOptions {
  /** default https://mdmenrollment.apple.com; a path prefix is kept (proxies) */
  baseUrl?: string;
  credentials: DepCredentials;
  sessions: DepSessionStore;
  /** required, printable ASCII, e.g. `pomona/0.1` (Apple rejects some: USER_AGENT_INVALID) */
  userAgent: string;
  /** X-Server-Protocol-Version, default 10 */
  protocolVersion?: number;
  /** assign profile: POST (Apple's current docs, default) or PUT (older clients; depsim accepts only PUT) */
  assignMethod?: 'POST' | 'PUT';
  /** per HTTP request, body included; default 30 s */
  timeoutMs?: number;
  /** extra tries after a 5xx/429, network fault or timeout; default 3 */
  retries?: number;
  /** backoff before retry n: ceiling = min(max, base·2^(n-1)), wait ceiling/2 + random·ceiling/2 */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** largest successful response body read, default 64 MiB */
  maxResponseBytes?: number;
  sleep?: (ms: number) => Promise<void>;
  /** epoch ms: OAuth timestamps and event durations */
  now?: () => number;
  random?: () => number;
  onCall?: (e: DepCallEvent) => void;
}

type Resolved = Required<Omit<DepClientOptions, 'onCall'>> & Pick<DepClientOptions, 'onCall'>;

interface DepRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

interface Answer {
  status: number;
  text: string;
  attempts: number;
}

/** Error bodies only feed codes and excerpts: no need to read more of them. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export class DepClient {
  readonly #o: Resolved;
  readonly #base: string;
  /** a /session request in flight: concurrent callers wait for it instead of opening their own */
  #inflight: Promise<string> | undefined;
  /** the newest session this client obtained or saw rotated, and a counter bumped on each */
  #latest: string | undefined;
  #generation = 0;

  constructor(opts: DepClientOptions) {
    const base = new URL(opts.baseUrl ?? DEP_BASE_URL);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError('DEP base URL must be http(s)');
    if (base.search || base.hash) throw new TypeError('DEP base URL must not have a query or fragment');
    if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(opts.userAgent ?? '')) throw new TypeError('DEP User-Agent must be non-empty printable ASCII');
    const c = opts.credentials;
    if (![c?.consumerKey, c?.consumerSecret, c?.accessToken, c?.accessSecret].every((v) => typeof v === 'string' && v !== '')) {
      throw new TypeError('DEP credentials need consumerKey, consumerSecret, accessToken and accessSecret');
    }
    const protocolVersion = opts.protocolVersion ?? DEP_PROTOCOL_VERSION;
    if (!Number.isInteger(protocolVersion) || protocolVersion < 1) throw new TypeError('DEP protocol version must be a positive integer');
    this.#base = base.href.replace(/\/+$/, '');
    this.#o = {
      baseUrl: this.#base,
      credentials: { ...c },
      sessions: opts.sessions,
      userAgent: opts.userAgent,
      protocolVersion,
      assignMethod: opts.assignMethod ?? 'POST',
      timeoutMs: opts.timeoutMs ?? 30_000,
      retries: Math.max(0, Math.floor(opts.retries ?? 3)),
      retryBaseDelayMs: opts.retryBaseDelayMs ?? 1_000,
      retryMaxDelayMs: opts.retryMaxDelayMs ?? 30_000,
      maxResponseBytes: opts.maxResponseBytes ?? 64 * 1024 * 1024,
      sleep: opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now: opts.now ?? Date.now,
      random: opts.random ?? Math.random,
      onCall: opts.onCall,
    };
  }

  // ---- endpoints -------------------------------------------------------------------------

  /** `GET /account`: the MDM server and organisation behind the token. */
  account(): Promise<AccountDetail> {
    return this.#call({ method: 'GET', path: '/account' }, parseAccount);
  }

  /** `POST /server/devices`: one page of every device assigned now; no cursor on the first call. */
  fetchDevices(req: FetchDeviceRequest = {}): Promise<FetchDeviceResponse> {
    checkLimit(req.limit);
    if (req.cursor !== undefined) checkNonEmpty(req.cursor, 'cursor');
    return this.#call({ method: 'POST', path: '/server/devices', body: compact({ cursor: req.cursor, limit: req.limit }) }, parsePage);
  }

  /** `POST /devices/sync`: one page of changes since the cursor. */
  syncDevices(req: SyncDeviceRequest): Promise<FetchDeviceResponse> {
    checkNonEmpty(req.cursor, 'cursor');
    checkLimit(req.limit);
    return this.#call({ method: 'POST', path: '/devices/sync', body: compact({ cursor: req.cursor, limit: req.limit }) }, parsePage);
  }

  /** `POST /devices`: details of the given serials. */
  async deviceDetails(serials: readonly string[]): Promise<DeviceListResponse> {
    if (checkSerials(serials) === 0) return { devices: {} };
    return this.#call({ method: 'POST', path: '/devices', body: { devices: serials } }, parseDeviceList);
  }

  /** `POST /devices/disown`: removes the devices from the organisation. Irreversible. */
  async disown(serials: readonly string[]): Promise<DisownResponse> {
    if (checkSerials(serials) === 0) return { devices: {} };
    return this.#call({ method: 'POST', path: '/devices/disown', body: { devices: serials } }, parseStatusMap);
  }

  /** `POST /device/activationlock`. */
  activationLock(req: ActivationLockRequest): Promise<ActivationLockStatusResponse> {
    checkNonEmpty(req.device, 'device');
    if (req.escrowKey !== undefined && !/^[0-9a-f]{64}$/i.test(req.escrowKey)) {
      throw new TypeError('escrowKey must be 64 hex digits (the PBKDF2 hash of the bypass code)');
    }
    const body = compact({ device: req.device, escrow_key: req.escrowKey?.toLowerCase(), lost_message: req.lostMessage });
    return this.#call({ method: 'POST', path: '/device/activationlock', body }, parseActivationLock);
  }

  /** `POST /profile`: defines a new profile (and assigns it to `profile.devices`, if any). */
  defineProfile(profile: Profile): Promise<DefineProfileResponse> {
    return this.#call({ method: 'POST', path: '/profile', body: profile }, parseDefine);
  }

  /** `GET /profile?profile_uuid=`. */
  getProfile(profileUuid: string): Promise<FetchedProfile> {
    checkNonEmpty(profileUuid, 'profile UUID');
    return this.#call({ method: 'GET', path: '/profile', query: { profile_uuid: profileUuid } }, parseProfile);
  }

  /**
   * `POST /profile/devices` (Apple's current method; PUT with `assignMethod: 'PUT'`). 200 even when devices fail: read the map;
   * THROTTLED serials wait `retry_after_seconds`. Apple recommends at most 1000 serials a call.
   */
  async assignProfile(profileUuid: string, serials: readonly string[]): Promise<AssignProfileResponse> {
    checkNonEmpty(profileUuid, 'profile UUID');
    if (checkSerials(serials) === 0) return { profile_uuid: profileUuid, devices: {} };
    return this.#call({ method: this.#o.assignMethod, path: '/profile/devices', body: { profile_uuid: profileUuid, devices: serials } }, parseAssign);
  }

  /** `DELETE /profile/devices` (with a JSON body): clears whatever profile the devices have. */
  async removeProfile(serials: readonly string[]): Promise<ClearProfileResponse> {
    if (checkSerials(serials) === 0) return { devices: {} };
    return this.#call({ method: 'DELETE', path: '/profile/devices', body: { devices: serials } }, parseStatusMap);
  }

  /** `GET /device/replacementDetails?device=` (protocol 10): only for `is_replacement_device`. */
  replacementDetails(serial: string): Promise<ReplacementDetailsResponse> {
    checkNonEmpty(serial, 'serial');
    return this.#call({ method: 'GET', path: '/device/replacementDetails', query: { device: serial } }, parseReplacement);
  }

  // ---- session ---------------------------------------------------------------------------

  async #call<T>(req: DepRequest, parse: (v: unknown) => T): Promise<T> {
    const endpoint = `${req.method} ${req.path}`;
    let token: string;
    let fresh = false;
    if (this.#inflight) {
      token = await this.#inflight;
      fresh = true;
    } else {
      const seen = this.#generation;
      const stored = await this.#o.sessions.load();
      if (stored) token = stored;
      else {
        token = await this.#renew(seen);
        fresh = true;
      }
    }
    const session = { token };
    const seen = this.#generation;
    let answer = await this.#send(req, endpoint, () => ({ [DEP_SESSION_HEADER]: session.token }), session);
    if (!fresh && isSessionRejected(answer.status, answer.text)) {
      session.token = await this.#renew(seen, session.token);
      answer = await this.#send(req, endpoint, () => ({ [DEP_SESSION_HEADER]: session.token }), session);
    }
    return this.#result(endpoint, answer, parse, session.token);
  }

  /**
   * A session to replace `rejected` (undefined: none was stored), newer than generation `seen`:
   * the one being opened, one adopted since (another call renewed it, or a response rotated
   * it), or else a new one from `GET /session`.
   */
  #renew(seen: number, rejected?: string): Promise<string> {
    if (this.#inflight) return this.#inflight;
    if (this.#generation !== seen && this.#latest && this.#latest !== rejected) return Promise.resolve(this.#latest);
    const opening = this.#openSession().finally(() => {
      if (this.#inflight === opening) this.#inflight = undefined;
    });
    this.#inflight = opening;
    return opening;
  }

  async #openSession(): Promise<string> {
    const endpoint = 'GET /session';
    const url = `${this.#base}/session`;
    const c = this.#o.credentials;
    const answer = await this.#send({ method: 'GET', path: '/session' }, endpoint, () => ({
      // a fresh nonce and timestamp for every try: Apple refuses a nonce it has seen
      Authorization: oauth1AuthorizationHeader({
        method: 'GET',
        url,
        realm: 'ADM',
        timestamp: Math.floor(this.#o.now() / 1000),
        credentials: { consumerKey: c.consumerKey, consumerSecret: c.consumerSecret, token: c.accessToken, tokenSecret: c.accessSecret },
      }),
      'Content-Type': DEP_CONTENT_TYPE, // depsim insists on it even without a body
    }));
    const { auth_session_token: token } = this.#result(endpoint, answer, parseSession, undefined, true);
    await this.#o.sessions.save(token);
    this.#adopt(token);
    return token;
  }

  #adopt(token: string): void {
    this.#latest = token;
    this.#generation++;
  }

  // ---- HTTP ------------------------------------------------------------------------------

  /**
   * One request with retries; returns the final answer (any status) or throws network/timeout.
   * `session` (absent for /session itself) follows rotations, so a retry uses the newest token.
   */
  async #send(req: DepRequest, endpoint: string, auth: () => Record<string, string>, session?: { token: string }): Promise<Answer> {
    const o = this.#o;
    const query = req.query ? `?${new URLSearchParams(req.query)}` : '';
    const url = `${this.#base}${req.path}${query}`;
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    for (let attempt = 1; ; attempt++) {
      const started = o.now();
      const signal = AbortSignal.timeout(o.timeoutMs);
      let status: number;
      let text: string;
      let truncated: boolean;
      let retryAfterMs: number | undefined;
      let rotated: string | undefined;
      try {
        const res = await fetch(url, {
          method: req.method,
          headers: {
            'User-Agent': o.userAgent,
            'X-Server-Protocol-Version': String(o.protocolVersion),
            Accept: DEP_CONTENT_TYPE,
            ...(body === undefined ? {} : { 'Content-Type': DEP_CONTENT_TYPE }),
            ...auth(),
          },
          body,
          signal,
          // a redirect would carry the session token elsewhere; Apple does not redirect
          redirect: 'manual',
        });
        status = res.status;
        rotated = res.headers.get(DEP_SESSION_HEADER) ?? undefined;
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
        const ok = status >= 200 && status < 300;
        const declared = Number(res.headers.get('content-length') ?? NaN);
        if (ok && declared > o.maxResponseBytes) {
          // no need to read what will be refused anyway
          await res.body?.cancel().catch(() => undefined);
          ({ text, truncated } = { text: '', truncated: true });
        } else {
          ({ text, truncated } = await readCapped(res, ok ? o.maxResponseBytes : MAX_ERROR_BODY_BYTES));
        }
        if (ok && truncated) {
          o.onCall?.({ endpoint, status, ms: o.now() - started });
          throw new DepError({
            kind: 'malformed-response',
            endpoint,
            status,
            attempts: attempt,
            detail: `the answer to ${endpoint} is larger than ${o.maxResponseBytes} bytes; Pomona stopped reading it`,
          });
        }
      } catch (err) {
        if (err instanceof DepError) throw err;
        const timedOut = signal.aborted;
        o.onCall?.({ endpoint, status: timedOut ? 'timeout' : 'network', ms: o.now() - started });
        if (attempt <= o.retries) {
          await o.sleep(this.#backoff(attempt));
          continue;
        }
        const tries = attempt > 1 ? ` (${attempt} attempts)` : '';
        if (timedOut) {
          throw new DepError({
            kind: 'timeout',
            endpoint,
            attempts: attempt,
            detail: `no answer to ${endpoint} within ${o.timeoutMs} ms${tries}`,
          });
        }
        throw new DepError({
          kind: 'network',
          endpoint,
          attempts: attempt,
          detail: `could not reach ${new URL(this.#base).host} for ${endpoint}: ${describeNetworkError(err)}${tries}`,
          cause: err,
        });
      }
      o.onCall?.({ endpoint, status, ms: o.now() - started });
      // any answer, even an error, may hand over a new session
      if (session && rotated && rotated !== session.token) {
        await o.sessions.save(rotated);
        this.#adopt(rotated);
        session.token = rotated;
      }
      if ((status >= 500 || status === 429) && attempt <= o.retries) {
        await o.sleep(Math.max(this.#backoff(attempt), Math.min(retryAfterMs ?? 0, o.retryMaxDelayMs)));
        continue;
      }
      return { status, text, attempts: attempt };
    }
  }

  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#o.retryMaxDelayMs, this.#o.retryBaseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + (this.#o.random() * ceiling) / 2;
  }

  /** The parsed body of a 2xx answer, or the DepError for anything else. */
  #result<T>(endpoint: string, a: Answer, parse: (v: unknown) => T, token: string | undefined, session = false): T {
    const c = this.#o.credentials;
    const excerpt = redact(a.text, [c.consumerKey, c.consumerSecret, c.accessToken, c.accessSecret, token, this.#latest]);
    if (a.status < 200 || a.status >= 300) {
      throw depErrorFromResponse({ endpoint, status: a.status, body: excerpt, attempts: a.attempts, session });
    }
    const malformed = (why: string) =>
      new DepError({
        kind: 'malformed-response',
        endpoint,
        status: a.status,
        attempts: a.attempts,
        bodyExcerpt: excerpt || undefined,
        detail: `unexpected answer to ${endpoint}: ${why}`,
      });
    let value: unknown;
    try {
      value = JSON.parse(a.text.replace(/^\uFEFF/, ''));
    } catch {
      throw malformed(a.text.trim() === '' ? 'empty body' : 'not JSON');
    }
    try {
      return parse(value);
    } catch (err) {
      if (err instanceof ShapeError) throw malformed(err.message);
      throw err;
    }
  }
}

// ---- helpers ---------------------------------------------------------------------------------

async function readCapped(res: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > max) {
      chunks.push(value.subarray(0, max - total));
      await reader.cancel().catch(() => undefined);
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    total += value.byteLength;
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message = typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkNonEmpty(value: unknown, what: string): void {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${what} must be a non-empty string`);
}

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new TypeError('limit must be a positive integer');
}

function checkSerials(serials: readonly string[]): number {
  if (!Array.isArray(serials) || !serials.every((s) => typeof s === 'string' && s !== '')) {
    throw new TypeError('serial numbers must be non-empty strings');
  }
  return serials.length;
}

// ---- response shapes -------------------------------------------------------------------------
// Checked by hand: what the rest of Pomona relies on is present and of the right type; extra
// fields pass through untouched.

class ShapeError extends Error {}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function object(v: unknown, what = 'the body'): Obj {
  if (!isObj(v)) throw new ShapeError(`${what} is not a JSON object`);
  return v;
}

function string(o: Obj, key: string, required: boolean, nonEmpty = false): void {
  const v = o[key];
  if (v === undefined && !required) return;
  if (typeof v !== 'string') throw new ShapeError(`${key} is ${v === undefined ? 'missing' : 'not a string'}`);
  if (nonEmpty && v === '') throw new ShapeError(`${key} is empty`);
}

/** `devices` as a map of serial → string status (absent: empty). */
function statusMap(o: Obj): Record<string, string> {
  if (o.devices === undefined) return {};
  const map = object(o.devices, 'devices');
  for (const [serial, status] of Object.entries(map)) {
    if (typeof status !== 'string') throw new ShapeError(`the status of ${serial.slice(0, 64)} is not a string`);
  }
  return map as Record<string, string>;
}

function parseSession(v: unknown): { auth_session_token: string } {
  const o = object(v);
  string(o, 'auth_session_token', true, true);
  return { auth_session_token: o.auth_session_token as string };
}

function parseAccount(v: unknown): AccountDetail {
  const o = object(v);
  for (const key of ['server_uuid', 'server_name', 'org_name']) string(o, key, false);
  if (o.urls !== undefined && !(Array.isArray(o.urls) && o.urls.every(isObj))) throw new ShapeError('urls is not a list of objects');
  return o as AccountDetail;
}

function parsePage(v: unknown): FetchDeviceResponse {
  const o = object(v);
  string(o, 'cursor', true, true);
  string(o, 'fetched_until', false);
  if (o.more_to_follow !== undefined && typeof o.more_to_follow !== 'boolean') throw new ShapeError('more_to_follow is not a boolean');
  if (o.devices !== undefined && !Array.isArray(o.devices)) throw new ShapeError('devices is not an array');
  const devices = (o.devices ?? []) as unknown[];
  devices.forEach((d, i) => {
    const device = object(d, `device ${i}`);
    if (typeof device.serial_number !== 'string' || device.serial_number === '') throw new ShapeError(`device ${i} has no serial_number`);
  });
  return { ...o, more_to_follow: o.more_to_follow === true, devices } as FetchDeviceResponse;
}

function parseDeviceList(v: unknown): DeviceListResponse {
  const o = object(v);
  if (o.devices === undefined) return { ...o, devices: {} };
  const map = object(o.devices, 'devices');
  for (const [serial, d] of Object.entries(map)) object(d, `the details of ${serial.slice(0, 64)}`);
  return o as unknown as DeviceListResponse;
}

function parseStatusMap(v: unknown): DisownResponse {
  const o = object(v);
  return { ...o, devices: statusMap(o) };
}

function parseDefine(v: unknown): DefineProfileResponse {
  const o = object(v);
  string(o, 'profile_uuid', true, true);
  return { ...o, profile_uuid: o.profile_uuid as string, devices: statusMap(o) };
}

function parseAssign(v: unknown): AssignProfileResponse {
  const o = object(v);
  string(o, 'profile_uuid', false);
  const r = o.retry_after_seconds;
  if (r !== undefined && !(typeof r === 'number' && Number.isFinite(r) && r >= 0)) throw new ShapeError('retry_after_seconds is not a number of seconds');
  return { ...o, devices: statusMap(o) } as AssignProfileResponse;
}

function parseProfile(v: unknown): FetchedProfile {
  const o = object(v);
  string(o, 'profile_uuid', false);
  string(o, 'profile_name', false);
  return o as FetchedProfile;
}

function parseActivationLock(v: unknown): ActivationLockStatusResponse {
  const o = object(v);
  string(o, 'serial_number', true);
  string(o, 'response_status', true, true);
  return o as unknown as ActivationLockStatusResponse;
}

function parseReplacement(v: unknown): ReplacementDetailsResponse {
  const o = object(v);
  for (const key of ['serial_number', 'original_device_serial_number', 'replacement_date']) string(o, key, true, true);
  return o as unknown as ReplacementDetailsResponse;
}
