/** Admin REST API for devices, enrollments and commands (`/api/v1`). HTTP ⇄ service only. */
import { body, param, target } from '../http/scope-guard.js';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CommandService, PushPort } from './command-service.js';
import type { DeviceStore } from './device-store.js';
import type { CommandStore } from './command-store.js';
import type { Enrollment } from '../db/schema.js';
import type { BootstrapTokenEscrow } from './bootstrap-token-store.js';
import type { InventoryService } from './inventory-service.js';
import { LifecycleFields, lifecycleJson } from './inventory-routes.js';

const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
};
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

const DeviceBody = Type.Object({
  id: Type.String(),
  udid: Type.Union([Type.String(), Type.Null()]),
  serialNumber: Type.Union([Type.String(), Type.Null()]),
  deviceName: Type.Union([Type.String(), Type.Null()]),
  model: Type.Union([Type.String(), Type.Null()]),
  modelName: Type.Union([Type.String(), Type.Null()]),
  productName: Type.Union([Type.String(), Type.Null()]),
  osVersion: Type.Union([Type.String(), Type.Null()]),
  buildVersion: Type.Union([Type.String(), Type.Null()]),
  enrollmentStatus: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.Number(),
  lastSeenAt: Type.Union([Type.Number(), Type.Null()]),
  enrollmentMethod: Type.Union([Type.String(), Type.Null()], { description: 'how the device enrolled (web, user-profile, user-account, ade-webview…); null when not recorded' }),
  registrationTokenStatus: Type.String({ description: 'the registration token it enrolled with: registration active, used, expired, revoked; not applicable without one' }),
  userId: Type.Union([Type.String(), Type.Null()], { description: 'the user the device is assigned to (enrolled for, or assigned since); null when none' }),
  ...LifecycleFields,
});

const EnrollmentBody = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  parentId: Type.Union([Type.String(), Type.Null()]),
  channel: Type.String(),
  type: Type.String(),
  status: Type.String(),
  ade: Type.Boolean(),
  userShortName: Type.Union([Type.String(), Type.Null()]),
  topic: Type.Union([Type.String(), Type.Null()]),
  hasPushToken: Type.Boolean(),
  pushTokenInvalid: Type.Boolean(),
  awaitingConfiguration: Type.Boolean(),
  tokenUpdateCount: Type.Integer(),
  lastSeenAt: Type.Union([Type.Number(), Type.Null()]),
  lastPushAt: Type.Union([Type.Number(), Type.Null()]),
  lastPushResult: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.Number(),
});

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Delivery = {
  enrollmentId: Type.String(), status: Type.String({ description: 'Pending, Acknowledged, Error, CommandFormatError, NotNow, or Cleared (dropped by a re-enrollment)' }),
  notNowCount: Type.Integer(), queuedAt: Type.Number(), sentAt: Nullable(Type.Number()), answeredAt: Nullable(Type.Number()),
  result: Type.Unknown({ description: 'the device\'s last answer as JSON (data as base64)' }),
};
const DeviceCommand = Type.Object({ commandUuid: Type.String(), requestType: Type.String(), createdBy: Nullable(Type.String()), ...Delivery });
const CommandStatus = Type.Object({
  commandUuid: Type.String(), requestType: Type.String(), createdAt: Type.Number(), createdBy: Nullable(Type.String()),
  results: Type.Array(Type.Object({ deviceId: Type.String(), ...Delivery })),
});

const PushOutcome = Type.Object({ enrollmentId: Type.String(), status: Type.String(), reason: Type.Optional(Type.String()) });

