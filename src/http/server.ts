/**
 * The Fastify instance every route plugin is registered on: logging with secrets redacted,
 * raw-body parsing for Apple's device messages, the body limit, optional TLS (client
 * certificates requested but checked by Pomona, not by TLS, so admins' browsers still
 * connect), the OpenAPI document and a JSON error shape for the admin API.
 */
import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { DestinationStream } from 'pino';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from '../config.js';
import { isForeignKeyViolation } from '../db/database.js';
import { bindRequestIds, requestLogOptions, stdoutLog } from './log.js';

/**
 * One access-log line per request ("request completed", with the request's method, URL and
 * peer) instead of Fastify's two: devices poll all day, and each line costs a serialisation
 * and a write. Errors and everything else are logged as Fastify does.
 */
export class OneLineRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export async function buildServer(config: Pick<Config, 'tls' | 'bodyLimit' | 'logLevel' | 'publicUrl'>, opts: { logger?: boolean | object; logStream?: DestinationStream } = {}): Promise<FastifyInstance> {
  const https = config.tls
    ? {
        cert: readFileSync(config.tls.certFile),
        key: readFileSync(config.tls.keyFile),
        requestCert: true,
        rejectUnauthorized: false,
      }
    : null;
  const app = Fastify({
    ...(https ? { https } : {}),
    bodyLimit: config.bodyLimit,
    logger: opts.logger ?? requestLogOptions(config.logLevel, opts.logStream ?? stdoutLog()),
    logController: new OneLineRequestLog(),
    trustProxy: false,
    requestIdHeader: 'x-request-id',
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  }) as unknown as FastifyInstance;
  // Services log through the context's logger; this puts the request id on their lines too.
  bindRequestIds(app);

  // Device messages (plists, DER) are read raw: the signature covers the exact bytes.
  for (const type of ['application/x-apple-aspen-mdm-checkin', 'application/x-pki-message', 'application/pkcs7-signature', 'application/octet-stream', 'application/xml', 'text/xml', 'text/plain']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: config.bodyLimit }, (_req, body, done) => done(null, body));
  }
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.bodyLimit }, (_req, body, done) => done(null, body));

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Pomona admin API', version: '1', description: 'Self-hosted Apple MDM server. Authenticate with `Authorization: Bearer <API token>` or the console session cookie.' },
      servers: [{ url: config.publicUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  app.setErrorHandler((err: { statusCode?: number; validation?: unknown; message: string; code?: string }, req, reply) => {
    // A change naming a row that another request (or node) removed a moment ago: nothing was
    // written, and the admin can reload and choose again.
    if (isForeignKeyViolation(err)) {
      req.log.info({ reason: err.message }, 'request refused: it refers to a removed record');
      return reply.code(409).send({ error: 'conflict', message: 'this change refers to something that was removed meanwhile; reload and try again' });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ reason: err.message }, 'request refused');
    const error = err.validation ? 'invalid_request' : status === 413 ? 'body_too_large' : status >= 500 ? 'internal_error' : (err.code ?? 'bad_request').toLowerCase();
    return reply.code(status).send({ error, message: status >= 500 ? 'internal error (see the server log)' : err.message });
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  return app;
}
