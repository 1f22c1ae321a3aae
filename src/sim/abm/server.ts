/**
 * ABM/ASM "Device Assignment" (DEP) service simulator: speaks Apple's wire protocol on real
 * HTTP so Pomona's DEP client, the demo and the benchmarks run against something strict and
 * scriptable instead of mdmenrollment.apple.com.
 *
 *   const sim = await startAbmSimulator({ port: 0, host: '127.0.0.1', seed: 7 });
 *   const srv = sim.createServer({ name: 'Pomona' });              // one virtual MDM server per token
 *   const file = sim.issueToken(srv.serverUuid, certPem);          // file.smime: the .p7m Apple hands out
 *   sim.addDevices(srv.serverUuid, 100_000, { spreadDays: 365 });  // realistic, seeded fleet
 *   // point the DEP client at sim.url; OAuth on GET /session, then X-ADM-Auth-Session …
 *   sim.moveDevices([serial], other.serverUuid);                   // deleted there, added here
 *   sim.activate(serial);                                          // the device's cloud configuration
 *   sim.faults.add({ path: '/devices/sync', skip: 2, action: { kind: 'expire-session' } });
 *   await sim.close();
 *
 * Public API (all synchronous except start/close/saveState):
 * - `url`, `close()`, `clock.now()`, `clock.advance(ms)` (simulated time: cursors, sessions, token expiry)
 * - servers: `createServer({name, adminId?})`, `servers()`, `issueToken(uuid, certPem, opts?)`,
 *   `currentTokens(uuid)`, `rejectToken(uuid)`, `setAccessDenied(uuid, bool)`
 * - devices: `addDevices(uuid|null, count|specs, opts?)` → serials, `modifyDevices(serials, changes)`,
 *   `deleteDevices(serials, {fromOrg?})`, `moveDevices(serials, toUuid, {as?})`, `markReplacement(serial, original)`,
 *   `devices(uuid?)`, `device(serial)`, `changeLog(uuid)`
 * - profiles: `profiles(uuid?)`, `assignments()`, `scriptAssignResult(serials, status, times?)`, `setThrottle(policy?)`
 * - activation: `activate(serial)` → cloud configuration or a reason there is none
 * - organisation: `setTermsNotSigned(bool)`, `setSeedTokensTurnedOff(bool)`, `setActivationLockSupported(bool)`,
 *   `setAccountDrivenEnrollmentSupported(bool)`
 * - sessions: `expireSessions(filter?)`, `forgetSessions()`, `configureSessions(opts)`
 * - `faults.add(rule)` / `remove(id)` / `clear()` / `list()` (see faults.ts), `requests()` / `clearRequests()`
 * - `saveState()` → JSON-able state; `startAbmSimulator({ state })` restores it
 *
 * The same controls are served as JSON under `/_sim/` (see control-routes.ts) for the CLI and
 * other processes. Apple's endpoints are everything else (see dep-routes.ts).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ControlRoutes } from './control-routes.js';
import { CursorCodec } from './cursor.js';
import { DeviceFeed, SEVEN_DAYS_MS } from './device-feed.js';
import { renderDevice, type DeviceChanges, type DeviceFields } from './device-record.js';
import { DEFAULT_REFUSED_USER_AGENTS, DepRoutes, type DepResponse, type PageLimit, type SeedBuildToken } from './dep-routes.js';
import { FaultInjector, INVALID_JSON_BODY, WRONG_SHAPE_BODY, type FaultAction, type FaultRule } from './faults.js';
import { flatHeaders, readBody, send, sendEnormous, sendTruncated, STATUS_CODES } from './http-io.js';
import { OAuthVerifier } from './oauth-verify.js';
import {
  Organisation,
  type ActivationAnswer,
  type AddDevicesOptions,
  type AssignmentRecord,
  type DeviceSpec,
  type MoveOptions,
  type OrganisationInfo,
  type ThrottlePolicy,
} from './organisation.js';
import { restoreOrganisation, saveOrganisation, type SavedState } from './persist.js';
import type { ProfileValidationOptions } from './profile-validate.js';
import { Rng } from './rng.js';
import { SessionStore, type SessionOptions } from './sessions.js';
import { buildTokenFile, certificateDer, tokenFileName, type TokenFile, type TokenFileOptions } from './token-file.js';
import type { DepTokenSet } from './token-set.js';
import { errorBody, JSON_CONTENT_TYPE, type Dialect } from './wire.js';

export interface AbmSimulatorOptions {
  port?: number;
  host?: string;
  /** the simulated clock (ms); `clock.advance` adds to it. Default Date.now */
  now?: () => number;
  /** the clock OAuth timestamps are checked against; default `now` without advances (clients sign with their wall clock) */
  oauthNow?: () => number;
  /** seeds generated devices and probabilistic faults */
  seed?: number | string;
  /** `apple` (bare error codes) or `depsim` (JSON-quoted codes, 403 FORBIDDEN for unknown sessions, PUT-only assign) */
  dialect?: Dialect;
  /** fetch and sync page sizes: default {default: 100, maximum: 1000} (the schema's); real accounts advertise 1000/5000 */
  fetchLimit?: PageLimit;
  syncLimit?: PageLimit;
  /** assumed when X-Server-Protocol-Version is absent; default 1 */
  defaultProtocolVersion?: number;
  /** decide whether a User-Agent is acceptable; default refuses DEFAULT_REFUSED_USER_AGENTS */
  userAgentAllowed?: (ua: string) => boolean;
  oauthTimestampSkewSeconds?: number;
  sessions?: SessionOptions;
  /** cursor lifetime; default 7 days */
  cursorTtlMs?: number;
  profileValidation?: ProfileValidationOptions;
  throttle?: ThrottlePolicy;
  /** profile assignments, removals and pushes appear as `modified` in sync; default true */
  profileChangesInSync?: boolean;
  /** render device JSON for this protocol version when devices change, not on first fetch */
  prerenderProtocolVersion?: number;
  org?: Partial<OrganisationInfo>;
  seedBuildTokens?: SeedBuildToken[];
  /** the base URL clients address, when it differs from the Host header (a proxy); for the OAuth base string */
  publicUrl?: string;
  /** request bodies above this are refused (413); default 10 MiB */
  maxBodyBytes?: number;
  /** how many requests `requests()` remembers; default 1000 */
  requestLogSize?: number;
  /** serve /_sim/ (default true); with a token, /_sim/ requires `X-Sim-Control-Token` */
  controlApi?: boolean;
  controlToken?: string;
  /** a state from saveState() to start from */
  state?: SavedState;
}

