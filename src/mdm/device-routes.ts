/**
 * Device-facing MDM endpoints: `PUT /mdm/checkin`, `PUT /mdm/connect`, and `PUT /mdm`, which
 * routes on Content-Type as Apple's clients do when CheckInURL and ServerURL are the same
 * (check-ins carry application/x-apple-aspen-mdm-checkin, command reports carry none).
 * This file only translates HTTP: identify the certificate, parse, call the service, answer.
 */
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parsePlist, buildPlist } from '../apple/plist.js';
import { parseCheckin, parseCommandReport } from '../apple/checkin-message.js';
import { verifyMdmSignature } from '../apple/mdm-signature.js';
import type { CheckinService, DeviceMessage } from './checkin-service.js';
import type { CommandService } from './command-service.js';
import { DeviceRefusal } from './device-refusal.js';
import { sha256Hex, type PresentedCertificate } from './identity-auth.js';
import { certificateFromProxyHeader } from './proxy-certificate.js';

export const CHECKIN_CONTENT_TYPE = 'application/x-apple-aspen-mdm-checkin';

export interface DeviceRoutesOptions {
  /** only what the routes call, so a wrapping service (user enrollment's privacy filter) fits */
  checkins: Pick<CheckinService, 'handle'>;
  commands: Pick<CommandService, 'connect'>;
  /** lower-case header name a trusted TLS-terminating proxy puts the client certificate in */
  clientCertHeader?: string;
}

export async function deviceRoutes(app: FastifyInstance, opts: DeviceRoutesOptions): Promise<void> {
  const checkin = (req: FastifyRequest, reply: FastifyReply) => handle(req, reply, 'checkin', opts);
  const connect = (req: FastifyRequest, reply: FastifyReply) => handle(req, reply, 'connect', opts);
  const hide = { schema: { hide: true } };
  app.put('/mdm/checkin', hide, checkin);
  app.put('/mdm/connect', hide, connect);
  app.put('/mdm', hide, (req, reply) =>
    (req.headers['content-type'] ?? '').startsWith(CHECKIN_CONTENT_TYPE) ? checkin(req, reply) : connect(req, reply),
  );
}

async function handle(req: FastifyRequest, reply: FastifyReply, endpoint: 'checkin' | 'connect', opts: DeviceRoutesOptions) {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  try {
    const cert = presentedCertificate(req, body, opts.clientCertHeader);
    const dict = parsePlist(body);
    const parsed = endpoint === 'checkin' ? parseCheckin(dict) : parseCommandReport(dict);
    const msg: DeviceMessage = {
      messageType: endpoint === 'checkin' ? (dict.MessageType as string) : 'CommandReport',
      identity: parsed.identity,
      raw: dict,
      rawPlist: body.toString('utf8'),
      enrollmentKey: enrollmentKeyOf(req),
    };
    if (endpoint === 'checkin') {
      const out = await opts.checkins.handle(msg, cert);
      req.log.info({ messageType: msg.messageType, enrollmentId: msg.identity.enrollmentId }, 'check-in');
      return out.kind === 'empty' ? reply.code(200).send('') : reply.code(200).type('application/xml').send(buildPlist(out.value));
    }
    const out = await opts.commands.connect(msg, cert);
    req.log.debug({ status: dict.Status, enrollmentId: msg.identity.enrollmentId, next: out.kind === 'command' ? out.uuid : null }, 'connect');
    return out.kind === 'empty' ? reply.code(200).send('') : reply.code(200).type('application/xml').send(out.plist);
  } catch (err) {
    return refuseRequest(req, reply, err, endpoint);
  }
}

function presentedCertificate(req: FastifyRequest, body: Buffer, proxyHeader?: string): PresentedCertificate {
  const signature = req.headers['mdm-signature'];
  if (typeof signature === 'string' && signature.length > 0) {
    const v = verifyMdmSignature(signature, body);
    return { der: v.certificateDer, sha256: v.certificateSha256 };
  }
  const socket = req.raw.socket as TLSSocket;
  if (typeof socket.getPeerCertificate === 'function') {
    const peer = socket.getPeerCertificate();
    if (peer && peer.raw) return { der: peer.raw, sha256: sha256Hex(peer.raw) };
  }
  if (proxyHeader) {
    const der = certificateFromProxyHeader(req.headers[proxyHeader]);
    if (der) return { der, sha256: sha256Hex(der) };
  }
  throw new DeviceRefusal('bad-request', 'no Mdm-Signature and no client certificate');
}

/** Every failure is an Apple-conventional 4xx with a log line; never 401, never 5xx for device input. */
function refuseRequest(req: FastifyRequest, reply: FastifyReply, err: unknown, endpoint: string) {
  const reason = err instanceof Error ? err.message : String(err);
  if (!(err instanceof DeviceRefusal) && !isInputError(err)) {
    req.log.error({ err, endpoint }, 'device request failed');
    return reply.code(500).send('');
  }
  req.log.warn({ reason, endpoint }, 'device request refused');
  const kind = err instanceof DeviceRefusal ? err.kind : 'bad-request';
  switch (kind) {
    case 'unrecognized':
      return reply.code(403).type('application/json').send({ code: 'com.apple.unrecognized.device' });
    case 'gone':
      return reply.code(410).send('');
    case 'not-supported':
      return reply.code(404).type('text/plain').send(reason);
    default:
      return reply.code(400).type('text/plain').send(reason);
  }
}

/** Parse and signature errors from src/apple are the device's fault, not ours. */
function isInputError(err: unknown): boolean {
  const name = err instanceof Error ? err.name : '';
  return ['PlistError', 'SignatureError', 'CheckinError'].includes(name);
}

/** The enrollment staging key a profile's CheckInURL carries (`?pe=`), if any. */
function enrollmentKeyOf(req: FastifyRequest): string | undefined {
  const pe = (req.query as { pe?: unknown } | undefined)?.pe;
  return typeof pe === 'string' && pe.length > 0 ? pe : undefined;
}
