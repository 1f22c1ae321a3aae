/**
 * Admin HTTP routes for logging in and out, the audit log and API tokens. Each export is
 * usable as a Fastify plugin (`app.register(sessionRoutes, deps)`) or called directly.
 * The auth hook (src/http/auth.ts) must be registered on the root instance first.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Readable } from 'node:stream';
import type { SignInThrottle } from './sign-in-throttle.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { permissionsOf, sessionCookie, sessionIdFrom } from '../http/auth.js';
import { body, param, target } from '../http/scope-guard.js';
import { sendServiceError } from '../http/service-errors.js';
import { normalizeUsername, type AdminService } from './admin-service.js';
import { ApiTokenError, type ApiTokenInfo, type ApiTokenService } from './api-token-service.js';
import { MAX_AUDIT_PAGE, type AuditService } from './audit-service.js';
import type { OrgGroupService } from './org-group-service.js';

// ---------------------------------------------------------------------------------------
// Failed-login throttle in memory, for a single node and for tests; `pomona serve` uses the
// database-backed one (sign-in-throttle.ts) so every node shares the budget.

export interface LoginThrottleOptions {
  maxFailures?: number;
  windowMs?: number;
  now?: () => number;
  /** bound on tracked keys, so a flood of distinct usernames cannot exhaust memory */
  maxKeys?: number;
}

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(options: LoginThrottleOptions = {}) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /** Milliseconds until another attempt is allowed for all keys; 0 when allowed now. */
  retryAfterMs(keys: string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const recent = this.recent(key, now);
      if (recent.length >= this.maxFailures) {
        wait = Math.max(wait, recent[recent.length - this.maxFailures] + this.windowMs - now);
      }
    }
    return wait;
  }

  recordFailure(keys: string[]): void {
    const now = this.now();
    for (const key of keys) {
      const recent = this.recent(key, now);
      recent.push(now);
      this.failures.delete(key); // re-insert so Map order stays "least recently failed first"
      this.failures.set(key, recent.slice(-this.maxFailures));
    }
    while (this.failures.size > this.maxKeys) {
      this.failures.delete(this.failures.keys().next().value!);
    }
  }

  reset(keys: string[]): void {
    for (const key of keys) this.failures.delete(key);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
  }
}

// ---------------------------------------------------------------------------------------
// Schemas (they double as the OpenAPI document)

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

// Spelled out: a mapped array would lose the literal types.
const RoleName = Type.Union([
  Type.Literal('administrator'),
  Type.Literal('operator'),
  Type.Literal('read-only'),
  Type.Literal('custom-enrollment'),
]);
const Outcome = Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')]);

const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
});

const LoginReply = Type.Object({
  username: Type.String(),
  role: Type.String(),
  scopeGroupId: Type.String({ description: 'the organization group whose subtree you act in' }),
  csrfToken: Type.String({ description: 'send back as X-CSRF-Token on POST/PUT/PATCH/DELETE' }),
});

const WhoAmIReply = Type.Object({
  kind: Type.Union([Type.Literal('user'), Type.Literal('token')]),
  name: Type.String(),
  role: Type.String(),
  scopeGroupId: Type.String({ description: 'the organization group whose subtree you act in' }),
  permissions: Type.Array(Type.String(), { description: 'what your role allows: read, operate, admin, enroll, custom-enrollment' }),
  csrfToken: Type.Optional(Type.String({ description: 'present for cookie sessions' })),
});

const AuditEventSchema = Type.Object({
  id: Type.Integer(),
  at: Type.Integer({ description: 'epoch milliseconds' }),
  actor: Type.String(),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  source: Type.Union([Type.String(), Type.Null()]),
  outcome: Outcome,
  details: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
});

