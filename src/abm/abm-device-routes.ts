/** Admin API for ABM devices: list, CSV export, one device, assign and remove profiles. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { AuditService } from '../org/audit-service.js';
import type { DeviceFilter, DeviceSort } from './abm-device-store.js';
import type { AbmDeviceService } from './abm-device-service.js';
import type { AssignService } from './assign-service.js';
import { ErrorBody } from '../http/service-errors.js';
import { sendAbmError } from './abm-routes.js';
import { body, param, target } from '../http/scope-guard.js';
import type { Scope } from '../org/scope.js';
import { LIFECYCLE_STATES, type LifecycleState } from '../mdm/device-lifecycle.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** One of device-lifecycle.ts's states, typed as such (a union built from the list would widen). */
const Lifecycle = (o: { description?: string } = {}) => Type.Unsafe<LifecycleState>({ type: 'string', enum: [...LIFECYCLE_STATES], ...o });

const Filter = Type.Object({
  server: Type.Optional(Type.String({ maxLength: 64, description: 'ABM server id' })),
  profile: Type.Optional(Type.String({ maxLength: 64, description: 'Pomona profile id' })),
  profileStatus: Type.Optional(Type.Union([Type.Literal('empty'), Type.Literal('assigned'), Type.Literal('pushed'), Type.Literal('removed')])),
  state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('removed')], { description: 'active: in ABM now; removed: removed from ABM' })),
  assignResult: Type.Optional(Type.String({ maxLength: 40, description: 'SUCCESS, NOT_ACCESSIBLE, FAILED, THROTTLED, ERROR' })),
  lifecycle: Type.Optional(Lifecycle({ description: "the device's lifecycle state: registered (never reached Pomona), enrolling, enrolled, unenrolled, removed" })),
  search: Type.Optional(Type.String({ maxLength: 100, description: 'part of the serial number, model, description or asset tag' })),
});

const DeviceView = Type.Object({
  serialNumber: Type.String(),
  abmServerId: Type.String(),
  model: Nullable(Type.String()),
  description: Nullable(Type.String()),
  color: Nullable(Type.String()),
  assetTag: Nullable(Type.String()),
  os: Nullable(Type.String()),
  deviceFamily: Nullable(Type.String()),
  profileStatus: Nullable(Type.String()),
  appleProfileUuid: Nullable(Type.String()),
  profileAssignTime: Nullable(Type.Number()),
  profilePushTime: Nullable(Type.Number()),
  deviceAssignedDate: Nullable(Type.Number()),
  deviceAssignedBy: Nullable(Type.String()),
  lastOpType: Nullable(Type.String()),
  lastOpDate: Nullable(Type.Number()),
  firstSeenAt: Type.Number(),
  lastSeenAt: Type.Number(),
  removedAt: Nullable(Type.Number()),
  lifecycleState: Lifecycle(),
  deviceId: Nullable(Type.String({ description: 'the Pomona device it enrolled as (GET /api/v1/devices/:id)' })),
  profileId: Nullable(Type.String()),
  automaticAssignment: Type.Boolean(),
  assignment: Type.Object({
    inProgress: Type.Boolean(),
    lastResult: Nullable(Type.String()),
    lastError: Nullable(Type.String()),
    attemptedAt: Nullable(Type.Number()),
    retryAt: Nullable(Type.Number()),
  }),
  apple: Type.Record(Type.String(), Type.Unknown()),
});

const Outcomes = Type.Object({
  results: Type.Array(Type.Object({ serial: Type.String(), result: Type.String(), error: Type.Optional(Type.String()) })),
});
const Serials = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 10000 });

const SORTS: DeviceSort[] = ['serial_number', 'model', 'os', 'profile_status', 'first_seen_at', 'last_seen_at', 'device_assigned_date'];

