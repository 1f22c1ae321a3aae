/**
 * Registration tokens: what an admin hands a user so a device can enroll into a group without a
 * directory sign-in — single- or multi-use, expiring, optionally bound to a user and a platform,
 * and in the two-factor variant valid only with that user's password. Only a hash is stored.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { ServiceError } from '../service-error.js';
import type { OrgGroupService } from './org-group-service.js';
import type { RegistrationTokenRow, RegistrationTokenStore } from './registration-token-store.js';
import type { UserService } from './user-service.js';
import type { Scope } from './scope.js';

export const PLATFORMS = ['iOS', 'iPadOS', 'macOS', 'tvOS', 'visionOS'] as const;
export type Platform = (typeof PLATFORMS)[number];

export type RegistrationTokenStatus = 'registration active' | 'used' | 'expired' | 'revoked' | 'not applicable';

export class RegistrationTokenError extends ServiceError {
  constructor(code: 'invalid' | 'not_found' | 'refused', message: string) {
    super(code, code, message);
  }
}

/** A platform-bound token presented where the device's platform is not known yet: ask for it. */
export class RegistrationTokenPlatformNeeded extends RegistrationTokenError {
  constructor(readonly platform: Platform) {
    super('invalid', 'choose the kind of device you are enrolling: this registration token is for one kind only');
  }
}

/** What a checked token allows (see `check`). */
export interface RegistrationTokenGrant {
  tokenId: string;
  groupId: string;
  userId: string | null;
  platform: Platform | null;
  twoFactor: boolean;
}

export interface RegistrationTokenView {
  id: string;
  prefix: string;
  groupId: string;
  userId: string | null;
  platform: string | null;
  maxUses: number | null;
  uses: number;
  twoFactor: boolean;
  expiresAt: number;
  createdBy: string;
  createdAt: number;
  status: RegistrationTokenStatus;
}

const hashOf = (token: string) => createHash('sha256').update(token.trim()).digest('hex');

export class RegistrationTokenService {
  readonly #now: () => number;

  constructor(
    private readonly store: RegistrationTokenStore,
    private readonly groups: OrgGroupService,
    private readonly users: UserService,
    opts: { now?: () => number } = {},
  ) {
    this.#now = opts.now ?? Date.now;
  }