const AuditQuerystring = Type.Object({
  actor: Type.Optional(Type.String()),
  action: Type.Optional(Type.String()),
  target: Type.Optional(Type.String()),
  outcome: Type.Optional(Outcome),
  since: Type.Optional(Type.Integer({ minimum: 0, description: 'epoch ms, inclusive' })),
  until: Type.Optional(Type.Integer({ minimum: 0, description: 'epoch ms, exclusive' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  cursor: Type.Optional(Type.Integer({ minimum: 1, description: "previous page's nextCursor" })),
});

const ApiTokenSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  role: Type.String(),
  scopeGroupId: Type.String(),
  createdAt: Type.Integer(),
  expiresAt: Type.Union([Type.Integer(), Type.Null()]),
  lastUsedAt: Type.Union([Type.Integer(), Type.Null()]),
  revokedAt: Type.Union([Type.Integer(), Type.Null()]),
});

const CreateTokenBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  role: RoleName,
  scope: Type.Optional(Type.String({ maxLength: 64, description: "organization group id or Group ID; default: yours. Never wider than your own" })),
  expiresAt: Type.Optional(Type.Union([Type.Integer({ description: 'epoch ms' }), Type.Null()])),
});

const CreatedToken = Type.Object({
  ...ApiTokenSchema.properties,
  secret: Type.String({ description: 'shown once; store it now' }),
});

// ---------------------------------------------------------------------------------------

export interface SessionRouteDeps {
  admins: AdminService;
  audit: AuditService;
  /** defaults to 5 failures per 5 minutes, per source address and per username */
  /** default: in memory, per node; the server passes the database-backed one */
  throttle?: SignInThrottle;
}

export async function sessionRoutes(app: FastifyInstance, deps: SessionRouteDeps): Promise<void> {
  const { admins, audit } = deps;
  const throttle = deps.throttle ?? new LoginThrottle();
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post(
    '/api/v1/session',
    {
      schema: {
        tags: ['session'],
        summary: 'Log in to the console',
        body: LoginBody,
        response: { 200: LoginReply, 401: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      const username = normalizeUsername(request.body.username).slice(0, 64);
      const keys = [`ip:${request.ip}`, `user:${username}`];
      const event = { actor: 'anonymous', action: 'session.login', target: `user:${username}`, source: request.ip };

      const waitMs = await throttle.retryAfterMs(keys);
      if (waitMs > 0) {
        await audit.record({ ...event, outcome: 'denied', details: { reason: 'rate-limited' } });
        return reply
          .code(429)
          .header('retry-after', String(Math.ceil(waitMs / 1000)))
          .send({ error: 'too_many_requests', message: 'too many failed logins; try again later' });
      }
      const user = await admins.verifyCredentials(request.body.username, request.body.password);
      if (!user) {
        await throttle.recordFailure(keys);
        await audit.record({ ...event, outcome: 'failure' });
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'unauthorized', message: 'invalid username or password' });
      }
      await throttle.reset(keys);
      // A fresh session id; the one the browser came with (if any) ends here (no session fixation).
      const session = await admins.createSession(user.id, { replacing: sessionIdFrom(request) });
      reply.header(
        'set-cookie',
        sessionCookie(session.sessionId, { maxAgeSeconds: admins.sessionTtlMs / 1000, secure: request.protocol === 'https' }),
      );
      await audit.record({ ...event, actor: `user:${user.username}`, outcome: 'success' });
      return { username: user.username, role: user.role, scopeGroupId: user.scopeGroupId, csrfToken: session.csrfToken };
    },
  );

  r.get(
    '/api/v1/session',
    { config: { permission: 'read', scope: 'none' }, schema: { tags: ['session'], summary: 'Who am I', response: { 200: WhoAmIReply } } },
    async (request) => {
      const actor = request.actor!;
      const sessionId = actor.kind === 'user' ? sessionIdFrom(request) : undefined;
      return { kind: actor.kind, name: actor.name, role: actor.role, scopeGroupId: actor.scope.groupId, permissions: permissionsOf(actor.role), ...(sessionId ? { csrfToken: admins.csrfTokenFor(sessionId) } : {}) };
    },
  );

  r.delete(
    '/api/v1/session',
    { config: { permission: 'read', scope: 'none' }, schema: { tags: ['session'], summary: 'Log out', response: { 204: Type.Null() } } },
    async (request, reply) => {
      const actor = request.actor!;
      const sessionId = actor.kind === 'user' ? sessionIdFrom(request) : undefined;
      if (sessionId) {
        await admins.deleteSession(sessionId);
        await audit.record({ actor: actor.label, action: 'session.logout', source: request.ip, outcome: 'success' });
      }
      reply.header('set-cookie', sessionCookie('', { maxAgeSeconds: 0, secure: request.protocol === 'https' }));
      return reply.code(204).send(null);
    },
  );
}

