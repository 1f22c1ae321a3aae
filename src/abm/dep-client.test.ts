import { createHmac } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DepClient, type DepCallEvent, type DepClientOptions, type DepCredentials } from './dep-client.js';
import { DepError } from './dep-errors.js';

// ---- a small stand-in for Apple, one per test -----------------------------------------------

const CREDENTIALS: DepCredentials = {
  consumerKey: 'CK_3a1f0c5e9d2b4e6f8a0c1e3b5d7f9a1c',
  consumerSecret: 'CS_7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a',
  accessToken: 'AT_O8473954123O6a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0O1610138125',
  accessSecret: 'AS_2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c',
};
const UA = 'pomona-test/1.2';

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** What a route does: answer, drop the connection, or never answer. */
type Action = Reply | 'destroy' | 'hang';
type Route = (req: Seen, apple: FakeApple) => Action | Promise<Action>;

interface FakeApple {
  url: string;
  requests: Seen[];
  /** sessions this fake has issued and still accepts */
  valid: Set<string>;
  issued: string[];
  /** every OAuth header /session received was verified independently */
  oauthChecks: number;
  count(endpoint: string): number;
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/**
 * Routes keyed `METHOD /path`. Unless a route for `GET /session` is given, /session verifies the
 * OAuth header and issues `session-N`; unless `checkSession` is false, other endpoints answer
 * 401 to a session they did not issue, as Apple does for an expired one.
 */
async function fakeApple(routes: Record<string, Route>, opts: { checkSession?: boolean } = {}): Promise<FakeApple> {
  const apple: FakeApple = {
    url: '',
    requests: [],
    valid: new Set(),
    issued: [],
    oauthChecks: 0,
    count: (endpoint) => apple.requests.filter((r) => `${r.method} ${r.path}` === endpoint).length,
  };
  const server = http.createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'http://x');
    const seen: Seen = { method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString() };
    apple.requests.push(seen);
    const key = `${seen.method} ${seen.path}`;
    let action: Action;
    const isSession = seen.path.endsWith('/session');
    if (isSession) action = routes[key] ? await routes[key](seen, apple) : issueSession(seen, apple);
    else if (opts.checkSession !== false && !apple.valid.has(String(seen.headers['x-adm-auth-session']))) action = { status: 401, body: 'UNAUTHORIZED' };
    else if (routes[key]) action = await routes[key](seen, apple);
    else action = { status: 404, body: 'NOT_FOUND' };
    if (action === 'destroy') return void req.socket.destroy();
    if (action === 'hang') return;
    const body = action.body === undefined ? '' : typeof action.body === 'string' ? action.body : JSON.stringify(action.body);
    res.writeHead(action.status ?? 200, { 'Content-Type': 'application/json;charset=UTF8', ...action.headers });
    res.end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apple.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return apple;
}

function issueSession(req: Seen, apple: FakeApple): Reply {
  verifyOAuth(req, apple);
  const token = `session-${apple.issued.length + 1}`;
  apple.issued.push(token);
  apple.valid.add(token);
  return { body: { auth_session_token: token } };
}

/**
 * Checks the Authorization header of GET /session from the RFC 5849 rules, independently of
 * src/abm/oauth1.ts: one line, realm ADM, the seven oauth_* parameters, and an HMAC-SHA1
 * signature recomputed here over the base string.
 */
function verifyOAuth(req: Seen, apple: FakeApple): void {
  const header = String(req.headers.authorization ?? '');
  expect(header).toMatch(/^OAuth /);
  expect(header).not.toMatch(/[\r\n]/);
  const params = new Map<string, string>();
  for (const m of header.slice(6).matchAll(/([a-z_]+)="([^"]*)"/g)) {
    expect(params.has(m[1]), `duplicate ${m[1]}`).toBe(false);
    params.set(m[1], decodeURIComponent(m[2]));
  }
  expect(params.get('realm')).toBe('ADM');
  expect(params.get('oauth_consumer_key')).toBe(CREDENTIALS.consumerKey);
  expect(params.get('oauth_token')).toBe(CREDENTIALS.accessToken);
  expect(params.get('oauth_signature_method')).toBe('HMAC-SHA1');
  expect(params.get('oauth_version')).toBe('1.0');
  expect(params.get('oauth_timestamp')).toMatch(/^\d+$/);
  expect(params.get('oauth_nonce')).toMatch(/^[A-Za-z0-9]{8,}$/);
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const normalized = [...params]
    .filter(([k]) => k !== 'realm' && k !== 'oauth_signature')
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join('&');
  const base = `GET&${enc(`${apple.url}/session`)}&${enc(normalized)}`;
  const expected = createHmac('sha1', `${enc(CREDENTIALS.consumerSecret)}&${enc(CREDENTIALS.accessSecret)}`).update(base).digest('base64');
  expect(params.get('oauth_signature')).toBe(expected);
  apple.oauthChecks++;
}