export async function mdmAdminRoutes(
  app: FastifyInstance,
  opts: { devices: DeviceStore; commands: CommandService; commandStore: CommandStore; push: PushPort; tokenStatus?: (tokenId: string | null) => Promise<string>; bootstrapEscrow?: (deviceId: string) => Promise<BootstrapTokenEscrow>; inventory: Pick<InventoryService, 'one'> },
): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tokenStatus = (id: string | null) => (id && opts.tokenStatus ? opts.tokenStatus(id) : Promise.resolve('not applicable'));

  r.get('/api/v1/devices/:id', {
    config: { permission: 'read' , scope: [target('device', param('id'))] },
    schema: {
      tags: ['devices'], summary: 'One device (by id, UDID or serial number) with its enrollments and latest DeviceInformation',
      params: IdParam,
      response: {
        200: Type.Object({
          device: DeviceBody, enrollments: Type.Array(EnrollmentBody), information: Type.Unknown(),
          bootstrapToken: Type.Optional(Type.Object({
            escrowed: Type.Boolean({ description: 'the Mac escrowed its bootstrap token (SetBootstrapToken); the token itself is only ever returned to the device' }),
            escrowedAt: Type.Union([Type.Number(), Type.Null()]), updatedAt: Type.Union([Type.Number(), Type.Null()]),
          })),
        }),
        404: ErrorBody,
      },
    },
  }, async (req, reply) => {
    const d = await opts.devices.get(req.params.id);
    if (!d) return reply.code(404).send({ error: 'not_found', message: `no device ${req.params.id}` });
    const enrollments = await opts.devices.enrollments(d.id);
    const device = enrollments.find((e) => e.channel === 'device');
    return {
      device: { ...deviceJson(d, device?.status ?? null, await tokenStatus(d.registration_token_id)), ...lifecycleJson((await opts.inventory.one(d.id))!) },
      enrollments: enrollments.map(enrollmentJson), information: d.info_json ? JSON.parse(d.info_json) : null,
      ...(opts.bootstrapEscrow && { bootstrapToken: await opts.bootstrapEscrow(d.id) }),
    };
  });

  r.get('/api/v1/devices/:id/commands', {
    config: { permission: 'read' , scope: [target('device', param('id'))] },
    schema: { tags: ['devices'], summary: 'Commands sent to a device, newest first', params: IdParam, querystring: Type.Object(Paging), response: { 200: Type.Object({ commands: Type.Array(DeviceCommand) }), 404: ErrorBody } },
  }, async (req, reply) => {
    const d = await opts.devices.get(req.params.id);
    if (!d) return reply.code(404).send({ error: 'not_found', message: `no device ${req.params.id}` });
    const rows = await opts.commandStore.forDevice(d.id, req.query.limit ?? 50, req.query.offset ?? 0);
    return {
      commands: rows.map((c) => ({
        commandUuid: c.uuid, requestType: c.request_type, enrollmentId: c.enrollment_id, status: c.active || c.status !== 'Pending' ? c.status : 'Cleared',
        notNowCount: c.not_now_count, queuedAt: c.queued_at, sentAt: c.sent_at, answeredAt: c.answered_at, createdBy: c.created_by,
        result: c.result_json ? JSON.parse(c.result_json) : null,
      })),
    };
  });

  r.post('/api/v1/devices/:id/push', {
    config: { permission: 'operate' , scope: [target('device', param('id'))] },
    schema: { tags: ['devices'], summary: 'Send an APNs push to every channel of a device now', params: IdParam, response: { 200: Type.Object({ pushes: Type.Array(PushOutcome) }), 404: ErrorBody } },
  }, async (req, reply) => {
    const d = await opts.devices.get(req.params.id);
    if (!d) return reply.code(404).send({ error: 'not_found', message: `no device ${req.params.id}` });
    const ids = (await opts.devices.enrollments(d.id)).filter((e) => e.status !== 'removed').map((e) => e.id);
    return { pushes: await opts.push.push(ids) };
  });

  r.get('/api/v1/enrollments', {
    config: { permission: 'read' },
    schema: { tags: ['devices'], summary: 'List enrollments (device and user channels)', querystring: Type.Object(Paging), response: { 200: Type.Object({ enrollments: Type.Array(EnrollmentBody) }) } },
  }, async (req) => ({ enrollments: (await opts.devices.listEnrollments(req.query.limit ?? 50, req.query.offset ?? 0)).map(enrollmentJson) }));

  r.post('/api/v1/commands', {
    config: { permission: 'operate' , scope: [target('device', body('devices'))] },
    schema: {
      tags: ['commands'],
      summary: 'Queue an MDM command for devices',
      description:
        'Targets are device ids, UDIDs, serial numbers or enrollment ids (a user channel: UDID:UserID). Any RequestType is accepted as a raw command; ' +
        'DeviceInformation, SecurityInfo, ProfileList, InstallProfile, RemoveProfile, InstalledApplicationList, DeviceLock, EraseDevice, RestartDevice, ' +
        'ShutDownDevice, Settings and DeviceConfigured are validated. Plist data values are given as base64 strings. The devices are pushed unless push is false.',
      body: Type.Object({
        devices: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 10000 }),
        command: Type.Object({ RequestType: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: true }),
        push: Type.Optional(Type.Boolean()),
        priority: Type.Optional(Type.Integer({ minimum: -100, maximum: 100 })),
      }),
      response: {
        201: Type.Object({
          commandUuid: Type.String(), requestType: Type.String(),
          targets: Type.Array(Type.Object({ target: Type.String(), status: Type.String(), enrollmentId: Type.Optional(Type.String()), deviceId: Type.Optional(Type.String()) })),
          pushes: Type.Optional(Type.Array(PushOutcome)),
        }),
        400: ErrorBody,
      },
    },
  }, async (req, reply) => {
    const out = await opts.commands.enqueue({ targets: req.body.devices, command: req.body.command, push: req.body.push, priority: req.body.priority, actor: req.actor?.label });
    return reply.code(201).send(out);
  });

  r.get('/api/v1/commands/:uuid', {
    config: { permission: 'read' , scope: [target('command', param('uuid'))] },
    schema: { tags: ['commands'], summary: 'A command with its status and result per enrollment', params: Type.Object({ uuid: Type.String({ maxLength: 100 }) }), response: { 200: CommandStatus, 404: ErrorBody } },
  }, async (req, reply) => {
    const s = await opts.commands.status(req.params.uuid);
    return s ?? reply.code(404).send({ error: 'not_found', message: `no command ${req.params.uuid}` });
  });
}

