/**
 * A real OpenID Provider (the `oidc-provider` package) on loopback, for tests of the relying party
 * and, later, of the SSO routes. Test support only: it imports a devDependency.
 *
 * Shape: the OP itself listens on a private port; a small front server on the issuer's port
 * forwards every request to it unchanged (Host header included, so the OP's URLs name the front).
 * The front is where tests break things the way a network or a hostile party would: rewrite the
 * token response, drop connections, hang, or swap the OP behind it for one with new keys.
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import Provider from 'oidc-provider';

export interface TestOpUser {
  sub: string;
  preferred_username?: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
  [claim: string]: unknown;
}

export interface TestOpClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'none';
}

export interface TestSigningKey {
  kid: string;
  privateKey: KeyObject;
  /** private JWK as handed to the OP */
  jwk: Record<string, unknown>;
}

export interface TestOpOptions {
  users: TestOpUser[];
  clients: TestOpClient[];
  /** ID token lifetime in seconds (default 120) */
  idTokenTtl?: number;
  /** true (the OP's default): scope claims go to userinfo only, the ID token carries sub */
  conformIdTokenClaims?: boolean;
}

/** What the front server does with requests. */
export type FrontMode = 'forward' | 'refuse' | 'hang';

export interface TestOpenIdProvider {
  readonly issuer: string;
  /** the keys the OP currently signs with (first one signs) */
  readonly keys: TestSigningKey[];
  /** request paths (pathname only) the front has seen, in order */
  readonly requests: string[];
  mode: FrontMode;
  /** paths the front answers itself with this HTTP status (an OP endpoint failing) */
  readonly failStatus: Map<string, number>;
  /** when set, rewrites the JSON body of token endpoint responses on the way to the client */
  tokenResponseHook: ((body: Record<string, unknown>) => Record<string, unknown>) | undefined;
  /** replaces the OP behind the front with one that signs with a new key (old key dropped) */
  rotateKeys(): Promise<TestSigningKey>;
  /**
   * Drives the browser part of the code flow: follows redirects from the authorization URL,
   * signs `login` in through the OP's interaction pages and consents, or aborts the
   * interaction (→ error=access_denied). Returns the URL the OP redirected to (the callback).
   */
  authorize(authorizationUrl: string, as: { login: string } | { abort: true }): Promise<string>;
  close(): Promise<void>;
}

export function newSigningKey(): TestSigningKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(8).toString('hex');
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, jwk };
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Decodes a compact JWS without verifying it. */
export function decodeJwt(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown>; signature: string } {
  const [h, p, s] = jwt.split('.');
  if (h === undefined || p === undefined || s === undefined) throw new Error('not a compact JWS');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>,
    signature: s,
  };
}

/** Signs header + payload as an RS256 JWS with the given key (what a forger holding a key does). */
export function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64url(JSON.stringify({ ...header, alg: 'RS256' }))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
}

