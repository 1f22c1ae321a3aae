/**
 * User enrollment (BYOD) over HTTP:
 *
 *   GET  /.well-known/com.apple.remotemanagement   service discovery (JSON), for any account
 *   POST /enroll/user/account                      BaseURL: 401 + Bearer challenge, or the profile
 *   GET  /enroll/user/account/sign-in              the web-auth URL: a staging record → sign-in pages
 *        (after sign-in: 308 to apple-remotemanagement-user-login://authentication-results?access-token=…)
 *   GET  /enroll/user-profile                      profile-based: a staging record → sign-in pages
 *   GET  /enroll/user-profile/:id/profile?t=CSRF   the profile, once, to the browser that signed in
 *   GET|PUT /api/v1/users/:id/managed-apple-id     a user's Managed Apple Account (admin API)
 *
 * Attempts, incomplete ones included, are listed with the other staging records
 * (`GET /api/v1/pending-enrollments?mode=user-account&state=incomplete`).
 *
 * Device-facing answers follow Apple's account-driven flow: 401 is the protocol's way to ask
 * for sign-in here (the device has not enrolled yet, so it cannot unenroll on it); bad input is
 * 400 or 413, never 500. Access tokens never appear in logs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditService } from '../org/audit-service.js';
import type { OrgGroupService } from '../org/org-group-service.js';
import { ErrorBody, sendServiceError } from '../http/service-errors.js';
import { param, target } from '../http/scope-guard.js';
import { ServiceError } from '../service-error.js';
import type { PendingEnrollment, PendingEnrollmentService } from './pending-enrollment-service.js';
import { EnrollmentProfileError } from './profile-service.js';
import { PROFILE_CONTENT_TYPE } from './profile-routes.js';
import { browserKeyFrom, setBrowserKey } from './sign-in/browser-binding.js';
import { messagePage } from './sign-in/sign-in-pages.js';
import { sendPage, type SignIn } from './sign-in/sign-in-routes.js';
import { platformHint } from './sign-in/sign-in-service.js';
import { ACCOUNT_ENROLL_PATH, discover } from './user-discovery.js';
import { userProfileDownloadedPage, userProfileDownloadPage } from './user-enrollment-pages.js';
import { ENROLLMENT_REQUEST_MAX_BYTES, EnrollmentRequestError, parseEnrollmentRequest } from './user-enrollment-request.js';
import type { UserEnrollmentService } from './user-enrollment-service.js';

export const WELL_KNOWN_PATH = '/.well-known/com.apple.remotemanagement';
export const WEB_AUTH_PATH = `${ACCOUNT_ENROLL_PATH}/sign-in`;
const PROFILE_START = '/enroll/user-profile';
/** The web-auth page's cookie lasts as long as the sign-in may take (the staging record's sign-in window). */
const COOKIE_MAX_AGE_SECONDS = 3600;

/** The challenge Apple's client expects (Apple's "simple authentication" flow, step 5). */
export function bearerChallenge(publicUrl: string): string {
  return `Bearer method="apple-as-web", url="${publicUrl}${WEB_AUTH_PATH}"`;
}

export interface UserEnrollmentRoutesDeps {
  userEnrollment: UserEnrollmentService;
  pending: PendingEnrollmentService;
  signIn: SignIn;
  groups: OrgGroupService;
  audit: AuditService;
  publicUrl: string;
}

