/**
 * User enrollment (BYOD), without HTTP: what happens between the shared sign-in pages and the
 * device for both ways in.
 *
 * Account-driven (the person signs in to their work account in Settings):
 *   device POSTs to BaseURL ─► no valid bearer ─► challenge: sign in at the web-auth page
 *   web-auth page ─► staging record (mode user-account, the typed account kept as a hint)
 *   ─► sign-in pages ─► `afterSignIn`: checks, then a short-lived single-use access token
 *   device POSTs again with `Authorization: Bearer <token>` ─► `accountProfile` ─► profile
 * Profile-based (a web page in Safari on the device):
 *   /enroll/user-profile ─► staging record (mode user-profile) ─► sign-in ─► `afterSignIn`
 *   ─► download page ─► `downloadProfile` (same browser only) ─► profile
 *
 * Either way the profile assigns the user's Managed Apple Account and checks in at a URL
 * carrying the staging record's check-in key, so the first Authenticate links the two. A user
 * enrollment that has not checked in `incompleteAfterMs` after its profile was issued is
 * incomplete and its profile no longer links; starting again makes a new record.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ServiceError } from '../service-error.js';
import { isUniqueViolation } from '../db/database.js';
import type { OrgGroupService } from '../org/org-group-service.js';
import { checkInUrl, type PendingEnrollment, type PendingEnrollmentService } from './pending-enrollment-service.js';
import type { EnrollmentProfileService } from './profile-service.js';
import type { EnrollmentRequest } from './user-enrollment-request.js';
import type { UserEnrollmentStore } from './user-enrollment-store.js';
import type { UserEnrollmentTokenStore } from './user-enrollment-token-store.js';
import { managedAppleIdOf, parseManagedAppleId, sameManagedAppleId } from './user-managed-apple-id.js';

export class UserEnrollmentError extends ServiceError {
  constructor(code: 'not_found' | 'conflict' | 'invalid' | 'refused', message: string) {
    super(code, code, message);
  }
}

export const USER_MODES = ['user-account', 'user-profile'] as const;
export type UserMode = (typeof USER_MODES)[number];

/** Where the web view goes when the person has signed in (Apple's ASWebAuthenticationSession callback). */
export const AUTHENTICATION_RESULTS_URL = 'apple-remotemanagement-user-login://authentication-results';

export type AfterSignIn = { mode: 'user-account'; location: string } | { mode: 'user-profile'; pendingId: string };

export type AccountProfileAnswer =
  | { kind: 'challenge'; reason: string }
  | { kind: 'profile'; body: Buffer; pendingId: string; userId: string | null };

export interface ManagedAppleIdView {
  userId: string;
  /** the account an admin assigned, if any */
  assigned: string | null;
  /** the account user enrollment uses: the assigned one, or a directory user's e-mail */
  effective: string | null;
  source: 'assigned' | 'email' | 'none';
}

