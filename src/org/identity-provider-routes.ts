/** Admin API for identity providers, and the SAML metadata an IdP administrator imports. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditService } from './audit-service.js';
import type { IdentityProviderService } from './identity-provider-service.js';
import { ErrorBody, sendServiceError } from '../http/service-errors.js';
import { body, param, target } from '../http/scope-guard.js';

const Id = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Provider = Type.Object({
  id: Type.String(), groupId: Type.String(), kind: Type.String(), name: Type.String(), enabled: Type.Boolean(),
  consoleSignIn: Type.Boolean({ description: 'admins may sign in to the console through it' }),
  config: Type.Record(Type.String(), Type.Unknown()), secretSet: Type.Boolean(), endpoints: Type.Record(Type.String(), Type.String()),
});
const Kind = Type.Union([Type.Literal('ldap'), Type.Literal('saml'), Type.Literal('oidc')]);
const SECRET_NOTE = 'The secret (LDAP bindPassword, SAML spPrivateKey, OIDC clientSecret) is stored sealed and never returned; leave it out of an update to keep it.';
const theProvider = [target('identity-provider', param('id'))];

export async function identityProviderRoutes(app: FastifyInstance, deps: { idps: IdentityProviderService; audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { idps, audit } = deps;
  const tags = ['users'];

  r.get('/api/v1/organization-groups/:id/identity-providers', {
    config: { permission: 'read', scope: [target('group', param('id'))] },
    schema: {
      tags, summary: 'Identity providers a group uses: its own, then its ancestors\'', params: Id,
      description: 'An admin scoped to a branch sees only the providers configured inside it.',
      response: { 200: Type.Object({ items: Type.Array(Provider) }), 404: ErrorBody },
    },
  }, async (req, reply) => idps.forGroup(req.params.id, req.actor!.scope).then((items) => ({ items }), (err) => sendServiceError(reply, err)));

  r.post('/api/v1/identity-providers', {
    config: { permission: 'admin', scope: [target('group', body('groupId'))] },
    schema: {
      tags, summary: 'Add an LDAP, SAML or OpenID Connect provider to an organization group', description: SECRET_NOTE,
      body: Type.Object({ groupId: Type.String({ maxLength: 64 }), kind: Kind, name: Type.String({ minLength: 1, maxLength: 100 }), config: Type.Record(Type.String(), Type.Unknown()) }),
      response: { 201: Provider, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const p = await idps.create(req.body);
      await audit.record({ actor: req.actor!.label, action: 'idp.create', target: p.id, source: req.ip, outcome: 'success', details: { kind: p.kind, name: p.name, groupId: p.groupId } });
      return reply.code(201).send(p);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.patch('/api/v1/identity-providers/:id', {
    config: { permission: 'admin', scope: theProvider },
    schema: {
      tags, summary: 'Rename, enable/disable or reconfigure a provider, or let admins sign in to the console through it',
      description: `${SECRET_NOTE} With consoleSignIn, an admin whose scope group is the provider's group or lies below it may sign in to the console through it (SAML and OpenID Connect).`,
      params: Id,
      body: Type.Object({
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), enabled: Type.Optional(Type.Boolean()), consoleSignIn: Type.Optional(Type.Boolean()),
        config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      }),
      response: { 200: Provider, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const p = await idps.update(req.params.id, req.body);
      await audit.record({ actor: req.actor!.label, action: 'idp.update', target: p.id, source: req.ip, outcome: 'success', details: { name: req.body.name, enabled: req.body.enabled, consoleSignIn: req.body.consoleSignIn, config: req.body.config ? 'changed' : undefined } });
      return p;
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.delete('/api/v1/identity-providers/:id', {
    config: { permission: 'admin', scope: theProvider },
    schema: { tags, summary: 'Remove a provider', params: Id, response: { 204: Type.Null(), 404: ErrorBody } },
  }, async (req, reply) => {
    try {
      await idps.delete(req.params.id);
      await audit.record({ actor: req.actor!.label, action: 'idp.delete', target: req.params.id, source: req.ip, outcome: 'success' });
      return reply.code(204).send(null);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.post('/api/v1/identity-providers/:id/test', {
    config: { permission: 'admin', scope: theProvider },
    schema: {
      tags, summary: 'Test an LDAP provider: bind, search bases, and optionally look a user up', params: Id,
      body: Type.Optional(Type.Object({ username: Type.Optional(Type.String({ maxLength: 256 })) })),
      response: { 200: Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()), details: Type.Unknown() }), 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      return await (await idps.directory(req.params.id)).testConnection({ username: req.body?.username });
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  // Public: the IdP administrator (or the IdP itself) fetches it.
  r.get('/sso/saml/:id/metadata', { schema: { hide: true, params: Id } }, async (req, reply) => {
    try {
      return reply.type('application/samlmetadata+xml').send(await idps.samlMetadata(req.params.id));
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });
}
