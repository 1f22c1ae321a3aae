/**
 * APNs provider client for MDM pushes: HTTP/2 with the push certificate as TLS client
 * certificate (Apple's certificate-based provider authentication).
 *
 * One multiplexed session per topic, as Apple asks providers to keep connections open rather
 * than reconnect per push; a bounded number of streams in flight per session, the rest queued;
 * transient failures (429, 5xx, transport) retried with exponential backoff and jitter.
 */
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { rootCertificates } from 'node:tls';

export const APNS_PRODUCTION_URL = 'https://api.push.apple.com';
export const APNS_SANDBOX_URL = 'https://api.sandbox.push.apple.com';

export interface ApnsCredentials {
  topic: string;
  certPem: string;
  keyPem: string;
}

export interface ApnsPush {
  /** the device token as hex (TokenUpdate `Token`) */
  token: string;
  pushMagic: string;
}

export interface ApnsResult {
  token: string;
  status: 'sent' | 'invalid-token' | 'failed';
  apnsId?: string;
  httpStatus?: number;
  reason?: string;
}

export interface ApnsClientOptions {
  /** production (default), sandbox, or a simulator's URL */
  baseUrl?: string;
  /** extra trusted CA(s) for the server certificate, added to Node's roots (for the simulator) */
  ca?: string | string[];
  /** streams in flight per topic session; more pushes wait in a queue */
  maxConcurrentStreams?: number;
  /** tries per push, the first included */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  requestTimeoutMs?: number;
  /** an idle session is pinged this often so that NAT and Apple keep it open */
  pingIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

type ResolvedOptions = Required<Omit<ApnsClientOptions, 'ca'>> & { ca?: string[] };

type Attempt =
  | { kind: 'response'; status: number; apnsId?: string; reason?: string }
  | { kind: 'transport'; reason: string };

const INVALID_TOKEN_REASONS = new Set(['BadDeviceToken', 'DeviceTokenNotForTopic']);

export class ApnsClient {
  readonly #opts: ResolvedOptions;
  readonly #sessions = new Map<string, TopicSession>();

  constructor(opts: ApnsClientOptions = {}) {
    this.#opts = {
      baseUrl: new URL(opts.baseUrl ?? APNS_PRODUCTION_URL).origin,
      ca: opts.ca === undefined ? undefined : [...rootCertificates, ...[opts.ca].flat()],
      maxConcurrentStreams: opts.maxConcurrentStreams ?? 100,
      attempts: Math.max(1, opts.attempts ?? 3),
      baseDelayMs: opts.baseDelayMs ?? 200,
      maxDelayMs: opts.maxDelayMs ?? 10_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 15_000,
      pingIntervalMs: opts.pingIntervalMs ?? 60_000,
      sleep: opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: opts.random ?? Math.random,
    };
  }

  /** Sends every push on the topic's session; results come back in the order of `pushes`. */
  send(credentials: ApnsCredentials, pushes: ApnsPush[]): Promise<ApnsResult[]> {
    return Promise.all(pushes.map((p) => this.sendOne(credentials, p)));
  }

  async sendOne(credentials: ApnsCredentials, push: ApnsPush): Promise<ApnsResult> {
    const token = push.token.toLowerCase();
    if (!/^([0-9a-f]{2})+$/.test(token)) return { token: push.token, status: 'invalid-token', reason: 'BadDeviceToken' };
    const body = JSON.stringify({ mdm: push.pushMagic });
    for (let attempt = 1; ; ) {
      const session = this.#sessionFor(credentials);
      await session.acquire();
      if (session.retired) {
        // replaced (renewed certificate) or closed while this push waited: not an attempt
        session.release();
        continue;
      }
      let outcome: Attempt;
      try {
        outcome = await session.post(token, body);
      } finally {
        session.release();
      }
      const { result, retry } = classify(push.token, outcome);
      if (!retry || attempt >= this.#opts.attempts) return result;
      const ceiling = Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** (attempt - 1));
      await this.#opts.sleep(ceiling / 2 + (this.#opts.random() * ceiling) / 2);
      attempt++;
    }
  }

  /** Closes every session, letting streams in flight finish. */
  async close(): Promise<void> {
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map((s) => s.close()));
  }

  #sessionFor(credentials: ApnsCredentials): TopicSession {
    const existing = this.#sessions.get(credentials.topic);
    if (existing?.sameCredentials(credentials)) return existing;
    // A renewed certificate must be presented on a new TLS session; the old one drains.
    void existing?.close();
    const created = new TopicSession(credentials, this.#opts);
    this.#sessions.set(credentials.topic, created);
    return created;
  }
}

function classify(token: string, outcome: Attempt): { result: ApnsResult; retry: boolean } {
  if (outcome.kind === 'transport') return { result: { token, status: 'failed', reason: outcome.reason }, retry: true };
  const { status: httpStatus, apnsId, reason } = outcome;
  const base = { token, httpStatus, ...(apnsId ? { apnsId } : {}), ...(reason ? { reason } : {}) };
  if (httpStatus === 200) return { result: { ...base, status: 'sent' }, retry: false };
  if (httpStatus === 410 || (httpStatus === 400 && INVALID_TOKEN_REASONS.has(reason ?? ''))) {
    return { result: { ...base, status: 'invalid-token' }, retry: false };
  }
  return { result: { ...base, status: 'failed' }, retry: httpStatus === 429 || httpStatus >= 500 };
}

