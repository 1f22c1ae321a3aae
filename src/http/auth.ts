/**
 * Authentication and authorization for admin routes. A route opts in by declaring
 * `config: { permission }`; routes without it (device endpoints, health, login) are left
 * alone. Credentials: `Authorization: Bearer pom_…` (API tokens, for scripts) or the
 * `pomona_session` cookie (console). Cookie-authenticated unsafe methods must also send
 * `X-CSRF-Token`, because a browser attaches the cookie to cross-site requests by itself;
 * a bearer token is never sent implicitly, so it needs no such proof.
 *
 * Every actor also has a scope (src/org/scope.ts): the organization group whose subtree it acts
 * in. Once the body is parsed, the route's scope declaration is checked (src/http/scope-guard.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminService } from '../org/admin-service.js';
import type { ApiTokenService, TokenRole } from '../org/api-token-service.js';
import type { AuditService } from '../org/audit-service.js';
import { Scope } from '../org/scope.js';
import { scopeRefusal, type PlaceFn } from './scope-guard.js';

/**
 * read < operate < admin follow the ranked roles; `enroll` (download a generic enrollment profile)
 * is any ranked role; `custom-enrollment` (the external custom-enrollment profile endpoint) is the
 * custom-enrollment role's one permission, which administrators also hold.
 */
export type Permission = 'read' | 'operate' | 'admin' | 'enroll' | 'custom-enrollment';
export type Role = TokenRole;

export interface Actor {
  kind: 'user' | 'token';
  /** admin user id or API token id */
  id: string;
  /** username or token name */
  name: string;
  role: Role;
  /** stable audit-log actor: `user:<username>` or `token:pom_<prefix>` (token names are not unique) */
  label: string;
  /** the organization group subtree the actor acts in */
  scope: Scope;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** set by the auth hook on routes that declare a permission, null elsewhere */
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    permission?: Permission;
  }
}

export const SESSION_COOKIE = 'pomona_session';
export const CSRF_HEADER = 'x-csrf-token';
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const ADMIN_RANK: Record<string, number> = { 'read-only': 1, operator: 2, administrator: 3 };
const REQUIRED_RANK: Record<Permission, number> = { read: 1, enroll: 1, operate: 2, admin: 3, 'custom-enrollment': 3 };

export interface AuthDeps {
  admins: AdminService;
  tokens: ApiTokenService;
  audit: AuditService;
  /** where objects belong in the organization tree (ScopeStore.place) */
  place: PlaceFn;
}

const PERMISSIONS: Permission[] = ['read', 'operate', 'admin', 'enroll', 'custom-enrollment'];

/** Every permission a role holds (the console offers only the actions these allow). */
export function permissionsOf(role: string): Permission[] {
  return PERMISSIONS.filter((p) => roleAllows(role, p));
}

/**
 * Narrows a request to one organization group of the actor's subtree: the console's group
 * switcher sends it on every call, so lists, checks and new objects all stay in that branch
 * without each route knowing about the switcher. It can only narrow, never widen.
 */
export const GROUP_HEADER = 'x-pomona-group';

export function roleAllows(role: string, permission: Permission): boolean {
  if (permission === 'custom-enrollment' && role === 'custom-enrollment') return true;
  return (ADMIN_RANK[role] ?? 0) >= (REQUIRED_RANK[permission] ?? Infinity);
}

/** Cookie header → name/value map; the first occurrence of a name wins (RFC 6265 §5.4 order). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      continue; // malformed escape: ignore this cookie rather than fail the request
    }
    if (name && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

/** The raw session id from the request's cookie, if any (for logout and "who am I"). */
export function sessionIdFrom(request: FastifyRequest): string | undefined {
  return parseCookies(request.headers.cookie).get(SESSION_COOKIE) || undefined;
}

