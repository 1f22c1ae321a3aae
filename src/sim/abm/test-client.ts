/**
 * A deliberately small DEP client for the simulator's own tests and measurements: signs
 * `GET /session` with its own OAuth 1.0a code (written independently of oauth-verify.ts so the
 * two check each other), keeps the session, follows rotation, and returns raw answers.
 * Pomona's real client lives in src/abm/; this is not it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { DepTokenSet } from './token-set.js';

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

const enc = (s: string) => encodeURIComponent(s).replace(/[!*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The Authorization header for GET <url> (no query), as RFC 5849 §3.4 describes it. */
export function oauthHeader(tokens: DepTokenSet, method: string, url: string, opts: { timestamp?: number; nonce?: string; realm?: string } = {}): string {
  const p: Record<string, string> = {
    oauth_consumer_key: tokens.consumer_key,
    oauth_nonce: opts.nonce ?? randomBytes(12).toString('hex'),
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: String(opts.timestamp ?? Math.floor(Date.now() / 1000)),
    oauth_token: tokens.access_token,
    oauth_version: '1.0',
  };
  const u = new URL(url);
  const baseUri = `${u.protocol}//${u.host}${u.pathname}`;
  const paramString = Object.keys(p)
    .sort()
    .map((k) => `${enc(k)}=${enc(p[k])}`)
    .join('&');
  const base = [method.toUpperCase(), enc(baseUri), enc(paramString)].join('&');
  const sig = createHmac('sha1', `${enc(tokens.consumer_secret)}&${enc(tokens.access_secret)}`).update(base).digest('base64');
  const all = { ...p, oauth_signature: sig };
  return `OAuth realm="${opts.realm ?? 'ADM'}", ` + Object.entries(all).map(([k, v]) => `${k}="${enc(v)}"`).join(', ');
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

export function rawRequest(url: string, method: string, headers: Record<string, string>, body?: string, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body !== undefined ? { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } : headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export class TestDepClient {
  sessionToken?: string;
  sessionCalls = 0;
  userAgent = 'pomona-sim-test/1';

  constructor(
    readonly baseUrl: string,
    public tokens: DepTokenSet,
    public protocol = 10,
  ) {}

  async session(): Promise<RawAnswer> {
    this.sessionCalls++;
    const url = `${this.baseUrl}/session`;
    const a = await rawRequest(url, 'GET', { 'User-Agent': this.userAgent, 'X-Server-Protocol-Version': String(this.protocol), Authorization: oauthHeader(this.tokens, 'GET', url) });
    if (a.status === 200) this.sessionToken = (JSON.parse(a.text) as { auth_session_token: string }).auth_session_token;
    return a;
  }

  /** One API call with the current session (no automatic re-authentication). */
  async call(method: string, path: string, body?: unknown): Promise<RawAnswer> {
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, 'X-Server-Protocol-Version': String(this.protocol) };
    if (this.sessionToken) headers['X-ADM-Auth-Session'] = this.sessionToken;
    if (body !== undefined) headers['Content-Type'] = 'application/json;charset=UTF8';
    const a = await rawRequest(`${this.baseUrl}${path}`, method, headers, body === undefined ? undefined : JSON.stringify(body));
    const rotated = a.headers['x-adm-auth-session'];
    if (typeof rotated === 'string') this.sessionToken = rotated;
    return a;
  }

  /** call(), re-authenticating once on 401 as NanoDEP does. */
  async api(method: string, path: string, body?: unknown): Promise<RawAnswer> {
    if (!this.sessionToken) await this.session();
    let a = await this.call(method, path, body);
    if (a.status === 401) {
      await this.session();
      a = await this.call(method, path, body);
    }
    return a;
  }

  async json<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const a = await this.api(method, path, body);
    if (a.status !== 200) throw new Error(`${method} ${path} → ${a.status} ${a.text}`);
    return JSON.parse(a.text) as T;
  }
}

/** A simulator with one server, a token and a client, for tests. */
export async function simWithClient(
  opts: import('./server.js').AbmSimulatorOptions = {},
  setup: { devices?: number; protocol?: number; serverName?: string } = {},
): Promise<{ sim: import('./server.js').AbmSimulator; serverUuid: string; client: TestDepClient }> {
  const { startAbmSimulator } = await import('./server.js');
  const sim = await startAbmSimulator({ seed: 1, ...opts });
  const { serverUuid } = sim.createServer({ name: setup.serverName ?? 'Pomona test' });
  const tokens = sim.org.newToken(sim.org.server(serverUuid)).tokens;
  if (setup.devices) sim.addDevices(serverUuid, setup.devices, { spreadDays: 30 });
  return { sim, serverUuid, client: new TestDepClient(sim.url, tokens, setup.protocol ?? 10) };
}
