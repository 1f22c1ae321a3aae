/**
 * `POST /enroll/ade` — the `url` of every ADE profile Pomona defines at Apple. The device in
 * Setup Assistant posts its CMS-signed MachineInfo (or, as some clients do, sends it base64 in
 * the `x-apple-aspen-deviceinfo` header) and gets the enrollment profile, Apple's
 * software-update 403, or a refusal. Never 401 (apple-mdm-protocol.md §2.4); nothing is written
 * for a request that is refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MachineInfoError, machineInfoFromHeader, readMachineInfo, type MachineInfo, type MachineInfoTrust } from '../apple/machine-info.js';
import { EnrollmentProfileError } from './profile-service.js';
import { AdeRefusal, type AdeAnswer, type AdeEnrollmentService } from './ade-service.js';
import { PendingEnrollmentError } from './pending-enrollment-service.js';
import { PROFILE_CONTENT_TYPE } from './profile-routes.js';

export interface AdeRouteDeps {
  ade: AdeEnrollmentService;
  trust: MachineInfoTrust[];
}

/** The MachineInfo of a request: the body when there is one, else the web-view header. */
export function machineInfoOf(request: FastifyRequest, trust: MachineInfoTrust[]): MachineInfo {
  const body = request.body;
  if (Buffer.isBuffer(body) && body.length) return readMachineInfo(body, trust);
  return machineInfoFromHeader(request.headers['x-apple-aspen-deviceinfo'], trust);
}

/**
 * Why a device request is refused — status, Apple-style body (mdm/errors/*.yaml: `message` may be
 * shown to the user) and a log line — or undefined for errors that are not a refusal.
 */
export function deviceRefusal(request: FastifyRequest, err: unknown): { status: number; message: string; body: Record<string, string> } | undefined {
  if (err instanceof MachineInfoError) {
    request.log.warn({ reason: err.message }, 'ADE enrollment refused: bad MachineInfo');
    return { status: 400, message: err.message, body: { error: 'bad_machine_info', message: err.message } };
  }
  if (err instanceof AdeRefusal || err instanceof PendingEnrollmentError) {
    request.log.warn({ reason: err.message }, 'ADE enrollment refused');
    return { status: 403, message: err.message, body: { code: 'com.pomona.enrollment.refused', description: err.message, message: err.message } };
  }
  if (err instanceof EnrollmentProfileError) {
    request.log.error({ reason: err.message }, 'ADE enrollment cannot be answered');
    return { status: 503, message: err.message, body: { error: 'not_ready', message: err.message } };
  }
  return undefined;
}

export function sendDeviceRefusal(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const refusal = deviceRefusal(request, err);
  if (!refusal) throw err;
  return reply.code(refusal.status).send(refusal.body);
}

export function sendAdeAnswer(reply: FastifyReply, answer: AdeAnswer): FastifyReply {
  if (answer.kind === 'software-update') {
    // Exactly Apple's shape (softwareupdate.required.yaml); BuildVersion and message only when set.
    return reply.code(403).header('content-type', 'application/json').send({
      code: 'com.apple.softwareupdate.required',
      ...(answer.message ? { message: answer.message } : {}),
      details: { OSVersion: answer.osVersion, ...(answer.buildVersion ? { BuildVersion: answer.buildVersion } : {}) },
    });
  }
  return reply.code(200).header('content-type', PROFILE_CONTENT_TYPE).header('cache-control', 'no-store').send(answer.body);
}

export async function adeRoutes(app: FastifyInstance, deps: AdeRouteDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const query = Type.Object({ profile: Type.Optional(Type.String({ maxLength: 64 })) });

  r.post('/enroll/ade', { schema: { hide: true, querystring: query } }, async (request, reply) => {
    try {
      const info = machineInfoOf(request, deps.trust);
      const answer = await deps.ade.enroll(info, { profileId: request.query.profile, sourceAddress: request.ip });
      request.log.info({ serial: info.serial, outcome: answer.kind }, 'ADE enrollment request answered');
      return sendAdeAnswer(reply, answer);
    } catch (err) {
      return sendDeviceRefusal(request, reply, err);
    }
  });
}

/**
 * `POST /enroll/ade/custom-profile` — for an external enrollment page that signs users in itself
 * (profile web view mode "external"): it forwards the device's `x-apple-aspen-deviceinfo` header
 * and names the user (id or user name; none = anonymous) and gets the profile bytes to hand the
 * device. Only API tokens with the custom-enrollment role (or administrators) may call it, and
 * only for devices inside their scope.
 */
export async function adeCustomProfileRoutes(app: FastifyInstance, deps: AdeRouteDeps & { within: (groupId: string, scopeGroupId: string) => Promise<boolean> }): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/enroll/ade/custom-profile', {
    config: { permission: 'custom-enrollment', scope: 'filtered' },
    schema: {
      tags: ['enrollment'],
      summary: "The enrollment profile for the device of an external custom enrollment page",
      description: `Send the device's x-apple-aspen-deviceinfo header as received, and optionally a JSON body {"user": "<user id or user name>"} (none: the anonymous user). Answers ${PROFILE_CONTENT_TYPE} (hand it to the device), 403 com.apple.softwareupdate.required (hand it on too), or a refusal.`,
      headers: Type.Object({ 'x-apple-aspen-deviceinfo': Type.String({ maxLength: 100_000 }) }),
    },
  }, async (request, reply) => {
    const user = (request.body as { user?: unknown } | undefined)?.user;
    if (user !== undefined && (typeof user !== 'string' || !user.trim() || user.length > 128)) {
      return reply.code(400).send({ error: 'invalid', message: 'user must be a user id or user name (1 to 128 characters)' });
    }
    try {
      const info = machineInfoFromHeader(request.headers['x-apple-aspen-deviceinfo'], deps.trust);
      const scope = request.actor!.scope;
      const answer = await deps.ade.customProfile(info, {
        user: user as string | undefined, sourceAddress: request.ip, within: (groupId) => (scope.global ? Promise.resolve(true) : deps.within(groupId, scope.groupId)),
      });
      request.log.info({ serial: info.serial, outcome: answer.kind, actor: request.actor!.label }, 'custom enrollment profile requested');
      return sendAdeAnswer(reply, answer);
    } catch (err) {
      return sendDeviceRefusal(request, reply, err);
    }
  });
}
