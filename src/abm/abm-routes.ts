/** Admin API for ABM servers: create, key pair, token upload, test connection, sync, delete. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { DepError } from './dep-errors.js';
import type { AuditService } from '../org/audit-service.js';
import { AbmServerError, type AbmServerService } from './abm-server-service.js';
import { ErrorBody, sendServiceError } from '../http/service-errors.js';
import { body, param, target } from '../http/scope-guard.js';
import { ROOT_GROUP_ID } from '../org/scope.js';

const Id = Type.Object({ id: Type.String({ maxLength: 64 }) });
const theServer = [target('abm-server', param('id'))];
/** A server without an organization group serves the whole tree: only a global admin may leave it so. */
const groupOrRoot = (value: unknown) => (value === null || value === undefined ? ROOT_GROUP_ID : value);

const ServerView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  organizationGroupId: Type.Union([Type.String(), Type.Null()]),
  baseUrl: Type.String(),
  syncIntervalMinutes: Type.Integer(),
  tokenState: Type.Union([
    Type.Literal('no-token'), Type.Literal('ok'), Type.Literal('expiring'), Type.Literal('expired'), Type.Literal('terms-not-accepted'), Type.Literal('rejected'),
  ]),
  tokenExpiresAt: Type.Union([Type.Number(), Type.Null()]),
  tokenUploadedAt: Type.Union([Type.Number(), Type.Null()]),
  consumerKey: Type.Union([Type.String(), Type.Null()]),
  stagedKey: Type.Boolean({ description: 'a new key pair waits for the token encrypted to it' }),
  apple: Type.Object({
    serverName: Type.Union([Type.String(), Type.Null()]),
    serverUuid: Type.Union([Type.String(), Type.Null()]),
    orgName: Type.Union([Type.String(), Type.Null()]),
    adminId: Type.Union([Type.String(), Type.Null()]),
    pageLimit: Type.Union([Type.Integer(), Type.Null()]),
  }),
  lastSuccessAt: Type.Union([Type.Number(), Type.Null()]),
  lastError: Type.Union([Type.Object({ at: Type.Number(), code: Type.Union([Type.String(), Type.Null()]), message: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  sync: Type.Object({
    running: Type.Boolean(),
    kind: Type.Union([Type.String(), Type.Null()]),
    startedAt: Type.Union([Type.Number(), Type.Null()]),
    pages: Type.Integer(),
    devices: Type.Integer(),
    lastSyncAt: Type.Union([Type.Number(), Type.Null()]),
    lastResult: Type.Unknown(),
    lastError: Type.Union([Type.String(), Type.Null()]),
    requested: Type.Union([Type.String(), Type.Null()]),
    nextSyncAt: Type.Union([Type.Number(), Type.Null()]),
    cursorAt: Type.Union([Type.Number(), Type.Null()]),
    fetchComplete: Type.Boolean(),
  }),
  createdAt: Type.Number(),
});

/** Maps the services' refusals and Apple's errors to answers; anything else is a real 500. */
export function sendAbmError(reply: FastifyReply, err: unknown) {
  if (err instanceof DepError) return reply.code(502).send({ error: `apple_${err.kind.replace(/-/g, '_')}`, message: err.message });
  return sendServiceError(reply, err);
}

export async function abmServerRoutes(app: FastifyInstance, deps: { servers: AbmServerService; audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { servers, audit } = deps;
  const tags = ['abm'];

  r.get('/api/v1/abm-servers', {
    config: { permission: 'read', scope: 'filtered' },
    schema: { tags, summary: 'ABM servers with token state and sync progress', response: { 200: Type.Object({ items: Type.Array(ServerView) }) } },
  }, async (req) => ({ items: await servers.list(req.actor!.scope) }));

  r.post('/api/v1/abm-servers', {
    config: { permission: 'admin', scope: [target('group', (req) => groupOrRoot(body('organizationGroupId')(req)))] },
    schema: {
      tags,
      summary: 'Create an ABM server (generates its key pair)',
      description: 'Then download its public key, upload it to the MDM server in Apple Business Manager, and upload the token file Apple gives back.',
      body: Type.Object({
        name: Type.String({ minLength: 1, maxLength: 100 }),
        baseUrl: Type.Optional(Type.String({ maxLength: 2000, description: "the DEP service; default Apple's https://mdmenrollment.apple.com" })),
        syncIntervalMinutes: Type.Optional(Type.Integer({ minimum: 5, maximum: 10080 })),
        organizationGroupId: Type.Optional(Type.String({ maxLength: 64 })),
      }),
      response: { 201: ServerView, 400: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const view = await servers.create(req.body);
      await audit.record({ actor: req.actor!.label, action: 'abm.server.create', target: view.id, source: req.ip, outcome: 'success', details: { name: view.name } });
      return reply.code(201).send(view);
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.get('/api/v1/abm-servers/:id', {
    config: { permission: 'read', scope: theServer },
    schema: { tags, summary: 'One ABM server', params: Id, response: { 200: ServerView, 404: ErrorBody } },
  }, async (req, reply) => servers.view(req.params.id).catch((err) => sendAbmError(reply, err)));

  r.patch('/api/v1/abm-servers/:id', {
    config: {
      permission: 'admin',
      // null moves the server to no group (the whole tree)
      scope: [...theServer, target('group', (req) => {
        const group = body('organizationGroupId')(req);
        return group === null ? ROOT_GROUP_ID : group;
      })],
    },
    schema: {
      tags,
      summary: 'Rename, change the sync interval, DEP base URL or organization group',
      params: Id,
      body: Type.Object({
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
        baseUrl: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
        syncIntervalMinutes: Type.Optional(Type.Integer({ minimum: 5, maximum: 10080 })),
        organizationGroupId: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
      }),
      response: { 200: ServerView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const view = await servers.update(req.params.id, req.body);
      await audit.record({ actor: req.actor!.label, action: 'abm.server.update', target: view.id, source: req.ip, outcome: 'success', details: req.body });
      return view;
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.delete('/api/v1/abm-servers/:id', {
    config: { permission: 'admin', scope: theServer },
    schema: { tags, summary: 'Delete an ABM server with its device records and profiles (enrolled devices stay enrolled)', params: Id, response: { 204: Type.Null(), 404: ErrorBody } },
  }, async (req, reply) => {
    try {
      await servers.delete(req.params.id);
      await audit.record({ actor: req.actor!.label, action: 'abm.server.delete', target: req.params.id, source: req.ip, outcome: 'success' });
      return reply.code(204).send(null);
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.get('/api/v1/abm-servers/:id/public-key', {
    config: { permission: 'read', scope: theServer },
    schema: {
      tags,
      summary: 'The public key (PEM certificate) to upload to Apple Business Manager',
      description: 'While a new key pair is staged, this is the staged one.',
      params: Id,
      produces: ['application/x-pem-file'],
      response: { 200: Type.String(), 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const key = await servers.publicKey(req.params.id);
      const file = `${key.name.replace(/[^A-Za-z0-9._-]+/g, '_')}${key.staged ? '-new' : ''}.pem`;
      return reply.type('application/x-pem-file').header('content-disposition', `attachment; filename="${file}"`).send(key.certPem);
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.post('/api/v1/abm-servers/:id/public-key', {
    config: { permission: 'admin', scope: theServer },
    schema: {
      tags,
      summary: 'Stage a new key pair',
      description: 'The current token keeps working; the new pair replaces the old one when a token encrypted to it is uploaded.',
      params: Id,
      response: { 201: Type.Object({ certificate: Type.String() }), 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const { certPem } = await servers.stageNewKey(req.params.id);
      await audit.record({ actor: req.actor!.label, action: 'abm.server.stage_key', target: req.params.id, source: req.ip, outcome: 'success' });
      return reply.code(201).send({ certificate: certPem });
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.put('/api/v1/abm-servers/:id/token', {
    config: { permission: 'admin', scope: theServer },
    schema: {
      tags,
      summary: 'Upload or renew the server token',
      description:
        "The body is the token file exactly as downloaded from Apple Business Manager (`*_smime.p7m`), its DER form, or the decrypted JSON. A token for a different MDM server (another consumer key) needs force=true. Then a sync starts.",
      params: Id,
      querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }),
      response: { 200: Type.Object({ server: ServerView, replacedServer: Type.Boolean() }), 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    const body = req.body;
    const file = Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body) : Buffer.from(JSON.stringify(body ?? ''));
    try {
      const out = await servers.uploadToken(req.params.id, file, { force: req.query.force });
      await audit.record({ actor: req.actor!.label, action: 'abm.server.token_upload', target: req.params.id, source: req.ip, outcome: 'success', details: { replacedServer: out.replacedServer, force: !!req.query.force } });
      return out;
    } catch (err) {
      if (err instanceof AbmServerError) {
        await audit.record({ actor: req.actor!.label, action: 'abm.server.token_upload', target: req.params.id, source: req.ip, outcome: 'failure', details: { reason: err.message } });
      }
      return sendAbmError(reply, err);
    }
  });

  r.post('/api/v1/abm-servers/:id/test', {
    config: { permission: 'operate', scope: theServer },
    schema: {
      tags,
      summary: "Test the connection (GET /account): Apple's server name and UUID, organisation, admin Apple ID, limits",
      params: Id,
      response: { 200: Type.Object({ account: Type.Record(Type.String(), Type.Unknown()), server: ServerView }), 404: ErrorBody, 409: ErrorBody, 502: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const account = await servers.testConnection(req.params.id);
      return { account: account as Record<string, unknown>, server: await servers.view(req.params.id) };
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.post('/api/v1/abm-servers/:id/sync', {
    config: { permission: 'operate', scope: theServer },
    schema: {
      tags,
      summary: 'Sync now, or a full sync (refused while a sync runs)',
      params: Id,
      body: Type.Optional(Type.Object({ full: Type.Optional(Type.Boolean()) })),
      response: { 202: Type.Object({ queued: Type.Boolean(), running: Type.Boolean() }), 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const kind = req.body?.full ? 'full' : 'sync';
      const out = await servers.requestSync(req.params.id, kind);
      await audit.record({ actor: req.actor!.label, action: `abm.server.${kind === 'full' ? 'full_sync' : 'sync'}`, target: req.params.id, source: req.ip, outcome: 'success' });
      return reply.code(202).send(out);
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.post('/api/v1/abm-servers/:id/reset-cursor', {
    config: { permission: 'admin', scope: theServer },
    schema: {
      tags,
      summary: 'Forget the sync cursor: the next run fetches every device again',
      params: Id,
      response: { 204: Type.Null(), 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      await servers.resetCursor(req.params.id);
      await audit.record({ actor: req.actor!.label, action: 'abm.server.reset_cursor', target: req.params.id, source: req.ip, outcome: 'success' });
      return reply.code(204).send(null);
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });
}
