/**
 * Admin API for the devices of the organization: the filtered, paged device list (ABM devices
 * not enrolled yet included), the lifecycle summary per group subtree, and the two lifecycle
 * decisions an admin makes on one device (its ownership, retiring it). HTTP ⇄ service only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { body, param, target } from '../http/scope-guard.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PLATFORMS } from '../apple/platform.js';
import { PENDING_MODES } from '../enroll/pending-enrollment-service.js';
import type { AuditService } from '../org/audit-service.js';
import { ErrorBody, sendServiceError } from '../http/service-errors.js';
import { LIFECYCLE_STATES, OWNERSHIP } from './device-lifecycle.js';
import type { DeviceLifecycleService } from './device-lifecycle-service.js';
import type { DeviceListItem, InventoryService } from './inventory-service.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Values = (what: string, values: readonly string[]) =>
  Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 10, description: `${what}: ${values.join(', ')} (repeat the parameter or separate with commas)` }));

/** Where a device stands in the organization (the device detail shows them too). */
export const LifecycleFields = {
  platform: Nullable(Type.String()),
  organizationGroupId: Type.String(),
  ownership: Nullable(Type.String({ description: OWNERSHIP.join(' | ') })),
  lifecycleState: Type.String({ description: LIFECYCLE_STATES.join(' | ') }),
  lifecycleChangedAt: Nullable(Type.Number()),
  abmServerId: Nullable(Type.String()),
  abmStatus: Nullable(Type.String({ description: 'in-abm | removed-from-abm; null when Apple never assigned it to our ABM servers' })),
};

export function lifecycleJson(d: DeviceListItem) {
  const { platform, organizationGroupId, ownership, lifecycleState, lifecycleChangedAt, abmServerId, abmStatus } = d;
  return { platform, organizationGroupId, ownership, lifecycleState, lifecycleChangedAt, abmServerId, abmStatus };
}

/** A device as the list shows it; `id` is null for a device known only from ABM. */
export const DeviceView = Type.Object({
  id: Nullable(Type.String()),
  udid: Nullable(Type.String()),
  serialNumber: Nullable(Type.String()),
  deviceName: Nullable(Type.String()),
  model: Nullable(Type.String()),
  modelName: Nullable(Type.String()),
  productName: Nullable(Type.String()),
  osVersion: Nullable(Type.String()),
  buildVersion: Nullable(Type.String()),
  ...LifecycleFields,
  enrollmentStatus: Nullable(Type.String({ description: 'the device channel: pending, active or removed' })),
  enrollmentMethod: Nullable(Type.String({ description: 'how the device enrolled (web, user-profile, user-account, ade-webview…); null when not recorded' })),
  registrationTokenStatus: Type.String({ description: 'the registration token it enrolled with: registration active, used, expired, revoked; not applicable without one' }),
  createdAt: Type.Number(),
  lastSeenAt: Nullable(Type.Number()),
});

const Counts = Type.Object(Object.fromEntries([...LIFECYCLE_STATES, 'total'].map((k) => [k, Type.Integer()])));
const GroupSummary = Type.Object({
  id: Type.String(),
  parentId: Nullable(Type.String()),
  name: Type.String(),
  groupId: Type.String(),
  depth: Type.Integer(),
  here: Counts,
  subtree: Counts,
});
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