/** `Set-Cookie` value for the session cookie; an empty value with maxAge 0 clears it. */
export function sessionCookie(value: string, opts: { maxAgeSeconds: number; secure: boolean }): string {
  const attrs = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`];
  if (opts.secure) attrs.push('Secure');
  return attrs.join('; ');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function unauthorized(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message });
}

export function registerAuth(app: FastifyInstance, deps: AuthDeps): void {
  const { admins, tokens, audit, place } = deps;
  app.decorateRequest('actor', null);

  async function deny(request: FastifyRequest, reply: FastifyReply, actor: Actor, message: string, details: Record<string, unknown>) {
    request.log.info({ actor: actor.label, route: request.routeOptions.url }, `access denied: ${message}`);
    try {
      await audit.record({
        actor: actor.label,
        action: 'api.request',
        target: `${request.method} ${request.routeOptions.url ?? request.url}`,
        source: request.ip,
        outcome: 'denied',
        details,
      });
    } catch (err) {
      // The refusal stands even when the audit write fails; the log keeps the trace.
      request.log.error({ err }, 'could not write audit event for a denied request');
    }
    return reply.code(403).send({ error: 'forbidden', message });
  }

  // onRequest: refuse before the body is even read.
  app.addHook('onRequest', async (request, reply) => {
    const permission = request.routeOptions.config?.permission;
    if (!permission) return;

    const authorization = request.headers.authorization;
    const sessionId = sessionIdFrom(request);
    let actor: Actor;
    let viaCookie = false;

    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      const token = match ? await tokens.authenticate(match[1]) : null;
      if (!token) return unauthorized(reply, 'invalid, expired or revoked API token');
      actor = { kind: 'token', id: token.id, name: token.name, role: token.role, label: `token:${token.prefix}`, scope: token.scope };
    } else if (sessionId) {
      const session = await admins.lookupSession(sessionId);
      if (!session) {
        reply.header('set-cookie', sessionCookie('', { maxAgeSeconds: 0, secure: request.protocol === 'https' }));
        return unauthorized(reply, 'session expired or invalid; log in again');
      }
      const { user } = session;
      actor = { kind: 'user', id: user.id, name: user.username, role: user.role, label: `user:${user.username}`, scope: user.scope };
      viaCookie = true;
    } else {
      return unauthorized(reply, 'authentication required: log in or send Authorization: Bearer <API token>');
    }

    if (viaCookie && UNSAFE_METHODS.has(request.method)) {
      const presented = request.headers[CSRF_HEADER];
      if (typeof presented !== 'string' || !sameSecret(presented, admins.csrfTokenFor(sessionId!))) {
        return deny(request, reply, actor, 'missing or invalid X-CSRF-Token header', { reason: 'csrf' });
      }
    }
    if (!roleAllows(actor.role, permission)) {
      return deny(request, reply, actor, `this action needs the "${permission}" permission, which role "${actor.role}" lacks`, {
        reason: 'role',
        role: actor.role,
        permission,
      });
    }
    const narrowTo = request.headers[GROUP_HEADER];
    if (typeof narrowTo === 'string' && narrowTo !== actor.scope.groupId) {
      const path = (await place('group', [narrowTo])).get(narrowTo)?.[0];
      // by id only (the placement also matches typed Group IDs): the scope names a group id
      if (!path || !path.endsWith(`/${narrowTo}/`) || !actor.scope.covers(path)) {
        return deny(request, reply, actor, `the organization group ${JSON.stringify(narrowTo.slice(0, 64))} in ${GROUP_HEADER} is outside your scope, or does not exist`, { reason: 'scope', kind: 'group' });
      }
      actor = { ...actor, scope: new Scope(narrowTo, path) };
    }
    request.actor = actor;
  });

  // preValidation: the body is parsed (targets may be named in it) but not yet validated, so an
  // outside-scope request is refused the same way whatever else is wrong with it.
  app.addHook('preValidation', async (request, reply) => {
    const actor = request.actor;
    if (!actor) return;
    const refusal = await scopeRefusal(request, actor.scope, place);
    if (refusal) return deny(request, reply, actor, refusal.message, refusal.details);
  });
}
