/**
 * Enrollment staging records: one per attempt to enroll through a page (web enrollment, user
 * enrollment, the ADE web view), from the first page to the device's first check-in.
 *
 *   create ─► started ─authenticate─► authenticated ─(acceptTerms)─ profileIssued ─► profile-issued
 *                                                               first Authenticate ─► enrolled
 *
 * A record not enrolled by its `expiresAt` is "incomplete" (derived, never stored): sign-in
 * pages have `signInTtlMs` from creation (default 1 hour), an issued profile has `linkTtlMs`
 * (default 7 days, as long as the profile's SCEP challenge). A restarted attempt is a new record.
 *
 * Two secrets tie a record to the right parties, both stored only as SHA-256:
 * - the browser key (create): the browser that started the attempt holds it (a cookie), so a
 *   leaked page URL gives nobody else the record — see src/enroll/sign-in/;
 * - the check-in key (profileIssued): it is in the issued profile's CheckInURL, so the device's
 *   first Authenticate finds its record with one indexed read, and only a device that installed
 *   that very profile can claim it (once: the SCEP challenge in the same profile is one-time too).
 *
 * The API below is used by every enrollment flow; keep it small and stable.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { platformOfProduct as platformOfHardware } from '../apple/platform.js';
import { ServiceError } from '../service-error.js';
import { PLATFORMS, type Platform } from '../org/registration-token-service.js';
import { OWNERSHIP, type Ownership } from '../org/group-settings.js';
import type { PendingEnrollmentRow, PendingEnrollmentStore } from './pending-enrollment-store.js';
import { pooledRandomBytes } from '../pki/random.js';

/**
 * 'ade': a Setup Assistant device enrolling with authentication off (no page, the POST to the
 * profile's url); 'ade-custom': one whose user an external page signed in (custom-profile API).
 */
export const PENDING_MODES = ['web', 'user-profile', 'user-account', 'ade-webview', 'ade', 'ade-custom'] as const;
export type PendingMode = (typeof PENDING_MODES)[number];

export const PENDING_STATES = ['started', 'authenticated', 'profile-issued', 'enrolled', 'incomplete'] as const;
export type PendingState = (typeof PENDING_STATES)[number];

export class PendingEnrollmentError extends ServiceError {
  constructor(code: 'not_found' | 'conflict' | 'refused' | 'invalid', message: string) {
    super(code, code, message);
  }
}

export interface PendingEnrollment {
  id: string;
  mode: PendingMode;
  state: PendingState;
  /** the group in play: the flow's starting group, then the group the enrollment was placed in */
  groupId: string | null;
  userId: string | null;
  registrationTokenId: string | null;
  ownership: Ownership | null;
  platform: Platform | null;
  /** the platform a registration token restricted this enrollment to (checked at the first check-in) */
  requiredPlatform: Platform | null;
  /** the terms version the user must accept before a profile is issued (null: no terms) */
  termsVersionRequired: number | null;
  termsVersion: number | null;
  termsAcceptedAt: number | null;
  managedAppleId: string | null;
  /** facts the flow started with (e.g. what an ADE device reported) */
  context: Record<string, unknown>;
  enrollmentId: string | null;
  deviceId: string | null;
  sourceAddress: string | null;
  expiresAt: number;
  createdAt: number;
  updatedAt: number;
  profileIssuedAt: number | null;
  completedAt: number | null;
  /** the device an ADE attempt is for */
  serialNumber: string | null;
  authenticatedAt: number | null;
  /** password, ldap, registration-token(+password), saml, oidc; null when no one signed in (ADE with authentication off) */
  signInMethod: string | null;
}

export interface PendingEnrollmentListQuery {
  state?: PendingState;
  mode?: PendingMode;
  groupId?: string;
  /** an admin's scope: the materialized path prefix of its group (records with no group yet are left out) */
  scopePrefix?: string;
  limit?: number;
  offset?: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const secret = (bytes: number) => pooledRandomBytes(bytes).toString('base64url');

/** A pending id as it appears in URLs: 22 base64url characters (128 random bits). */
export const PENDING_ID_PATTERN = '^[A-Za-z0-9_-]{22}$';
const PENDING_ID = new RegExp(PENDING_ID_PATTERN);

export class PendingEnrollmentService {
  readonly #now: () => number;
  readonly #signInTtl: number;
  readonly #linkTtl: number;

  constructor(
    private readonly store: PendingEnrollmentStore,
    opts: { now?: () => number; signInTtlMs?: number; linkTtlMs?: number } = {},
  ) {
    this.#now = opts.now ?? Date.now;
    this.#signInTtl = opts.signInTtlMs ?? 60 * 60_000;
    this.#linkTtl = opts.linkTtlMs ?? 7 * 86_400_000;
  }

