/**
 * Apple's Device Assignment endpoints: HTTP request in, Apple-shaped answer out. Every request
 * goes through the same gate, in Apple's order: User-Agent (400 USER_AGENT_MISSING /
 * USER_AGENT_INVALID), then `/session` OAuth or the `X-ADM-Auth-Session` check (401 when
 * missing, unknown or expired; depsim answers 403 FORBIDDEN for unknown sessions), the token's
 * state (403 token_rejected), the server's permission (403 ACCESS_DENIED), the organisation's
 * terms (403 T_C_NOT_SIGNED), then the endpoint. A session may be rotated in the response's
 * `X-ADM-Auth-Session` header.
 *
 * Undocumented choices (inferred, so a client must not depend on them): 404 NOT_FOUND for an
 * unknown path or profile, 405 METHOD_NOT_ALLOWED, MALFORMED_REQUEST_BODY for unparsable JSON
 * or wrong types, a `limit` above the maximum is clamped, a missing protocol header means 1.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { DeviceFeed } from './device-feed.js';
import { deviceVariant } from './device-record.js';
import type { OAuthVerifier } from './oauth-verify.js';
import type { Organisation, SimServer } from './organisation.js';
import { validateProfile, type ProfileValidationOptions } from './profile-validate.js';
import type { Session, SessionStore } from './sessions.js';
import { errorBody, isoSeconds, JSON_CONTENT_TYPE, type DepErrorCode, type Dialect } from './wire.js';

export interface PageLimit {
  default: number;
  maximum: number;
}

export interface SeedBuildToken {
  title: string;
  os: string;
  token: string;
}

export interface DepRoutesConfig {
  dialect: Dialect;
  /** limit default/maximum for fetch and sync (also advertised in /account urls) */
  fetchLimit: PageLimit;
  syncLimit: PageLimit;
  /** protocol version assumed when X-Server-Protocol-Version is absent */
  defaultProtocolVersion: number;
  /** true → the User-Agent is acceptable */
  userAgentAllowed: (ua: string) => boolean;
  profileValidation: ProfileValidationOptions;
  seedBuildTokens: SeedBuildToken[];
}

export interface DepRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** the absolute URL the client addressed (for the OAuth base string) */
  url: string;
  /** the caller's session, once authenticated (for the expire-session fault and the request log) */
  session?: Session;
  /** fault: fetch/sync answer with a stuck cursor */
  stuckCursor?: boolean;
}

export interface DepResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** the server the request acted for, once known */
  serverUuid?: string;
  /** an Apple error code, when the answer is an error */
  code?: string;
}

