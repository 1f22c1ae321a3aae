/**
 * Admin API for a Mac's managed administrator account. Its password is for administrators only,
 * and every view is an audit event; the rest (the account, a rotation under way) anyone may read.
 */
import { param, target } from '../http/scope-guard.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditService } from '../org/audit-service.js';
import { ErrorBody, sendServiceError } from '../http/service-errors.js';
import type { ManagedAdminService } from './managed-admin-service.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Status = Type.Object({
  shortName: Type.String(),
  fullName: Type.String(),
  hidden: Type.Boolean(),
  guid: Nullable(Type.String({ description: 'as the Mac reports it; learned at the first rotation' })),
  hasPassword: Type.Boolean({ description: 'the Mac acknowledged a password Pomona holds' }),
  passwordSetAt: Nullable(Type.Number()),
  pendingChange: Nullable(Type.Object({
    kind: Type.String({ description: 'create (AccountConfiguration) or rotate (SetAutoAdminPassword)' }),
    reason: Type.String(), since: Type.Number(), waitingFor: Type.String({ description: 'the command whose answer the change waits for' }),
  })),
  lastError: Nullable(Type.Object({ message: Type.String(), at: Type.Number() })),
  lastViewedAt: Nullable(Type.Number()),
  rotateAt: Nullable(Type.Number({ description: 'a rotation scheduled after the password was viewed' })),
});
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

export async function managedAdminRoutes(
  app: FastifyInstance,
  deps: { managedAdmin: ManagedAdminService; devices: { get(id: string): Promise<{ id: string } | undefined> }; audit: AuditService },
): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { managedAdmin, audit } = deps;
  const tags = ['devices'];
  const deviceId = async (ref: string, reply: FastifyReply) => {
    const d = await deps.devices.get(ref);
    if (!d) reply.code(404).send({ error: 'not_found', message: `no device ${ref}` });
    return d?.id;
  };

  r.get('/api/v1/devices/:id/managed-admin', {
    config: { permission: 'read' , scope: [target('device', param('id'))] },
    schema: { tags, summary: "The Mac's managed administrator account (without its password)", params: Id, response: { 200: Status, 404: ErrorBody } },
  }, async (req, reply) => {
    const id = await deviceId(req.params.id, reply);
    if (!id) return reply;
    return managedAdmin.status(id).catch((err) => sendServiceError(reply, err));
  });

  r.get('/api/v1/devices/:id/managed-admin-password', {
    config: { permission: 'admin' , scope: [target('device', param('id'))] },
    schema: {
      tags,
      summary: "The managed administrator's current password (administrators only; each view is audited)",
      description: 'The password the Mac acknowledged. When the enrollment profile says so, viewing it schedules a rotation some minutes later.',
      params: Id,
      response: { 200: Type.Object({ ...Status.properties, password: Type.String() }), 404: ErrorBody },
    },
  }, async (req, reply) => {
    const id = await deviceId(req.params.id, reply);
    if (!id) return reply;
    try {
      const { status, password } = await managedAdmin.reveal(id);
      await audit.record({ actor: req.actor!.label, action: 'device.managed_admin_password.view', target: id, source: req.ip, outcome: 'success', details: { shortName: status.shortName } });
      reply.header('cache-control', 'no-store');
      return { ...status, password };
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });

  r.post('/api/v1/devices/:id/managed-admin-password/rotate', {
    config: { permission: 'admin' , scope: [target('device', param('id'))] },
    schema: {
      tags,
      summary: 'Give the managed administrator a new password (SetAutoAdminPassword)',
      description: 'The current password stays valid, and is what Pomona shows, until the Mac acknowledges the new one.',
      params: Id,
      response: { 202: Status, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    const id = await deviceId(req.params.id, reply);
    if (!id) return reply;
    try {
      const status = await managedAdmin.rotate(id, 'admin');
      await audit.record({ actor: req.actor!.label, action: 'device.managed_admin_password.rotate', target: id, source: req.ip, outcome: 'success', details: { reason: 'admin' } });
      return reply.code(202).send(status);
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });
}
