/** Admin API for the organization tree, its inherited settings, and moving devices between groups. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditService } from './audit-service.js';
import { GROUP_SETTING_KEYS } from './group-settings.js';
import type { OrgGroupService } from './org-group-service.js';
import { ErrorBody, sendServiceError } from '../http/service-errors.js';
import { body, param, target } from '../http/scope-guard.js';

const theGroup = [target('group', param('id'))];

const Id = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Group = Type.Object({
  id: Type.String(),
  parentId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  groupId: Type.String({ description: 'the short Group ID users type' }),
  depth: Type.Integer(),
  breadcrumb: Type.Array(Type.String()),
});
const Setting = Type.Object({
  key: Type.String(),
  value: Type.Unknown(),
  source: Type.Union([
    Type.Object({ kind: Type.Literal('here') }),
    Type.Object({ kind: Type.Literal('inherited'), groupId: Type.String(), groupName: Type.String() }),
    Type.Object({ kind: Type.Literal('default') }),
  ]),
  description: Type.String(),
});

export async function orgGroupRoutes(app: FastifyInstance, deps: { groups: OrgGroupService; audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { groups, audit } = deps;
  const tags = ['organization'];
  const record = (req: { actor: { label: string } | null; ip: string }, action: string, target: string, details?: Record<string, unknown>) =>
    audit.record({ actor: req.actor!.label, action, target, source: req.ip, outcome: 'success', details });

  r.get('/api/v1/organization-groups', {
    config: { permission: 'read', scope: 'filtered' },
    schema: { tags, summary: 'Every organization group in your scope (the tree, root first)', response: { 200: Type.Object({ items: Type.Array(Group) }) } },
  }, async (req) => ({ items: await groups.tree(req.actor!.scope) }));

  r.post('/api/v1/organization-groups', {
    config: { permission: 'admin', scope: [target('group', body('parentId'))] },
    schema: {
      tags,
      summary: 'Create a group under another',
      body: Type.Object({ parentId: Type.String({ maxLength: 64 }), name: Type.String({ minLength: 1, maxLength: 100 }), groupId: Type.String({ minLength: 2, maxLength: 32 }) }),
      response: { 201: Group, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const g = await groups.create(req.body);
      await record(req, 'org.group.create', g.id, { name: g.name, groupId: g.groupId, parentId: g.parentId });
      return reply.code(201).send(g);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.get('/api/v1/organization-groups/:id', {
    config: { permission: 'read', scope: theGroup },
    schema: { tags, summary: 'One group', params: Id, response: { 200: Group, 404: ErrorBody } },
  }, async (req, reply) => groups.get(req.params.id).catch((err) => sendServiceError(reply, err)));

  r.patch('/api/v1/organization-groups/:id', {
    config: { permission: 'admin', scope: theGroup },
    schema: {
      tags,
      summary: 'Rename a group or change its Group ID',
      params: Id,
      body: Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), groupId: Type.Optional(Type.String({ minLength: 2, maxLength: 32 })) }),
      response: { 200: Group, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const g = await groups.update(req.params.id, req.body);
      await record(req, 'org.group.update', g.id, req.body);
      return g;
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.post('/api/v1/organization-groups/:id/move', {
    config: { permission: 'admin', scope: [...theGroup, target('group', body('parentId'))] },
    schema: { tags, summary: 'Move a group (with its subtree) under another group', params: Id, body: Type.Object({ parentId: Type.String({ maxLength: 64 }) }), response: { 200: Group, 400: ErrorBody, 404: ErrorBody } },
  }, async (req, reply) => {
    try {
      const g = await groups.move(req.params.id, req.body.parentId);
      await record(req, 'org.group.move', g.id, { parentId: req.body.parentId });
      return g;
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.delete('/api/v1/organization-groups/:id', {
    config: { permission: 'admin', scope: theGroup },
    schema: { tags, summary: 'Delete an empty group', description: 'Refused (409, naming what is left) while the group still holds child groups, devices, ABM servers, admins or active API tokens scoped to it, or while users (default group), directory mappings, active registration tokens, identity providers, attached profiles or DEP profiles lead to it.', params: Id, response: { 204: Type.Null(), 400: ErrorBody, 404: ErrorBody, 409: ErrorBody } },
  }, async (req, reply) => {
    try {
      await groups.delete(req.params.id);
      await record(req, 'org.group.delete', req.params.id);
      return reply.code(204).send(null);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.get('/api/v1/organization-groups/:id/settings', {
    config: { permission: 'read', scope: theGroup },
    schema: { tags, summary: 'Every setting as it applies at this group, and where its value comes from', params: Id, response: { 200: Type.Object({ items: Type.Array(Setting) }), 404: ErrorBody } },
  }, async (req, reply) => groups.settings(req.params.id).then((items) => ({ items }), (err) => sendServiceError(reply, err)));

  r.put('/api/v1/organization-groups/:id/settings/:key', {
    config: { permission: 'admin', scope: theGroup },
    schema: {
      tags,
      summary: 'Set (override) a setting at this group; its subtree inherits it',
      description: `Settings: ${GROUP_SETTING_KEYS.join(', ')}.`,
      params: Type.Object({ id: Type.String({ maxLength: 64 }), key: Type.String({ maxLength: 100 }) }),
      body: Type.Object({ value: Type.Unknown() }),
      response: { 200: Setting, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const s = await groups.setSetting(req.params.id, req.params.key, req.body.value, req.actor!.label);
      await record(req, 'org.setting.set', req.params.id, { key: req.params.key, value: req.body.value });
      return s;
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.delete('/api/v1/organization-groups/:id/settings/:key', {
    config: { permission: 'admin', scope: theGroup },
    schema: {
      tags,
      summary: 'Remove the override here: the group inherits the setting again',
      params: Type.Object({ id: Type.String({ maxLength: 64 }), key: Type.String({ maxLength: 100 }) }),
      response: { 200: Setting, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const s = await groups.clearSetting(req.params.id, req.params.key);
      await record(req, 'org.setting.clear', req.params.id, { key: req.params.key });
      return s;
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  // Both ends of the move must be in scope: the device where it is now, and the group it goes to.
  r.post('/api/v1/devices/:id/organization-group', {
    config: { permission: 'operate', scope: [target('device', param('id')), target('group', body('groupId'))] },
    schema: { tags, summary: 'Move a device to another organization group (audited)', params: Id, body: Type.Object({ groupId: Type.String({ maxLength: 64 }) }), response: { 204: Type.Null(), 404: ErrorBody } },
  }, async (req, reply) => {
    try {
      const { from } = await groups.moveDevice(req.params.id, req.body.groupId);
      await record(req, 'device.move_group', req.params.id, { fromGroupId: from, groupId: req.body.groupId });
      return reply.code(204).send(null);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });
}
