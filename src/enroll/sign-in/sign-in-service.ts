/**
 * The end-user sign-in every enrollment flow shares (web enrollment, user enrollment, the ADE
 * web view): which methods a group offers, signing in by password (local or LDAP), registration
 * token or SSO, throttling failures, deciding the organization group, and the terms of use.
 * Plain TypeScript in and out; the pages and cookies are in sign-in-routes.ts.
 *
 * Decisions:
 * - "Registration tokens required" makes the token form the only way in (password and SSO
 *   forms are not offered); a two-factor token also needs its user's password.
 * - A token names the group: the enrollment goes where the admin issued it, provided the kind
 *   of enrollment is allowed there. Without a token, `UserService.place` decides (the user's
 *   group mapping, else a typed Group ID, else the user's default group).
 * - Credentials typed with a token are always checked, and a token bound to a user is refused
 *   for anyone else. A single-factor token bound to a user enrolls as that user (the token is
 *   that user's credential, as an invitation sent to them); one bound to nobody enrolls with no user.
 * - The platform: a platform-bound token needs to know the device's. The flow may know it
 *   (ADE reports it; for web enrollment the User-Agent is a hint: iPhone or iPad, never
 *   "Macintosh", which iPads send too); when it is unknown the user is asked to choose. What
 *   the user chose is not trusted: the record keeps the token's platform and the device's
 *   first check-in must report a product of that platform or it is refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { PendingEnrollment, PendingEnrollmentService, PendingMode } from '../pending-enrollment-service.js';
import type { OrgGroupService } from '../../org/org-group-service.js';
import { ROOT_GROUP_ID } from '../../org/org-group-service.js';
import type { EnrollmentKind, UserService, UserView } from '../../org/user-service.js';
import type { RegistrationTokenGrant, RegistrationTokenService } from '../../org/registration-token-service.js';
import { PLATFORMS, RegistrationTokenPlatformNeeded, type Platform } from '../../org/registration-token-service.js';
import type { IdentityProviderService } from '../../org/identity-provider-service.js';
import type { Ownership } from '../../org/group-settings.js';
import type { SignInThrottle } from '../../org/sign-in-throttle.js';
import { SignInError, type Identity } from '../../org/idp/identity.js';
import { LdapDirectoryError } from '../../org/idp/ldap-directory.js';

/** How a flow signs users in, registered per mode with `SignInService.configure`. */
export interface SignInRules {
  /** the kind of enrollment that must be allowed at the final group (default placement) */
  kind?: EnrollmentKind;
  /** show the optional Group ID field */
  groupIdField: boolean;
  /** a fixed ownership (user enrollment: employee-owned); otherwise the group's default */
  ownership?: Ownership;
  /** replaces the default placement (the ADE web view places by its profile's group) */
  place?: Placement;
}

export type Placement = (input: { pending: PendingEnrollment; userId: string | null; typedGroupId?: string; tokenGroupId?: string }) => Promise<{ groupId: string }>;

/** What the sign-in page offers at the group in play. */
export interface SignInOffer {
  /** the organization name the pages are branded with */
  brand: string;
  groupName: string;
  /** a user name and password form (local users, and/or the group's LDAP directories) */
  password: boolean;
  token: { required: boolean } | null;
  sso: { id: string; name: string; kind: 'saml' | 'oidc' }[];
  groupIdField: boolean;
}

