/**
 * The end-user sign-in pages every enrollment flow hands its users to, and `SignIn`, the
 * object flows use to start a sign-in and to take over once it is done:
 *
 *   signIn.onComplete('web', (pending, reply, ctx) => …, { kind: 'web-enrollment', groupIdField: true, restartPath: '/enroll/web' });
 *   return signIn.start(request, reply, { mode: 'web', groupId, platform });   // → 303 to /enroll/sign-in/:id
 *   return signIn.startHere(request, reply, { mode: 'ade-webview', … });      // the first page itself
 *
 *   GET  /enroll/sign-in/:id           the page for the record's state: methods, terms, or the flow's continuation
 *   POST /enroll/sign-in/:id/password  user name and password (local or LDAP)
 *   POST /enroll/sign-in/:id/token     registration token (with the password for two-factor tokens)
 *   POST /enroll/sign-in/:id/sso       → 303 to the SAML or OIDC provider
 *   GET  /enroll/sign-in/:id/sso?n=…   back from the provider (via /sso/…, see src/org/sso-return-routes.ts)
 *   POST /enroll/sign-in/:id/terms     accept (or decline) the terms of use
 *
 * Every page needs the record's browser cookie, every POST its CSRF token (browser-binding.ts).
 * A successful post answers with the record's next page itself (the terms of use), not a redirect
 * to it: a request fewer per step for every device in Setup Assistant, whose server CPU per
 * enrollment is a goal (bench/ade.ts). The flow's continuation — the profile itself — still comes
 * from a GET after a 303, whatever was posted (`show`). A reload that posts a form again once the
 * record is past that step shows the record's current page and changes nothing. The return from
 * SSO, a GET, still redirects.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServiceError } from '../../service-error.js';
import type { PendingEnrollment, PendingEnrollmentService, PendingMode } from '../pending-enrollment-service.js';
import { PendingEnrollmentError } from '../pending-enrollment-service.js';
import type { Platform } from '../../org/registration-token-service.js';
import type { SsoReturnHandler } from '../../org/sso-return-routes.js';
import { browserKeyFrom, csrfToken, csrfValid, handoffCookie, handoffKeyFrom, setBrowserKey } from './browser-binding.js';
import { messagePage, signInPage, termsPage, type SignInPageValues } from './sign-in-pages.js';
import { SignInRefusal, type SignInRules, type SignInService } from './sign-in-service.js';

export interface ContinuationContext {
  request: FastifyRequest;
  /** the record's CSRF token, for the forms and links the continuation renders */
  csrf: string;
  /** the organization name to brand pages with */
  brand: string;
}

/** What a flow does once the user signed in and accepted the terms (also when the user comes back later). */
export type Continuation = (pending: PendingEnrollment, reply: FastifyReply, ctx: ContinuationContext) => unknown;

export interface ContinuationOptions extends Partial<SignInRules> {
  /** where a user starts again after a refusal or an expired link (none: the device restarts the flow) */
  restartPath?: string;
}

const SIGN_IN_PATH = '/enroll/sign-in';
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

export class SignIn {
  readonly #continuations = new Map<PendingMode, { handler: Continuation; restartPath?: string }>();

  constructor(
    readonly service: SignInService,
    readonly pending: PendingEnrollmentService,
    private readonly opts: { secureCookies: boolean; cookieMaxAgeSeconds?: number },
  ) {}

  /**
   * Registers what happens after sign-in for a mode, and optionally how the mode signs in
   * (enrollment kind, Group ID field, fixed ownership, placement). Registering again replaces.
   */
  onComplete(mode: PendingMode, handler: Continuation, options: ContinuationOptions = {}): void {
    const { restartPath, ...rules } = options;
    if (Object.keys(rules).length > 0) this.service.configure(mode, { groupIdField: false, ...this.service.rulesFor(mode), ...rules });
    this.#continuations.set(mode, { handler, restartPath });
  }

