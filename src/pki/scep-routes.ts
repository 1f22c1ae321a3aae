/**
 * `GET|POST /scep?operation=GetCACaps|GetCACert|PKIOperation` (RFC 8894 §4): HTTP in and out,
 * the protocol lives in ScepService.
 *
 * POST bodies are raw DER whatever the Content-Type says (mdmb sends application/octet-stream,
 * others x-pki-message or nothing), so this plugin replaces the body parsers in its own scope
 * with one that keeps the bytes. mdmb also repeats the DER in `message=` on POST; the body wins.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ScepService } from './scep-service.js';

/** A PKCSReq with a 4096-bit key is about 5 KB; anything far bigger is not SCEP. */
const BODY_LIMIT = 128 * 1024;

const querystring = Type.Object({
  operation: Type.Optional(Type.String({ description: 'GetCACaps, GetCACert or PKIOperation' })),
  message: Type.Optional(Type.String({ description: 'PKIOperation over GET: the pkiMessage, base64 (URL-escaped)' })),
});

export async function scepRoutes(app: FastifyInstance, opts: { service: ScepService }): Promise<void> {
  const { service } = opts;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));

  const refuse = (request: FastifyRequest, reply: FastifyReply, reason: string) => {
    request.log.warn({ reason }, 'scep refused');
    return reply.code(400).type('text/plain').send(`${reason}\n`);
  };

  const handler = async (request: FastifyRequest<{ Querystring: { operation?: string; message?: string } }>, reply: FastifyReply) => {
    if (request.validationError) return refuse(request, reply, `bad query string: ${request.validationError.message}`);
    const { operation, message } = request.query;
    switch (operation) {
      case 'GetCACaps':
        return reply.type('text/plain').send(service.getCaCaps());
      case 'GetCACert':
        return reply.type('application/x-x509-ca-cert').send(service.getCaCert());
      case 'PKIOperation': {
        const body = request.body;
        let der: Buffer | undefined;
        if (Buffer.isBuffer(body) && body.length > 0) der = body;
        // Query decoding turns an unescaped '+' of standard base64 into a space.
        else if (request.method === 'GET' && message) der = Buffer.from(message.replace(/ /g, '+'), 'base64');
        if (!der || der.length === 0) return refuse(request, reply, 'PKIOperation without a message');
        const result = await service.pkiOperation(der);
        if (result.status === 'issued') request.log.info({ reason: result.reason }, 'scep issued');
        else request.log.warn({ reason: result.reason }, 'scep refused');
        return reply.code(result.httpStatus).type(result.contentType).send(result.body);
      }
      default:
        return refuse(request, reply, operation ? `unknown operation ${JSON.stringify(operation.slice(0, 40))}` : 'operation missing');
    }
  };

  const route = app.withTypeProvider<TypeBoxTypeProvider>();
  const options = { schema: { querystring, tags: ['scep'] }, attachValidation: true };
  route.get('/scep', options, handler);
  route.post('/scep', options, handler);
}