class MemoryStore {
  saves: string[] = [];
  loads = 0;
  constructor(public token?: string) {}
  async load() {
    this.loads++;
    return this.token;
  }
  async save(token: string) {
    this.saves.push(token);
    this.token = token;
  }
}

/** Every DepError any test saw: the last test checks none of them leaks a secret. */
const seenErrors: DepError[] = [];

function client(apple: FakeApple, store = new MemoryStore(), more: Partial<DepClientOptions> = {}) {
  const delays: number[] = [];
  const events: DepCallEvent[] = [];
  const c = new DepClient({
    baseUrl: apple.url,
    credentials: CREDENTIALS,
    sessions: store,
    userAgent: UA,
    sleep: async (ms) => void delays.push(ms),
    random: () => 0.5,
    onCall: (e) => events.push(e),
    ...more,
  });
  return { c, store, delays, events };
}

async function failure(p: Promise<unknown>): Promise<DepError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DepError);
    seenErrors.push(err as DepError);
    return err as DepError;
  }
  throw new Error('expected a DepError');
}

// Sample bodies from ../shared/apple-data/dep-samples/ (micromdm/micromdm testdata).
const ACCOUNT = {
  server_name: 'dev',
  server_uuid: '6666ED66666666666666666666666666',
  admin_id: 'apple-dep@acme.co',
  org_name: 'Acme, Inc',
  org_id: '6666666',
  urls: [{ uri: '/server/devices', http_method: ['POST'], limit: { default: 1000, maximum: 5000 } }],
  org_type: 'org',
  org_version: 'v2',
};
const PAGE = {
  devices: [
    {
      serial_number: 'C02T0HL0GGC0',
      description: 'MBP 13.3 SPACE GRAY/2.0GHZ/8GB/256GB-USA',
      model: 'MacBook Pro',
      os: 'OSX',
      device_family: 'Mac',
      color: 'SPACE GRAY',
      profile_uuid: 'C1F123098EB5074580041E69883004C3',
      profile_assign_time: '2018-09-08T16:49:09Z',
      profile_status: 'assigned',
      device_assigned_by: 'apple-dep@acme.co',
      device_assigned_date: '2017-10-16T01:55:30Z',
    },
  ],
  fetched_until: '2018-09-08T17:28:18Z',
  more_to_follow: false,
  cursor: 'MDowOjE1MzY0Mjc2OTg5MTQ6MTUzNjQyNzY5ODkxNDp0cnVlOjE1MzY0Mjc2OTg5MTQ',
};

const account: Route = () => ({ body: ACCOUNT });

// ---- tests -----------------------------------------------------------------------------------

