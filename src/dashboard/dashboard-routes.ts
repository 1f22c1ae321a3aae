/** GET /api/v1/dashboard: the console dashboard's counts for the caller's subtree (dashboard-service.ts). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { DashboardService } from './dashboard-service.js';

const Count = Type.Integer({ minimum: 0 });
const Nullable = (t: ReturnType<typeof Type.String>) => Type.Union([t, Type.Null()]);

const DashboardReply = Type.Object({
  funnel: Type.Object(
    { inAbm: Count, assigned: Count, pushed: Count, enrolled: Count },
    { description: 'ABM devices in Apple Business Manager now: with a profile assigned (or pushed), pushed to the device, enrolled in Pomona' },
  ),
  assignments: Type.Object({ failed: Count, throttled: Count }, { description: "ABM devices whose last profile assignment failed (FAILED, NOT_ACCESSIBLE) or was throttled" }),
  byPlatform: Type.Array(Type.Object({ platform: Nullable(Type.String()), count: Count }), { description: 'managed devices (not retired) by platform' }),
  byOsVersion: Type.Array(Type.Object({ platform: Nullable(Type.String()), osVersion: Nullable(Type.String()), count: Count }), { description: 'the 12 most common platform and OS version pairs' }),
  newDevicesPerDay: Type.Array(Type.Object({ day: Type.Integer({ description: 'UTC midnight, epoch ms' }), count: Count }), { description: 'devices first enrolled per day since `since`' }),
  since: Type.Integer(),
  awaitingConfiguration: Type.Object({ total: Count, overdue: Count }, { description: 'ADE devices waiting in Setup Assistant; overdue: longer than stuckAfterMinutes' }),
  stuckAfterMinutes: Count,
});

export async function dashboardRoutes(app: FastifyInstance, deps: { dashboard: DashboardService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/api/v1/dashboard',
    {
      config: { permission: 'read', scope: 'filtered' },
      schema: { tags: ['dashboard'], summary: "The dashboard's counts for your organization group subtree", response: { 200: DashboardReply } },
    },
    async (req) => deps.dashboard.summary(req.actor!.scope),
  );
}
