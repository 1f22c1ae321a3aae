/**
 * Console sign-in through an identity provider (see console-sign-in.ts for the steps):
 *
 *   GET /api/v1/session/sso/providers                  the providers to offer (public)
 *   GET /api/v1/session/sso/:providerId/start?returnTo  → 303 to the provider, binding cookie set
 *   (the provider answers at /sso/saml/:id/acs or /sso/oidc/:id/callback: sso-return-routes.ts,
 *    whose dispatch calls `consoleSsoReturnHandler`)
 *   GET /api/v1/session/sso/:providerId/complete?code   → session cookie, 303 to a same-origin path
 *
 * The session is made exactly as a password sign-in makes it: a fresh id (the one the browser
 * came with, if any, is ended), the same cookie, the same audit event.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { parseCookies, sessionCookie, sessionIdFrom } from '../http/auth.js';
import { ErrorBody } from '../http/service-errors.js';
import type { AdminService } from './admin-service.js';
import type { AuditService } from './audit-service.js';
import { ConsoleSignIn, ConsoleSignInError } from './console-sign-in.js';
import { SignInError } from './idp/identity.js';
import { safeRedirectPath } from './idp/safe-redirect.js';
import type { SsoReturnHandler } from './sso-return-routes.js';

const BINDING_COOKIE = 'pomona_sso';
const BINDING_PATH = '/api/v1/session/sso';
const BINDING_TTL_S = 15 * 60;

/**
 * The binding cookie: only this browser may complete the sign-in. SameSite=Lax, because the way
 * back is a top-level navigation that started at the provider's site (Strict would not be sent).
 */
function bindingCookie(value: string, secure: boolean): string {
  return [`${BINDING_COOKIE}=${value}`, `Path=${BINDING_PATH}`, 'HttpOnly', 'SameSite=Lax', `Max-Age=${value ? BINDING_TTL_S : 0}`, ...(secure ? ['Secure'] : [])].join('; ');
}

/** For sso-return-routes.ts: takes the return paths of console sign-ins, leaves every other. */
export function consoleSsoReturnHandler(signIn: ConsoleSignIn, audit: AuditService): SsoReturnHandler {
  return async ({ providerId, identity, returnTo, purpose }) => {
    if (purpose !== 'console' || !signIn.isConsoleReturn(providerId, returnTo)) return undefined;
    try {
      const { code } = await signIn.signedIn(providerId, identity, returnTo);
      return { redirect: `${ConsoleSignIn.returnPath(providerId)}?code=${code}` };
    } catch (err) {
      if (!(err instanceof ConsoleSignInError)) throw err;
      await audit.record({ actor: 'anonymous', action: 'session.login', target: `sso:${identity.username.slice(0, 64)}`, outcome: 'failure', details: { method: 'sso', provider: providerId, reason: err.reason } });
      return { refuse: err.message };
    }
  };
}

export async function consoleSsoRoutes(app: FastifyInstance, deps: { signIn: ConsoleSignIn; admins: AdminService; audit: AuditService }): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { signIn, admins, audit } = deps;
  const tags = ['session'];
  const Provider = Type.Object({ providerId: Type.String({ maxLength: 64 }) });
  const refuse = (reply: FastifyReply, status: number, message: string) => reply.code(status).header('cache-control', 'no-store').send({ error: 'sign_in_failed', message });

  r.get('/api/v1/session/sso/providers', {
    schema: {
      tags, summary: 'The identity providers admins may sign in to the console through (public: the sign-in buttons)', security: [],
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), kind: Type.String() })) }) },
    },
  }, async () => ({ items: await signIn.providers() }));

  r.get('/api/v1/session/sso/:providerId/start', {
    schema: {
      tags, summary: 'Start a console sign-in at an identity provider (redirects there)', security: [], params: Provider,
      description: 'returnTo is where the console lands afterwards: a path on this server (anything else lands on /).',
      querystring: Type.Object({ returnTo: Type.Optional(Type.String({ maxLength: 2048 })) }),
      response: { 303: Type.Null(), 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const { redirectUrl, binding } = await signIn.start(req.params.providerId, req.query.returnTo);
      return reply.code(303).header('location', redirectUrl).header('cache-control', 'no-store').header('set-cookie', bindingCookie(binding, req.protocol === 'https')).send(null);
    } catch (err) {
      if (err instanceof ConsoleSignInError) return refuse(reply, 404, err.message);
      if (err instanceof SignInError) {
        req.log.info({ provider: req.params.providerId, reason: err.reason }, 'console SSO could not start');
        return refuse(reply, 400, err.message);
      }
      throw err;
    }
  });

  r.get('/api/v1/session/sso/:providerId/complete', {
    schema: {
      tags, summary: 'Finish a console sign-in (the identity provider\'s answer leads here)', security: [], params: Provider,
      querystring: Type.Object({ code: Type.String({ maxLength: 100 }) }),
      response: { 303: Type.Null(), 403: ErrorBody },
    },
  }, async (req, reply) => {
    const secure = req.protocol === 'https';
    const binding = parseCookies(req.headers.cookie).get(BINDING_COOKIE);
    let done: Awaited<ReturnType<ConsoleSignIn['complete']>>;
    try {
      done = await signIn.complete(req.params.providerId, req.query.code, binding);
    } catch (err) {
      if (!(err instanceof ConsoleSignInError)) throw err;
      await audit.record({ actor: 'anonymous', action: 'session.login', target: null, source: req.ip, outcome: 'failure', details: { method: 'sso', provider: req.params.providerId, reason: err.reason } });
      return refuse(reply, 403, err.message);
    }
    const { admin, to } = done;
    // A fresh session id; the one the browser came with (if any) ends here (no session fixation).
    const session = await admins.createSession(admin.id, { replacing: sessionIdFrom(req) });
    await audit.record({ actor: `user:${admin.username}`, action: 'session.login', target: `user:${admin.username}`, source: req.ip, outcome: 'success', details: { method: 'sso', provider: req.params.providerId } });
    return reply
      .code(303)
      .header('set-cookie', [sessionCookie(session.sessionId, { maxAgeSeconds: admins.sessionTtlMs / 1000, secure }), bindingCookie('', secure)])
      .header('location', safeRedirectPath(to, '/'))
      .header('cache-control', 'no-store')
      .send(null);
  });
}