export interface ServerSummary {
  serverUuid: string;
  name: string;
  adminId: string;
  devices: number;
  profiles: number;
  changes: number;
  tokens: { consumerKey: string; issuedAt: string; expiry: string; rejected: boolean }[];
}

export interface IssueTokenOptions extends TokenFileOptions {
  /** expiry of the access token (ms); default one year */
  expiresAt?: number;
  /** keep the server's earlier tokens working (default: they become token_rejected) */
  keepPrevious?: boolean;
}

export interface IssuedToken extends TokenFile {
  fileName: string;
  serverUuid: string;
}

export interface RequestRecord {
  at: number;
  method: string;
  path: string;
  status: number | 'hang' | 'reset';
  code?: string;
  serverUuid?: string;
  headers: Record<string, string>;
  body: string;
  faults: string[];
  ms: number;
}

export interface DeviceView extends Record<string, unknown> {
  serial_number: string;
  server_uuid?: string;
  activation_locked: boolean;
}

export interface AbmSimulator {
  url: string;
  org: Organisation;
  clock: { now(): number; advance(ms: number): number };
  close(): Promise<void>;
  createServer(opts: { name: string; adminId?: string }): ServerSummary;
  servers(): ServerSummary[];
  issueToken(serverUuid: string, certPem: string | Buffer, opts?: IssueTokenOptions): IssuedToken;
  currentTokens(serverUuid: string): DepTokenSet | undefined;
  rejectToken(serverUuid: string): void;
  setAccessDenied(serverUuid: string, denied: boolean): void;
  addDevices(serverUuid: string | null, what: number | DeviceSpec[], opts?: AddDevicesOptions): string[];
  modifyDevices(serials: string[], changes: DeviceChanges | ((d: Readonly<DeviceFields>) => DeviceChanges)): void;
  deleteDevices(serials: string[], opts?: { fromOrg?: boolean; releasedByReplacement?: boolean }): void;
  moveDevices(serials: string[], toServerUuid: string, opts?: MoveOptions): void;
  markReplacement(serial: string, originalSerial: string): void;
  devices(serverUuid?: string): DeviceView[];
  device(serial: string): DeviceView | undefined;
  changeLog(serverUuid: string, from?: number, limit?: number): { index: number; op: string; at: string; serial: string }[];
  profiles(serverUuid?: string): Record<string, unknown>[];
  assignments(): AssignmentRecord[];
  scriptAssignResult(serials: string[], status: 'FAILED' | 'THROTTLED' | 'NOT_ACCESSIBLE', times?: number): void;
  setThrottle(policy: ThrottlePolicy | undefined): void;
  activate(serial: string): ActivationAnswer;
  setTermsNotSigned(notSigned: boolean): void;
  setSeedTokensTurnedOff(off: boolean): void;
  setActivationLockSupported(supported: boolean): void;
  setAccountDrivenEnrollmentSupported(supported: boolean): void;
  expireSessions(filter?: { serverUuid?: string }): number;
  forgetSessions(): void;
  configureSessions(opts: SessionOptions): void;
  faults: { add(rule: FaultRule): string; remove(id: string): boolean; clear(): void; list(): ReturnType<FaultInjector['list']> };
  requests(): RequestRecord[];
  clearRequests(): void;
  saveState(): SavedState;
}