/** A refusal shown to the user on the page. `kind` decides the status the page is sent with. */
export class SignInRefusal extends Error {
  constructor(
    readonly kind: 'invalid' | 'refused' | 'throttled' | 'unavailable' | 'platform-needed',
    message: string,
    readonly retryAfterMs = 0,
    /** for the log only (e.g. which directory failed and how) */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** Where SSO hand-offs are kept between the IdP's answer and the browser's return (sign_in_flows). */
export interface SsoHandoffs {
  saveFlow(id: string, providerId: string, data: unknown, expiresAt: number): Promise<void>;
  consumeFlow(id: string, providerId: string, now: number): Promise<unknown | undefined>;
}

export interface SignInDeps {
  pending: PendingEnrollmentService;
  users: UserService;
  groups: OrgGroupService;
  tokens: RegistrationTokenService;
  idps: IdentityProviderService;
  handoffs: SsoHandoffs;
  throttle: SignInThrottle;
  /** the brand when the group in play is the root (default 'Pomona') */
  organization?: string;
  now?: () => number;
}

const DEFAULT_RULES: Partial<Record<PendingMode, SignInRules>> = {
  web: { kind: 'web-enrollment', groupIdField: true },
  'user-profile': { kind: 'user-enrollment', groupIdField: true, ownership: 'employee-owned' },
  'user-account': { kind: 'user-enrollment', groupIdField: false, ownership: 'employee-owned' },
};

const ALLOWED_SETTING: Record<EnrollmentKind, 'enrollment.webEnrollmentAllowed' | 'enrollment.userEnrollmentAllowed'> = {
  'web-enrollment': 'enrollment.webEnrollmentAllowed',
  'user-enrollment': 'enrollment.userEnrollmentAllowed',
};

const SSO_FLOW_MS = 15 * 60_000;
const SSO_HANDOFF_MS = 5 * 60_000;
/** sign_in_flows rows for the hop from the IdP's answer to the browser's return are filed under this provider id */
const HANDOFF_PROVIDER = 'enrollment-sign-in';
const SSO_RETURN = /^\/enroll\/sign-in\/([A-Za-z0-9_-]{22})\/sso\?n=([A-Za-z0-9_-]{22})$/;

export class SignInService {
  readonly #rules = new Map<PendingMode, SignInRules>(Object.entries(DEFAULT_RULES) as [PendingMode, SignInRules][]);
  readonly #now: () => number;

  constructor(private readonly deps: SignInDeps) {
    this.#now = deps.now ?? Date.now;
  }

  /** Sets how a mode signs users in (replacing the defaults for web and user enrollment). */
  configure(mode: PendingMode, rules: SignInRules): void {
    if (!rules.kind && !rules.place) throw new Error(`sign-in rules for "${mode}" need an enrollment kind or a placement`);
    this.#rules.set(mode, rules);
  }

  rulesFor(mode: PendingMode): SignInRules | undefined {
    return this.#rules.get(mode);
  }

  /** The methods offered for this record, from the settings of the group in play. */
  async offer(p: PendingEnrollment): Promise<SignInOffer> {
    const group = await this.deps.groups.get(p.groupId ?? ROOT_GROUP_ID);
    return { brand: this.#brandOf(group.breadcrumb), groupName: group.name, ...(await this.#methods(p)) };
  }

  /** What `offer` says about the methods, without the group's names (the sign-in posts check against it). */
  async #methods(p: PendingEnrollment): Promise<Omit<SignInOffer, 'brand' | 'groupName'>> {
    const { groups, idps } = this.deps;
    const groupId = p.groupId ?? ROOT_GROUP_ID;
    const settings = await groups.values(groupId, ['enrollment.authenticationMethods', 'enrollment.registrationTokenRequired']);
    const methods = settings['enrollment.authenticationMethods'] as string[];
    const required = settings['enrollment.registrationTokenRequired'] as boolean;
    // The group's providers matter only when a provider-backed method is enabled.
    const providers = methods.some((m) => m === 'ldap' || m === 'saml' || m === 'oidc') ? await idps.forGroup(groupId) : [];
    const ldap = methods.includes('ldap') && providers.some((x) => x.kind === 'ldap');
    return {
      password: !required && (methods.includes('local') || ldap),
      token: required || methods.includes('registration-token') ? { required } : null,
      sso: required
        ? []
        : providers.filter((x) => (x.kind === 'saml' || x.kind === 'oidc') && methods.includes(x.kind)).map((x) => ({ id: x.id, name: x.name, kind: x.kind as 'saml' | 'oidc' })),
      groupIdField: this.rulesFor(p.mode)?.groupIdField ?? false,
    };
  }

  /** The organization name pages are branded with: the customer (first level below the root) the group belongs to. */
  async brand(groupId: string | null | undefined): Promise<string> {
    const group = groupId ? await this.deps.groups.get(groupId).catch(() => undefined) : undefined;
    return this.#brandOf(group?.breadcrumb ?? []);
  }

  #brandOf(breadcrumb: string[]): string {
    return breadcrumb[1] ?? this.deps.organization ?? 'Pomona';
  }

  /** User name and password: a local user, else the group's LDAP directories (nearest first). */
  async withPassword(p: PendingEnrollment, input: { username: string; password: string; typedGroupId?: string; source: string }): Promise<PendingEnrollment> {
    this.#mustBeStarted(p);
    const offer = await this.#methods(p);
    if (!offer.password) throw new SignInRefusal('invalid', 'signing in with a password is not offered here');
    const keys = throttleKeys(input.source, input.username);
    const user = await this.#passwordUser(p, input.username, input.password, keys);
    await this.deps.throttle.reset(keys.slice(1));
    return this.#complete(p, user.id, { typedGroupId: offer.groupIdField ? input.typedGroupId : undefined, method: user.source === 'local' ? 'password' : 'ldap' });
  }

  /**
   * A registration token, with a user name and password when the token is two-factor (the
   * user name defaults to the token's user) or when the user chooses to give them.
   */
  async withToken(p: PendingEnrollment, input: { token: string; username?: string; password?: string; platform?: string; source: string }): Promise<PendingEnrollment> {
    this.#mustBeStarted(p);
    if (!(await this.#methods(p)).token) throw new SignInRefusal('invalid', 'registration tokens are not accepted here');
    if (!input.token.trim()) throw new SignInRefusal('invalid', 'enter your registration token');
    const chosen = input.platform ? (PLATFORMS.find((x) => x === input.platform) ?? badPlatform()) : undefined;
    const platform = chosen ?? p.platform ?? undefined;
    const keys = throttleKeys(input.source, input.username);
    await this.#notThrottled(keys);

    let grant: RegistrationTokenGrant;
    try {
      grant = await this.deps.tokens.check({ token: input.token.slice(0, 100), platform });
    } catch (err) {
      if (err instanceof RegistrationTokenPlatformNeeded) throw new SignInRefusal('platform-needed', err.message);
      await this.deps.throttle.recordFailure(keys);
      throw err;
    }
    let userId: string | null = grant.userId;
    if (input.password || grant.twoFactor) {
      if (!input.password) throw new SignInRefusal('invalid', 'this registration token also needs your password');
      const username = input.username?.trim() || (grant.userId ? (await this.deps.users.view(grant.userId)).username : '');
      if (!username) throw new SignInRefusal('invalid', 'enter your user name with your password');
      const user = await this.#passwordUser(p, username, input.password, throttleKeys(input.source, username));
      if (grant.userId && user.id !== grant.userId) throw new SignInRefusal('refused', 'this registration token was issued to another user');
      userId = user.id;
    } else if (input.username?.trim() && grant.userId && (await this.deps.users.view(grant.userId)).username !== input.username.trim()) {
      throw new SignInRefusal('refused', 'this registration token was issued to another user');
    }
    return this.#complete(p, userId, { grant, platform, method: input.password ? 'registration-token+password' : 'registration-token' });
  }

  /** Sends the browser to an SSO provider the group offers; it comes back through `ssoReturned`. */
  async startSso(p: PendingEnrollment, input: { providerId: string; typedGroupId?: string }): Promise<{ redirectUrl: string }> {
    this.#mustBeStarted(p);
    const offer = await this.#methods(p);
    if (!offer.sso.some((x) => x.id === input.providerId)) throw new SignInRefusal('invalid', 'this sign-in method is not offered here');
    // The nonce ties the IdP's answer to this record and this provider: the return path is
    // chosen here (never taken from the request) and anything else coming back is refused.
    const nonce = randomBytes(16).toString('base64url');
    const typedGroupId = offer.groupIdField ? input.typedGroupId?.slice(0, 40) : undefined;
    await this.deps.handoffs.saveFlow(`enroll:${nonce}`, input.providerId, { pendingId: p.id, typedGroupId }, this.#now() + SSO_FLOW_MS);
    return this.deps.idps.startSso(input.providerId, `/enroll/sign-in/${p.id}/sso?n=${nonce}`);
  }

  /**
   * The IdP answered (SAML ACS or OIDC callback) for a return path. Returns undefined when the
   * path is not an enrollment sign-in's; otherwise the record, the path to send the browser to,
   * and a hand-off key for the browser that brought the answer. The identity is parked until a
   * browser holding both that key and the record's own key arrives (`finishSso`): the IdP's
   * answer may be a cross-site POST that carries no cookie, and a sign-in started by one person
   * and forwarded to another must land in neither's record — the forwarder's browser lacks the
   * hand-off key, the victim's lacks the record's key.
   */
  async ssoReturned(providerId: string, identity: Identity, returnTo: string): Promise<{ pendingId: string; path: string; handoffKey: string } | undefined> {
    const m = SSO_RETURN.exec(returnTo);
    if (!m) return undefined;
    const flow = (await this.deps.handoffs.consumeFlow(`enroll:${m[2]}`, providerId, this.#now())) as { pendingId: string; typedGroupId?: string } | undefined;
    if (!flow || flow.pendingId !== m[1]) throw new SignInRefusal('refused', 'this sign-in was not started here or has expired; start again');
    const handoffKey = randomBytes(32).toString('base64url');
    await this.deps.handoffs.saveFlow(`enroll-done:${m[2]}`, HANDOFF_PROVIDER, { pendingId: m[1], providerId, typedGroupId: flow.typedGroupId, identity, handoff: sha256(handoffKey) }, this.#now() + SSO_HANDOFF_MS);
    return { pendingId: m[1], path: returnTo, handoffKey };
  }

  /** The browser is back from SSO: sign the parked identity in to the record it was started for. */
  async finishSso(p: PendingEnrollment, nonce: string, handoffKey: string | undefined): Promise<PendingEnrollment> {
    this.#mustBeStarted(p);
    const parked = /^[A-Za-z0-9_-]{22}$/.test(nonce)
      ? ((await this.deps.handoffs.consumeFlow(`enroll-done:${nonce}`, HANDOFF_PROVIDER, this.#now())) as { pendingId: string; providerId: string; typedGroupId?: string; identity: Identity; handoff: string } | undefined)
      : undefined;
    if (!parked || parked.pendingId !== p.id) throw new SignInRefusal('refused', 'this sign-in was not started here or has expired; start again');
    if (!handoffKey || sha256(handoffKey) !== parked.handoff) throw new SignInRefusal('refused', 'this sign-in was finished in another browser; start again');
    const provider = (await this.#methods(p)).sso.find((x) => x.id === parked.providerId);
    if (!provider) throw new SignInRefusal('invalid', 'this sign-in method is not offered here');
    const user = await this.deps.users.fromIdentity(parked.identity, p.groupId ?? ROOT_GROUP_ID);
    return this.#complete(p, user.id, { typedGroupId: parked.typedGroupId, method: provider.kind });
  }

  /** The terms of use still to accept for this record (the final group's current text), or null. */
  async termsToAccept(p: PendingEnrollment): Promise<{ version: number; text: string } | null> {
    if (p.state !== 'authenticated' || p.termsVersionRequired === null || (p.termsVersion ?? 0) >= p.termsVersionRequired) return null;
    const terms = await this.deps.groups.setting<{ version: number; text: string } | null>(p.groupId!, 'enrollment.termsOfUse');
    // Removed since sign-in: what was required is still what the record asks for; keep the user informed.
    return terms ?? { version: p.termsVersionRequired, text: 'The terms of use of this organization are no longer available; ask your IT department.' };
  }

  /** The user accepted the terms shown with `version`; refused when they changed since. */
  async acceptTerms(p: PendingEnrollment, version: number): Promise<PendingEnrollment> {
    const current = await this.termsToAccept(p);
    if (!current) throw new SignInRefusal('invalid', 'there are no terms of use to accept');
    if (current.version !== version) throw new SignInRefusal('refused', 'the terms of use have changed; read them again');
    return this.deps.pending.acceptTerms(p.id, version);
  }

  /** Places the enrollment, spends the token, and records it all on the staging record. */
  async #complete(p: PendingEnrollment, userId: string | null, o: { typedGroupId?: string; grant?: RegistrationTokenGrant; platform?: Platform; method: string }): Promise<PendingEnrollment> {
    const { groups, tokens, pending } = this.deps;
    const rules = this.rulesFor(p.mode);
    if (!rules) throw new SignInRefusal('unavailable', 'this kind of enrollment cannot continue on this server');
    const input = { pending: p, userId, typedGroupId: o.typedGroupId?.trim() || undefined, tokenGroupId: o.grant?.groupId };
    const { groupId } = await (rules.place ?? ((i) => this.#defaultPlace(rules.kind!, i)))(input);
    const settings = await groups.values(groupId, ['enrollment.termsOfUse', 'enrollment.defaultOwnership']);
    const terms = settings['enrollment.termsOfUse'] as { version: number } | null;
    const ownership = rules.ownership ?? (settings['enrollment.defaultOwnership'] as Ownership);
    if (o.grant) await tokens.claim(o.grant);
    return pending.authenticate(p.id, {
      userId, groupId, ownership, registrationTokenId: o.grant?.tokenId ?? null, platform: o.platform ?? null,
      requiredPlatform: o.grant?.platform ?? null, termsVersion: terms?.version ?? null, method: o.method,
    });
  }

  async #defaultPlace(kind: EnrollmentKind, i: { userId: string | null; typedGroupId?: string; tokenGroupId?: string }): Promise<{ groupId: string }> {
    if (!i.tokenGroupId) return this.deps.users.place(i.userId!, kind, i.typedGroupId);
    if (!(await this.deps.groups.setting<boolean>(i.tokenGroupId, ALLOWED_SETTING[kind]))) {
      const g = await this.deps.groups.get(i.tokenGroupId);
      throw new SignInRefusal('refused', `${kind === 'user-enrollment' ? 'user enrollment' : 'web enrollment'} is not allowed in "${g.name}"; ask your IT department`);
    }
    return { groupId: i.tokenGroupId };
  }

  /** A local user first (when offered), then each LDAP directory of the group; failures count. */
  async #passwordUser(p: PendingEnrollment, username: string, password: string, keys: string[]): Promise<UserView> {
    const { users, idps, groups, throttle } = this.deps;
    const groupId = p.groupId ?? ROOT_GROUP_ID;
    await this.#notThrottled(keys);
    const methods = await groups.setting<string[]>(groupId, 'enrollment.authenticationMethods');
    let refusal: SignInError | undefined;
    try {
      if (methods.includes('local')) {
        try {
          const identity = await users.signInLocal(username, password);
          return await users.view(identity.subject);
        } catch (err) {
          if (!(err instanceof SignInError)) throw err;
          if (err.reason === 'locked') throw err;
          refusal = err;
        }
      }
      if (methods.includes('ldap')) {
        for (const provider of (await idps.forGroup(groupId)).filter((x) => x.kind === 'ldap')) {
          try {
            return await users.fromIdentity(await (await idps.directory(provider.id)).authenticate(username, password), groupId);
          } catch (err) {
            if (err instanceof LdapDirectoryError) throw new SignInRefusal('unavailable', 'the directory cannot be reached right now; try again in a few minutes', 0, `${provider.name}: ${err.message}`);
            if (!(err instanceof SignInError)) throw err;
            refusal = err;
          }
        }
      }
      throw refusal ?? new SignInError('wrong user name or password', 'no password method');
    } catch (err) {
      if (err instanceof SignInError) {
        await throttle.recordFailure(keys);
        throw new SignInRefusal('invalid', err.message);
      }
      throw err;
    }
  }

  async #notThrottled(keys: string[]): Promise<void> {
    const wait = await this.deps.throttle.retryAfterMs(keys);
    if (wait > 0) throw new SignInRefusal('throttled', `too many failed attempts; try again in ${Math.ceil(wait / 60_000)} minute(s)`, wait);
  }

  #mustBeStarted(p: PendingEnrollment): void {
    if (p.state !== 'started') throw new SignInRefusal('invalid', 'you have already signed in for this enrollment');
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Throttle keys: the source address always, the user name when one is given (distinct from the admin console's keys). */
function throttleKeys(source: string, username?: string): string[] {
  const keys = [`enroll-addr:${source}`];
  const u = username?.trim().toLowerCase();
  if (u) keys.push(`enroll-user:${u.slice(0, 128)}`);
  return keys;
}

function badPlatform(): never {
  throw new SignInRefusal('invalid', `choose one of ${PLATFORMS.join(', ')}`);
}

/**
 * The platform a browser's User-Agent suggests — a hint only. iPhone and iPad Safari say so;
 * iPadOS asks for desktop sites by default and then claims "Macintosh", so a Mac is never inferred.
 */
export function platformHint(userAgent: string | undefined): Platform | undefined {
  if (!userAgent) return undefined;
  if (/\b(iPhone|iPod)\b/.test(userAgent)) return 'iOS';
  if (/\biPad\b/.test(userAgent)) return 'iPadOS';
  return undefined;
}