  /** Returns the token once; afterwards only its prefix is shown. */
  async create(input: { groupId: string; userId?: string; platform?: Platform; maxUses?: number | null; expiresInHours?: number; twoFactor?: boolean; createdBy: string }): Promise<{ token: string; view: RegistrationTokenView }> {
    await this.groups.mustExist(input.groupId);
    if (input.userId) await this.users.view(input.userId);
    if (input.twoFactor && !input.userId) throw new RegistrationTokenError('invalid', 'a two-factor token must be bound to a user (their password is the second factor)');
    if (input.platform && !PLATFORMS.includes(input.platform)) throw new RegistrationTokenError('invalid', `the platform must be one of ${PLATFORMS.join(', ')}`);
    const maxUses = input.maxUses === undefined ? 1 : input.maxUses;
    if (maxUses !== null && (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > 100_000)) throw new RegistrationTokenError('invalid', 'uses must be a whole number from 1 to 100000, or unlimited');
    const hours = input.expiresInHours ?? 72;
    if (!(hours > 0 && hours <= 24 * 365)) throw new RegistrationTokenError('invalid', 'a token expires within 1 hour to 1 year');
    // Short enough to type on a phone: 10 characters from an alphabet without look-alikes.
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    const token = Array.from(randomBytes(10), (b) => alphabet[b % 32]).join('');
    const now = this.#now();
    const id = randomUUID();
    await this.store.insert({
      id, token_hash: hashOf(token), prefix: token.slice(0, 3), organization_group_id: input.groupId, user_id: input.userId ?? null,
      platform: input.platform ?? null, max_uses: maxUses, uses: 0, two_factor: input.twoFactor ? 1 : 0, expires_at: now + hours * 3_600_000,
      created_by: input.createdBy, created_at: now,
    });
    return { token, view: this.#view((await this.store.get(id))!) };
  }

  /**
   * Spends one use of a token for an enrollment on `platform`. Every refusal says why in words
   * the user can act on; nothing is spent unless every check passed.
   */
  async redeem(input: { token: string; platform: Platform; password?: string }): Promise<{ tokenId: string; groupId: string; userId: string | null }> {
    const grant = await this.check({ token: input.token, platform: input.platform });
    if (grant.twoFactor) {
      if (!input.password) throw new RegistrationTokenError('refused', 'this registration token also needs your password');
      if (!(await this.users.checkPassword(grant.userId!, input.password))) throw new RegistrationTokenError('refused', 'wrong password for this registration token');
    }
    await this.claim(grant);
    return { tokenId: grant.tokenId, groupId: grant.groupId, userId: grant.userId };
  }

  /**
   * Every check of `redeem` but the second factor, without spending a use — so an enrollment
   * flow can verify the user and the group before it spends the token with `claim`.
   * `platform` may be unknown: a platform-bound token then asks for it (RegistrationTokenPlatformNeeded).
   * `userId`, when given, is who is enrolling: a token bound to someone else is refused.
   */
  async check(input: { token: string; platform?: Platform; userId?: string }): Promise<RegistrationTokenGrant> {
    const row = await this.store.byHash(hashOf(input.token.trim().toUpperCase()));
    const now = this.#now();
    if (!row) throw new RegistrationTokenError('refused', 'this registration token is not valid');
    const status = statusOf(row, now);
    if (status === 'revoked') throw new RegistrationTokenError('refused', 'this registration token was revoked');
    if (status === 'expired') throw new RegistrationTokenError('refused', `this registration token expired on ${new Date(row.expires_at).toISOString().slice(0, 10)}`);
    if (status === 'used') throw new RegistrationTokenError('refused', 'this registration token has already been used');
    if (input.userId && row.user_id && row.user_id !== input.userId) throw new RegistrationTokenError('refused', 'this registration token was issued to another user');
    if (row.platform && !input.platform) throw new RegistrationTokenPlatformNeeded(row.platform as Platform);
    if (row.platform && row.platform !== input.platform) throw new RegistrationTokenError('refused', `this registration token is for ${row.platform} devices only`);
    return { tokenId: row.id, groupId: row.organization_group_id, userId: row.user_id, platform: row.platform as Platform | null, twoFactor: row.two_factor === 1 };
  }

  /** Spends one use of a checked token; refused when another request took the last use first. */
  async claim(grant: RegistrationTokenGrant): Promise<void> {
    if (!(await this.store.claimUse(grant.tokenId, this.#now()))) throw new RegistrationTokenError('refused', 'this registration token has already been used');
  }

  /** Every token (of one group when `groupId` is given), within `within` when given. */
  async list(groupId?: string, within?: Scope): Promise<RegistrationTokenView[]> {
    return (await this.store.list(groupId, within?.prefix)).map((r) => this.#view(r));
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.store.get(id))) throw new RegistrationTokenError('not_found', 'no such registration token');
    await this.store.revoke(id, this.#now());
  }

  /** What a device's record shows: its token's state, or "not applicable" when it enrolled without one. */
  async statusFor(tokenId: string | null): Promise<RegistrationTokenStatus> {
    if (!tokenId) return 'not applicable';
    const row = await this.store.get(tokenId);
    return row ? statusOf(row, this.#now()) : 'not applicable';
  }

  #view(r: RegistrationTokenRow): RegistrationTokenView {
    return {
      id: r.id, prefix: r.prefix, groupId: r.organization_group_id, userId: r.user_id, platform: r.platform, maxUses: r.max_uses, uses: r.uses,
      twoFactor: r.two_factor === 1, expiresAt: r.expires_at, createdBy: r.created_by, createdAt: r.created_at, status: statusOf(r, this.#now()),
    };
  }
}

function statusOf(r: RegistrationTokenRow, now: number): RegistrationTokenStatus {
  if (r.revoked_at !== null) return 'revoked';
  if (r.max_uses !== null && r.uses >= r.max_uses) return 'used';
  if (r.expires_at <= now) return 'expired';
  return 'registration active';
}
