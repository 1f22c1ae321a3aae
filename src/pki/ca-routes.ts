/**
 * Admin API: the facts an admin checks about the device CA (the one SCEP issues device
 * identities from). Read-only: the CA is configured in the config file or created at first start.
 */
import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

const DAY = 86_400_000;

const CaFacts = Type.Object({
  subject: Type.String(),
  issuer: Type.String({ description: 'the subject again for a self-signed CA' }),
  serialNumber: Type.String({ description: 'hex' }),
  notBefore: Type.Number({ description: 'epoch ms' }),
  notAfter: Type.Number({ description: 'epoch ms' }),
  expiresInDays: Type.Integer(),
  fingerprintSha256: Type.String({ description: 'colon-separated hex, as openssl and keychains show it' }),
});

/** Names as one line ("CN=Pomona Device CA, O=…"): Node gives them one attribute a line. */
const oneLine = (name: string) => name.split('\n').filter(Boolean).join(', ');

export function caFacts(certificatePem: string, now: number) {
  const cert = new X509Certificate(certificatePem);
  const notAfter = Date.parse(cert.validTo);
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    serialNumber: cert.serialNumber,
    notBefore: Date.parse(cert.validFrom),
    notAfter,
    expiresInDays: Math.floor((notAfter - now) / DAY),
    fingerprintSha256: cert.fingerprint256,
  };
}

export async function caRoutes(app: FastifyInstance, deps: { certificatePem: string; now?: () => number }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const now = deps.now ?? Date.now;
  // No scope declared: the CA is installation-wide, for global-scope admins like the push certificate.
  r.get('/api/v1/ca', {
    config: { permission: 'read' },
    schema: { tags: ['pki'], summary: 'The device CA: subject, validity and fingerprint', response: { 200: CaFacts } },
  }, async () => caFacts(deps.certificatePem, now()));
}
