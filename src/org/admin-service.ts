/**
 * Admin users and their console sessions. A session id is 32 random bytes handed to the
 * browser once (as a cookie); only its SHA-256 is stored, so a database leak yields no
 * usable sessions. The CSRF token is an HMAC of the session id: any node can recompute it
 * and nothing more has to be stored.
 *
 * Each admin acts within a scope: an organization group's subtree (src/org/scope.ts). An admin
 * who creates or changes another admin cannot give more than they hold themselves.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { AdminUser } from '../db/schema.js';
import { ServiceError, type ServiceErrorKind } from '../service-error.js';
import type { AdminStore, AdminUserWithScope } from './admin-store.js';
import { checkPasswordPolicy, DEFAULT_SCRYPT_PARAMS, hashPassword, verifyPassword, type ScryptParams } from './password.js';
import { checkGrant, Scope } from './scope.js';

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
  /** the organization group whose subtree the admin acts in */
  scopeGroupId: string;
  createdAt: number;
  disabledAt: number | null;
}

/** An admin with their scope resolved (its group's path), as sessions and sign-ins need it. */
export type ScopedAdmin = AdminUserInfo & { scope: Scope };

export type AdminUserErrorCode = 'invalid-username' | 'invalid-role' | 'weak-password' | 'duplicate-username' | 'not-found' | 'self';

const KIND: Record<AdminUserErrorCode, ServiceErrorKind> = {
  'invalid-username': 'invalid', 'invalid-role': 'invalid', 'weak-password': 'invalid', 'duplicate-username': 'conflict', 'not-found': 'not_found', self: 'refused',
};

/** A refusal whose message can be shown to the admin as is. */
export class AdminUserError extends ServiceError {
  override name = 'AdminUserError';
  constructor(
    override readonly code: AdminUserErrorCode,
    message: string,
  ) {
    super(code, KIND[code], message);
  }
}

/** Who grants: an admin acting through the API (the command line grants anything). */
export interface Grantor {
  id?: string;
  role: string;
  scope: Scope;
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
  user: ScopedAdmin;
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
    scopeGroupId: row.scope_group_id,
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
  };
}

function toScoped(row: AdminUserWithScope): ScopedAdmin {
  return { ...toInfo(row), scope: new Scope(row.scope_group_id, row.scope_path) };
}

function checkRole(role: string): AdminRole {
  if (!isAdminRole(role)) throw new AdminUserError('invalid-role', `role must be one of ${ADMIN_ROLES.join(', ')}`);
  return role;
}

function checkPassword(password: string): void {
  try {
    checkPasswordPolicy(password);
  } catch (err) {
    throw new AdminUserError('weak-password', (err as Error).message);
  }
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

  /** `scope` defaults to global; `grantedBy` (an admin creating through the API) bounds role and scope. */
  async createUser(input: { username: string; password: string; role: string; scope?: Scope; grantedBy?: Grantor }): Promise<AdminUserInfo> {
    const username = normalizeUsername(input.username);
    if (!USERNAME_RE.test(username)) {
      throw new AdminUserError(
        'invalid-username',
        'username must be 2–64 characters: letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
      );
    }
    const role = checkRole(input.role);
    const scope = input.scope ?? Scope.GLOBAL;
    if (input.grantedBy) checkGrant(input.grantedBy, { role, scope }, 'an admin');
    checkPassword(input.password);
    const row: AdminUser = {
      id: randomUUID(),
      username,
      password_hash: await hashPassword(input.password, this.scryptParams),
      role,
      created_at: this.now(),
      disabled_at: null,
      scope_group_id: scope.groupId,
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

  /**
   * Changes an admin's role, scope or password, or disables/enables them. A new password ends
   * their sessions. An admin cannot change their own role, scope or state (ask another admin),
   * nor give more than they hold.
   */
  async updateUser(id: string, input: { role?: string; scope?: Scope; password?: string; disabled?: boolean }, grantedBy?: Grantor): Promise<AdminUserInfo> {
    const row = await this.#user(id);
    const self = grantedBy?.id === id;
    if (self && (input.role !== undefined || input.scope !== undefined || input.disabled !== undefined)) {
      throw new AdminUserError('self', 'you cannot change your own role, scope or state; ask another administrator');
    }
    const role = input.role === undefined ? (row.role as AdminRole) : checkRole(input.role);
    const scope = input.scope ?? new Scope(row.scope_group_id, row.scope_path);
    if (grantedBy) checkGrant(grantedBy, { role, scope }, 'an admin');
    const set: Partial<AdminUser> = { role, scope_group_id: scope.groupId };
    if (input.password !== undefined) {
      checkPassword(input.password);
      set.password_hash = await hashPassword(input.password, this.scryptParams);
    }
    if (input.disabled !== undefined) set.disabled_at = input.disabled ? (row.disabled_at ?? this.now()) : null;
    await this.store.updateUser(id, set);
    if (input.password !== undefined) await this.store.deleteSessionsOf(id);
    return toInfo((await this.store.findUserById(id))!);
  }

  /** Deletes an admin and their sessions; never oneself (an organization must keep an admin). */
  async deleteUser(id: string, by?: Grantor): Promise<AdminUserInfo> {
    const row = await this.#user(id);
    if (by?.id === id) throw new AdminUserError('self', 'you cannot delete your own account; ask another administrator');
    await this.store.deleteUser(id);
    return toInfo(row);
  }

  async getUser(id: string): Promise<AdminUserInfo> {
    return toInfo(await this.#user(id));
  }

  /** The admin with their scope, or null when unknown or disabled. */
  async enabledUser(id: string): Promise<ScopedAdmin | null> {
    const row = await this.store.findScopedById(id);
    return row && row.disabled_at === null ? toScoped(row) : null;
  }

  /**
   * The enabled admin a name given by an identity provider belongs to: the first of `names`
   * (user name, then e-mail address) that is an admin's user name. Never creates one.
   */
  async findForSignIn(names: (string | undefined)[]): Promise<ScopedAdmin | null> {
    for (const name of names) {
      if (!name) continue;
      const row = await this.store.findScopedByUsername(normalizeUsername(name));
      if (row) return row.disabled_at === null ? toScoped(row) : null;
    }
    return null;
  }

  /**
   * A new session with a fresh random id. The id the browser presented before signing in (if
   * any) is ended, so a session id planted before sign-in never becomes a signed-in one.
   */
  async createSession(userId: string, opts: { replacing?: string } = {}): Promise<NewSession> {
    if (opts.replacing) await this.deleteSession(opts.replacing);
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
    return { user: toScoped(found.user), expiresAt: found.expires_at };
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

  /** Every admin, or those whose scope lies within `within`. */
  async listUsers(within?: Scope): Promise<AdminUserInfo[]> {
    return (await this.store.listUsers(within?.prefix)).map(toInfo);
  }

  async #user(id: string): Promise<AdminUserWithScope> {
    const row = await this.store.findScopedById(id);
    if (!row) throw new AdminUserError('not-found', 'no such admin');
    return row;
  }

  private getDummyHash(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(18).toString('base64url'), this.scryptParams);
    return this.dummyHash;
  }
}
