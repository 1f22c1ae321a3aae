/** Admin API: enrollment attempts in flight, finished or abandoned (`GET /api/v1/pending-enrollments`). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PENDING_MODES, PENDING_STATES, type PendingEnrollment, type PendingEnrollmentService } from './pending-enrollment-service.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const PendingBody = Type.Object({
  id: Type.String(),
  mode: Type.String({ description: PENDING_MODES.join(', ') }),
  state: Type.String({ description: `${PENDING_STATES.join(', ')} (incomplete: abandoned before its device enrolled)` }),
  groupId: Nullable(Type.String()),
  userId: Nullable(Type.String()),
  registrationTokenId: Nullable(Type.String()),
  ownership: Nullable(Type.String()),
  platform: Nullable(Type.String()),
  requiredPlatform: Nullable(Type.String()),
  termsVersion: Nullable(Type.Integer()),
  termsAcceptedAt: Nullable(Type.Number()),
  managedAppleId: Nullable(Type.String()),
  enrollmentId: Nullable(Type.String()),
  deviceId: Nullable(Type.String()),
  sourceAddress: Nullable(Type.String()),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
  profileIssuedAt: Nullable(Type.Number()),
  completedAt: Nullable(Type.Number()),
  expiresAt: Type.Number(),
});

export async function pendingEnrollmentRoutes(app: FastifyInstance, deps: { pending: PendingEnrollmentService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/api/v1/pending-enrollments', {
    config: { permission: 'read', scope: 'filtered' },
    schema: {
      tags: ['enrollment'],
      summary: 'Enrollment attempts (web enrollment, user enrollment, ADE web view), newest first',
      description: 'An admin scoped to a branch sees the attempts placed inside it (not those still signing in, which have no group yet).',
      querystring: Type.Object({
        state: Type.Optional(Type.Union(PENDING_STATES.map((s) => Type.Literal(s)))),
        mode: Type.Optional(Type.Union(PENDING_MODES.map((m) => Type.Literal(m)))),
        group: Type.Optional(Type.String({ maxLength: 64, description: 'organization group id' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
        offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
      }),
      response: { 200: Type.Object({ items: Type.Array(PendingBody) }) },
    },
  }, async (req) => {
    const items = await deps.pending.list({ state: req.query.state, mode: req.query.mode, groupId: req.query.group, scopePrefix: req.actor!.scope.prefix, limit: req.query.limit, offset: req.query.offset });
    return { items: items.map(view) };
  });

  r.get('/api/v1/pending-enrollments/summary', {
    config: { permission: 'read', scope: 'filtered' },
    schema: {
      tags: ['enrollment'],
      summary: 'How many enrollment attempts each organization group holds in each state (incomplete: abandoned)',
      description: 'Attempts still signing in belong to no group yet (groupId null); only global-scope admins see them.',
      response: {
        200: Type.Object({
          items: Type.Array(Type.Object({ groupId: Nullable(Type.String()), state: Type.String({ description: PENDING_STATES.join(', ') }), count: Type.Integer({ minimum: 1 }) })),
        }),
      },
    },
  }, async (req) => ({ items: await deps.pending.summary(req.actor!.scope.prefix) }));
}

/** Everything but the flow's private context (it may hold what a device reported). */
function view(p: PendingEnrollment) {
  const { context: _context, termsVersionRequired: _required, ...rest } = p;
  return rest;
}