export async function auditRoutes(app: FastifyInstance, deps: { audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/api/v1/audit-events',
    {
      config: { permission: 'admin', scope: 'filtered' },
      schema: {
        tags: ['audit'],
        summary: 'List audit events, newest first',
        description: 'An admin scoped to a branch sees the events of actors that were scoped inside it when they acted.',
        querystring: AuditQuerystring,
        response: { 200: Type.Object({ events: Type.Array(AuditEventSchema), nextCursor: Type.Union([Type.Integer(), Type.Null()]) }) },
      },
    },
    async (request) => deps.audit.list(request.query, request.actor!.scope),
  );
  r.get(
    '/api/v1/audit-events.csv',
    {
      config: { permission: 'admin', scope: 'filtered' },
      schema: { tags: ['audit'], summary: 'Export the audit events the filter matches as CSV, newest first', querystring: Type.Omit(AuditQuerystring, ['limit', 'offset', 'cursor']), produces: ['text/csv'] },
    },
    async (request, reply) => {
      reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.csv"`);
      return reply.send(Readable.from(deps.audit.exportCsv(request.query, request.actor!.scope)));
    },
  );
}

export interface ApiTokenRouteDeps {
  tokens: ApiTokenService;
  audit: AuditService;
  groups: OrgGroupService;
}

export async function apiTokenRoutes(app: FastifyInstance, deps: ApiTokenRouteDeps): Promise<void> {
  const { tokens, audit, groups } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const badRequest = (reply: FastifyReply, err: ApiTokenError) => reply.code(400).send({ error: 'bad_request', message: err.message });
  const auditToken = (token: ApiTokenInfo) => ({ name: token.name, role: token.role, prefix: token.prefix, scopeGroupId: token.scopeGroupId });

  r.get(
    '/api/v1/api-tokens',
    {
      config: { permission: 'admin', scope: 'filtered' },
      schema: { tags: ['api-tokens'], summary: 'List API tokens in your scope (never their secrets)', response: { 200: Type.Object({ tokens: Type.Array(ApiTokenSchema) }) } },
    },
    async (request) => ({ tokens: await tokens.list(request.actor!.scope) }),
  );

  r.post(
    '/api/v1/api-tokens',
    {
      config: { permission: 'admin', scope: [target('group', body('scope'))] },
      schema: {
        tags: ['api-tokens'],
        summary: 'Create an API token with a role and a scope; the secret is returned once',
        description: 'A token never gets a higher role or a wider scope than the admin creating it.',
        body: CreateTokenBody,
        response: { 201: CreatedToken, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const actor = request.actor!;
      try {
        const { scope: ref, ...input } = request.body;
        const scope = ref === undefined ? actor.scope : await groups.scopeOf(ref);
        const { token, secret } = await tokens.create({ ...input, scope, grantedBy: actor });
        await audit.record({ actor: actor.label, action: 'api-token.create', target: token.id, source: request.ip, outcome: 'success', details: auditToken(token) });
        return reply.code(201).send({ ...token, secret });
      } catch (err) {
        if (err instanceof ApiTokenError) return badRequest(reply, err);
        return sendServiceError(reply, err);
      }
    },
  );

  r.delete(
    '/api/v1/api-tokens/:id',
    {
      config: { permission: 'admin', scope: [target('api-token', param('id'))] },
      schema: {
        tags: ['api-tokens'],
        summary: 'Revoke an API token by id or prefix',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }),
        response: { 204: Type.Null(), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const actor = request.actor!;
      try {
        const token = await tokens.revoke(request.params.id);
        if (!token) return reply.code(404).send({ error: 'not_found', message: 'no API token with that id or prefix' });
        await audit.record({ actor: actor.label, action: 'api-token.revoke', target: token.id, source: request.ip, outcome: 'success', details: auditToken(token) });
        return reply.code(204).send(null);
      } catch (err) {
        if (err instanceof ApiTokenError) return badRequest(reply, err);
        throw err;
      }
    },
  );
}