/** User-Agents Apple is known (or assumed) to refuse, and library defaults that identify no product. */
export const DEFAULT_REFUSED_USER_AGENTS: readonly RegExp[] = [/^nanodep-godep\/0$/, /^Go-http-client\//, /^node$/, /^undici$/, /^node-fetch\//, /^axios\//, /^python-requests\//, /^Java\//];

interface Route {
  path: string;
  methods: string[];
  limit?: 'fetch' | 'sync';
  minProtocol?: number;
}

const ROUTES: Route[] = [
  { path: '/session', methods: ['GET'] },
  { path: '/account', methods: ['GET'] },
  { path: '/server/devices', methods: ['POST'], limit: 'fetch' },
  { path: '/devices/sync', methods: ['POST'], limit: 'sync' },
  { path: '/devices', methods: ['POST'] },
  { path: '/devices/disown', methods: ['POST'] },
  { path: '/device/activationlock', methods: ['POST'] },
  { path: '/device/replacementDetails', methods: ['GET'], minProtocol: 10 },
  { path: '/profile', methods: ['POST', 'GET'] },
  { path: '/profile/devices', methods: ['DELETE', 'POST', 'PUT'] },
  { path: '/os-beta-enrollment/tokens', methods: ['GET'] },
  { path: '/account-driven-enrollment/profile', methods: ['POST', 'GET', 'DELETE'] },
];

export class DepRoutes {
  constructor(
    private readonly org: Organisation,
    private readonly sessions: SessionStore,
    private readonly oauth: OAuthVerifier,
    private readonly feed: DeviceFeed,
    readonly config: DepRoutesConfig,
  ) {}

  handle(req: DepRequest): DepResponse {
    const ua = req.headers['user-agent'];
    if (!ua) return this.error(400, 'USER_AGENT_MISSING');
    if (!this.config.userAgentAllowed(ua)) return this.error(400, 'USER_AGENT_INVALID');
    const route = ROUTES.find((r) => r.path === req.path);
    const protocol = this.protocol(req.headers['x-server-protocol-version']);
    if (!route || (route.minProtocol && protocol < route.minProtocol)) return this.error(404, 'NOT_FOUND');
    if (!route.methods.includes(req.method) || (this.config.dialect === 'depsim' && req.path === '/profile/devices' && req.method === 'POST')) {
      return this.error(405, 'METHOD_NOT_ALLOWED');
    }
    if (route.path === '/session') return this.session(req);

    const check = this.sessions.check(header(req.headers['x-adm-auth-session']));
    if (!check.ok) {
      if (check.reason === 'unknown' && this.config.dialect === 'depsim') return this.error(403, 'FORBIDDEN');
      return this.error(401, 'UNAUTHORIZED');
    }
    const session = check.session;
    req.session = session;
    const server = this.org.servers.find((s) => s.uuid === session.serverUuid)!;
    const token = server.tokens.find((t) => t.tokens.access_token === session.accessToken);
    if (!token || token.rejected) return this.error(403, 'token_rejected', server);
    if (this.org.now >= token.expiresAt) return this.error(401, 'UNAUTHORIZED', server);
    if (server.accessDenied) return this.error(403, 'ACCESS_DENIED', server);
    if (this.org.termsNotSigned) return this.error(403, 'T_C_NOT_SIGNED', server);

    const rotated = this.sessions.touch(session);
    const res = this.dispatch(req, route, server, protocol);
    res.serverUuid = server.uuid;
    if (rotated) res.headers['X-ADM-Auth-Session'] = rotated;
    return res;
  }

  private session(req: DepRequest): DepResponse {
    if (this.config.dialect === 'depsim' && !/^application\/json;\s*charset=utf-?8$/i.test(header(req.headers['content-type']) ?? '')) {
      return this.error(400, 'MALFORMED_REQUEST_BODY');
    }
    const v = this.oauth.verify({ method: req.method, url: req.url, authorization: header(req.headers.authorization) });
    if (!v.ok) return this.error(v.status, v.problem);
    const found = this.org.findToken(v.consumerKey, v.token)!;
    if (this.org.termsNotSigned) return this.error(403, 'T_C_NOT_SIGNED', found.server);
    const s = this.sessions.create(found.server.uuid, v.token);
    return { ...this.json(200, JSON.stringify({ auth_session_token: s.token })), serverUuid: found.server.uuid };
  }

  private dispatch(req: DepRequest, route: Route, server: SimServer, protocol: number): DepResponse {
    let body: Record<string, unknown> = {};
    if (req.method !== 'GET') {
      const parsed = parseJsonBody(req.body);
      if (parsed === undefined) return this.error(400, 'MALFORMED_REQUEST_BODY');
      body = parsed;
    }
    const variant = deviceVariant(protocol);
    switch (`${req.method} ${route.path}`) {
      case 'GET /account':
        return this.json(200, JSON.stringify(this.account(server, protocol)));
      case 'POST /server/devices':
      case 'POST /devices/sync': {
        const limit = this.limit(body.limit, route.limit === 'fetch' ? this.config.fetchLimit : this.config.syncLimit);
        if (limit === undefined || (body.cursor !== undefined && body.cursor !== null && typeof body.cursor !== 'string')) return this.error(400, 'MALFORMED_REQUEST_BODY');
        const cursor = (body.cursor as string | null | undefined) || undefined;
        const opts = { limit, variant, stuck: req.stuckCursor };
        const page = route.limit === 'fetch' ? this.feed.fetch(server, cursor, opts) : this.feed.sync(server, cursor, opts);
        return page.ok ? this.json(200, page.body) : this.error(400, page.code);
      }
      case 'POST /devices': {
        const serials = serialList(body.devices);
        if (!serials) return this.error(400, 'DEVICE_ID_REQUIRED');
        const parts = serials.map((serial) => {
          const d = this.org.device(serial);
          const json = d && d.server === server ? `${d.rev.json(variant).slice(0, -1)},"response_status":"SUCCESS"}` : JSON.stringify({ serial_number: serial, response_status: 'NOT_ACCESSIBLE' });
          return `${JSON.stringify(serial)}:${json}`;
        });
        return this.json(200, `{"devices":{${parts.join(',')}}}`);
      }
      case 'POST /devices/disown': {
        const serials = serialList(body.devices);
        if (!serials) return this.error(400, 'DEVICE_ID_REQUIRED');
        return this.json(200, JSON.stringify({ devices: this.org.disown(server, serials) }));
      }
      case 'POST /device/activationlock': {
        const { device, escrow_key, lost_message } = body;
        if (typeof device !== 'string' || device === '') return this.error(400, 'MALFORMED_REQUEST_BODY');
        if (escrow_key !== undefined && (typeof escrow_key !== 'string' || !/^[0-9a-fA-F]{64}$/.test(escrow_key))) return this.error(400, 'MALFORMED_REQUEST_BODY');
        if (lost_message !== undefined && typeof lost_message !== 'string') return this.error(400, 'MALFORMED_REQUEST_BODY');
        const status = this.org.activationLock(server, device, escrow_key as string | undefined, lost_message as string | undefined);
        return this.json(200, JSON.stringify({ serial_number: device, response_status: status }));
      }
      case 'GET /device/replacementDetails': {
        const d = this.org.device(req.query.get('device') ?? '');
        if (!d || d.server !== server || !d.replacement) return this.error(404, 'DEVICE_NOT_FOUND');
        return this.json(200, JSON.stringify({ serial_number: d.serial, original_device_serial_number: d.replacement.original, replacement_date: isoSeconds(d.replacement.date).slice(0, 10) }));
      }
      case 'POST /profile': {
        const v = validateProfile(body, this.config.profileValidation);
        if (!v.ok) return this.error(400, v.code);
        const res = this.org.defineProfile(server, v.profile, v.devices);
        return this.json(200, JSON.stringify(res));
      }
      case 'GET /profile': {
        const uuid = req.query.get('profile_uuid');
        if (!uuid) return this.error(400, 'PROFILE_UUID_REQUIRED');
        const p = server.profiles.get(uuid);
        if (!p) return this.error(404, 'NOT_FOUND');
        return this.json(200, JSON.stringify(this.org.profileView(p)));
      }
      case 'POST /profile/devices':
      case 'PUT /profile/devices': {
        const uuid = body.profile_uuid;
        if (typeof uuid !== 'string' || uuid === '') return this.error(400, 'PROFILE_UUID_REQUIRED');
        const serials = serialList(body.devices);
        if (!serials) return this.error(400, 'DEVICE_ID_REQUIRED');
        if (!server.profiles.has(uuid)) return this.error(404, 'NOT_FOUND');
        const res = this.org.assignProfile(server, uuid, serials, protocol);
        return this.json(200, JSON.stringify({ profile_uuid: uuid, ...res }));
      }
      case 'DELETE /profile/devices': {
        const serials = serialList(body.devices);
        if (!serials) return this.error(400, 'DEVICE_ID_REQUIRED');
        return this.json(200, JSON.stringify({ devices: this.org.removeProfile(server, serials) }));
      }
      case 'GET /os-beta-enrollment/tokens':
        if (this.org.seedTokensTurnedOff) return this.error(403, 'APPLE_SEED_FOR_IT_TURNED_OFF');
        return this.json(200, JSON.stringify({ betaEnrollmentTokens: this.config.seedBuildTokens }));
      case 'POST /account-driven-enrollment/profile': {
        if (!this.org.accountDrivenEnrollmentSupported) return this.error(400, 'ORG_NOT_SUPPORTED');
        const url = body.mdm_service_discovery_url;
        if (url === undefined || url === null || url === '') return this.error(400, 'MDM_SERVICE_DISCOVERY_URL_REQUIRED');
        if (typeof url !== 'string' || !isHttpsUrl(url)) return this.error(400, 'MDM_SERVICE_DISCOVERY_URL_NOT_VALID');
        server.accountDrivenEnrollment = { url, updatedAt: this.org.now };
        return this.json(200, '');
      }
      case 'GET /account-driven-enrollment/profile': {
        if (!this.org.accountDrivenEnrollmentSupported) return this.error(400, 'ORG_NOT_SUPPORTED');
        const a = server.accountDrivenEnrollment;
        if (!a) return this.error(404, 'NOT_FOUND');
        return this.json(200, JSON.stringify({ mdm_service_discovery_url: a.url, last_updated_timestamp: isoSeconds(a.updatedAt) }));
      }
      case 'DELETE /account-driven-enrollment/profile':
        if (!this.org.accountDrivenEnrollmentSupported) return this.error(400, 'ORG_NOT_SUPPORTED');
        server.accountDrivenEnrollment = undefined;
        return this.json(200, '');
    }
    return this.error(404, 'NOT_FOUND');
  }

  /** AccountDetail; org_id…urls only from protocol 3. */
  account(server: SimServer, protocol: number): Record<string, unknown> {
    const i = this.org.info;
    const out: Record<string, unknown> = {
      server_name: server.name,
      server_uuid: server.uuid,
      admin_id: server.adminId,
      facilitator_id: server.adminId,
      org_name: i.org_name,
      org_email: i.org_email,
      org_phone: i.org_phone,
      org_address: i.org_address,
    };
    if (protocol >= 3) {
      out.org_id = i.org_id;
      out.org_id_hash = i.org_id_hash;
      out.urls = ROUTES.filter((r) => !r.minProtocol || protocol >= r.minProtocol).map((r) => {
        const u: Record<string, unknown> = { uri: r.path, http_method: this.config.dialect === 'depsim' && r.path === '/profile/devices' ? ['DELETE', 'PUT'] : r.methods };
        if (r.limit) u.limit = { ...(r.limit === 'fetch' ? this.config.fetchLimit : this.config.syncLimit) };
        return u;
      });
      out.org_type = i.org_type;
      out.org_version = i.org_version;
    }
    return out;
  }

  private limit(v: unknown, l: PageLimit): number | undefined {
    if (v === undefined || v === null || v === 0) return l.default;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return undefined;
    return Math.min(v, l.maximum);
  }

  private protocol(h: string | string[] | undefined): number {
    const v = Number(header(h));
    return header(h) !== undefined && Number.isInteger(v) && v > 0 ? v : this.config.defaultProtocolVersion;
  }

  json(status: number, body: string): DepResponse {
    return { status, body, headers: { 'Content-Type': JSON_CONTENT_TYPE } };
  }

  error(status: number, code: DepErrorCode | string, server?: SimServer): DepResponse {
    return { status, body: errorBody(code, this.config.dialect), headers: { 'Content-Type': JSON_CONTENT_TYPE }, code, serverUuid: server?.uuid };
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function parseJsonBody(buf: Buffer): Record<string, unknown> | undefined {
  if (buf.length === 0) return {};
  try {
    const v: unknown = JSON.parse(buf.toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function serialList(v: unknown): string[] | undefined {
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string' && s !== '')) return undefined;
  return v as string[];
}

function isHttpsUrl(s: string): boolean {
  try {
    return new URL(s).protocol === 'https:';
  } catch {
    return false;
  }
}
