/** Admin API for alerts: what is open now and what happened lately (the dashboard reads this). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AlertService } from './alert-service.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Alert = Type.Object({
  key: Type.String({ description: 'kind:subject, e.g. abm-token-expiring:<server id>' }),
  kind: Type.String(),
  subject: Type.String(),
  groupId: Nullable(Type.String({ description: 'organization group; null for global alerts' })),
  state: Type.String({ description: 'expiring-30, expired, failing, …' }),
  severity: Type.String(),
  summary: Type.String(),
  raisedAt: Type.Union([Type.Number(), Type.Null()]),
  updatedAt: Type.Number(),
});
const AlertEvent = Type.Object({
  id: Type.String(),
  event: Type.Union([Type.Literal('raised'), Type.Literal('resolved')]),
  key: Type.String(),
  kind: Type.String(),
  subject: Type.String(),
  groupId: Nullable(Type.String()),
  state: Type.String(),
  previousState: Type.String(),
  severity: Type.String(),
  summary: Type.String(),
  at: Type.Number(),
});

export async function alertRoutes(app: FastifyInstance, deps: { alerts: AlertService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/api/v1/alerts', {
    config: { permission: 'read', scope: 'filtered' },
    schema: {
      tags: ['alerts'],
      summary: 'Open alerts and recent history',
      description: 'Alerts of the groups in your scope; global alerts (push certificate, CA, TLS) only for global-scope admins.',
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }),
      response: { 200: Type.Object({ open: Type.Array(Alert), history: Type.Array(AlertEvent) }) },
    },
  }, async (req) => deps.alerts.list(req.actor!.scope, req.query.limit ?? 100));
}
