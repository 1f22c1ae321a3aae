/**
 * Admins signing in to the console through an identity provider (SAML or OpenID Connect).
 *
 * 1. `start`: the provider must be enabled and have `consoleSignIn` on. The browser gets a random
 *    binding value (the routes keep it in a cookie); the sign-in's return path — kept server-side
 *    with the SSO flow — carries its hash and where to land afterwards.
 * 2. `signedIn`: the provider's answer arrives at the shared /sso/… routes (sso-return-routes.ts),
 *    whose dispatch hands console return paths here. The identity must name an enabled admin (by
 *    user name, then e-mail address; never created), and the provider must be configured at that
 *    admin's scope group or above it: a provider of a lower branch — which that branch's admins
 *    control — never signs in anyone scoped above it. The admin is parked under a one-time code.
 * 3. `complete`: the browser comes back with the code and the binding cookie; only the browser
 *    that started the sign-in completes it (a sign-in link forwarded elsewhere is worthless).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AdminService, ScopedAdmin } from './admin-service.js';
import { SignInError, type Identity } from './idp/identity.js';
import { safeRedirectPath } from './idp/safe-redirect.js';
import type { IdentityProviderService, IdentityProviderView } from './identity-provider-service.js';
import type { IdentityProviderStore } from './identity-provider-store.js';

/** What a refused console sign-in shows; the reason goes to the log and the audit log. */
export const NO_ADMIN = 'no Pomona admin account matches this sign-in; ask an administrator to add yours';
export const NOT_STARTED_HERE = 'this sign-in was not started in this browser, or it has expired; start again';

const CODE_TTL_MS = 2 * 60_000;
/** Hand-offs are kept with the SSO flows, under a provider id no provider has. */
const HANDOFF = 'console-sign-in';

export class ConsoleSignInError extends SignInError {}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

export interface ConsoleSignInDeps {
  admins: AdminService;
  idps: IdentityProviderService;
  flows: Pick<IdentityProviderStore, 'saveFlow' | 'consumeFlow'>;
  /** the organization-group path of a provider's group */
  providerPath: (providerId: string) => Promise<string | undefined>;
  now?: () => number;
}

export class ConsoleSignIn {
  readonly #now: () => number;

  constructor(private readonly deps: ConsoleSignInDeps) {
    this.#now = deps.now ?? Date.now;
  }

  /** The path an SSO sign-in for the console returns to (it never reaches the browser as such). */
  static returnPath(providerId: string): string {
    return `/api/v1/session/sso/${encodeURIComponent(providerId)}/complete`;
  }

  /** The sign-in buttons the console shows. */
  async providers(): Promise<{ id: string; name: string; kind: string }[]> {
    return (await this.deps.idps.consoleProviders()).map((p) => ({ id: p.id, name: p.name, kind: p.kind }));
  }

  /** The IdP URL to send the browser to, and the binding value the browser must keep. */
  async start(providerId: string, returnTo: unknown): Promise<{ redirectUrl: string; binding: string }> {
    await this.#consoleProvider(providerId);
    const binding = randomBytes(32).toString('base64url');
    const back = new URLSearchParams({ b: sha256(binding), to: safeRedirectPath(returnTo, '/') });
    const { redirectUrl } = await this.deps.idps.startSso(providerId, `${ConsoleSignIn.returnPath(providerId)}?${back}`, { purpose: 'console' });
    return { redirectUrl, binding };
  }

  /** Whether an SSO return path is one `start` chose (the dispatch offers every return path to every handler). */
  isConsoleReturn(providerId: string, returnTo: string): boolean {
    return returnTo.startsWith(`${ConsoleSignIn.returnPath(providerId)}?b=`);
  }

  /**
   * The provider vouched for `identity`: find its admin and park them under a one-time code.
   * Refusals are `ConsoleSignInError`s: a message for the user, a reason for the audit log.
   */
  async signedIn(providerId: string, identity: Identity, returnTo: string): Promise<{ admin: ScopedAdmin; code: string }> {
    const params = new URL(returnTo, 'https://pomona.invalid').searchParams;
    await this.#consoleProvider(providerId);
    const admin = await this.deps.admins.findForSignIn([identity.username, identity.email]);
    if (!admin) throw new ConsoleSignInError(NO_ADMIN, `no enabled admin is named "${identity.username.slice(0, 64)}"${identity.email ? ` or "${identity.email.slice(0, 64)}"` : ''}`);
    const providerPath = await this.deps.providerPath(providerId);
    if (!providerPath || !admin.scope.path.startsWith(providerPath)) {
      throw new ConsoleSignInError(NO_ADMIN, `admin "${admin.username}" is scoped outside the group this provider is configured at`);
    }
    const code = randomBytes(32).toString('base64url');
    const to = safeRedirectPath(params.get('to'), '/');
    await this.deps.flows.saveFlow(`console:${sha256(code)}`, HANDOFF, { adminId: admin.id, providerId, binding: params.get('b') ?? '', to }, this.#now() + CODE_TTL_MS);
    return { admin, code };
  }

  /** The browser is back with the code: the admin to open a session for, and where to land. */
  async complete(providerId: string, code: string, binding: string | undefined): Promise<{ admin: ScopedAdmin; to: string }> {
    const parked = /^[A-Za-z0-9_-]{43}$/.test(code)
      ? ((await this.deps.flows.consumeFlow(`console:${sha256(code)}`, HANDOFF, this.#now())) as { adminId: string; providerId: string; binding: string; to: string } | undefined)
      : undefined;
    if (!parked || parked.providerId !== providerId) throw new ConsoleSignInError(NOT_STARTED_HERE, 'unknown, used or expired hand-off code');
    if (!binding || sha256(binding) !== parked.binding) throw new ConsoleSignInError(NOT_STARTED_HERE, 'the browser does not hold the binding cookie of this sign-in');
    // Still an enabled admin now (the account may have been disabled in the meantime).
    const admin = await this.deps.admins.enabledUser(parked.adminId);
    if (!admin) throw new ConsoleSignInError(NO_ADMIN, 'the admin was disabled or deleted during the sign-in');
    return { admin, to: safeRedirectPath(parked.to, '/') };
  }

  async #consoleProvider(providerId: string): Promise<IdentityProviderView> {
    const p = await this.deps.idps.view(providerId).catch(() => undefined);
    if (!p || !p.enabled || !p.consoleSignIn || (p.kind !== 'saml' && p.kind !== 'oidc')) {
      throw new ConsoleSignInError('this identity provider does not sign admins in to the console', `provider "${providerId.slice(0, 64)}" is unknown, disabled or not enabled for console sign-in`);
    }
    return p;
  }
}
