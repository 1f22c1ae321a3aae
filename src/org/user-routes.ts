/** Admin API for end users, user groups and their mapping to organization groups, and registration tokens. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditService } from './audit-service.js';
import { PasswordPolicyError } from './password.js';
import { PLATFORMS, type RegistrationTokenService } from './registration-token-service.js';
import type { UserService } from './user-service.js';
import { ErrorBody, sendServiceError } from '../http/service-errors.js';
import { body, param, target } from '../http/scope-guard.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const User = Type.Object({
  id: Type.String(), source: Type.String(), username: Type.String(), email: Nullable(Type.String()), displayName: Nullable(Type.String()),
  defaultGroupId: Type.String(), hasPin: Type.Boolean(), locked: Type.Boolean(), disabled: Type.Boolean(), lastSignInAt: Nullable(Type.Number()),
});
const Token = Type.Object({
  id: Type.String(), prefix: Type.String(), groupId: Type.String(), userId: Nullable(Type.String()), platform: Nullable(Type.String()),
  maxUses: Nullable(Type.Integer()), uses: Type.Integer(), twoFactor: Type.Boolean(), expiresAt: Type.Number(), createdBy: Type.String(), createdAt: Type.Number(),
  status: Type.String(),
});

function sendError(reply: FastifyReply, err: unknown) {
  if (err instanceof PasswordPolicyError) return reply.code(400).send({ error: 'invalid', message: err.message });
  return sendServiceError(reply, err);
}

export async function userRoutes(app: FastifyInstance, deps: { users: UserService; tokens: RegistrationTokenService; audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { users, tokens, audit } = deps;
  const tags = ['users'];
  const record = (req: { actor: { label: string } | null; ip: string }, action: string, target: string, details?: Record<string, unknown>) =>
    audit.record({ actor: req.actor!.label, action, target, source: req.ip, outcome: 'success', details });

  r.post('/api/v1/users', {
    config: { permission: 'admin', scope: [target('group', body('defaultGroupId'))] },
    schema: {
      tags,
      summary: 'Create a local user (argon2id password, optional PIN)',
      body: Type.Object({
        username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ maxLength: 1024 }), pin: Type.Optional(Type.String({ maxLength: 8 })),
        email: Type.Optional(Type.String({ maxLength: 254 })), displayName: Type.Optional(Type.String({ maxLength: 200 })), defaultGroupId: Type.String({ maxLength: 64 }),
      }),
      response: { 201: User, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const u = await users.createLocal(req.body);
      await record(req, 'user.create', u.id, { username: u.username });
      return reply.code(201).send(u);
    } catch (err) {
      return sendError(reply, err);
    }
  });

  r.get('/api/v1/users', {
    config: { permission: 'read', scope: 'filtered' },
    schema: {
      tags,
      summary: 'Users by name, display name or e-mail (a page, with the count of all that match)',
      description: 'An admin scoped to a branch sees the users whose default enrollment group lies in it.',
      querystring: Type.Object({
        search: Type.Optional(Type.String({ maxLength: 128 })),
        source: Type.Optional(Type.String({ maxLength: 64, description: 'local, or an identity provider id' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
        offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
      }),
      response: { 200: Type.Object({ items: Type.Array(User), total: Type.Integer() }) },
    },
  }, async (req) => users.list({ search: req.query.search, source: req.query.source, within: req.actor!.scope, limit: req.query.limit ?? 50, offset: req.query.offset ?? 0 }));

  r.patch('/api/v1/users/:id', {
    config: { permission: 'admin', scope: [target('user', param('id'))] },
    schema: {
      tags,
      summary: 'Disable or enable a user',
      description: 'A disabled user cannot sign in, locally or through an identity provider (so cannot enroll with a sign-in); enrolled devices stay enrolled.',
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      body: Type.Object({ disabled: Type.Boolean() }),
      response: { 200: User, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const u = await users.setDisabled(req.params.id, req.body.disabled);
      await record(req, req.body.disabled ? 'user.disable' : 'user.enable', u.id, { username: u.username });
      return u;
    } catch (err) {
      return sendError(reply, err);
    }
  });

  r.get('/api/v1/users/:id', {
    config: { permission: 'read', scope: [target('user', param('id'))] },
    schema: { tags, summary: 'One user', params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 200: User, 404: ErrorBody } },
  }, async (req, reply) => users.view(req.params.id).catch((err) => sendError(reply, err)));

  r.get('/api/v1/user-groups', {
    config: { permission: 'read', scope: 'filtered' },
    schema: {
      tags,
      summary: 'User groups (local, and directory groups seen at sign-in) with the organization group each maps to',
      description: 'An admin scoped to a branch sees the groups mapped inside it and the groups mapped nowhere.',
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), source: Type.String(), name: Type.String(), organization_group_id: Nullable(Type.String()), rank: Nullable(Type.Integer()) })) }) },
    },
  }, async (req) => ({ items: await users.listGroups(req.actor!.scope) }));

  // A new local user group is mapped nowhere: it belongs to no branch until an admin maps it.
  r.post('/api/v1/user-groups', {
    config: { permission: 'admin', scope: 'none' },
    schema: { tags, summary: 'Create a local user group', body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }), response: { 201: Type.Object({ id: Type.String() }), 400: ErrorBody, 409: ErrorBody } },
  }, async (req, reply) => {
    try {
      const g = await users.createGroup(req.body.name);
      await record(req, 'user_group.create', g.id, { name: req.body.name });
      return reply.code(201).send(g);
    } catch (err) {
      return sendError(reply, err);
    }
  });

  // The mapping it has now and the one it gets must both be in scope (no taking another branch's group).
  r.put('/api/v1/user-groups/:id/mapping', {
    config: { permission: 'admin', scope: [target('user-group', param('id')), target('group', body('organizationGroupId'))] },
    schema: {
      tags,
      summary: 'Map a user group to an organization group (null removes the mapping); the lowest rank wins',
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      body: Type.Object({ organizationGroupId: Nullable(Type.String({ maxLength: 64 })), rank: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000 })) }),
      response: { 204: Type.Null(), 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      await users.mapGroup(req.params.id, req.body.organizationGroupId, req.body.rank);
      await record(req, 'user_group.map', req.params.id, req.body);
      return reply.code(204).send(null);
    } catch (err) {
      return sendError(reply, err);
    }
  });

  r.get('/api/v1/registration-tokens', {
    config: { permission: 'read', scope: 'filtered' },
    schema: { tags, summary: 'Registration tokens (prefix and status only)', querystring: Type.Object({ groupId: Type.Optional(Type.String({ maxLength: 64 })) }), response: { 200: Type.Object({ items: Type.Array(Token) }) } },
  }, async (req) => ({ items: await tokens.list(req.query.groupId, req.actor!.scope) }));

  r.post('/api/v1/registration-tokens', {
    config: { permission: 'operate', scope: [target('group', body('groupId')), target('user', body('userId'))] },
    schema: {
      tags,
      summary: 'Create a registration token (shown once)',
      body: Type.Object({
        groupId: Type.String({ maxLength: 64 }),
        userId: Type.Optional(Type.String({ maxLength: 64 })),
        platform: Type.Optional(Type.Union(PLATFORMS.map((p) => Type.Literal(p)))),
        maxUses: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 100000 }))),
        expiresInHours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 8760 })),
        twoFactor: Type.Optional(Type.Boolean()),
      }),
      response: { 201: Type.Object({ token: Type.String(), registrationToken: Token }), 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const { token, view } = await tokens.create({ ...req.body, platform: req.body.platform as never, createdBy: req.actor!.label });
      await record(req, 'registration_token.create', view.id, { groupId: view.groupId, platform: view.platform, maxUses: view.maxUses, twoFactor: view.twoFactor });
      return reply.code(201).send({ token, registrationToken: view });
    } catch (err) {
      return sendError(reply, err);
    }
  });

  r.delete('/api/v1/registration-tokens/:id', {
    config: { permission: 'operate', scope: [target('registration-token', param('id'))] },
    schema: { tags, summary: 'Revoke a registration token', params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 204: Type.Null(), 404: ErrorBody } },
  }, async (req, reply) => {
    try {
      await tokens.revoke(req.params.id);
      await record(req, 'registration_token.revoke', req.params.id);
      return reply.code(204).send(null);
    } catch (err) {
      return sendError(reply, err);
    }
  });
}