/** Changes the payload of a JWS and keeps the original signature (a tampered token). */
export function tamperJwt(jwt: string, change: (payload: Record<string, unknown>) => void): string {
  const { header, payload, signature } = decodeJwt(jwt);
  change(payload);
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${signature}`;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

async function readBody(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function buildProvider(issuer: string, key: TestSigningKey, options: TestOpOptions): Provider {
  const users = new Map(options.users.map((u) => [u.sub, u]));
  return new Provider(issuer, {
    clients: options.clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: c.client_secret ? 'client_secret_basic' : 'none',
      ...c,
    })),
    // Every client must use PKCE, confidential ones included.
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    conformIdTokenClaims: options.conformIdTokenClaims ?? true,
    async findAccount(_ctx: unknown, sub: string) {
      const user = users.get(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ ...user }) };
    },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    jwks: { keys: [key.jwk] },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: options.idTokenTtl ?? 120,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
  });
}

export async function startTestOpenIdProvider(options: TestOpOptions): Promise<TestOpenIdProvider> {
  // The front listens first: its address is the issuer the OP must announce.
  let backPort = 0;
  const front = createServer((req, res) => void handleFront(req, res));
  const frontSockets = trackSockets(front);
  const frontPort = await listen(front);
  const issuer = `http://127.0.0.1:${frontPort}`;

  let back: { server: Server; sockets: Set<Socket> } | undefined;
  const keys: TestSigningKey[] = [];

  async function startBack(key: TestSigningKey): Promise<void> {
    const provider = buildProvider(issuer, key, options);
    const server = createServer(provider.callback());
    const sockets = trackSockets(server);
    const port = await listen(server);
    const old = back;
    back = { server, sockets };
    backPort = port;
    keys.splice(0, keys.length, key);
    if (old) await closeServer(old.server, old.sockets);
  }

  const op: TestOpenIdProvider = {
    issuer,
    keys,
    requests: [],
    failStatus: new Map(),
    mode: 'forward',
    tokenResponseHook: undefined,
    async rotateKeys() {
      const key = newSigningKey();
      await startBack(key);
      return key;
    },
    authorize: (url, as) => authorize(url, as),
    async close() {
      await closeServer(front, frontSockets);
      if (back) await closeServer(back.server, back.sockets);
    },
  };

  async function handleFront(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', issuer).pathname;
    op.requests.push(path);
    if (op.mode === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (op.mode === 'hang') return; // the socket is destroyed by close()
    const status = op.failStatus.get(path);
    if (status !== undefined) {
      await readBody(req);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('failure injected by the test\n');
      return;
    }
    const body = await readBody(req);
    const upstream = httpRequest({
      host: '127.0.0.1',
      port: backPort,
      method: req.method,
      path: req.url,
      headers: req.headers,
    });
    upstream.on('error', () => res.destroy());
    upstream.on('response', (answer) => {
      void (async () => {
        const hook = op.tokenResponseHook;
        if (path === '/token' && hook && answer.statusCode === 200) {
          const json = JSON.parse((await readBody(answer)).toString('utf8')) as Record<string, unknown>;
          const rewritten = Buffer.from(JSON.stringify(hook(json)));
          const headers = { ...answer.headers, 'content-length': String(rewritten.length) };
          res.writeHead(200, headers);
          res.end(rewritten);
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      })().catch(() => res.destroy());
    });
    upstream.end(body);
  }

  /** A cookie jar for one browser, good enough for one host on loopback. */
  async function authorize(authorizationUrl: string, as: { login: string } | { abort: true }): Promise<string> {
    const jar = new Map<string, string>();
    const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const keep = (res: Response) => {
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = pair!.indexOf('=');
        const name = pair!.slice(0, eq).trim();
        const value = pair!.slice(eq + 1).trim();
        if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name);
        else jar.set(name, value);
      }
    };

    let url = new URL(authorizationUrl);
    let init: RequestInit = { method: 'GET' };
    for (let hop = 0; hop < 20; hop++) {
      if (url.origin !== issuer) return url.href; // left the OP: this is the redirect to the client
      const res = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers as Record<string, string> | undefined), cookie: cookieHeader() },
      });
      keep(res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer();
        url = new URL(location, url);
        init = { method: 'GET' };
        continue;
      }
      const html = await res.text();
      if (res.status !== 200 || !url.pathname.startsWith('/interaction/')) {
        throw new Error(`test OP: unexpected ${res.status} at ${url.pathname}: ${html.slice(0, 300)}`);
      }
      if ('abort' in as) {
        url = new URL(`${url.pathname}/abort`, url);
        init = { method: 'GET' };
        continue;
      }
      const form = html.includes('name="prompt" value="login"')
        ? new URLSearchParams({ prompt: 'login', login: as.login, password: 'any' })
        : new URLSearchParams({ prompt: 'consent' });
      init = {
        method: 'POST',
        body: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      };
    }
    throw new Error('test OP: too many redirects');
  }

  await startBack(newSigningKey());
  return op;
}

/** Re-signs a JWT payload change with a key (the OP's own key: a forgery an RP cannot detect by signature). */
export function resignJwt(jwt: string, change: (payload: Record<string, unknown>) => void, key: TestSigningKey | KeyObject, kid?: string): string {
  const { header, payload } = decodeJwt(jwt);
  change(payload);
  const privateKey = 'privateKey' in key ? key.privateKey : key;
  const newKid = kid ?? ('kid' in key ? key.kid : header.kid);
  return signJwt({ ...header, kid: newKid }, payload, privateKey);
}