/** One topic's HTTP/2 session (reconnected lazily) and its stream budget. */
class TopicSession {
  #session?: ClientHttp2Session;
  readonly #errors = new WeakMap<ClientHttp2Session, Error>();
  readonly #started = new WeakSet<ClientHttp2Session>(); // sessions whose server spoke HTTP/2
  retired = false;
  #active = 0;
  #waiting: (() => void)[] = [];
  #lastUsed = Date.now();
  readonly #pinger: NodeJS.Timeout;

  constructor(
    readonly credentials: ApnsCredentials,
    readonly opts: ResolvedOptions,
  ) {
    this.#pinger = setInterval(() => this.#pingIfIdle(), opts.pingIntervalMs);
    this.#pinger.unref();
  }

  sameCredentials(c: ApnsCredentials): boolean {
    return c.certPem === this.credentials.certPem && c.keyPem === this.credentials.keyPem;
  }

  acquire(): Promise<void> {
    if (this.#active < this.opts.maxConcurrentStreams) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next(); // the slot passes straight to the next push
    else this.#active--;
    // An idle session must not keep the process alive; a busy one must.
    if (this.#active === 0) this.#session?.unref();
  }

  post(token: string, body: string): Promise<Attempt> {
    this.#lastUsed = Date.now();
    return new Promise((resolve) => {
      let stream: http2.ClientHttp2Stream;
      let session: ClientHttp2Session;
      try {
        session = this.#connect();
        session.ref();
        stream = session.request({
          ':method': 'POST',
          ':path': `/3/device/${token}`,
          'apns-push-type': 'mdm',
          'apns-topic': this.credentials.topic,
          'apns-priority': '10',
          'content-type': 'application/json',
        });
      } catch (err) {
        this.#forget();
        return resolve({ kind: 'transport', reason: describe(err) });
      }
      let headers: IncomingHttpHeaders | undefined;
      let error: unknown;
      const chunks: Buffer[] = [];
      stream.setTimeout(this.opts.requestTimeoutMs, () => {
        error ??= new Error(`no answer within ${this.opts.requestTimeoutMs} ms`);
        stream.close(http2.constants.NGHTTP2_CANCEL);
      });
      stream.on('response', (h) => (headers = h));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => (error ??= err));
      stream.on('close', () => {
        if (!headers || error) {
          // A dying session closes its streams before it reports why (TLS alert, reset…); wait a turn for the why.
          return setImmediate(() => {
            const why = error ?? this.#errors.get(session) ?? new Error(this.#closedWhy(session, stream.rstCode));
            resolve({ kind: 'transport', reason: describe(why) });
          });
        }
        const apnsId = headers['apns-id'];
        resolve({
          kind: 'response',
          status: Number(headers[':status']),
          apnsId: typeof apnsId === 'string' ? apnsId : undefined,
          reason: reasonOf(Buffer.concat(chunks).toString('utf8')),
        });
      });
      stream.end(body);
    });
  }

  async close(): Promise<void> {
    this.retired = true;
    clearInterval(this.#pinger);
    const session = this.#session;
    this.#session = undefined;
    if (!session || session.closed || session.destroyed) return;
    await new Promise<void>((resolve) => session.close(() => resolve()));
  }

  #connect(): ClientHttp2Session {
    const current = this.#session;
    if (current && !current.closed && !current.destroyed) return current;
    const session = http2.connect(this.opts.baseUrl, {
      cert: this.credentials.certPem,
      key: this.credentials.keyPem,
      ...(this.opts.ca ? { ca: this.opts.ca } : {}),
    });
    // Any of these ends the session's usefulness; the next push connects afresh, and streams
    // still open on it fail as transport errors and are retried.
    const forget = () => {
      if (this.#session === session) this.#session = undefined;
    };
    session.on('error', (err) => {
      this.#errors.set(session, err);
      forget();
    });
    session.on('goaway', forget);
    session.once('remoteSettings', () => this.#started.add(session));
    session.on('close', forget);
    this.#session = session;
    return session;
  }

  // A server that refuses our client certificate drops the connection with a TLS alert that
  // node:http2 does not surface; say what that most likely means.
  #closedWhy(session: ClientHttp2Session, rstCode: number): string {
    if (this.#started.has(session)) return `stream closed before APNs answered (HTTP/2 code ${rstCode})`;
    return 'the connection closed before HTTP/2 started: APNs refused the TLS handshake (push certificate expired, revoked or not trusted?)';
  }

  /** Stops using the current session; streams still open on it may finish. */
  #forget(): void {
    const session = this.#session;
    this.#session = undefined;
    if (session && !session.closed && !session.destroyed) session.close();
  }

  #pingIfIdle(): void {
    const session = this.#session;
    if (!session || session.closed || session.destroyed || this.#active > 0) return;
    if (Date.now() - this.#lastUsed < this.opts.pingIntervalMs) return;
    this.#lastUsed = Date.now();
    // A session whose peer stopped answering would otherwise only be found dead by the next push.
    const deadline = setTimeout(() => session.destroy(), this.opts.requestTimeoutMs).unref();
    session.ping((err) => {
      clearTimeout(deadline);
      if (err) session.destroy();
    });
  }
}

function reasonOf(body: string): string | undefined {
  if (!body) return undefined;
  try {
    const reason = (JSON.parse(body) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? reason : undefined;
  } catch {
    return body.slice(0, 200);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