export async function userEnrollmentRoutes(app: FastifyInstance, deps: UserEnrollmentRoutesDeps): Promise<void> {
  const { userEnrollment, pending, signIn, groups, audit, publicUrl } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const secureCookies = publicUrl.startsWith('https:');
  const brandOf = (p?: PendingEnrollment) => signIn.service.brand(p?.groupId);
  const refusalPage = async (reply: FastifyReply, status: number, p: PendingEnrollment | undefined, title: string, message: string, restart?: string) =>
    sendPage(reply, status, messagePage({ brand: await brandOf(p), title, message, link: restart ? { href: restart, text: 'Start again' } : undefined }));

  // ---- account-driven -----------------------------------------------------------------------

  app.get(WELL_KNOWN_PATH, { schema: { hide: true } }, async (req, reply) => {
    const answer = discover((req.query ?? {}) as Record<string, unknown>, publicUrl);
    if (answer.kind === 'bad-request') {
      req.log.info({ reason: answer.reason }, 'service discovery refused');
      return reply.code(400).type('text/plain').send(`${answer.reason}\n`);
    }
    if (answer.kind === 'refused') {
      req.log.info({ reason: answer.body.description }, 'service discovery declined');
      return reply.code(403).type('application/json').send(answer.body);
    }
    return reply.code(200).type('application/json').header('cache-control', 'no-store').send(answer.body);
  });

  app.post(ACCOUNT_ENROLL_PATH, { schema: { hide: true }, bodyLimit: ENROLLMENT_REQUEST_MAX_BYTES }, async (req, reply) => {
    let request;
    try {
      // A JSON body was parsed by Fastify already: not what a device sends.
      request = parseEnrollmentRequest(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    } catch (err) {
      if (!(err instanceof EnrollmentRequestError)) throw err;
      req.log.info({ reason: err.message }, 'user enrollment request refused');
      return reply.code(400).type('text/plain').send(`${err.message}\n`);
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const answer = await userEnrollment.accountProfile(bearer, request);
    if (answer.kind === 'challenge') {
      req.log.info({ reason: answer.reason, product: request.product }, 'user enrollment: sign-in asked for');
      return reply.code(401).header('www-authenticate', bearerChallenge(publicUrl)).header('cache-control', 'no-store').send();
    }
    await audit.record({ actor: `enrollee:${answer.userId}`, action: 'enrollment-profile.download', target: answer.pendingId, source: req.ip, outcome: 'success', details: { mode: 'user-account', product: request.product ?? null } });
    req.log.info({ pendingId: answer.pendingId }, 'user enrollment profile issued');
    return reply.code(200).header('content-type', PROFILE_CONTENT_TYPE).header('cache-control', 'no-store').send(answer.body);
  });

  // The device's web view: the record starts here, with the account the person typed on the device.
  app.get(WEB_AUTH_PATH, { schema: { hide: true } }, async (req: FastifyRequest, reply) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const typed = q['user-identifier'];
    const hint = typed === undefined ? undefined : userEnrollment.accountHint(typed);
    if (typed !== undefined && !hint) {
      req.log.info('user enrollment web-auth refused: malformed user-identifier');
      return refusalPage(reply, 400, undefined, 'Cannot enroll this device', 'The work account this device sent is not valid. Go back and check the account you typed.');
    }
    const { pending: p, browserKey } = await pending.create({ mode: 'user-account', sourceAddress: req.ip, context: hint ? { userIdentifier: hint } : undefined });
    if (hint) await userEnrollment.rememberHint(p.id, hint);
    setBrowserKey(reply, p.id, browserKey, { secure: secureCookies, maxAgeSeconds: COOKIE_MAX_AGE_SECONDS });
    req.log.info({ pendingId: p.id, mode: p.mode }, 'enrollment started');
    return reply.code(303).header('location', `/enroll/sign-in/${p.id}`).header('cache-control', 'no-store').send();
  });

  signIn.onComplete('user-account', async (p, reply, ctx) => {
    if (p.state !== 'authenticated') {
      return refusalPage(reply, 409, p, 'Already signed in', 'This enrollment has already handed its sign-in to your device. Go back to Settings to finish, or start again from Settings.');
    }
    try {
      const next = await userEnrollment.afterSignIn(p.id);
      if (next.mode !== 'user-account') throw new Error('unreachable: mode changed');
      ctx.request.log.info({ pendingId: p.id }, 'user enrollment signed in; access token handed to the device');
      // 308 to Apple's callback scheme ends the ASWebAuthenticationSession with the token.
      return reply.code(308).header('location', next.location).header('cache-control', 'no-store').send();
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      ctx.request.log.info({ pendingId: p.id, reason: err.message }, 'user enrollment refused after sign-in');
      return refusalPage(reply, statusOf(err), p, 'Cannot enroll this device', err.message);
    }
  }, { kind: 'user-enrollment', groupIdField: false, ownership: 'employee-owned' });

  // ---- profile-based ------------------------------------------------------------------------

  app.get(PROFILE_START, { schema: { hide: true } }, async (req, reply) =>
    signIn.start(req, reply, { mode: 'user-profile', platform: platformHint(req.headers['user-agent']) }),
  );

  signIn.onComplete('user-profile', async (p, reply, ctx) => {
    if (p.state === 'profile-issued') return sendPage(reply, 200, userProfileDownloadedPage({ brand: ctx.brand, restartHref: PROFILE_START }));
    try {
      await userEnrollment.afterSignIn(p.id);
    } catch (err) {
      if (!(err instanceof ServiceError)) throw err;
      ctx.request.log.info({ pendingId: p.id, reason: err.message }, 'user enrollment refused after sign-in');
      return refusalPage(reply, statusOf(err), p, 'Cannot enroll this device', err.message, PROFILE_START);
    }
    const current = await pending.get(p.id);
    const group = await groups.get(current.groupId!);
    return sendPage(reply, 200, userProfileDownloadPage({
      brand: ctx.brand, groupName: group.name, managedAppleId: current.managedAppleId!,
      profileHref: `${PROFILE_START}/${p.id}/profile?t=${encodeURIComponent(ctx.csrf)}`,
    }));
  }, { kind: 'user-enrollment', groupIdField: true, ownership: 'employee-owned', restartPath: PROFILE_START });

  app.get(`${PROFILE_START}/:id/profile`, {
    schema: { hide: true, params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] }, querystring: { type: 'object', properties: { t: { type: 'string', maxLength: 100 } } } },
  }, async (req: FastifyRequest<{ Params: { id: string }; Querystring: { t?: string } }>, reply: FastifyReply) => {
    // The CSRF token in the link: a cross-site page cannot make this browser spend its one download.
    const p = await signIn.open(req, reply, req.params.id, { csrf: req.query.t ?? '' });
    if (!p) return reply;
    try {
      const { body } = await userEnrollment.downloadProfile(p.id, browserKeyFrom(req, p.id));
      await audit.record({ actor: `enrollee:${p.userId}`, action: 'enrollment-profile.download', target: p.id, source: req.ip, outcome: 'success', details: { mode: 'user-profile', groupId: p.groupId } });
      return reply
        .code(200)
        .header('content-type', PROFILE_CONTENT_TYPE)
        .header('content-disposition', 'attachment; filename="work-account.mobileconfig"')
        .header('cache-control', 'no-store')
        .send(body);
    } catch (err) {
      if (err instanceof EnrollmentProfileError) {
        req.log.error({ pendingId: p.id, reason: err.message }, 'user enrollment profile could not be built');
        return refusalPage(reply, 503, p, 'Enrollment unavailable', 'This server cannot enroll devices right now. Ask your IT department.');
      }
      if (!(err instanceof ServiceError)) throw err;
      req.log.info({ pendingId: p.id, reason: err.message }, 'user enrollment profile refused');
      if (err.kind === 'conflict' && p.state === 'authenticated') return reply.code(303).header('location', `/enroll/sign-in/${p.id}`).send();
      return refusalPage(reply, statusOf(err), p, 'Cannot download the profile', err.message, PROFILE_START);
    }
  });

  // ---- admin API ----------------------------------------------------------------------------

  const ManagedAppleId = Type.Object({
    userId: Type.String(),
    assigned: Type.Union([Type.String(), Type.Null()], { description: 'the account an admin assigned' }),
    effective: Type.Union([Type.String(), Type.Null()], { description: 'the account user enrollment assigns: the assigned one, else a directory or SSO user\'s e-mail' }),
    source: Type.Union([Type.Literal('assigned'), Type.Literal('email'), Type.Literal('none')]),
  });
  const UserParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

  // A branch's admins manage the accounts of the users whose default group is in their branch.
  const ofUser = [target('user', param('id'))];

  r.get('/api/v1/users/:id/managed-apple-id', {
    config: { permission: 'read', scope: ofUser },
    schema: { tags: ['users'], summary: "A user's Managed Apple Account (assigned in user enrollment profiles)", params: UserParams, response: { 200: ManagedAppleId, 404: ErrorBody } },
  }, async (req, reply) => userEnrollment.managedAppleId(req.params.id).catch((err) => sendServiceError(reply, err)));

  r.put('/api/v1/users/:id/managed-apple-id', {
    config: { permission: 'admin', scope: ofUser },
    schema: {
      tags: ['users'],
      summary: "Assign a user's Managed Apple Account (null: back to the default)",
      description: 'User enrollment assigns this account (AssignedManagedAppleID); without one, a directory or SSO user\'s e-mail address is used, and a local user cannot use user enrollment. One account belongs to one user.',
      params: UserParams,
      // Null first: with type coercion on, a null tried against the string first would become "".
      body: Type.Object({ managedAppleId: Type.Union([Type.Null(), Type.String({ maxLength: 254 })]) }),
      response: { 200: ManagedAppleId, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const view = await userEnrollment.setManagedAppleId(req.params.id, req.body.managedAppleId);
      await audit.record({ actor: req.actor!.label, action: 'user.managed-apple-id.set', target: req.params.id, source: req.ip, outcome: 'success', details: { managedAppleId: view.assigned } });
      return view;
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });
}

function statusOf(err: ServiceError): number {
  return { not_found: 404, conflict: 409, invalid: 400, refused: 403 }[err.kind];
}
