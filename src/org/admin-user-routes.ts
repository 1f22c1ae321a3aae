/**
 * Admin API for admin users (administrators only): list, create, change role, scope, password or
 * state, delete. An administrator sees and manages the admins scoped inside their own scope, and
 * never gives more than they hold (src/org/scope.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AdminService } from './admin-service.js';
import type { AuditService } from './audit-service.js';
import type { OrgGroupService } from './org-group-service.js';
import { ErrorBody, sendServiceError } from '../http/service-errors.js';
import { body, param, target } from '../http/scope-guard.js';

const Role = Type.Union([Type.Literal('administrator'), Type.Literal('operator'), Type.Literal('read-only')]);
const ScopeRef = Type.String({ maxLength: 64, description: 'organization group id or Group ID' });
const Admin = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: Type.String(),
  scopeGroupId: Type.String({ description: 'the organization group whose subtree the admin acts in' }),
  createdAt: Type.Number(),
  disabledAt: Type.Union([Type.Number(), Type.Null()]),
});
const Id = Type.Object({ id: Type.String({ maxLength: 64 }) });
const theAdmin = [target('admin', param('id'))];

export async function adminUserRoutes(app: FastifyInstance, deps: { admins: AdminService; groups: OrgGroupService; audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { admins, groups, audit } = deps;
  const tags = ['admins'];
  const record = (req: { actor: { label: string } | null; ip: string }, action: string, target: string, details?: Record<string, unknown>) =>
    audit.record({ actor: req.actor!.label, action, target, source: req.ip, outcome: 'success', details });

  r.get('/api/v1/admins', {
    config: { permission: 'admin', scope: 'filtered' },
    schema: { tags, summary: 'Admin users scoped inside your scope', response: { 200: Type.Object({ items: Type.Array(Admin) }) } },
  }, async (req) => ({ items: await admins.listUsers(req.actor!.scope) }));

  r.post('/api/v1/admins', {
    config: { permission: 'admin', scope: [target('group', body('scope'))] },
    schema: {
      tags,
      summary: 'Create an admin user',
      description: 'The scope defaults to yours; it can only be your scope group or a group below it.',
      body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }), role: Role, scope: Type.Optional(ScopeRef) }),
      response: { 201: Admin, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const actor = req.actor!;
      const scope = req.body.scope === undefined ? actor.scope : await groups.scopeOf(req.body.scope);
      const admin = await admins.createUser({ username: req.body.username, password: req.body.password, role: req.body.role, scope, grantedBy: actor });
      await record(req, 'admin.create', admin.id, { username: admin.username, role: admin.role, scopeGroupId: admin.scopeGroupId });
      return reply.code(201).send(admin);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.get('/api/v1/admins/:id', {
    config: { permission: 'admin', scope: theAdmin },
    schema: { tags, summary: 'One admin user', params: Id, response: { 200: Admin, 404: ErrorBody } },
  }, async (req, reply) => admins.getUser(req.params.id).catch((err) => sendServiceError(reply, err)));

  r.patch('/api/v1/admins/:id', {
    config: { permission: 'admin', scope: [...theAdmin, target('group', body('scope'))] },
    schema: {
      tags,
      summary: "Change an admin's role, scope or password, or disable/enable them",
      description: 'A new password ends their sessions. Your own role, scope and state are changed by another administrator.',
      params: Id,
      body: Type.Object({ role: Type.Optional(Role), scope: Type.Optional(ScopeRef), password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })), disabled: Type.Optional(Type.Boolean()) }),
      response: { 200: Admin, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const { scope: ref, ...rest } = req.body;
      const scope = ref === undefined ? undefined : await groups.scopeOf(ref);
      const admin = await admins.updateUser(req.params.id, { ...rest, scope }, req.actor!);
      await record(req, 'admin.update', admin.id, { username: admin.username, role: rest.role, scopeGroupId: scope?.groupId, disabled: rest.disabled, passwordChanged: rest.password !== undefined });
      return admin;
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.delete('/api/v1/admins/:id', {
    config: { permission: 'admin', scope: theAdmin },
    schema: { tags, summary: 'Delete an admin user (and end their sessions)', params: Id, response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody } },
  }, async (req, reply) => {
    try {
      const gone = await admins.deleteUser(req.params.id, req.actor!);
      await record(req, 'admin.delete', gone.id, { username: gone.username });
      return reply.code(204).send(null);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });
}
