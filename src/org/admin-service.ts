/**
 * Admin users and their console sessions. A session id is 32 random bytes handed to the
 * browser once (as a cookie); only its SHA-256 is stored, so a database leak yields no
 * usable sessions. The CSRF token is an HMAC of the session id: any node can recompute it
 * and nothing more has to be stored.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { AdminUser } from '../db/schema.js';
import type { AdminStore } from './admin-store.js';
import { checkPasswordPolicy, DEFAULT_SCRYPT_PARAMS, hashPassword, verifyPassword, type ScryptParams } from './password.js';

export const ADMIN_ROLES = ['administrator', 'operator', 'read-only'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** Lower-case letters, digits and `. _ @ -`, starting with a letter or digit, 2–64 long. */
const USERNAME_RE = /^[a-z0-9][a-z0-9._@-]{1,63}$/;
const SESSION_ID_RE = /^[A-Za-z0-9_-]{43}$/;
/** Without a configured key the HMAC still binds the token to the secret session id. */
const DEFAULT_CSRF_KEY = Buffer.from('pomona csrf token v1');

export interface AdminUserInfo {
  id: string;
  username: string;
  role: AdminRole;
  createdAt: number;
  disabledAt: number | null;
}

export type AdminUserErrorCode = 'invalid-username' | 'invalid-role' | 'weak-password' | 'duplicate-username';

/** A refusal whose message can be shown to the admin as is. */
export class AdminUserError extends Error {
  override name = 'AdminUserError';
  constructor(
    readonly code: AdminUserErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface AdminServiceOptions {
  now?: () => number;
  sessionTtlMs?: number;
  /** Tests lower the cost; production keeps the default. */
  scryptParams?: ScryptParams;
  /** Server secret mixed into CSRF tokens; must be the same on every node. */
  csrfKey?: Buffer;
}

export interface NewSession {
  sessionId: string;
  csrfToken: string;
  expiresAt: number;
}

export interface ActiveSession {
  user: AdminUserInfo;
  expiresAt: number;
}

export function isAdminRole(role: string): role is AdminRole {
  return (ADMIN_ROLES as readonly string[]).includes(role);
}

/** Usernames are case-insensitive: stored and looked up lower-cased. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

function hashSessionId(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex');
}

function toInfo(row: AdminUser): AdminUserInfo {
  return {
    id: row.id,
    username: row.username,
    role: row.role as AdminRole,
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
  };
}

export class AdminService {
  private readonly now: () => number;
  readonly sessionTtlMs: number;
  private readonly scryptParams: ScryptParams;
  private readonly csrfKey: Buffer;
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly store: AdminStore,
    options: AdminServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
    this.scryptParams = options.scryptParams ?? DEFAULT_SCRYPT_PARAMS;
    this.csrfKey = options.csrfKey ?? DEFAULT_CSRF_KEY;
  }

  async createUser(input: { username: string; password: string; role: string }): Promise<AdminUserInfo> {
    const username = normalizeUsername(input.username);
    if (!USERNAME_RE.test(username)) {
      throw new AdminUserError(
        'invalid-username',
        'username must be 2–64 characters: letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
      );
    }
    if (!isAdminRole(input.role)) {
      throw new AdminUserError('invalid-role', `role must be one of ${ADMIN_ROLES.join(', ')}`);
    }
    try {
      checkPasswordPolicy(input.password);
    } catch (err) {
      throw new AdminUserError('weak-password', (err as Error).message);
    }
    const row: AdminUser = {
      id: randomUUID(),
      username,
      password_hash: await hashPassword(input.password, this.scryptParams),
      role: input.role,
      created_at: this.now(),
      disabled_at: null,
    };
    if (!(await this.store.insertUser(row))) {
      throw new AdminUserError('duplicate-username', `an admin user named "${username}" already exists`);
    }
    return toInfo(row);
  }

  /**
   * The user when the password matches and the account is enabled, else null. Unknown and
   * disabled users still cost one scrypt run, so timing does not reveal which usernames exist.
   */
  async verifyCredentials(username: string, password: string): Promise<AdminUserInfo | null> {
    const row = await this.store.findUserByUsername(normalizeUsername(username));
    const ok = await verifyPassword(password, row?.password_hash ?? (await this.getDummyHash()));
    if (!row || !ok || row.disabled_at !== null) return null;
    return toInfo(row);
  }

  async createSession(userId: string): Promise<NewSession> {
    const sessionId = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = now + this.sessionTtlMs;
    await this.store.insertSession({ id_hash: hashSessionId(sessionId), user_id: userId, expires_at: expiresAt, created_at: now });
    return { sessionId, csrfToken: this.csrfTokenFor(sessionId), expiresAt };
  }

  /** Null for an unknown or expired session or a disabled user. */
  async lookupSession(sessionId: string): Promise<ActiveSession | null> {
    if (!SESSION_ID_RE.test(sessionId)) return null;
    const found = await this.store.findSession(hashSessionId(sessionId));
    if (!found || found.expires_at <= this.now() || found.user.disabled_at !== null) return null;
    return { user: toInfo(found.user), expiresAt: found.expires_at };
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.store.deleteSession(hashSessionId(sessionId));
  }

  /** For a periodic job; lookups already refuse expired sessions. */
  async purgeExpiredSessions(): Promise<number> {
    return this.store.deleteExpiredSessions(this.now());
  }

  csrfTokenFor(sessionId: string): string {
    return createHmac('sha256', this.csrfKey).update(sessionId).digest('base64url');
  }

  async listUsers(): Promise<AdminUserInfo[]> {
    return (await this.store.listUsers()).map(toInfo);
  }

  private getDummyHash(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(18).toString('base64url'), this.scryptParams);
    return this.dummyHash;
  }
}