export async function startAbmSimulator(opts: AbmSimulatorOptions = {}): Promise<AbmSimulator> {
  const baseNow = opts.now ?? Date.now;
  let offset = 0;
  const now = () => baseNow() + offset;
  const org = new Organisation({ now, seed: opts.seed, info: opts.org, throttle: opts.throttle, profileChangesInSync: opts.profileChangesInSync, prerenderProtocolVersion: opts.prerenderProtocolVersion });
  if (opts.state) restoreOrganisation(org, opts.state);
  const sessions = new SessionStore(now, opts.sessions);
  const oauth = new OAuthVerifier({
    now: opts.oauthNow ?? baseNow,
    timestampSkewSeconds: opts.oauthTimestampSkewSeconds,
    lookup: (ck, at) => {
      const byConsumer = org.findToken(ck);
      if (!byConsumer) return { unknown: 'consumer' };
      const found = org.findToken(ck, at);
      if (!found) return { unknown: 'token' };
      const t = found.token;
      return { consumerSecret: t.tokens.consumer_secret, tokenSecret: t.tokens.access_secret, state: t.rejected ? 'rejected' : now() >= t.expiresAt ? 'expired' : 'valid' };
    },
  });
  const feed = new DeviceFeed(org, new CursorCodec(org.secret), opts.cursorTtlMs ?? SEVEN_DAYS_MS);
  const dialect = opts.dialect ?? 'apple';
  const routes = new DepRoutes(org, sessions, oauth, feed, {
    dialect,
    fetchLimit: opts.fetchLimit ?? { default: 100, maximum: 1000 },
    syncLimit: opts.syncLimit ?? { default: 100, maximum: 1000 },
    defaultProtocolVersion: opts.defaultProtocolVersion ?? 1,
    userAgentAllowed: opts.userAgentAllowed ?? ((ua) => !DEFAULT_REFUSED_USER_AGENTS.some((re) => re.test(ua))),
    profileValidation: opts.profileValidation ?? {},
    seedBuildTokens: opts.seedBuildTokens ?? [{ title: 'iOS 26 Beta', os: 'iOS', token: 'SIMULATED-SEED-TOKEN-IOS' }],
  });
  const faults = new FaultInjector(new Rng(`${opts.seed ?? 1}/faults`));
  const log: RequestRecord[] = [];
  const logSize = opts.requestLogSize ?? 1000;
  const maxBody = opts.maxBodyBytes ?? 10 * 1024 * 1024;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const summary = (uuid: string): ServerSummary => {
    const s = org.server(uuid);
    return {
      serverUuid: s.uuid,
      name: s.name,
      adminId: s.adminId,
      devices: s.memberCount,
      profiles: s.profiles.size,
      changes: s.log.length,
      tokens: s.tokens.map((t) => ({ consumerKey: t.tokens.consumer_key, issuedAt: new Date(t.issuedAt).toISOString(), expiry: t.tokens.access_token_expiry, rejected: t.rejected })),
    };
  };
  const view = (serial: string): DeviceView | undefined => {
    const d = org.device(serial);
    if (!d) return undefined;
    // rendered afresh: going through the revision's one-slot cache would evict the client's protocol bucket
    return { ...(JSON.parse(renderDevice(d.rev.f, 4)) as Record<string, unknown>), serial_number: d.serial, server_uuid: d.server?.uuid, activation_locked: !!d.activationLock };
  };

  const api: AbmSimulator = {
    url: '',
    org,
    clock: { now, advance: (ms) => (offset += ms, now()) },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
    createServer: (o) => summary(org.createServer(o).uuid),
    servers: () => org.servers.map((s) => summary(s.uuid)),
    issueToken: (uuid, certPem, o = {}) => {
      const server = org.server(uuid);
      certificateDer(certPem); // a bad certificate must not revoke the current token
      const rec = org.newToken(server, { expiresAt: o.expiresAt, keepPrevious: o.keepPrevious });
      return { ...buildTokenFile(rec.tokens, certPem, o), fileName: tokenFileName(server.name, rec.issuedAt), serverUuid: server.uuid };
    },
    currentTokens: (uuid) => org.server(uuid).tokens.filter((t) => !t.rejected).at(-1)?.tokens,
    rejectToken: (uuid) => {
      for (const t of org.server(uuid).tokens) t.rejected = true;
    },
    setAccessDenied: (uuid, denied) => {
      org.server(uuid).accessDenied = denied;
    },
    addDevices: (uuid, what, o) => org.addDevices(uuid === null ? null : org.server(uuid), what, o).map((d) => d.serial),
    modifyDevices: (serials, changes) => void org.modifyDevices(serials, changes),
    deleteDevices: (serials, o) => org.deleteDevices(serials, o),
    moveDevices: (serials, to, o) => org.moveDevices(serials, org.server(to), o),
    markReplacement: (serial, original) => org.markReplacement(serial, original),
    devices: (uuid) => {
      const server = uuid ? org.server(uuid) : undefined;
      const out: DeviceView[] = [];
      for (const d of org.devices.values()) if (!server || d.server === server) out.push(view(d.serial)!);
      return out;
    },
    device: view,
    changeLog: (uuid, from = 0, limit = 1000) =>
      org.server(uuid).log.slice(from, from + limit).map((e, i) => ({ index: from + i, op: e.op, at: new Date(e.at).toISOString(), serial: e.device.serial })),
    profiles: (uuid) => org.servers.filter((s) => !uuid || s.uuid === uuid).flatMap((s) => [...s.profiles.values()].map((p) => ({ ...org.profileView(p), server_uuid: s.uuid, defined_at: new Date(p.definedAt).toISOString() }))),
    assignments: () => [...org.assignments],
    scriptAssignResult: (serials, status, times) => org.scriptAssignResult(serials, status, times),
    setThrottle: (p) => {
      org.throttle = p;
    },
    activate: (serial) => org.activate(serial),
    setTermsNotSigned: (v) => {
      org.termsNotSigned = v;
    },
    setSeedTokensTurnedOff: (v) => {
      org.seedTokensTurnedOff = v;
    },
    setActivationLockSupported: (v) => {
      org.activationLockSupported = v;
    },
    setAccountDrivenEnrollmentSupported: (v) => {
      org.accountDrivenEnrollmentSupported = v;
    },
    expireSessions: (f) => sessions.expire(f ?? {}),
    forgetSessions: () => sessions.forget(),
    configureSessions: (o) => sessions.configure(o),
    faults: { add: (r) => faults.add(r), remove: (id) => faults.remove(id), clear: () => faults.clear(), list: () => faults.list() },
    requests: () => [...log],
    clearRequests: () => void log.splice(0),
    saveState: () => saveOrganisation(org),
  };
  const control = opts.controlApi === false ? undefined : new ControlRoutes(api, opts.controlToken);

  const remember = (r: RequestRecord) => {
    log.push(r);
    if (log.length > logSize) log.splice(0, log.length - logSize);
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => (timers.delete(t), resolve()), ms);
      timers.add(t);
    });

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const body = await readBody(req, maxBody);
    const u = new URL(req.url ?? '/', 'http://placeholder');
    const method = (req.method ?? 'GET').toUpperCase();
    if (u.pathname.startsWith('/_sim/') || u.pathname === '/_sim') {
      if (!control) return send(res, { status: 404, body: errorBody('NOT_FOUND', dialect), headers: { 'Content-Type': JSON_CONTENT_TYPE } });
      const out = await control.handle(method, u.pathname, u.searchParams, req.headers, body ?? Buffer.alloc(0));
      return send(res, out);
    }
    const record: RequestRecord = {
      at: now(),
      method,
      path: u.pathname,
      status: 0,
      headers: flatHeaders(req.headers),
      body: body ? body.subarray(0, 4096).toString('utf8') : '',
      faults: [],
      ms: 0,
    };
    const finish = (r: Partial<RequestRecord>) => remember(Object.assign(record, r, { ms: Date.now() - started }));
    if (!body) {
      finish({ status: 413, code: 'REQUEST_ENTITY_TOO_LARGE' });
      return send(res, routes.error(413, 'REQUEST_ENTITY_TOO_LARGE'), true);
    }

    let replace: FaultAction | undefined;
    let delay = 0;
    const post: FaultAction[] = [];
    let stuck = false;
    for (const a of faults.take(method, u.pathname)) {
      record.faults.push(a.kind);
      if (a.kind === 'delay') delay += a.ms;
      else if (a.kind === 'truncate' || a.kind === 'enormous') post.push(a);
      else if (a.kind === 'stuck-cursor') stuck = true;
      else if (a.kind === 'expire-session') {
        const t = req.headers['x-adm-auth-session'];
        if (typeof t === 'string') sessions.expire({ token: t });
      } else replace ??= a;
    }
    if (delay) await sleep(delay);
    if (replace?.kind === 'hang') return finish({ status: 'hang' }); // never answered; close() ends it
    if (replace?.kind === 'reset') {
      finish({ status: 'reset' });
      req.socket.destroy();
      return;
    }
    if (replace?.kind === 'status') {
      const code = replace.code ?? STATUS_CODES[replace.status] ?? 'ERROR';
      finish({ status: replace.status, code });
      return send(res, { status: replace.status, body: replace.body ?? errorBody(code, dialect), headers: { 'Content-Type': JSON_CONTENT_TYPE, ...replace.headers } });
    }
    if (replace?.kind === 'invalid-json' || replace?.kind === 'wrong-shape') {
      finish({ status: 200 });
      return send(res, { status: 200, body: replace.kind === 'invalid-json' ? INVALID_JSON_BODY : WRONG_SHAPE_BODY, headers: { 'Content-Type': JSON_CONTENT_TYPE } });
    }

    const host = req.headers.host ?? `${api.url.replace(/^https?:\/\//, '')}`;
    const absolute = opts.publicUrl ? new URL(u.pathname + u.search, opts.publicUrl).toString() : `http://${host}${u.pathname}${u.search}`;
    let out: DepResponse;
    try {
      out = routes.handle({ method, path: u.pathname, query: u.searchParams, headers: req.headers, body, url: absolute, stuckCursor: stuck });
    } catch {
      finish({ status: 500, code: 'INTERNAL_SERVER_ERROR' });
      return send(res, { status: 500, body: errorBody('INTERNAL_SERVER_ERROR', dialect), headers: { 'Content-Type': JSON_CONTENT_TYPE } });
    }
    finish({ status: out.status, code: out.code, serverUuid: out.serverUuid });
    const truncate = post.find((a) => a.kind === 'truncate');
    const enormous = post.find((a) => a.kind === 'enormous');
    if (truncate?.kind === 'truncate') return sendTruncated(res, out, truncate.bytes);
    if (enormous?.kind === 'enormous') return sendEnormous(res, out, enormous.bytes, !!enormous.contentLength);
    send(res, out);
  }

  const httpServer = http.createServer((req, res) => {
    onRequest(req, res).catch(() => {
      if (!res.headersSent) send(res, { status: 500, body: errorBody('INTERNAL_SERVER_ERROR', dialect), headers: { 'Content-Type': JSON_CONTENT_TYPE } });
    });
  });
  httpServer.keepAliveTimeout = 65_000;
  httpServer.requestTimeout = 0; // a hanging answer is ours to end, not Node's
  httpServer.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = httpServer.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  api.url = `http://${hostPart}:${addr.port}`;
  return api;
}
