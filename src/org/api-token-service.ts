/**
 * API tokens: `pom_` + 32 random bytes (base64url). The secret is shown once at creation;
 * only its SHA-256 is stored, plus the first 8 characters after `pom_` so admins can tell
 * tokens apart. A presented token is found by the hash of what was presented, so no
 * comparison ever runs over the secret itself (nothing to time).
 *
 * A token carries a role and a scope (an organization group's subtree, src/org/scope.ts); an
 * admin minting one cannot give it more than they hold.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ApiToken } from '../db/schema.js';
import { ADMIN_ROLES, type Grantor } from './admin-service.js';
import type { ApiTokenStore } from './api-token-store.js';
import { checkGrant, Scope } from './scope.js';

/** "custom-enrollment" may call only the external custom-enrollment profile endpoint. */
export const TOKEN_ROLES = [...ADMIN_ROLES, 'custom-enrollment'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export const TOKEN_PREFIX = 'pom_';
const TOKEN_RE = /^pom_[A-Za-z0-9_-]{43}$/;
const PREFIX_LENGTH = 8;
/** `last_used_at` is informational; writing it on every request would cost a write per call. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiTokenInfo {
  id: string;
  name: string;
  /** `pom_` + the first 8 characters of the secret, for display and revocation */
  prefix: string;
  role: TokenRole;
  /** the organization group whose subtree the token acts in */
  scopeGroupId: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export type ApiTokenErrorCode = 'invalid-name' | 'invalid-role' | 'invalid-expiry' | 'ambiguous-prefix';

export class ApiTokenError extends Error {
  override name = 'ApiTokenError';
  constructor(
    readonly code: ApiTokenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isTokenRole(role: string): role is TokenRole {
  return (TOKEN_ROLES as readonly string[]).includes(role);
}

function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function toInfo(row: ApiToken): ApiTokenInfo {
  return {
    id: row.id,
    name: row.name,
    prefix: TOKEN_PREFIX + row.prefix,
    role: row.role as TokenRole,
    scopeGroupId: row.scope_group_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export class ApiTokenService {
  private readonly now: () => number;

  constructor(
    private readonly store: ApiTokenStore,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Returns the secret once; it cannot be recovered later. `scope` defaults to global;
   * `grantedBy` (an admin minting through the API) bounds role and scope.
   */
  async create(input: { name: string; role: string; scope?: Scope; expiresAt?: number | null; grantedBy?: Grantor }): Promise<{ token: ApiTokenInfo; secret: string }> {
    const name = input.name.trim();
    // eslint-disable-next-line no-control-regex
    if (name.length === 0 || name.length > 100 || /[\u0000-\u001f\u007f]/.test(name)) {
      throw new ApiTokenError('invalid-name', 'token name must be 1–100 printable characters');
    }
    if (!isTokenRole(input.role)) {
      throw new ApiTokenError('invalid-role', `role must be one of ${TOKEN_ROLES.join(', ')}`);
    }
    const scope = input.scope ?? Scope.GLOBAL;
    if (input.grantedBy) checkGrant(input.grantedBy, { role: input.role, scope }, 'a token');
    const now = this.now();
    const expiresAt = input.expiresAt ?? null;
    if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= now)) {
      throw new ApiTokenError('invalid-expiry', 'expiry must be a time in the future (epoch milliseconds)');
    }
    const random = randomBytes(32).toString('base64url');
    const secret = TOKEN_PREFIX + random;
    const row: ApiToken = {
      id: randomUUID(),
      name,
      token_hash: hashToken(secret),
      prefix: random.slice(0, PREFIX_LENGTH),
      role: input.role,
      created_at: now,
      expires_at: expiresAt,
      last_used_at: null,
      revoked_at: null,
      scope_group_id: scope.groupId,
    };
    await this.store.insert(row);
    return { token: toInfo(row), secret };
  }

  /** Every token, or those whose scope lies within `within`. */
  async list(within?: Scope): Promise<ApiTokenInfo[]> {
    return (await this.store.list(within?.prefix)).map(toInfo);
  }

  /**
   * Revokes by id or by display prefix (with or without `pom_`). Null when nothing matches;
   * revoking twice is harmless and keeps the first revocation time.
   */
  async revoke(idOrPrefix: string): Promise<ApiTokenInfo | null> {
    const key = idOrPrefix.startsWith(TOKEN_PREFIX) ? idOrPrefix.slice(TOKEN_PREFIX.length) : idOrPrefix;
    const matches = await this.store.findByIdOrPrefix(key);
    if (matches.length > 1) {
      throw new ApiTokenError('ambiguous-prefix', `${matches.length} tokens share the prefix "${idOrPrefix}"; revoke by id`);
    }
    const row = matches[0];
    if (!row) return null;
    if (row.revoked_at === null) {
      const at = this.now();
      if (await this.store.revoke(row.id, at)) row.revoked_at = at;
    }
    return toInfo(row);
  }

  /** The token's details when the presented secret is valid, unrevoked and unexpired, else null. */
  async authenticate(presented: string): Promise<(ApiTokenInfo & { scope: Scope }) | null> {
    if (!TOKEN_RE.test(presented)) return null;
    const row = await this.store.findByHash(hashToken(presented));
    const now = this.now();
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) return null;
    if (row.last_used_at === null || now - row.last_used_at >= LAST_USED_RESOLUTION_MS) {
      await this.store.touchLastUsed(row.id, now, now - LAST_USED_RESOLUTION_MS + 1);
      row.last_used_at = now;
    }
    return { ...toInfo(row), scope: new Scope(row.scope_group_id, row.scope_path) };
  }
}