const filterOf = (q: Static<typeof Filter>, scope: Scope): DeviceFilter => ({
  serverId: q.server, profileId: q.profile, profileStatus: q.profileStatus, state: q.state, assignResult: q.assignResult, lifecycle: q.lifecycle, search: q.search, scopePrefix: scope.prefix,
});
/** Assigning and removing name the server (whose devices they act on) and maybe a profile of it. */
const serverAndProfile = [target('abm-server', body('serverId')), target('dep-profile', body('profileId'))];

export async function abmDeviceRoutes(app: FastifyInstance, deps: { devices: AbmDeviceService; assign: AssignService; audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['abm'];

  r.get('/api/v1/abm-devices', {
    config: { permission: 'read', scope: 'filtered' },
    schema: {
      tags,
      summary: 'Devices in Apple Business Manager, with their profile and assignment state',
      querystring: Type.Object({
        ...Filter.properties,
        sort: Type.Optional(Type.Union(SORTS.map((s) => Type.Literal(s)))),
        order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
      }),
      response: { 200: Type.Object({ total: Type.Integer(), items: Type.Array(DeviceView) }) },
    },
  }, async (req) => {
    const q = req.query;
    return deps.devices.list(filterOf(q, req.actor!.scope), {
      limit: q.limit ?? 100, offset: q.offset ?? 0, sort: (q.sort ?? 'serial_number') as DeviceSort, descending: q.order === 'desc',
    });
  });

  r.get('/api/v1/abm-devices.csv', {
    config: { permission: 'read', scope: 'filtered' },
    schema: { tags, summary: 'CSV export of the devices the filter matches (every column), streamed', querystring: Filter, produces: ['text/csv'] },
  }, async (req, reply) => {
    const day = new Date().toISOString().slice(0, 10);
    reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="abm-devices-${day}.csv"`);
    return reply.send(Readable.from(deps.devices.exportCsv(filterOf(req.query, req.actor!.scope))));
  });

  r.get('/api/v1/abm-devices/:serial', {
    config: { permission: 'read', scope: [target('abm-device', param('serial'))] },
    schema: { tags, summary: 'One ABM device', params: Type.Object({ serial: Type.String({ maxLength: 64 }) }), response: { 200: DeviceView, 404: ErrorBody } },
  }, async (req, reply) => (await deps.devices.get(req.params.serial)) ?? reply.code(404).send({ error: 'not_found', message: 'no such device in Apple Business Manager' }));

  r.post('/api/v1/abm-devices/assign', {
    config: { permission: 'operate', scope: serverAndProfile },
    schema: {
      tags,
      summary: 'Assign (or move) devices to a profile now; per-device results',
      description: 'profileId null or absent means the server\'s default profile. Devices stay on the chosen profile: later edits of it reach them too.',
      body: Type.Object({ serverId: Type.String({ maxLength: 64 }), serials: Serials, profileId: Type.Optional(Nullable(Type.String({ maxLength: 64 }))) }),
      response: { 200: Outcomes, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const results = await deps.assign.assign(req.body.serverId, req.body.serials, req.body.profileId ?? null);
      await deps.audit.record({
        actor: req.actor!.label, action: 'abm.device.assign', target: req.body.serverId, source: req.ip, outcome: 'success',
        details: { profileId: req.body.profileId ?? null, devices: req.body.serials.length, succeeded: results.filter((x) => x.result === 'SUCCESS').length },
      });
      return { results };
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.post('/api/v1/abm-devices/remove', {
    config: { permission: 'operate', scope: serverAndProfile },
    schema: {
      tags,
      summary: 'Remove the profile from devices (they are not assigned again until an admin assigns them)',
      body: Type.Object({ serverId: Type.String({ maxLength: 64 }), serials: Serials }),
      response: { 200: Outcomes, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 502: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const results = await deps.assign.remove(req.body.serverId, req.body.serials);
      await deps.audit.record({
        actor: req.actor!.label, action: 'abm.device.remove_profile', target: req.body.serverId, source: req.ip, outcome: 'success',
        details: { devices: req.body.serials.length, succeeded: results.filter((x) => x.result === 'SUCCESS').length },
      });
      return { results };
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });
}
