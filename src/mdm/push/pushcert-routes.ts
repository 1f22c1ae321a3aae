/** Admin API for the APNs push certificate: upload (PEM or PKCS#12) and status. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PushCertificateError } from '../../apple/push-certificate.js';
import type { AuditService } from '../../org/audit-service.js';
import { PushCertReplaceError, type PushCertService } from './pushcert-service.js';

const Status = Type.Object({
  topic: Type.String(), subject: Type.String(), notBefore: Type.Number(), notAfter: Type.Number(),
  expiresInDays: Type.Integer(), expired: Type.Boolean(),
});
const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

export async function pushCertRoutes(app: FastifyInstance, deps: { pushcerts: PushCertService; audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get('/api/v1/push-certificate', {
    config: { permission: 'read' },
    schema: { tags: ['push'], summary: 'The current push certificate (topic and expiry)', response: { 200: Status, 404: ErrorBody } },
  }, async (_req, reply) => (await deps.pushcerts.status()) ?? reply.code(404).send({ error: 'not_found', message: 'no push certificate imported yet' }));

  r.post('/api/v1/push-certificate', {
    config: { permission: 'admin' },
    schema: {
      tags: ['push'],
      summary: 'Upload or renew the push certificate',
      description: 'Either certificate (PEM, may include the key) and key (PEM), or pkcs12 (base64). A certificate with a different topic replaces the current one only with force=true: every enrolled device would have to re-enroll.',
      body: Type.Object({
        certificate: Type.Optional(Type.String({ maxLength: 65536 })),
        privateKey: Type.Optional(Type.String({ maxLength: 65536 })),
        pkcs12: Type.Optional(Type.String({ maxLength: 131072, description: 'base64' })),
        password: Type.Optional(Type.String({ maxLength: 1024 })),
        force: Type.Optional(Type.Boolean()),
        allowExpired: Type.Optional(Type.Boolean()),
      }),
      response: { 200: Status, 400: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    const b = req.body;
    if (!b.pkcs12 && !b.certificate) return reply.code(400).send({ error: 'bad_request', message: 'give certificate (and privateKey) or pkcs12' });
    try {
      const status = await deps.pushcerts.import(
        b.pkcs12 ? { pkcs12: Buffer.from(b.pkcs12, 'base64'), password: b.password } : { certPem: b.certificate!, keyPem: b.privateKey, password: b.password },
        { force: b.force, allowExpired: b.allowExpired },
      );
      await deps.audit.record({ actor: req.actor!.label, action: 'pushcert.import', target: status.topic, source: req.ip, outcome: 'success' });
      return status;
    } catch (err) {
      if (!(err instanceof PushCertificateError) && !(err instanceof PushCertReplaceError)) throw err;
      await deps.audit.record({ actor: req.actor!.label, action: 'pushcert.import', source: req.ip, outcome: 'failure', details: { reason: err.message } });
      return reply.code(err instanceof PushCertReplaceError ? 409 : 400).send({ error: err instanceof PushCertReplaceError ? err.code : 'invalid_certificate', message: err.message });
    }
  });
}