export interface UserEnrollmentDeps {
  pending: PendingEnrollmentService;
  /**
   * The same records, with the link window of user enrollments (`incompleteAfterMs`) instead of
   * the default one: it issues the profiles, so an issued profile that never checks in shows
   * as incomplete after that window.
   */
  userLinkWindow: PendingEnrollmentService;
  groups: Pick<OrgGroupService, 'setting' | 'get'>;
  store: UserEnrollmentStore;
  tokens: UserEnrollmentTokenStore;
  profiles: Pick<EnrollmentProfileService, 'buildUserEnrollment'>;
  /** the check-in URL profiles carry (their staging record's key is added to it) */
  checkInUrl: string;
  /** access tokens live this long (default 10 minutes): the device uses one at once */
  accessTokenTtlMs?: number;
  /** the organization name profiles carry for a group (the sign-in pages' brand) */
  brand?: (groupId: string | null) => Promise<string>;
  now?: () => number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export class UserEnrollmentService {
  readonly #now: () => number;
  readonly #tokenTtl: number;

  constructor(private readonly deps: UserEnrollmentDeps) {
    this.#now = deps.now ?? Date.now;
    this.#tokenTtl = deps.accessTokenTtlMs ?? 10 * 60_000;
  }

  /** The account the device says the person typed (the web-auth URL's user-identifier), if well-formed. */
  accountHint(value: unknown): string | undefined {
    return parseManagedAppleId(value);
  }

  /** Keeps the account the person typed on the device: the profile must assign that very one. */
  async rememberHint(pendingId: string, hint: string): Promise<void> {
    await this.deps.pending.setManagedAppleId(pendingId, hint);
  }

  /**
   * The continuation after sign-in (and terms) for both user modes. Refuses, in words the person
   * can act on, when user enrollment is not allowed where they were placed, when they have no
   * Managed Apple Account, or when it is not the one the device signs in with. Then assigns the
   * account to the record; account-driven enrollment gets the authentication-results URL with
   * a fresh access token (only its hash is stored).
   */
  async afterSignIn(pendingId: string): Promise<AfterSignIn> {
    const p = await this.deps.pending.get(pendingId);
    const mode = userMode(p);
    if (p.state !== 'authenticated' || !p.userId || !p.groupId) throw new UserEnrollmentError('conflict', 'this enrollment is not waiting for a sign-in; start again');
    if (!(await this.deps.groups.setting<boolean>(p.groupId, 'enrollment.userEnrollmentAllowed'))) {
      const g = await this.deps.groups.get(p.groupId);
      throw new UserEnrollmentError('refused', `Enrolling your own device (user enrollment) is not allowed in "${g.name}". Ask your IT department.`);
    }
    const user = await this.deps.store.user(p.userId);
    if (!user) throw new UserEnrollmentError('not_found', 'your user account no longer exists; ask your IT department');
    const account = managedAppleIdOf({ source: user.source, email: user.email, managedAppleId: user.managed_apple_id });
    if (!account) {
      throw new UserEnrollmentError('refused', `No work account (Managed Apple Account) is assigned to ${user.username}, so this device cannot be enrolled. Ask your IT department to assign one.`);
    }
    if (p.managedAppleId && !sameManagedAppleId(p.managedAppleId, account)) {
      throw new UserEnrollmentError('refused', `This device is signing in with ${p.managedAppleId}, but the work account of ${user.username} is ${account}. Sign in on the device with ${account}, or sign in here as the person who owns ${p.managedAppleId}.`);
    }
    await this.deps.pending.setManagedAppleId(p.id, account);
    if (mode === 'user-profile') return { mode, pendingId: p.id };

    const token = randomBytes(32).toString('base64url');
    const now = this.#now();
    await this.deps.tokens.insert({ tokenHash: sha256(token), pendingEnrollmentId: p.id, expiresAt: now + this.#tokenTtl, now });
    return { mode, location: `${AUTHENTICATION_RESULTS_URL}?access-token=${encodeURIComponent(token)}` };
  }

  /**
   * The device's enrollment request with (or without) its bearer token. Anything but a valid,
   * unused, unexpired token for a signed-in account-driven record is answered with the
   * challenge again, so the device simply sends the person back to sign in.
   */
  async accountProfile(bearer: string | undefined, request: EnrollmentRequest): Promise<AccountProfileAnswer> {
    void request; // the body only has to be well-formed; its facts are not needed for a user enrollment
    if (!bearer) return { kind: 'challenge', reason: 'no access token' };
    if (bearer.length > 200) return { kind: 'challenge', reason: 'malformed access token' };
    const pendingId = await this.deps.tokens.consume(sha256(bearer), this.#now());
    if (!pendingId) return { kind: 'challenge', reason: 'unknown, used or expired access token' };
    let p: PendingEnrollment;
    try {
      p = await this.deps.pending.get(pendingId);
    } catch {
      return { kind: 'challenge', reason: 'the staging record of the token is gone' };
    }
    if (p.mode !== 'user-account' || p.state !== 'authenticated' || !p.managedAppleId) {
      return { kind: 'challenge', reason: `the staging record is ${p.state}, not waiting for its profile` };
    }
    const { body } = await this.#issue(p, false);
    return { kind: 'profile', body, pendingId: p.id, userId: p.userId };
  }

  /** Profile-based: the download, only in the browser that started (and signed in to) the record. */
  async downloadProfile(pendingId: string, browserKey: string | undefined): Promise<{ body: Buffer; pendingId: string }> {
    const p = await this.deps.pending.open(pendingId, browserKey);
    if (userMode(p) !== 'user-profile') throw new UserEnrollmentError('not_found', 'no such enrollment; start again');
    if (p.state !== 'authenticated' || !p.managedAppleId) throw new UserEnrollmentError('conflict', 'sign in first');
    const { body } = await this.#issue(p, true);
    return { body, pendingId: p.id };
  }

  async #issue(p: PendingEnrollment, profileBased: boolean): Promise<{ body: Buffer }> {
    const { checkInKey } = await this.deps.userLinkWindow.profileIssued(p.id);
    const organization = this.deps.brand ? await this.deps.brand(p.groupId) : undefined;
    return this.deps.profiles.buildUserEnrollment({
      organization,
      managedAppleId: p.managedAppleId!,
      checkInUrl: checkInUrl(this.deps.checkInUrl, checkInKey),
      profileBased,
      signed: true,
    });
  }

  async managedAppleId(userId: string): Promise<ManagedAppleIdView> {
    const u = await this.deps.store.user(userId);
    if (!u) throw new UserEnrollmentError('not_found', 'no such user');
    const effective = managedAppleIdOf({ source: u.source, email: u.email, managedAppleId: u.managed_apple_id }) ?? null;
    return { userId, assigned: u.managed_apple_id, effective, source: u.managed_apple_id ? 'assigned' : effective ? 'email' : 'none' };
  }

  /** Assigns a user's Managed Apple Account (null: back to the default). One account belongs to one user. */
  async setManagedAppleId(userId: string, value: string | null): Promise<ManagedAppleIdView> {
    let account: string | null = null;
    if (value !== null) {
      // Apple compares accounts without regard to case; one spelling keeps the unique index honest.
      account = parseManagedAppleId(value.trim())?.toLowerCase() ?? null;
      if (!account) throw new UserEnrollmentError('invalid', 'a Managed Apple Account looks like name@domain.example');
    }
    try {
      if (!(await this.deps.store.setManagedAppleId(userId, account, this.#now()))) throw new UserEnrollmentError('not_found', 'no such user');
    } catch (err) {
      if (isUniqueViolation(err)) throw new UserEnrollmentError('conflict', `${account} is already assigned to another user`);
      throw err;
    }
    return this.managedAppleId(userId);
  }
}

function userMode(p: PendingEnrollment): UserMode {
  if (!(USER_MODES as readonly string[]).includes(p.mode)) throw new UserEnrollmentError('not_found', 'no such enrollment; start again');
  return p.mode as UserMode;
}
