/**
 * Web enrollment for devices outside ADE:
 *
 *   GET /enroll/web[?group=GROUPID]     starts a staging record (mode 'web') → the sign-in pages
 *   (sign-in, Group ID, terms: src/enroll/sign-in/)  → the download page below
 *   GET /enroll/web/:id/profile?t=CSRF  the enrollment profile, once, to the browser that signed in
 *
 * The profile's CheckInURL names the record (see EnrollmentProfileService.build), so the
 * device's first Authenticate places it: group, ownership, user, method 'web', token.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditService } from '../org/audit-service.js';
import type { OrgGroupService } from '../org/org-group-service.js';
import { PendingEnrollmentError, type PendingEnrollmentService } from './pending-enrollment-service.js';
import { EnrollmentProfileError, type EnrollmentProfileService } from './profile-service.js';
import { PROFILE_CONTENT_TYPE } from './profile-routes.js';
import { messagePage } from './sign-in/sign-in-pages.js';
import { sendPage, type SignIn } from './sign-in/sign-in-routes.js';
import { platformHint } from './sign-in/sign-in-service.js';
import { downloadPage, downloadedPage } from './web-enrollment-pages.js';

const START = '/enroll/web';

export async function webEnrollmentRoutes(
  app: FastifyInstance,
  deps: { signIn: SignIn; pending: PendingEnrollmentService; groups: OrgGroupService; profiles: EnrollmentProfileService; audit: AuditService },
): Promise<void> {
  const { signIn, pending, groups, profiles, audit } = deps;

  signIn.onComplete('web', async (p, reply, ctx) => {
    if (p.state === 'profile-issued') return sendPage(reply, 200, downloadedPage({ brand: ctx.brand, restartHref: START }));
    const group = await groups.get(p.groupId!);
    return sendPage(reply, 200, downloadPage({ brand: ctx.brand, groupName: group.name, profileHref: `${START}/${p.id}/profile?t=${encodeURIComponent(ctx.csrf)}` }));
  }, { kind: 'web-enrollment', groupIdField: true, restartPath: START });

  app.get(START, { schema: { hide: true, querystring: { type: 'object', properties: { group: { type: 'string', maxLength: 40 } } } } }, async (req: FastifyRequest<{ Querystring: { group?: string } }>, reply) => {
    const code = req.query.group?.trim();
    const group = code ? await groups.byGroupId(code) : undefined;
    if (code && !group) {
      return sendPage(reply, 404, messagePage({ brand: await signIn.service.brand(undefined), title: 'Unknown Group ID', message: `There is no group with the Group ID "${code}". Check the link you were given.`, link: { href: START, text: 'Start without a Group ID' } }));
    }
    return signIn.start(req, reply, { mode: 'web', groupId: group?.id, platform: platformHint(req.headers['user-agent']) });
  });

  app.get(`${START}/:id/profile`, {
    schema: { hide: true, params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] }, querystring: { type: 'object', properties: { t: { type: 'string', maxLength: 100 } } } },
  }, async (req: FastifyRequest<{ Params: { id: string }; Querystring: { t?: string } }>, reply: FastifyReply) => {
    // The CSRF token in the link: a cross-site page cannot make this browser spend its one download.
    const p = await signIn.open(req, reply, req.params.id, { csrf: req.query.t ?? '' });
    if (!p) return reply;
    const brand = await signIn.service.brand(p.groupId);
    const refuse = (status: number, title: string, message: string) =>
      sendPage(reply, status, messagePage({ brand, title, message, link: { href: START, text: 'Start again' } }));
    if (p.mode !== 'web') return refuse(404, 'Enrollment not found', 'This is not a web enrollment.');
    let checkInKey: string;
    try {
      ({ checkInKey } = await pending.profileIssued(p.id));
    } catch (err) {
      if (!(err instanceof PendingEnrollmentError)) throw err;
      req.log.info({ pendingId: p.id, reason: err.message }, 'web enrollment profile refused');
      if (err.code === 'conflict') return refuse(409, 'Profile already downloaded', err.message);
      if (err.code === 'refused') return reply.code(303).header('location', `/enroll/sign-in/${p.id}`).send();
      return refuse(404, 'Enrollment not found', err.message);
    }
    try {
      const profile = await profiles.build({ signed: true, checkInKey, organization: brand });
      await audit.record({ actor: p.userId ? `enrollee:${p.userId}` : 'enrollee:token', action: 'enrollment-profile.download', target: p.id, source: req.ip, outcome: 'success', details: { mode: 'web', groupId: p.groupId, tokenId: p.registrationTokenId } });
      return reply
        .code(200)
        .header('content-type', PROFILE_CONTENT_TYPE)
        .header('content-disposition', 'attachment; filename="enroll.mobileconfig"')
        .header('cache-control', 'no-store')
        .send(profile.body);
    } catch (err) {
      if (!(err instanceof EnrollmentProfileError)) throw err;
      req.log.error({ pendingId: p.id, reason: err.message }, 'web enrollment profile could not be built');
      return refuse(503, 'Enrollment unavailable', 'This server cannot enroll devices right now. Ask your IT department.');
    }
  });
}