export async function inventoryRoutes(app: FastifyInstance, deps: { inventory: InventoryService; lifecycle: DeviceLifecycleService; audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { inventory, lifecycle, audit } = deps;
  const tags = ['devices'];
  // A scoped admin's lists keep to the admin's subtree.
  const within = (req: FastifyRequest) => (req.actor!.scope.prefix ? [req.actor!.scope.prefix] : []);
  const record = (req: { actor: { label: string } | null; ip: string }, action: string, target: string, details: Record<string, unknown>) =>
    audit.record({ actor: req.actor!.label, action, target, source: req.ip, outcome: 'success', details });

  r.get('/api/v1/devices', {
    config: { permission: 'read', scope: 'filtered' },
    schema: {
      tags,
      summary: 'List the devices of the organization, ABM devices not enrolled yet included',
      description:
        'Ordered by serial number (devices without one, i.e. user enrollments, first). Page with `offset`, or — as cheap however deep — with `cursor`, ' +
        'the `nextCursor` of the previous page. `group` lists the group and every group below it.',
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
        offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 })),
        cursor: Type.Optional(Type.String({ maxLength: 600 })),
        group: Type.Optional(Type.String({ maxLength: 64, description: 'organization group id or Group ID: its whole subtree' })),
        lifecycle: Values('lifecycle states', LIFECYCLE_STATES),
        ownership: Values('ownership', OWNERSHIP),
        platform: Values('platforms', PLATFORMS),
        enrollmentMethod: Values('how the devices enrolled', PENDING_MODES),
        model: Type.Optional(Type.String({ maxLength: 100, description: 'product name (iPhone17,1), model name (Mac mini) or model, any case' })),
        q: Type.Optional(Type.String({ maxLength: 200, description: 'part of the serial number, UDID or name' })),
        serial: Type.Optional(Type.String({ maxLength: 200 })),
        udid: Type.Optional(Type.String({ maxLength: 200 })),
        status: Type.Optional(Type.Union([Type.Literal('enrolled'), Type.Literal('pending'), Type.Literal('removed')], { description: 'older filter: enrolled, pending (enrolling) or removed (unenrolled or removed)' })),
      }),
      response: {
        200: Type.Object({ devices: Type.Array(DeviceView), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer(), nextCursor: Nullable(Type.String()) }),
        400: ErrorBody,
      },
    },
  }, async (req, reply) => {
    const limit = req.query.limit ?? 50;
    const offset = req.query.offset ?? 0;
    try {
      const page = await inventory.list({ ...req.query, limit, offset, withinPaths: within(req) });
      return { ...page, limit, offset };
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.get('/api/v1/lifecycle/summary', {
    config: { permission: 'read', scope: 'filtered' },
    schema: {
      tags,
      summary: 'Devices per lifecycle state for each organization group: in the group itself and in its whole subtree',
      description: 'ABM devices not enrolled yet count in their ABM server\'s group. `group` limits the answer to that group\'s subtree.',
      querystring: Type.Object({ group: Type.Optional(Type.String({ maxLength: 64 })) }),
      response: { 200: Type.Object({ groups: Type.Array(GroupSummary) }), 400: ErrorBody },
    },
  }, async (req, reply) => inventory.summary({ group: req.query.group, withinPaths: within(req) }).then((groups) => ({ groups }), (err) => sendServiceError(reply, err)));

  r.patch('/api/v1/devices/:id', {
    config: { permission: 'operate' , scope: [target('device', param('id'))] },
    schema: {
      tags,
      summary: 'Set a device\'s ownership (audited)',
      description: `Ownership: ${OWNERSHIP.join(', ')}. Once an admin sets it, Pomona's automatic rules (group default, Shared iPad) leave it alone.`,
      params: IdParam,
      body: Type.Object({ ownership: Type.String({ maxLength: 40 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ device: DeviceView }), 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const change = await lifecycle.setOwnership(req.params.id, req.body.ownership);
      await record(req, 'device.ownership.set', change.deviceId, { from: change.from, to: change.to });
      return { device: (await inventory.one(change.deviceId))! };
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.post('/api/v1/devices/:id/user', {
    config: { permission: 'operate', scope: [target('device', param('id')), target('user', body('userId'))] },
    schema: {
      tags,
      summary: 'Assign the device to a user (audited)',
      description: 'For instance a device enrolled to the staging user (ADE with authentication off), now handed to the person who uses it.',
      params: IdParam,
      body: Type.Object({ userId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ device: DeviceView }), 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const change = await lifecycle.assignUser(req.params.id, req.body.userId);
      await record(req, 'device.user.set', change.deviceId, { from: change.from, to: change.to });
      return { device: (await inventory.one(change.deviceId))! };
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.post('/api/v1/devices/:id/retire', {
    config: { permission: 'operate' , scope: [target('device', param('id'))] },
    schema: {
      tags,
      summary: 'Retire a device: Pomona stops managing it and lists it as removed (audited)',
      description: 'Its channels end as after a CheckOut (queued commands dropped; its next request is refused). Wipe it first with EraseDevice if it is still in hand. A new enrollment brings it back.',
      params: IdParam,
      response: { 200: Type.Object({ device: DeviceView }), 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const done = await lifecycle.retire(req.params.id);
      await record(req, 'device.retire', done.deviceId, { from: done.from, endedChannels: done.endedChannels });
      return { device: (await inventory.one(done.deviceId))! };
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });
}
