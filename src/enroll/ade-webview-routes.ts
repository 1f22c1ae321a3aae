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
import { formFields, sendPage, type SignIn } from './sign-in/sign-in-routes.js';
import { macAccountPage } from './ade-webview-pages.js';

export const ADE_WEBVIEW_PATH = '/enroll/ade/webview';

export async function adeWebViewRoutes(app: FastifyInstance, deps: { ade: AdeEnrollmentService; signIn: SignIn; trust: MachineInfoTrust[] }): Promise<void> {
  const { ade, signIn } = deps;
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  signIn.onComplete('ade-webview', async (p, reply, ctx) => {
    if (p.state !== 'authenticated') {
      return sendPage(reply, 409, messagePage({ brand: ctx.brand, title: 'Already delivered', message: 'This device already received its enrollment profile. If Setup Assistant did not continue, go back and start again.' }));
    }
    // A Mac whose profile prefills the primary account: the user confirms or edits it first.
    const account = await ade.accountStep(p);
    if (account) return sendPage(reply, 200, macAccountPage({ brand: ctx.brand, action: `${ADE_WEBVIEW_PATH}/${p.id}/account`, csrf: ctx.csrf, ...account }));
    return sendAdeAnswer(reply, await ade.issueFor(p));
  }, { groupIdField: false, place: ({ pending, userId, tokenGroupId }) => ade.placeSignedIn(pending, userId, tokenGroupId) });

  app.post(`${ADE_WEBVIEW_PATH}/:id/account`, { schema: { hide: true, params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] } } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const f = formFields(request);
    const p = await signIn.open(request, reply, id, { csrf: f.get('csrf') });
    if (!p) return reply;
    const input = { fullName: (f.get('fullName') ?? '').slice(0, 200), shortName: (f.get('shortName') ?? '').slice(0, 64) };
    try {
      return await signIn.show(request, reply, await ade.chooseAccount(p, input));
    } catch (err) {
      const refusal = deviceRefusal(request, err);
      if (!refusal) throw err;
      const account = await ade.accountStep(p);
      const brand = await signIn.service.brand(p.groupId);
      if (!account) return sendPage(reply, refusal.status, messagePage({ brand, title: 'This device cannot enroll', message: refusal.message }));
      return sendPage(reply, 400, macAccountPage({ brand, action: `${ADE_WEBVIEW_PATH}/${p.id}/account`, csrf: String(f.get('csrf')), ...account, ...input, error: refusal.message }));
    }
  });

  r.get(ADE_WEBVIEW_PATH, { schema: { hide: true, querystring: Type.Object({ profile: Type.Optional(Type.String({ maxLength: 64 })) }) } }, async (request, reply) => {
    try {
      const info = machineInfoFromHeader(request.headers['x-apple-aspen-deviceinfo'], deps.trust);
      const decision = await ade.webView(info, request.query.profile);
      if (decision.kind === 'software-update') return sendAdeAnswer(reply, decision);
      const { target } = decision;
      request.log.info({ serial: info.serial, profile: target.profile.id }, 'ADE web view opened');
      return await signIn.startHere(request, reply, {
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
