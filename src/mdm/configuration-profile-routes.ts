/** Admin API for the configuration-profile library and where its profiles are attached. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditService } from '../org/audit-service.js';
import { ErrorBody, sendServiceError } from '../http/service-errors.js';
import { ConfigurationProfileServiceError, type ConfigurationProfileService } from './configuration-profile-service.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Kind = Type.Union([Type.Literal('dep-profile'), Type.Literal('organization-group')]);
const ProfileView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  payloadIdentifier: Type.String(),
  payloadUuid: Type.String(),
  displayName: Nullable(Type.String()),
  organization: Nullable(Type.String()),
  payloadTypes: Type.Array(Type.String()),
  signed: Type.Boolean(),
  size: Type.Integer(),
  sha256: Type.String(),
  createdAt: Type.Number(),
  createdBy: Nullable(Type.String()),
  attachments: Type.Array(Type.Object({ kind: Kind, targetId: Type.String(), createdAt: Type.Number() })),
});
const Applied = Type.Object({
  profileId: Type.String(), name: Type.String(), payloadIdentifier: Type.String(),
  attachedTo: Type.Object({ kind: Kind, targetId: Type.String() }),
});
const Id = Type.Object({ id: Type.String({ maxLength: 64 }) });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export async function configurationProfileRoutes(app: FastifyInstance, deps: { profiles: ConfigurationProfileService; audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { profiles, audit } = deps;
  const tags = ['configuration profiles'];
  const record = (req: { actor: { label: string } | null; ip: string }, action: string, target: string, details?: Record<string, unknown>) =>
    audit.record({ actor: req.actor!.label, action, target, source: req.ip, outcome: 'success', details });

  r.post('/api/v1/configuration-profiles', {
    config: { permission: 'admin' },
    schema: {
      tags,
      summary: 'Upload a configuration profile (.mobileconfig)',
      description:
        'Send the file as the body (any content type but JSON, e.g. `application/x-apple-aspen-config`; name it with `?name=`), or JSON ' +
        '`{"name": "…", "payload": "<base64>"}`. XML or binary plists, signed (CMS, profile attached) or not, up to 4 MiB. The profile must be ' +
        'a Configuration with PayloadIdentifier, PayloadUUID and PayloadContent; PayloadIdentifiers are unique in the library.',
      querystring: Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })) }),
      response: { 201: ProfileView, 400: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const { bytes, name } = uploaded(req.body, req.query.name);
      const view = await profiles.upload({ bytes, name, actor: req.actor!.label });
      await record(req, 'configuration-profile.upload', view.id, { name: view.name, payloadIdentifier: view.payloadIdentifier, sha256: view.sha256 });
      return reply.code(201).send(view);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.get('/api/v1/configuration-profiles', {
    config: { permission: 'read' },
    schema: { tags, summary: 'The library, with where each profile is attached', response: { 200: Type.Object({ items: Type.Array(ProfileView) }) } },
  }, async () => ({ items: await profiles.list() }));

  r.get('/api/v1/configuration-profiles/:id', {
    config: { permission: 'read' },
    schema: { tags, summary: 'One library profile', params: Id, response: { 200: ProfileView, 404: ErrorBody } },
  }, async (req, reply) => profiles.get(req.params.id).catch((err) => sendServiceError(reply, err)));

  r.delete('/api/v1/configuration-profiles/:id', {
    config: { permission: 'admin' },
    schema: { tags, summary: 'Delete a profile and its attachments (devices keep what they installed)', params: Id, response: { 204: Type.Null(), 404: ErrorBody } },
  }, async (req, reply) => {
    try {
      await profiles.delete(req.params.id);
      await record(req, 'configuration-profile.delete', req.params.id);
      return reply.code(204).send(null);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.post('/api/v1/configuration-profiles/:id/attachments', {
    config: { permission: 'admin' },
    schema: {
      tags,
      summary: 'Attach a profile to a DEP profile or an organization group',
      description: 'Devices awaiting configuration get the profiles attached to their DEP profile and to their organization group and every group above it.',
      params: Id,
      body: Type.Object({ depProfileId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), organizationGroupId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
      response: { 201: ProfileView, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const view = await profiles.attach(req.params.id, req.body, req.actor!.label);
      await record(req, 'configuration-profile.attach', req.params.id, req.body);
      return reply.code(201).send(view);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.delete('/api/v1/configuration-profiles/:id/attachments/:kind/:targetId', {
    config: { permission: 'admin' },
    schema: {
      tags,
      summary: 'Detach a profile from a DEP profile or an organization group',
      params: Type.Object({ id: Type.String({ maxLength: 64 }), kind: Kind, targetId: Type.String({ maxLength: 64 }) }),
      response: { 200: ProfileView, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const view = await profiles.detach(req.params.id, req.params.kind, req.params.targetId);
      await record(req, 'configuration-profile.detach', req.params.id, { kind: req.params.kind, targetId: req.params.targetId });
      return view;
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.get('/api/v1/organization-groups/:id/configuration-profiles', {
    config: { permission: 'read' },
    schema: {
      tags,
      summary: 'The profiles that apply at a group: attached there or to a group above it, root first',
      params: Id,
      response: { 200: Type.Object({ items: Type.Array(Applied) }), 404: ErrorBody },
    },
  }, async (req, reply) => profiles.forGroup(req.params.id).then((items) => ({ items }), (err) => sendServiceError(reply, err)));
}

/** The uploaded file: the raw body, or JSON with a base64 `payload`. */
function uploaded(body: unknown, queryName: string | undefined): { bytes: Buffer; name?: string } {
  if (Buffer.isBuffer(body)) return { bytes: body, name: queryName };
  const o = (body ?? {}) as { payload?: unknown; name?: unknown };
  if (typeof o.payload !== 'string' || !o.payload) {
    throw new ConfigurationProfileServiceError('invalid', 'send the .mobileconfig as the request body, or JSON {"payload": "<base64 of the file>", "name": "…"}');
  }
  const b64 = o.payload.replace(/\s+/g, '');
  if (!BASE64.test(b64) || b64.length % 4 !== 0) throw new ConfigurationProfileServiceError('invalid', 'payload is not base64');
  return { bytes: Buffer.from(b64, 'base64'), name: typeof o.name === 'string' ? o.name : queryName };
}