  /**
   * Starts an attempt. `browserKey` is returned once: the caller hands it to the browser
   * (the sign-in module's `start` does, as a cookie) and nobody else.
   */
  async create(input: { mode: PendingMode; groupId?: string; platform?: Platform; sourceAddress?: string; context?: Record<string, unknown>; serialNumber?: string }): Promise<{ pending: PendingEnrollment; browserKey: string }> {
    if (!PENDING_MODES.includes(input.mode)) throw new PendingEnrollmentError('invalid', `the mode must be one of ${PENDING_MODES.join(', ')}`);
    if (input.platform && !PLATFORMS.includes(input.platform)) throw new PendingEnrollmentError('invalid', `the platform must be one of ${PLATFORMS.join(', ')}`);
    const now = this.#now();
    const id = secret(16);
    const browserKey = secret(32);
    const row = await this.store.insert({
      id, mode: input.mode, state: 'started', organization_group_id: input.groupId ?? null, platform: input.platform ?? null,
      context_json: input.context ? JSON.stringify(input.context) : null, browser_key_hash: sha256(browserKey),
      source_address: input.sourceAddress?.slice(0, 100) ?? null, expires_at: now + this.#signInTtl, created_at: now, updated_at: now,
      serial_number: input.serialNumber ?? null,
    });
    return { pending: this.#view(row, now), browserKey };
  }

  /** Any record, whatever its state (incomplete ones included); not_found when unknown. */
  async get(id: string): Promise<PendingEnrollment> {
    return this.#view(await this.#row(id), this.#now());
  }

  /**
   * The record as the browser that started it may use it: not_found when unknown, incomplete
   * or already enrolled (nothing more to do in a browser); refused when `browserKey` is not
   * the one handed out at creation.
   */
  async open(id: string, browserKey: string | undefined): Promise<PendingEnrollment> {
    const row = await this.#row(id);
    const p = this.#view(row, this.#now());
    if (p.state === 'incomplete' || p.state === 'enrolled') throw new PendingEnrollmentError('not_found', 'this enrollment has expired or is finished; start again');
    if (!browserKey || !sameHex(sha256(browserKey), row.browser_key_hash)) {
      throw new PendingEnrollmentError('refused', 'this enrollment was started in another browser; start again here');
    }
    return p;
  }

  /**
   * Records who signed in and where the enrollment goes (started → authenticated). The sign-in
   * module calls it after the user signed in and was placed; `termsVersion` is the version of
   * the final group's terms of use (null when it has none), which must then be accepted.
   * `userId` is null only for a registration token bound to nobody (the token is the credential).
   */
  async authenticate(
    id: string,
    input: { userId: string | null; groupId: string; registrationTokenId?: string | null; ownership: Ownership; platform?: Platform | null; requiredPlatform?: Platform | null; termsVersion: number | null; method?: string },
  ): Promise<PendingEnrollment> {
    if (!OWNERSHIP.includes(input.ownership)) throw new PendingEnrollmentError('invalid', `the ownership must be one of ${OWNERSHIP.join(', ')}`);
    const row = await this.store.transition(id, ['started'], this.#now(), {
      state: 'authenticated', user_id: input.userId, organization_group_id: input.groupId, registration_token_id: input.registrationTokenId ?? null,
      ownership: input.ownership, ...(input.platform ? { platform: input.platform } : {}), required_platform: input.requiredPlatform ?? null,
      terms_version_required: input.termsVersion, authenticated_at: this.#now(), sign_in_method: input.method ?? null,
    });
    if (!row) throw await this.#stateError(id, 'someone has already signed in to this enrollment');
    return this.#view(row, this.#now());
  }

  /**
   * Records acceptance of the terms of use (version and time). The caller shows the group's
   * current terms and passes their version: the one required at sign-in or a newer one.
   */
  async acceptTerms(id: string, version: number): Promise<PendingEnrollment> {
    // One conditional write when all is well; the record is read only to say why it was refused.
    const now = this.#now();
    const row = Number.isInteger(version) ? await this.store.transition(id, ['authenticated'], now, { terms_version: version, terms_accepted_at: now }, { termsVersionAtMost: version }) : undefined;
    if (row) return this.#view(row, this.#now());
    const p = await this.get(id);
    if (p.termsVersionRequired === null) throw new PendingEnrollmentError('invalid', 'there are no terms of use to accept for this enrollment');
    if (!Number.isInteger(version) || version < p.termsVersionRequired) throw new PendingEnrollmentError('conflict', 'the terms of use have changed; read them again');
    throw stateError(p, 'the terms can no longer be accepted for this enrollment');
  }