  /**
   * Creates a staging record, hands this browser its key, and sends it to the sign-in page; a
   * reload there shows the same record again.
   */
  async start(request: FastifyRequest, reply: FastifyReply, input: StartInput): Promise<FastifyReply> {
    const { pending } = await this.#create(request, reply, input);
    return seeRecord(reply, pending.id);
  }

  /**
   * The same, with the first page in this very response. For Setup Assistant's web view, which
   * makes a new record on every load anyway and has no reload button.
   */
  async startHere(request: FastifyRequest, reply: FastifyReply, input: StartInput): Promise<unknown> {
    const { pending, browserKey } = await this.#create(request, reply, input);
    return this.show(request, reply, pending, { browserKey });
  }

  async #create(request: FastifyRequest, reply: FastifyReply, input: StartInput): Promise<{ pending: PendingEnrollment; browserKey: string }> {
    const created = await this.pending.create({ ...input, sourceAddress: request.ip });
    setBrowserKey(reply, created.pending.id, created.browserKey, { secure: this.opts.secureCookies, maxAgeSeconds: this.opts.cookieMaxAgeSeconds ?? 3600 });
    request.log.info({ pendingId: created.pending.id, mode: input.mode }, 'enrollment started');
    return created;
  }

  /**
   * The record, if this browser may use it (and, when `csrf` is passed, if it is the record's
   * CSRF token); otherwise a page was sent — 404 unknown or expired, 403 another browser or a
   * bad CSRF token — and undefined is returned. For continuation routes as well as ours.
   */
  async open(request: FastifyRequest, reply: FastifyReply, id: string, check: { csrf?: unknown } = {}): Promise<PendingEnrollment | undefined> {
    let p: PendingEnrollment;
    try {
      p = await this.pending.open(id, browserKeyFrom(request, id));
    } catch (err) {
      if (!(err instanceof PendingEnrollmentError)) throw err;
      const known = await this.pending.get(id).catch(() => undefined);
      request.log.info({ reason: err.message }, 'enrollment page refused');
      await this.#message(reply, err.code === 'not_found' ? 404 : 403, known, err.code === 'not_found' ? 'Enrollment not found' : 'Enrollment started elsewhere', err.message);
      return undefined;
    }
    if ('csrf' in check && !csrfValid(request, id, check.csrf)) {
      request.log.info({ pendingId: id }, 'enrollment form refused: missing or wrong CSRF token');
      await this.#message(reply, 403, p, 'Form expired', 'This form is no longer valid. Go back, reload the page and try again.');
      return undefined;
    }
    return p;
  }

  /**
   * The page for the record's state (`browserKey`: the one just handed out, not yet a cookie of
   * the request). The answer to a POST never carries the flow's continuation (the enrollment
   * profile, a download page, a redirect back to the device): it is a 303 to the record's page,
   * so Setup Assistant's web view and Safari get a profile from a GET, as they always have (Apple
   * documents the profile's type, not the method; nothing here can try a real device).
   */
  async show(request: FastifyRequest, reply: FastifyReply, p: PendingEnrollment, form: { status?: number; error?: string; values?: SignInPageValues; askPlatform?: boolean; browserKey?: string } = {}): Promise<unknown> {
    const csrf = csrfToken(form.browserKey ?? browserKeyFrom(request, p.id)!, p.id);
    const base = `${SIGN_IN_PATH}/${p.id}`;
    if (p.state === 'started') {
      const offer = await this.service.offer(p);
      return sendPage(reply, form.status ?? 200, signInPage({ base, csrf, offer, error: form.error, values: form.values, askPlatform: form.askPlatform }));
    }
    const terms = await this.service.termsToAccept(p);
    if (!terms && request.method === 'POST') return seeRecord(reply, p.id);
    const brand = await this.service.brand(p.groupId);
    if (terms) return sendPage(reply, form.status ?? 200, termsPage({ brand, base, csrf, version: terms.version, text: terms.text, error: form.error }));
    const next = this.#continuations.get(p.mode);
    if (!next) return this.#message(reply, 503, p, 'Enrollment unavailable', 'This kind of enrollment cannot continue on this server. Ask your IT department.');
    return next.handler(p, reply, { request, csrf, brand });
  }

  /** A refusal from a sign-in step, shown on the page it came from. */
  async refused(request: FastifyRequest, reply: FastifyReply, p: PendingEnrollment, err: unknown, form: { values?: SignInPageValues } = {}): Promise<unknown> {
    const status = statusOf(err);
    request.log.info({ pendingId: p.id, reason: (err as Error).message, detail: err instanceof SignInRefusal ? err.detail : undefined }, 'enrollment sign-in refused');
    if (err instanceof SignInRefusal && err.kind === 'throttled') reply.header('retry-after', String(Math.ceil(err.retryAfterMs / 1000)));
    const current = await this.pending.get(p.id);
    if (current.state === 'incomplete') return this.#message(reply, 404, current, 'Enrollment not found', 'This enrollment has expired; start again.');
    return this.show(request, reply, current, { status, error: (err as Error).message, values: form.values, askPlatform: err instanceof SignInRefusal && err.kind === 'platform-needed' });
  }

  /** The handler for src/org/sso-return-routes.ts: claims the return paths `startSso` chose. */
  ssoReturnHandler(): SsoReturnHandler {
    return async ({ providerId, identity, returnTo }) => {
      try {
        const back = await this.service.ssoReturned(providerId, identity, returnTo);
        return back ? { redirect: back.path, setCookie: handoffCookie(back.pendingId, back.handoffKey, { secure: this.opts.secureCookies }) } : undefined;
      } catch (err) {
        if (err instanceof SignInRefusal) return { refuse: err.message };
        throw err;
      }
    };
  }

  async #message(reply: FastifyReply, status: number, p: PendingEnrollment | undefined, title: string, message: string): Promise<FastifyReply> {
    const restart = p ? this.#continuations.get(p.mode)?.restartPath : undefined;
    const brand = await this.service.brand(p?.groupId);
    return sendPage(reply, status, messagePage({ brand, title, message, link: restart ? { href: restart, text: 'Start again' } : undefined }));
  }
}

