/**
 * The ADE web view (`configuration_web_url` of profiles with authentication on):
 *
 *   GET /enroll/ade/webview?profile=ID   Setup Assistant loads it with `x-apple-aspen-deviceinfo`;
 *                                         a new staging record (mode 'ade-webview') each load,
 *                                         then the shared sign-in pages (src/enroll/sign-in/)
 *   … sign-in, terms of the final group …
 *   continuation                          the enrollment profile itself
 *                                         (application/x-apple-aspen-config), which Setup
 *                                         Assistant installs from the page
 *
 * The device record is created at the first check-in and keyed by serial, so a restarted web
 * view leaves only an unused staging record behind, never a ghost device.
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { machineInfoFromHeader, type MachineInfoTrust } from '../apple/machine-info.js';
import { machineContext, type AdeEnrollmentService } from './ade-service.js';
import { deviceRefusal, sendAdeAnswer } from './ade-routes.js';
import { messagePage } from './sign-in/sign-in-pages.js';
import { sendPage, type SignIn } from './sign-in/sign-in-routes.js';

export const ADE_WEBVIEW_PATH = '/enroll/ade/webview';

export async function adeWebViewRoutes(app: FastifyInstance, deps: { ade: AdeEnrollmentService; signIn: SignIn; trust: MachineInfoTrust[] }): Promise<void> {
  const { ade, signIn } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  signIn.onComplete('ade-webview', async (p, reply, ctx) => {
    if (p.state !== 'authenticated') {
      return sendPage(reply, 409, messagePage({ brand: ctx.brand, title: 'Already delivered', message: 'This device already received its enrollment profile. If Setup Assistant did not continue, go back and start again.' }));
    }
    return sendAdeAnswer(reply, await ade.issueFor(p));
  }, { groupIdField: false, place: ({ pending, userId, tokenGroupId }) => ade.placeSignedIn(pending, userId, tokenGroupId) });

  r.get(ADE_WEBVIEW_PATH, { schema: { hide: true, querystring: Type.Object({ profile: Type.Optional(Type.String({ maxLength: 64 })) }) } }, async (request, reply) => {
    try {
      const info = machineInfoFromHeader(request.headers['x-apple-aspen-deviceinfo'], deps.trust);
      const decision = await ade.webView(info, request.query.profile);
      if (decision.kind === 'software-update') return sendAdeAnswer(reply, decision);
      const { target } = decision;
      request.log.info({ serial: info.serial, profile: target.profile.id }, 'ADE web view opened');
      return await signIn.start(request, reply, {
        mode: 'ade-webview',
        serialNumber: info.serial,
        groupId: target.groupId,
        platform: target.platform ?? undefined,
        context: { ...machineContext(info), profileId: target.profile.id, abmServerId: target.serverId },
      });
    } catch (err) {
      // The web view shows pages: a refusal is a page the user can read, with the reason.
      const refusal = deviceRefusal(request, err);
      if (!refusal) throw err;
      const brand = await signIn.service.brand(undefined);
      return sendPage(reply, refusal.status, messagePage({ brand, title: 'This device cannot enroll', message: refusal.message }));
    }
  });
}