describe('DepClient session', () => {
  it('opens a signed session when none is stored, saves it, then reuses it', async () => {
    const apple = await fakeApple({ 'GET /account': account });
    const { c, store } = client(apple);
    expect(await c.account()).toEqual(ACCOUNT);
    expect(await c.account()).toEqual(ACCOUNT);
    expect(apple.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /session', 'GET /account', 'GET /account']);
    expect(apple.oauthChecks).toBe(1);
    expect(store.saves).toEqual(['session-1']);
    expect(apple.requests[1].headers['x-adm-auth-session']).toBe('session-1');
    expect(apple.requests[2].headers['x-adm-auth-session']).toBe('session-1');
  });

  it('sends the protocol version, the User-Agent and the JSON content types on every request', async () => {
    const apple = await fakeApple({ 'POST /server/devices': () => ({ body: PAGE }) });
    const { c } = client(apple);
    await c.fetchDevices();
    for (const r of apple.requests) {
      expect(r.headers['x-server-protocol-version']).toBe('10');
      expect(r.headers['user-agent']).toBe(UA);
      expect(r.headers.accept).toBe('application/json;charset=UTF8');
    }
    expect(apple.requests[0].headers['content-type']).toBe('application/json;charset=UTF8'); // /session: depsim insists
    expect(apple.requests[1].headers['content-type']).toBe('application/json;charset=UTF8');

    const apple7 = await fakeApple({ 'GET /account': account });
    await client(apple7, new MemoryStore(), { protocolVersion: 7, userAgent: 'acme-mdm/3' }).c.account();
    expect(apple7.requests.map((r) => [r.headers['x-server-protocol-version'], r.headers['user-agent']])).toEqual([
      ['7', 'acme-mdm/3'],
      ['7', 'acme-mdm/3'],
    ]);
  });

  it('uses a stored session without opening one (another node opened it)', async () => {
    const apple = await fakeApple({ 'GET /account': account });
    apple.valid.add('shared-session');
    const { c, store } = client(apple, new MemoryStore('shared-session'));
    await c.account();
    expect(apple.count('GET /session')).toBe(0);
    expect(apple.requests[0].headers['x-adm-auth-session']).toBe('shared-session');
    expect(store.saves).toEqual([]);
  });

  it('switches to a session rotated through X-ADM-Auth-Session on any answer, errors included', async () => {
    let n = 0;
    const apple = await fakeApple({
      'GET /account': (req, a) => {
        n++;
        a.valid.add('rotated-1');
        a.valid.add('rotated-2');
        if (n === 1) return { body: ACCOUNT, headers: { 'X-ADM-Auth-Session': 'rotated-1' } };
        if (n === 2) return { status: 400, body: 'MALFORMED_REQUEST_BODY', headers: { 'X-ADM-Auth-Session': 'rotated-2' } };
        return { body: ACCOUNT, headers: { 'X-ADM-Auth-Session': String(req.headers['x-adm-auth-session']) } };
      },
    });
    const { c, store } = client(apple);
    await c.account();
    expect((await failure(c.account())).code).toBe('MALFORMED_REQUEST_BODY');
    await c.account();
    expect(apple.requests.map((r) => r.headers['x-adm-auth-session'])).toEqual([undefined, 'session-1', 'rotated-1', 'rotated-2']);
    expect(store.saves).toEqual(['session-1', 'rotated-1', 'rotated-2']); // the same token echoed is not saved again
  });

  it('on 401 opens a new session and replays the request once', async () => {
    const apple = await fakeApple({ 'POST /devices/sync': () => ({ body: PAGE }) });
    const { c, store } = client(apple, new MemoryStore('stale-session-e1'));
    const page = await c.syncDevices({ cursor: 'abc' });
    expect(page.cursor).toBe(PAGE.cursor);
    expect(apple.requests.map((r) => `${r.method} ${r.path} ${r.headers['x-adm-auth-session'] ?? ''}`)).toEqual([
      'POST /devices/sync stale-session-e1',
      'GET /session ',
      'POST /devices/sync session-1',
    ]);
    expect(apple.requests[0].body).toBe(apple.requests[2].body); // the body is replayed as sent
    expect(JSON.parse(apple.requests[2].body)).toEqual({ cursor: 'abc' });
    expect(store.token).toBe('session-1');
  });

  it("re-authenticates on depsim's 403 FORBIDDEN", async () => {
    const apple = await fakeApple(
      {
        'GET /account': (req, a) => (a.valid.has(String(req.headers['x-adm-auth-session'])) ? { body: ACCOUNT } : { status: 403, body: '"FORBIDDEN"' }),
      },
      { checkSession: false },
    );
    const { c } = client(apple, new MemoryStore('stale-session-r1'));
    await c.account();
    expect(apple.count('GET /session')).toBe(1);
    expect(apple.count('GET /account')).toBe(2);
  });

  it('a second 401 reaches the caller as an auth error', async () => {
    const apple = await fakeApple({ 'GET /account': () => ({ status: 401, body: 'UNAUTHORIZED' }) });
    const { c } = client(apple, new MemoryStore('stale-session-s1'));
    const err = await failure(c.account());
    expect(err).toMatchObject({ kind: 'auth', status: 401, endpoint: 'GET /account' });
    expect(err.message).toMatch(/^Apple Business Manager: /);
    expect(apple.count('GET /session')).toBe(1);
    expect(apple.count('GET /account')).toBe(2);
  });

  it('a 401 right after opening a session is not followed by another session', async () => {
    const apple = await fakeApple({ 'GET /account': () => ({ status: 401 }) });
    const { c } = client(apple);
    expect((await failure(c.account())).kind).toBe('auth');
    expect(apple.count('GET /session')).toBe(1);
    expect(apple.count('GET /account')).toBe(1);
  });

  it('a 401 from /session is an auth error about the server token', async () => {
    const apple = await fakeApple({ 'GET /session': () => ({ status: 401, body: 'Unauthorized' }) });
    const { c, store } = client(apple);
    const err = await failure(c.account());
    expect(err).toMatchObject({ kind: 'auth', status: 401, endpoint: 'GET /session' });
    expect(err.message).toContain('server token was not accepted');
    expect(apple.count('GET /session')).toBe(1);
    expect(store.saves).toEqual([]);
  });

  it('403 T_C_NOT_SIGNED is not retried and is typed, on an API call and on /session', async () => {
    const apple = await fakeApple({ 'POST /server/devices': () => ({ status: 403, body: 'T_C_NOT_SIGNED' }) });
    const { c } = client(apple, new MemoryStore('good'), {});
    apple.valid.add('good');
    const err = await failure(c.fetchDevices());
    expect(err).toMatchObject({ kind: 'terms-not-signed', code: 'T_C_NOT_SIGNED', status: 403 });
    expect(err.message).toContain('must accept the new terms and conditions');
    expect(apple.requests).toHaveLength(1);

    const apple2 = await fakeApple({ 'GET /session': () => ({ status: 403, body: '"T_C_NOT_SIGNED"' }) });
    const err2 = await failure(client(apple2).c.account());
    expect(err2).toMatchObject({ kind: 'terms-not-signed', endpoint: 'GET /session' });
    expect(apple2.requests).toHaveLength(1);
  });

  it('token_rejected is typed, on an API call (403) and on /session (401)', async () => {
    const apple = await fakeApple({ 'GET /account': () => ({ status: 403, body: 'token_rejected' }) });
    apple.valid.add('good');
    const err = await failure(client(apple, new MemoryStore('good')).c.account());
    expect(err).toMatchObject({ kind: 'token-rejected', code: 'token_rejected', status: 403 });
    expect(err.message).toContain('upload it to Pomona');
    expect(apple.requests).toHaveLength(1);

    const apple2 = await fakeApple({ 'GET /session': () => ({ status: 401, body: '{"code":"token_rejected"}' }) });
    expect(await failure(client(apple2).c.account())).toMatchObject({ kind: 'token-rejected', status: 401, endpoint: 'GET /session' });
  });

  it('opens one session for many concurrent calls (single flight)', async () => {
    const apple = await fakeApple({
      'GET /session': async (req, a) => {
        await new Promise((r) => setTimeout(r, 30));
        return issueSession(req, a);
      },
      'GET /account': account,
    });
    const { c, store } = client(apple);
    await Promise.all(Array.from({ length: 10 }, () => c.account()));
    expect(apple.count('GET /session')).toBe(1);
    expect(apple.count('GET /account')).toBe(10);
    expect(store.saves).toEqual(['session-1']);
  });

  it('renews an expired session once when many concurrent calls see the 401', async () => {
    const apple = await fakeApple({
      'GET /session': async (req, a) => {
        await new Promise((r) => setTimeout(r, 30));
        return issueSession(req, a);
      },
      'GET /account': account,
    });
    const { c } = client(apple, new MemoryStore('stale-session-e1'));
    await Promise.all(Array.from({ length: 10 }, () => c.account()));
    expect(apple.count('GET /session')).toBe(1);
    expect(apple.requests.filter((r) => r.headers['x-adm-auth-session'] === 'session-1')).toHaveLength(10);
  });

  it('a 401 arriving after another call already renewed the session replays with that session', async () => {
    let rejected = 0;
    const apple = await fakeApple(
      {
        'GET /account': async (req, a) => {
          if (a.valid.has(String(req.headers['x-adm-auth-session']))) return { body: ACCOUNT };
          // the first stale answer comes at once, the others after the renewal is done
          if (++rejected > 1) await new Promise((r) => setTimeout(r, 60));
          return { status: 401 };
        },
      },
      { checkSession: false },
    );
    const { c } = client(apple, new MemoryStore('stale-session-e1'));
    await Promise.all(Array.from({ length: 5 }, () => c.account()));
    expect(apple.count('GET /session')).toBe(1);
    expect(apple.requests.filter((r) => r.headers['x-adm-auth-session'] === 'session-1')).toHaveLength(5);
  });

  it('a session stored by another node that then expires is renewed, not swapped for an older one', async () => {
    const apple = await fakeApple({ 'GET /account': account });
    const store = new MemoryStore();
    const { c } = client(apple, store);
    await c.account(); // this client opens session-1
    apple.valid.delete('session-1');
    store.token = 'other-node-session'; // another node renewed; later Apple expires that one too
    expect(await c.account()).toEqual(ACCOUNT);
    expect(apple.requests.slice(-3).map((r) => `${r.path} ${r.headers['x-adm-auth-session'] ?? ''}`)).toEqual([
      '/account other-node-session',
      '/session ',
      '/account session-2',
    ]);
  });

  it('a failing session open fails every caller waiting for it, and the next call tries again', async () => {
    let refuse = true;
    const apple = await fakeApple({
      'GET /session': async (req, a) => {
        await new Promise((r) => setTimeout(r, 20));
        return refuse ? { status: 403, body: 'T_C_NOT_SIGNED' } : issueSession(req, a);
      },
      'GET /account': account,
    });
    const { c } = client(apple);
    const errs = await Promise.all(Array.from({ length: 3 }, () => failure(c.account())));
    expect(errs.map((e) => e.kind)).toEqual(['terms-not-signed', 'terms-not-signed', 'terms-not-signed']);
    expect(apple.count('GET /session')).toBe(1);
    refuse = false;
    await c.account();
    expect(apple.count('GET /session')).toBe(2);
  });
});

describe('DepClient retries', () => {
  it('retries a 5xx with exponential backoff and jitter, then succeeds', async () => {
    let n = 0;
    const apple = await fakeApple({ 'GET /account': () => (++n < 3 ? { status: 503, body: 'Service Unavailable' } : { body: ACCOUNT }) });
    const { c, delays, events } = client(apple, new MemoryStore('s'), { retryBaseDelayMs: 1000 });
    apple.valid.add('s');
    await c.account();
    expect(apple.count('GET /account')).toBe(3);
    // random() = 0.5: ceiling/2 + 0.5·ceiling/2 with ceilings 1000, 2000
    expect(delays).toEqual([750, 1500]);
    expect(events.map((e) => [e.endpoint, e.status])).toEqual([
      ['GET /account', 503],
      ['GET /account', 503],
      ['GET /account', 200],
    ]);
  });

  it('gives up after the configured retries with a server error', async () => {
    const apple = await fakeApple({ 'GET /account': () => ({ status: 500, body: 'Internal Server Error' }) });
    apple.valid.add('s');
    const { c, delays } = client(apple, new MemoryStore('s'), { retries: 3, retryBaseDelayMs: 100, retryMaxDelayMs: 250 });
    const err = await failure(c.account());
    expect(err).toMatchObject({ kind: 'server', status: 500, attempts: 4 });
    expect(err.message).toContain('after 4 attempts');
    expect(apple.count('GET /account')).toBe(4);
    expect(delays).toEqual([75, 150, 187.5]); // ceilings 100, 200, then capped at 250
  });

  it('honours a Retry-After longer than the backoff, within the maximum', async () => {
    let n = 0;
    const apple = await fakeApple({ 'GET /account': () => (++n === 1 ? { status: 503, headers: { 'Retry-After': '5' } } : { body: ACCOUNT }) });
    apple.valid.add('s');
    const { c, delays } = client(apple, new MemoryStore('s'));
    await c.account();
    expect(delays).toEqual([5000]);
  });

  it('a retry after a 5xx that rotated the session carries the new session', async () => {
    let n = 0;
    const apple = await fakeApple({
      'GET /account': (req, a) => {
        a.valid.add('rotated-1');
        return ++n === 1 ? { status: 503, headers: { 'X-ADM-Auth-Session': 'rotated-1' } } : { body: ACCOUNT };
      },
    });
    apple.valid.add('s');
    const { c, store } = client(apple, new MemoryStore('s'));
    await c.account();
    expect(apple.requests.map((r) => r.headers['x-adm-auth-session'])).toEqual(['s', 'rotated-1']);
    expect(store.token).toBe('rotated-1');
  });

  it('retries a 5xx from /session too', async () => {
    let n = 0;
    const apple = await fakeApple({
      'GET /session': (req, a) => (++n === 1 ? { status: 502 } : issueSession(req, a)),
      'GET /account': account,
    });
    await client(apple).c.account();
    expect(apple.count('GET /session')).toBe(2);
    expect(apple.oauthChecks).toBe(1);
  });

  it('retries when the server drops the connection, then succeeds', async () => {
    let n = 0;
    const apple = await fakeApple({ 'GET /account': () => (++n === 1 ? 'destroy' : { body: ACCOUNT }) });
    apple.valid.add('s');
    const { c, events } = client(apple, new MemoryStore('s'));
    await c.account();
    expect(apple.count('GET /account')).toBe(2);
    expect(events.map((e) => e.status)).toEqual(['network', 200]);
  });

  it('a connection dropped every time ends as a network error', async () => {
    const apple = await fakeApple({ 'GET /account': () => 'destroy' });
    apple.valid.add('s');
    const err = await failure(client(apple, new MemoryStore('s'), { retries: 2 }).c.account());
    expect(err).toMatchObject({ kind: 'network', status: undefined, attempts: 3 });
    expect(err.message).toContain('could not reach 127.0.0.1');
    expect(apple.count('GET /account')).toBe(3);
  });

  it('an unreachable server is a network error', async () => {
    const apple = await fakeApple({});
    const url = apple.url;
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    const err = await failure(new DepClient({ baseUrl: url, credentials: CREDENTIALS, sessions: new MemoryStore('s'), userAgent: UA, retries: 0 }).account());
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('a server that never answers times out, retried like a network fault', async () => {
    const apple = await fakeApple({ 'GET /account': () => 'hang' });
    apple.valid.add('s');
    const { c, events } = client(apple, new MemoryStore('s'), { timeoutMs: 150, retries: 1 });
    const err = await failure(c.account());
    expect(err).toMatchObject({ kind: 'timeout', attempts: 2 });
    expect(err.message).toContain('within 150 ms');
    expect(events.map((e) => e.status)).toEqual(['timeout', 'timeout']);
  });

  it('does not retry a 4xx', async () => {
    const apple = await fakeApple({ 'POST /profile': () => ({ status: 400, body: 'CONFIG_NAME_INVALID' }) });
    apple.valid.add('s');
    const { c, delays } = client(apple, new MemoryStore('s'));
    const err = await failure(c.defineProfile({ profile_name: '', url: 'https://mdm.example.com/enroll/ade', is_mdm_removable: true, org_magic: '1' }));
    expect(err).toMatchObject({ kind: 'bad-request', code: 'CONFIG_NAME_INVALID', status: 400 });
    expect(apple.count('POST /profile')).toBe(1);
    expect(delays).toEqual([]);
  });
});

describe('DepClient answers', () => {
  async function answering(route: Route, endpoint = 'POST /server/devices') {
    const apple = await fakeApple({ [endpoint]: route });
    apple.valid.add('s');
    return { apple, ...client(apple, new MemoryStore('s')) };
  }

  it('types the cursor errors, bare (Apple) and JSON-quoted (depsim), without retrying', async () => {
    const cases: [string, string][] = [
      ['EXHAUSTED_CURSOR', 'cursor-exhausted'],
      ['"EXHAUSTED_CURSOR"', 'cursor-exhausted'],
      ['EXPIRED_CURSOR', 'cursor-expired'],
      ['"EXPIRED_CURSOR"', 'cursor-expired'],
      ['INVALID_CURSOR', 'cursor-invalid'],
      ['"INVALID_CURSOR"', 'cursor-invalid'],
      ['CURSOR_REQUIRED', 'cursor-invalid'],
    ];
    for (const [body, kind] of cases) {
      const { apple, c } = await answering(() => ({ status: 400, body }), 'POST /devices/sync');
      const err = await failure(c.syncDevices({ cursor: 'old' }));
      expect(err.kind, body).toBe(kind);
      expect(err.code).toBe(body.replace(/"/g, ''));
      expect(apple.requests).toHaveLength(1);
    }
  });

  it('a 200 that is not JSON is a malformed-response error', async () => {
    const { c } = await answering(() => ({ body: '<html>gateway</html>' }));
    const err = await failure(c.fetchDevices());
    expect(err).toMatchObject({ kind: 'malformed-response', status: 200 });
    expect(err.message).toContain('not JSON');
    expect(err.bodyExcerpt).toBe('<html>gateway</html>');
  });

  it('a 200 of the wrong shape is a malformed-response error', async () => {
    const shapes: [unknown, string][] = [
      [{ devices: [], more_to_follow: false }, 'cursor is missing'],
      [{ ...PAGE, devices: {} }, 'devices is not an array'],
      [{ ...PAGE, more_to_follow: 'yes' }, 'more_to_follow is not a boolean'],
      [{ ...PAGE, devices: [{ model: 'iPad' }] }, 'device 0 has no serial_number'],
      [[PAGE], 'not a JSON object'],
      [null, 'not a JSON object'],
    ];
    for (const [body, why] of shapes) {
      const { c } = await answering(() => ({ body: JSON.stringify(body) }));
      const err = await failure(c.fetchDevices());
      expect(err.kind).toBe('malformed-response');
      expect(err.message).toContain(why);
    }
    const { c } = await answering(() => ({ body: '' }));
    expect((await failure(c.fetchDevices())).message).toContain('empty body');
  });

  it('a session answer without a token is a malformed-response error', async () => {
    const apple = await fakeApple({ 'GET /session': () => ({ body: { auth_session_token: '' } }) });
    const { c, store } = client(apple);
    expect(await failure(c.account())).toMatchObject({ kind: 'malformed-response', endpoint: 'GET /session' });
    expect(store.saves).toEqual([]);
  });

  it('defaults more_to_follow and devices when Apple leaves them out', async () => {
    const { c } = await answering(() => ({ body: { cursor: 'c1', fetched_until: '0001-01-01T00:00:00Z' } }));
    expect(await c.fetchDevices()).toEqual({ cursor: 'c1', fetched_until: '0001-01-01T00:00:00Z', more_to_follow: false, devices: [] });
  });

  it('stops reading an enormous answer and fails cleanly', async () => {
    const huge = JSON.stringify({ ...PAGE, devices: Array.from({ length: 200 }, () => PAGE.devices[0]) });
    // declared too large (refused before reading) and streamed (refused once past the cap)
    const variants: Record<string, string>[] = [{ 'Content-Length': String(Buffer.byteLength(huge)) }, { 'Transfer-Encoding': 'chunked' }];
    for (const headers of variants) {
      const apple = await fakeApple({ 'POST /server/devices': () => ({ body: huge, headers }) });
      apple.valid.add('s');
      const err = await failure(client(apple, new MemoryStore('s'), { maxResponseBytes: 4096 }).c.fetchDevices());
      expect(err).toMatchObject({ kind: 'malformed-response', status: 200 });
      expect(err.message).toContain('larger than 4096 bytes');
    }
  });

  it('keeps error excerpts to 1 KiB and never puts a secret in them', async () => {
    const { c } = await answering(
      () => ({ status: 400, body: `BAD ${CREDENTIALS.accessToken} ${CREDENTIALS.consumerKey} session s ${'x'.repeat(5000)}` }),
      'GET /account',
    );
    const err = await failure(c.account());
    expect(Buffer.byteLength(err.bodyExcerpt!)).toBeLessThanOrEqual(1024 + 3);
    expect(err.bodyExcerpt).toContain('[redacted]');
    expect(err.bodyExcerpt).not.toContain(CREDENTIALS.accessToken);
  });

  it('does not follow redirects (the session header must not travel elsewhere)', async () => {
    const { apple, c } = await answering(() => ({ status: 302, headers: { Location: 'http://127.0.0.1:1/steal' } }), 'GET /account');
    expect((await failure(c.account())).status).toBe(302);
    expect(apple.requests).toHaveLength(1);
  });

  it('maps 404 to not-found', async () => {
    const { c } = await answering(() => ({ status: 404, body: 'DEVICE_NOT_FOUND' }), 'GET /device/replacementDetails');
    expect(await failure(c.replacementDetails('C02XXXX'))).toMatchObject({ kind: 'not-found', code: 'DEVICE_NOT_FOUND' });
  });
});

describe('DepClient endpoints', () => {
  async function endpoint(key: string, body: unknown) {
    const apple = await fakeApple({ [key]: () => ({ body }) });
    apple.valid.add('s');
    const { c } = client(apple, new MemoryStore('s'));
    const last = () => apple.requests[apple.requests.length - 1];
    return { c, last, json: () => JSON.parse(last().body) as unknown };
  }

  it('fetch: no cursor on the first call, cursor and limit after', async () => {
    const { c, json } = await endpoint('POST /server/devices', PAGE);
    expect(await c.fetchDevices()).toEqual(PAGE);
    expect(json()).toEqual({});
    await c.fetchDevices({ cursor: 'cur', limit: 500 });
    expect(json()).toEqual({ cursor: 'cur', limit: 500 });
  });

  it('sync: requires a cursor', async () => {
    const { c, json } = await endpoint('POST /devices/sync', { ...PAGE, devices: [{ ...PAGE.devices[0], op_type: 'added', op_date: '2018-09-08T17:00:00Z' }] });
    const page = await c.syncDevices({ cursor: 'cur', limit: 100 });
    expect(page.devices[0].op_type).toBe('added');
    expect(json()).toEqual({ cursor: 'cur', limit: 100 });
    expect(() => c.syncDevices({ cursor: '' })).toThrow(TypeError);
  });

  it('device details, disown', async () => {
    const details = { devices: { C02T0HL0GGC0: { ...PAGE.devices[0], response_status: 'SUCCESS' } } };
    const d = await endpoint('POST /devices', details);
    expect(await d.c.deviceDetails(['C02T0HL0GGC0'])).toEqual(details);
    expect(d.json()).toEqual({ devices: ['C02T0HL0GGC0'] });

    const o = await endpoint('POST /devices/disown', { devices: { A: 'SUCCESS', B: 'NOT_ACCESSIBLE' } });
    expect(await o.c.disown(['A', 'B'])).toEqual({ devices: { A: 'SUCCESS', B: 'NOT_ACCESSIBLE' } });
    expect(o.json()).toEqual({ devices: ['A', 'B'] });
  });

  it('activation lock maps to Apple keys', async () => {
    const { c, json } = await endpoint('POST /device/activationlock', { serial_number: 'A', response_status: 'SUCCESS' });
    const key = '6AB40D5EABE7218EC04182F461005600C7E3426BDDD82CDB405BDE9A1E0014B5';
    expect(await c.activationLock({ device: 'A', escrowKey: key, lostMessage: 'Call 555' })).toEqual({ serial_number: 'A', response_status: 'SUCCESS' });
    expect(json()).toEqual({ device: 'A', escrow_key: key.toLowerCase(), lost_message: 'Call 555' });
    await c.activationLock({ device: 'A' });
    expect(json()).toEqual({ device: 'A' });
    expect(() => c.activationLock({ device: 'A', escrowKey: '3UM43-PUYVY-QYD1-UVCC-HEHJ-FKA4' })).toThrow(TypeError);
  });

  it('define and get profile', async () => {
    const profile = {
      profile_name: 'Pomona',
      url: 'https://mdm.example.com/enroll/ade',
      configuration_web_url: 'https://mdm.example.com/enroll/ade/webview',
      is_mdm_removable: false,
      is_supervised: true,
      org_magic: '1',
      skip_setup_items: ['AppleID', 'Android'],
      devices: ['A'],
    };
    const d = await endpoint('POST /profile', { profile_uuid: 'P1', devices: { A: 'SUCCESS' } });
    expect(await d.c.defineProfile(profile)).toEqual({ profile_uuid: 'P1', devices: { A: 'SUCCESS' } });
    expect(d.json()).toEqual(profile);

    const g = await endpoint('GET /profile', { ...profile, devices: undefined, profile_uuid: 'P1' });
    expect((await g.c.getProfile('P1')).profile_uuid).toBe('P1');
    expect(g.last().query.get('profile_uuid')).toBe('P1');
    expect(g.last().body).toBe('');
  });

  it('assign uses POST and passes THROTTLED and retry_after_seconds through', async () => {
    const { c, last, json } = await endpoint('POST /profile/devices', { profile_uuid: 'P1', devices: { A: 'SUCCESS', B: 'THROTTLED' }, retry_after_seconds: 120 });
    const r = await c.assignProfile('P1', ['A', 'B']);
    expect(r).toEqual({ profile_uuid: 'P1', devices: { A: 'SUCCESS', B: 'THROTTLED' }, retry_after_seconds: 120 });
    expect(last().method).toBe('POST');
    expect(json()).toEqual({ profile_uuid: 'P1', devices: ['A', 'B'] });
  });

  it('assign can use PUT for depsim-style services', async () => {
    const apple = await fakeApple({ 'PUT /profile/devices': () => ({ body: { profile_uuid: 'P1', devices: { A: 'SUCCESS' } } }) });
    apple.valid.add('s');
    const { c } = client(apple, new MemoryStore('s'), { assignMethod: 'PUT' });
    expect((await c.assignProfile('P1', ['A'])).devices).toEqual({ A: 'SUCCESS' });
    expect(apple.requests[0].method).toBe('PUT');
  });

  it('remove uses DELETE with a JSON body', async () => {
    const { c, last, json } = await endpoint('DELETE /profile/devices', { devices: { A: 'SUCCESS' } });
    expect(await c.removeProfile(['A'])).toEqual({ devices: { A: 'SUCCESS' } });
    expect(last().headers['content-type']).toBe('application/json;charset=UTF8');
    expect(json()).toEqual({ devices: ['A'] });
  });

  it('replacement details', async () => {
    const body = { serial_number: 'NEW1', original_device_serial_number: 'OLD1', replacement_date: '2026-03-01' };
    const { c, last } = await endpoint('GET /device/replacementDetails', body);
    expect(await c.replacementDetails('NEW1')).toEqual(body);
    expect(last().query.get('device')).toBe('NEW1');
  });

  it('an empty serial list makes no request', async () => {
    const apple = await fakeApple({});
    const { c } = client(apple, new MemoryStore('s'));
    expect(await c.assignProfile('P1', [])).toEqual({ profile_uuid: 'P1', devices: {} });
    expect(await c.removeProfile([])).toEqual({ devices: {} });
    expect(await c.disown([])).toEqual({ devices: {} });
    expect(await c.deviceDetails([])).toEqual({ devices: {} });
    expect(apple.requests).toHaveLength(0);
  });

  it('keeps a path prefix in the base URL', async () => {
    const apple = await fakeApple({ 'GET /proxy/abm1/account': account, 'GET /proxy/abm1/session': (req, a) => {
      const t = `p-${a.issued.length + 1}`;
      a.issued.push(t);
      a.valid.add(t);
      return { body: { auth_session_token: t } };
    } });
    const c = new DepClient({ baseUrl: `${apple.url}/proxy/abm1/`, credentials: CREDENTIALS, sessions: new MemoryStore(), userAgent: UA });
    await c.account();
    expect(apple.requests.map((r) => r.path)).toEqual(['/proxy/abm1/session', '/proxy/abm1/account']);
  });

  it('refuses a missing User-Agent and incomplete credentials', () => {
    const base = { credentials: CREDENTIALS, sessions: new MemoryStore(), userAgent: UA };
    expect(() => new DepClient({ ...base, userAgent: '' })).toThrow(TypeError);
    expect(() => new DepClient({ ...base, userAgent: 'a\r\nX-Evil: 1' })).toThrow(TypeError);
    expect(() => new DepClient({ ...base, credentials: { ...CREDENTIALS, accessSecret: '' } })).toThrow(TypeError);
  });
});

describe('DepClient secrets', () => {
  it('no error message, excerpt or event seen in these tests carries a secret', () => {
    expect(seenErrors.length).toBeGreaterThan(30);
    const secrets = [...Object.values(CREDENTIALS), 'session-1', 'session-2', 'rotated-1', 'rotated-2', 'stale-session-e1', 'stale-session-r1', 'stale-session-s1', 'other-node-session'];
    for (const err of seenErrors) {
      const text = `${err.message}\n${err.bodyExcerpt ?? ''}\n${JSON.stringify(err)}`;
      for (const s of secrets) expect(text, `${err.kind}: ${err.message}`).not.toContain(s);
      expect(text).not.toMatch(/oauth_signature/);
    }
  });
});