/** 303 to the record's page, read with a GET (after a post, or to start where a reload keeps the record). */
const seeRecord = (reply: FastifyReply, id: string): FastifyReply => reply.code(303).header('location', `${SIGN_IN_PATH}/${id}`).send();

type StartInput = { mode: PendingMode; groupId?: string; platform?: Platform; context?: Record<string, unknown>; serialNumber?: string };

export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.code(status).headers(PAGE_HEADERS).send(html);
}

/** The fields of a form post (browsers send application/x-www-form-urlencoded; the body arrives raw). */
export function formFields(request: FastifyRequest): URLSearchParams {
  const body = request.body;
  return new URLSearchParams(Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '');
}

const field = (f: URLSearchParams, name: string, max: number) => (f.get(name) ?? '').slice(0, max);

function statusOf(err: unknown): number {
  if (err instanceof SignInRefusal) return { invalid: 400, refused: 403, throttled: 429, unavailable: 503, 'platform-needed': 400 }[err.kind];
  if (err instanceof ServiceError) return { not_found: 404, conflict: 409, invalid: 400, refused: 403 }[err.kind];
  throw err;
}

const Params = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] } as const;

export async function signInRoutes(app: FastifyInstance, deps: { signIn: SignIn }): Promise<void> {
  const { signIn } = deps;
  const { service } = signIn;
  const opts = { schema: { hide: true, params: Params } };
  type Req = FastifyRequest<{ Params: { id: string }; Querystring: { n?: string } }>;
  /** The record, if it still waits for a sign-in; otherwise its page was sent (a reload posting again). */
  const signingIn = async (req: Req, reply: FastifyReply, f: URLSearchParams): Promise<PendingEnrollment | undefined> => {
    const p = await signIn.open(req, reply, req.params.id, { csrf: f.get('csrf') });
    if (p && p.state !== 'started') {
      await signIn.show(req, reply, p);
      return undefined;
    }
    return p;
  };

  app.get(`${SIGN_IN_PATH}/:id`, opts, async (req: Req, reply) => {
    const p = await signIn.open(req, reply, req.params.id);
    return p ? signIn.show(req, reply, p) : reply;
  });

  app.post(`${SIGN_IN_PATH}/:id/password`, opts, async (req: Req, reply) => {
    const f = formFields(req);
    const p = await signingIn(req, reply, f);
    if (!p) return reply;
    const values = { username: field(f, 'username', 256), groupId: field(f, 'groupId', 40) };
    try {
      const done = await service.withPassword(p, { ...values, password: field(f, 'password', 1024), typedGroupId: values.groupId, source: req.ip });
      req.log.info({ pendingId: p.id, username: values.username }, 'enrollment sign-in');
      return await signIn.show(req, reply, done);
    } catch (err) {
      return signIn.refused(req, reply, p, err, { values });
    }
  });

  app.post(`${SIGN_IN_PATH}/:id/token`, opts, async (req: Req, reply) => {
    const f = formFields(req);
    const p = await signingIn(req, reply, f);
    if (!p) return reply;
    const values = { token: field(f, 'token', 100), tokenUsername: field(f, 'username', 256) };
    try {
      const done = await service.withToken(p, { token: values.token, username: values.tokenUsername, password: field(f, 'password', 1024), platform: field(f, 'platform', 20) || undefined, source: req.ip });
      req.log.info({ pendingId: p.id }, 'enrollment sign-in with a registration token');
      return await signIn.show(req, reply, done);
    } catch (err) {
      return signIn.refused(req, reply, p, err, { values });
    }
  });

  app.post(`${SIGN_IN_PATH}/:id/sso`, opts, async (req: Req, reply) => {
    const f = formFields(req);
    const p = await signingIn(req, reply, f);
    if (!p) return reply;
    try {
      const { redirectUrl } = await service.startSso(p, { providerId: field(f, 'provider', 64), typedGroupId: field(f, 'groupId', 40) });
      return reply.code(303).header('location', redirectUrl).header('cache-control', 'no-store').send();
    } catch (err) {
      return signIn.refused(req, reply, p, err, { values: { groupId: field(f, 'groupId', 40) } });
    }
  });

  app.get(`${SIGN_IN_PATH}/:id/sso`, opts, async (req: Req, reply) => {
    const p = await signIn.open(req, reply, req.params.id);
    if (!p) return reply;
    try {
      await service.finishSso(p, String(req.query.n ?? ''), handoffKeyFrom(req, p.id));
      req.log.info({ pendingId: p.id }, 'enrollment sign-in through SSO');
      return seeRecord(reply, p.id);
    } catch (err) {
      return signIn.refused(req, reply, p, err);
    }
  });

  app.post(`${SIGN_IN_PATH}/:id/terms`, opts, async (req: Req, reply) => {
    const f = formFields(req);
    const p = await signIn.open(req, reply, req.params.id, { csrf: f.get('csrf') });
    if (!p) return reply;
    if (f.get('decision') !== 'accept') {
      return signIn.show(req, reply, p, { status: 403, error: 'You must accept the terms of use to enroll this device. Accept them below, or close this page.' });
    }
    try {
      const done = await service.acceptTerms(p, Number(f.get('version')));
      req.log.info({ pendingId: p.id, version: Number(f.get('version')) }, 'terms of use accepted');
      return await signIn.show(req, reply, done);
    } catch (err) {
      return signIn.refused(req, reply, p, err);
    }
  });
}