function deviceJson(d: { id: string; udid: string | null; serial_number: string | null; device_name: string | null; model: string | null; model_name: string | null; product_name: string | null; os_version: string | null; build_version: string | null; created_at: number; last_seen_at: number | null; enrollment_method: string | null; enrolled_user_id: string | null }, status: string | null, tokenStatus: string) {
  return {
    id: d.id, udid: d.udid, serialNumber: d.serial_number, deviceName: d.device_name, model: d.model, modelName: d.model_name,
    productName: d.product_name, osVersion: d.os_version, buildVersion: d.build_version, enrollmentStatus: status,
    createdAt: d.created_at, lastSeenAt: d.last_seen_at, enrollmentMethod: d.enrollment_method, registrationTokenStatus: tokenStatus,
    userId: d.enrolled_user_id,
  };
}

function enrollmentJson(e: Enrollment) {
  return {
    id: e.id, deviceId: e.device_id, parentId: e.parent_id, channel: e.channel, type: e.type, status: e.status, ade: e.is_ade === 1,
    userShortName: e.user_short_name, topic: e.topic, hasPushToken: Boolean(e.token_hex), pushTokenInvalid: e.token_invalid_at !== null,
    awaitingConfiguration: e.awaiting_configuration === 1, tokenUpdateCount: e.token_update_count, lastSeenAt: e.last_seen_at,
    lastPushAt: e.last_push_at, lastPushResult: e.last_push_result, createdAt: e.created_at,
  };
}
