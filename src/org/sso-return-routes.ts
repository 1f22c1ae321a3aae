/**
 * Where identity providers send the browser back: `POST /sso/saml/:id/acs` (SAML HTTP-POST
 * binding) and `GET /sso/oidc/:id/callback` (authorization code). These URLs are fixed per
 * provider (registered at the IdP), so every feature that signs people in through a provider
 * shares them: each registers a handler that claims the return paths it started with, and
 * the first claim wins. A return path nobody claims ends on a page of ours — never a redirect
 * elsewhere (the return path came back through the browser, see idp/safe-redirect.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from './idp/identity.js';
import { SignInError } from './idp/identity.js';
import { IdentityProviderError, type IdentityProviderService, type SsoPurpose } from './identity-provider-service.js';
import { safeRedirectPath } from './idp/safe-redirect.js';

/** A same-origin path to send the browser on to (with a cookie to give it), a refusal to show, or undefined: not mine. */
export type SsoReturnOutcome = { redirect: string; setCookie?: string } | { refuse: string } | undefined;
/** `purpose` is what the sign-in was started for (kept server-side with it, so the IdP's answer cannot change it). */
export type SsoReturnHandler = (input: { providerId: string; identity: Identity; returnTo: string; purpose: SsoPurpose }) => Promise<SsoReturnOutcome>;

export class SsoReturns {
  readonly #handlers = new Map<string, SsoReturnHandler>();

  /** Registers (or replaces) the handler known by `name`. */
  register(name: string, handler: SsoReturnHandler): void {
    this.#handlers.set(name, handler);
  }

  async dispatch(input: { providerId: string; identity: Identity; returnTo: string; purpose: SsoPurpose }): Promise<SsoReturnOutcome> {
    for (const handler of this.#handlers.values()) {
      const outcome = await handler(input);
      if (outcome) return outcome;
    }
    return undefined;
  }
}

const Params = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] } as const;
type Req = FastifyRequest<{ Params: { id: string } }>;

export async function ssoReturnRoutes(app: FastifyInstance, deps: { idps: IdentityProviderService; returns: SsoReturns }): Promise<void> {
  const opts = { schema: { hide: true, params: Params } };

  const finish = async (req: Req, reply: FastifyReply, run: () => Promise<{ identity: Identity; returnTo: string; purpose: SsoPurpose }>) => {
    let outcome: SsoReturnOutcome;
    try {
      const { identity, returnTo, purpose } = await run();
      outcome = await deps.returns.dispatch({ providerId: req.params.id, identity, returnTo, purpose });
    } catch (err) {
      if (err instanceof SignInError) {
        req.log.info({ provider: req.params.id, reason: err.reason }, 'SSO sign-in refused');
        return page(reply, 400, 'Sign-in failed', err.message);
      }
      if (err instanceof IdentityProviderError) return page(reply, 404, 'Sign-in failed', err.message);
      throw err;
    }
    if (!outcome) {
      req.log.info({ provider: req.params.id }, 'SSO answer for a return path nobody waits for');
      return page(reply, 400, 'Nothing to continue', 'You are signed in, but no sign-in started on this server is waiting for it. Start again from the page you came from.');
    }
    if ('refuse' in outcome) return page(reply, 403, 'Sign-in refused', outcome.refuse);
    if (outcome.setCookie) reply.header('set-cookie', outcome.setCookie);
    // Handlers give paths of their own; checked again so a mistake there cannot become an open redirect.
    return reply.code(303).header('location', safeRedirectPath(outcome.redirect, '/')).header('cache-control', 'no-store').send();
  };

  app.post('/sso/saml/:id/acs', opts, async (req: Req, reply) => {
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const form = new URLSearchParams(body);
    return finish(req, reply, () => deps.idps.finishSaml(req.params.id, { SAMLResponse: form.get('SAMLResponse') ?? '', RelayState: form.get('RelayState') ?? undefined }));
  });

  app.get('/sso/oidc/:id/callback', opts, async (req: Req, reply) => finish(req, reply, () => deps.idps.finishOidc(req.params.id, req.url)));
}

function page(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return reply
    .code(status)
    .headers({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'", 'referrer-policy': 'no-referrer' })
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title></head><body style="font-family:-apple-system,sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem"><h1>${esc(title)}</h1><p role="status">${esc(message)}</p></body></html>`);
}