  /** Adds facts the flow learned after sign-in (e.g. the Mac account the user chose) before the profile is issued. */
  async addContext(id: string, facts: Record<string, unknown>): Promise<PendingEnrollment> {
    const p = await this.get(id);
    const context_json = JSON.stringify({ ...p.context, ...facts });
    const row = await this.store.transition(id, ['authenticated'], this.#now(), { context_json });
    if (!row) throw await this.#stateError(id, 'the enrollment can no longer change');
    return this.#view(row, this.#now());
  }

  /** The latest attempt that enrolled this device, if any. */
  async latestForDevice(deviceId: string): Promise<PendingEnrollment | undefined> {
    const row = await this.store.latestForDevice(deviceId);
    return row ? this.#view(row, this.#now()) : undefined;
  }

  /** For user enrollment: the Managed Apple ID the profile names. */
  async setManagedAppleId(id: string, managedAppleId: string): Promise<PendingEnrollment> {
    const v = managedAppleId.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(v) || v.length > 254) throw new PendingEnrollmentError('invalid', 'a Managed Apple ID looks like name@domain');
    const row = await this.store.transition(id, ['started', 'authenticated'], this.#now(), { managed_apple_id: v });
    if (!row) throw await this.#stateError(id, 'the enrollment can no longer change');
    return this.#view(row, this.#now());
  }

  /**
   * Marks the profile issued (authenticated → profile-issued), once per record, only after
   * terms that had to be accepted were. Returns the key to put in the profile's CheckInURL
   * (see `checkInUrl`); it is not stored and cannot be asked for again.
   */
  async profileIssued(id: string): Promise<{ pending: PendingEnrollment; checkInKey: string }> {
    // One conditional write when all is well; the record is read only to say why it was refused.
    const now = this.#now();
    const checkInKey = secret(32);
    const row = await this.store.transition(id, ['authenticated'], now, {
      state: 'profile-issued', checkin_key_hash: sha256(checkInKey), profile_issued_at: now, expires_at: now + this.#linkTtl,
    }, { termsAccepted: true });
    if (row) return { pending: this.#view(row, this.#now()), checkInKey };
    const p = await this.get(id);
    if (p.state === 'profile-issued' || p.state === 'enrolled') throw new PendingEnrollmentError('conflict', 'the profile of this enrollment was already downloaded; start again for another device');
    if (p.state === 'started') throw new PendingEnrollmentError('refused', 'sign in first');
    if (p.state !== 'authenticated') throw stateError(p, 'this enrollment can no longer issue a profile');
    if (p.termsVersionRequired !== null && (p.termsVersion ?? 0) < p.termsVersionRequired) throw new PendingEnrollmentError('refused', 'accept the terms of use first');
    // Authenticated with its terms accepted, yet not changed: another request issued it meanwhile.
    throw new PendingEnrollmentError('conflict', 'the profile of this enrollment was already downloaded; start again for another device');
  }

  /**
   * At a device's Authenticate whose CheckInURL carried a key: the record it may be linked to.
   * One indexed read. Refused (with a reason for the log) when the key is unknown, expired,
   * already claimed by another enrollment, or the device's platform is not the one a
   * registration token required. Call it before anything is written, then `linkAtCheckIn`.
   */
  async forCheckIn(checkInKey: string, device: { enrollmentId: string; productName?: string }): Promise<PendingEnrollment> {
    const row = checkInKey.length <= 100 ? await this.store.byCheckInKey(sha256(checkInKey)) : undefined;
    if (!row) throw new PendingEnrollmentError('refused', 'unknown enrollment key in the check-in URL');
    const p = this.#view(row, this.#now());
    const retry = p.state === 'enrolled' && p.enrollmentId === device.enrollmentId;
    if (!retry && p.state !== 'profile-issued') throw new PendingEnrollmentError('refused', `the staging record ${p.id} is ${p.state === 'enrolled' ? 'already enrolled by another device' : p.state}`);
    if (p.requiredPlatform) {
      const actual = platformOfProduct(device.productName);
      if (actual !== p.requiredPlatform) throw new PendingEnrollmentError('refused', `the registration token is for ${p.requiredPlatform}; this device is ${actual ?? `an unknown product (${device.productName ?? 'none reported'})`}`);
    }
    return p;
  }

  /**
   * Links the enrollment and its device to the record and places the device as the record
   * says (group, ownership, user, method = the record's mode, token). `deviceId` defaults to
   * the enrollment's device.
   */
  async linkAtCheckIn(pending: PendingEnrollment, ids: { enrollmentId: string; deviceId?: string }): Promise<void> {
    const ok = await this.store.link(pending.id, ids, {
      organization_group_id: pending.groupId ?? 'global', ownership: pending.ownership, enrollment_method: pending.mode,
      enrolled_user_id: pending.userId, registration_token_id: pending.registrationTokenId,
    }, this.#now());
    if (!ok) throw new PendingEnrollmentError('refused', `the staging record ${pending.id} was claimed by another enrollment`);
  }

  async list(q: PendingEnrollmentListQuery = {}): Promise<PendingEnrollment[]> {
    const now = this.#now();
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 500);
    const offset = Math.max(q.offset ?? 0, 0);
    const base = { mode: q.mode, groupId: q.groupId, scopePrefix: q.scopePrefix, limit, offset };
    const rows =
      q.state === 'incomplete' ? await this.store.list({ ...base, incompleteAt: now })
      : q.state === 'enrolled' ? await this.store.list({ ...base, state: 'enrolled' })
      : q.state ? await this.store.list({ ...base, state: q.state, activeAt: now })
      : await this.store.list(base);
    return rows.map((r) => this.#view(r, now));
  }

  /** Attempts per organization group and state (incomplete included) in a scope, for the enrollment status page. */
  async summary(scopePrefix?: string): Promise<{ groupId: string | null; state: PendingState; count: number }[]> {
    return (await this.store.countByGroupAndState({ scopePrefix, now: this.#now() })) as { groupId: string | null; state: PendingState; count: number }[];
  }

  /** Deletes attempts that never enrolled and began more than `olderThanDays` ago; returns how many. */
  async purgeIncomplete(olderThanDays: number): Promise<number> {
    if (!(olderThanDays >= 1)) throw new PendingEnrollmentError('invalid', 'keep incomplete enrollments at least 1 day');
    return this.store.purgeIncomplete(this.#now() - olderThanDays * 86_400_000);
  }

  async #row(id: string): Promise<PendingEnrollmentRow> {
    const row = PENDING_ID.test(id) ? await this.store.get(id) : undefined;
    if (!row) throw new PendingEnrollmentError('not_found', 'no such enrollment; start again');
    return row;
  }

  /** Why a transition did not happen, read after the fact. */
  async #stateError(id: string, otherwise: string): Promise<PendingEnrollmentError> {
    return stateError(await this.get(id), otherwise);
  }

  #view(r: PendingEnrollmentRow, now: number): PendingEnrollment {
    const state = (r.state !== 'enrolled' && r.expires_at <= now ? 'incomplete' : r.state) as PendingState;
    return {
      id: r.id, mode: r.mode as PendingMode, state, groupId: r.organization_group_id, userId: r.user_id, registrationTokenId: r.registration_token_id,
      ownership: r.ownership as Ownership | null, platform: r.platform as Platform | null, requiredPlatform: r.required_platform as Platform | null,
      termsVersionRequired: r.terms_version_required, termsVersion: r.terms_version, termsAcceptedAt: r.terms_accepted_at,
      managedAppleId: r.managed_apple_id, context: r.context_json ? (JSON.parse(r.context_json) as Record<string, unknown>) : {},
      enrollmentId: r.enrollment_id, deviceId: r.device_id, sourceAddress: r.source_address, expiresAt: r.expires_at,
      createdAt: r.created_at, updatedAt: r.updated_at, profileIssuedAt: r.profile_issued_at, completedAt: r.completed_at,
      serialNumber: r.serial_number, authenticatedAt: r.authenticated_at, signInMethod: r.sign_in_method,
    };
  }
}

/** Where a profile's device checks in so its first Authenticate finds this record. */
export function checkInUrl(base: string, checkInKey: string): string {
  return `${base}?pe=${encodeURIComponent(checkInKey)}`;
}

/** The platform of a device from its product name, among those enrollments know (no watchOS). */
export function platformOfProduct(productName: string | undefined): Platform | undefined {
  const p = platformOfHardware(productName);
  return p && (PLATFORMS as readonly string[]).includes(p) ? (p as Platform) : undefined;
}

/** Why a transition did not happen, from the record read after it. */
function stateError(p: PendingEnrollment, otherwise: string): PendingEnrollmentError {
  if (p.state === 'incomplete') return new PendingEnrollmentError('not_found', 'this enrollment has expired; start again');
  return new PendingEnrollmentError('conflict', otherwise);
}

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
