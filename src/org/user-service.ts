/**
 * End users: local accounts (argon2id password, optional PIN), and users met through a directory
 * or SSO provider, kept with their group memberships as the provider reported them at sign-in.
 * Also where an enrolling user's device goes (placement) and the lockout that stops guessing.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError } from '../service-error.js';
import { SignInError, type Identity } from './idp/identity.js';
import { checkPasswordPolicy, hashPasswordArgon2, verifyPassword } from './password.js';
import type { OrgGroupService } from './org-group-service.js';
import { STAGING_USER_ID, type UserRow, type UserStore } from './user-store.js';
import type { Scope } from './scope.js';

export class UserError extends ServiceError {
  constructor(code: 'not_found' | 'conflict' | 'invalid' | 'refused', message: string) {
    super(code, code, message);
  }
}

export interface UserView {
  id: string;
  source: string;
  username: string;
  email: string | null;
  displayName: string | null;
  defaultGroupId: string;
  hasPin: boolean;
  locked: boolean;
  disabled: boolean;
  lastSignInAt: number | null;
}

export type EnrollmentKind = 'user-enrollment' | 'web-enrollment';

const SETTING_FOR: Record<EnrollmentKind, 'enrollment.userEnrollmentAllowed' | 'enrollment.webEnrollmentAllowed'> = {
  'user-enrollment': 'enrollment.userEnrollmentAllowed',
  'web-enrollment': 'enrollment.webEnrollmentAllowed',
};

const BAD_CREDENTIALS = 'wrong user name or password';


export class UserService {
  readonly #now: () => number;
  readonly #lockAfter: number;
  readonly #lockMs: number;
  #dummy?: Promise<string>;

  constructor(
    private readonly store: UserStore,
    private readonly groups: OrgGroupService,
    opts: { now?: () => number; lockAfterFailures?: number; lockMinutes?: number } = {},
  ) {
    this.#now = opts.now ?? Date.now;
    this.#lockAfter = opts.lockAfterFailures ?? 5;
    this.#lockMs = (opts.lockMinutes ?? 15) * 60_000;
  }

  async createLocal(input: { username: string; password: string; pin?: string; email?: string; displayName?: string; defaultGroupId: string }): Promise<UserView> {
    const username = checkUsername(input.username);
    checkPasswordPolicy(input.password);
    if (input.pin !== undefined && !/^\d{4,8}$/.test(input.pin)) throw new UserError('invalid', 'the PIN must be 4 to 8 digits');
    await this.groups.mustExist(input.defaultGroupId);
    if (await this.store.find('local', username)) throw new UserError('conflict', `a local user "${username}" already exists`);
    const now = this.#now();
    const id = randomUUID();
    await this.store.insert({
      id, source: 'local', username, external_id: null, email: input.email ?? null, display_name: input.displayName ?? null,
      password_hash: await hashPasswordArgon2(input.password), pin_hash: input.pin ? await hashPasswordArgon2(input.pin) : null,
      default_group_id: input.defaultGroupId, failed_sign_ins: 0, created_at: now, updated_at: now,
    });
    return this.view(id);
  }

  /**
   * Local sign-in. Unknown users cost the same hashing time as known ones, every failure counts
   * towards a lockout, and the message never tells which part was wrong.
   */
  async signInLocal(username: string, password: string): Promise<Identity> {
    const row = await this.store.find('local', username.trim());
    const now = this.#now();
    if (!row || !row.password_hash) {
      await verifyPassword(password, await (this.#dummy ??= hashPasswordArgon2('not a password of anyone')));
      throw new SignInError(BAD_CREDENTIALS, 'unknown user');
    }
    if (row.disabled_at) throw new SignInError(BAD_CREDENTIALS, 'user disabled');
    if (row.locked_until && row.locked_until > now) {
      throw new SignInError(`too many failed sign-ins; try again after ${new Date(row.locked_until).toISOString().slice(11, 16)} UTC`, 'locked');
    }
    if (!(await verifyPassword(password, row.password_hash))) {
      const failures = await this.store.countFailure(row.id, now);
      if (failures >= this.#lockAfter) await this.store.update(row.id, { locked_until: now + this.#lockMs, failed_sign_ins: 0 });
      throw new SignInError(BAD_CREDENTIALS, `wrong password (${failures} in a row)`);
    }
    await this.store.update(row.id, { failed_sign_ins: 0, locked_until: null, last_sign_in_at: now });
    return this.#identity(row, 'local');
  }

  /** Checks a local user's password for two-factor registration tokens (same lockout rules). */
  async checkPassword(userId: string, password: string): Promise<boolean> {
    const row = await this.store.get(userId);
    if (!row || row.source !== 'local') return false;
    try {
      await this.signInLocal(row.username, password);
      return true;
    } catch (err) {
      if (err instanceof SignInError) return false;
      throw err;
    }
  }

  /** The Pomona user for someone a provider signed in: created on first sign-in, groups refreshed each time. */
  async fromIdentity(identity: Identity, defaultGroupId: string): Promise<UserView> {
    const now = this.#now();
    let row = await this.store.find(identity.provider, identity.username);
    if (!row) {
      const id = randomUUID();
      await this.store.insert({
        id, source: identity.provider, username: identity.username, external_id: identity.subject, email: identity.email ?? null,
        display_name: identity.displayName ?? null, password_hash: null, pin_hash: null, default_group_id: defaultGroupId,
        failed_sign_ins: 0, created_at: now, updated_at: now, last_sign_in_at: now,
      });
      row = (await this.store.get(id))!;
    } else {
      if (row.disabled_at) throw new SignInError(BAD_CREDENTIALS, 'user disabled');
      await this.store.update(row.id, { email: identity.email ?? row.email, display_name: identity.displayName ?? row.display_name, last_sign_in_at: now, updated_at: now });
    }
    const ids: string[] = [];
    for (const name of new Set(identity.groups)) {
      await this.store.insertGroup({ id: randomUUID(), source: identity.provider, name, created_at: now });
      ids.push((await this.store.groupByName(identity.provider, name))!.id);
    }
    await this.store.setMemberships(row.id, identity.provider, ids);
    return this.view(row.id);
  }

  /** A local user group (directory groups appear by themselves when their members sign in). */
  async createGroup(name: string): Promise<{ id: string }> {
    const n = name.trim();
    if (!n || n.length > 200) throw new UserError('invalid', 'the group name must be 1 to 200 characters');
    if (await this.store.groupByName('local', n)) throw new UserError('conflict', `a user group "${n}" already exists`);
    const id = randomUUID();
    await this.store.insertGroup({ id, source: 'local', name: n, created_at: this.#now() });
    return { id };
  }

  async addToGroup(groupId: string, userId: string): Promise<void> {
    await this.store.addMember(groupId, userId);
  }

  /** With `within`: the groups mapped inside that scope, and those mapped nowhere (anyone may map them). */
  listGroups(within?: Scope) {
    return this.store.listGroups(within?.prefix);
  }

  /** Users of this group enroll into that organization group (null removes the mapping). */
  async mapGroup(userGroupId: string, organizationGroupId: string | null, rank = 100): Promise<void> {
    if (organizationGroupId) await this.groups.mustExist(organizationGroupId);
    await this.store.setMapping(userGroupId, organizationGroupId, rank, this.#now());
  }

  /**
   * Where a user's enrollment goes: a group their user groups map to wins; otherwise the Group ID
   * they typed; otherwise their default enrollment group. The kind of enrollment must be allowed
   * (set or inherited) at the group it lands in, or the user is told why not.
   */
  async place(userId: string, kind: EnrollmentKind, typedGroupId?: string): Promise<{ groupId: string; reason: 'mapping' | 'typed' | 'default' }> {
    const user = await this.#row(userId);
    const mapped = (await this.store.mappedGroups(userId))[0];
    let target: { groupId: string; reason: 'mapping' | 'typed' | 'default' };
    if (mapped) target = { groupId: mapped.organization_group_id, reason: 'mapping' };
    else if (typedGroupId?.trim()) {
      const g = await this.groups.byGroupId(typedGroupId);
      if (!g) throw new UserError('refused', `there is no group with the Group ID "${typedGroupId.trim().slice(0, 40)}"`);
      target = { groupId: g.id, reason: 'typed' };
    } else target = { groupId: user.default_group_id, reason: 'default' };
    if (!(await this.groups.setting<boolean>(target.groupId, SETTING_FOR[kind]))) {
      const g = await this.groups.get(target.groupId);
      throw new UserError('refused', `${kind === 'user-enrollment' ? 'user enrollment' : 'web enrollment'} is not allowed in "${g.name}"; ask your IT department`);
    }
    return target;
  }

  /**
   * The staging user: ADE profiles with authentication off may enroll devices to it until an
   * admin assigns the device to a real user. One per installation, made on first use; it cannot
   * sign in (no password, source 'system').
   */
  async stagingUser(): Promise<UserView> {
    const now = this.#now();
    await this.store.insertIfAbsent({
      id: STAGING_USER_ID, source: 'system', username: 'staging', external_id: null, email: null, display_name: 'Staging user',
      password_hash: null, pin_hash: null, default_group_id: 'global', failed_sign_ins: 0, created_at: now, updated_at: now,
    });
    return this.view(STAGING_USER_ID);
  }

  /** The organization group the user's groups map to (the best-ranked mapping), if any. */
  async mappedGroup(userId: string): Promise<string | undefined> {
    return (await this.store.mappedGroups(userId))[0]?.organization_group_id;
  }

  /** A user named by an admin (e.g. the "defined user" of an ADE profile): a local one first, else a directory one. */
  async byUsername(username: string): Promise<UserView | undefined> {
    const row = (await this.store.byUsername(username.trim()))[0];
    return row ? this.view(row.id) : undefined;
  }

  /** A page of users matching `search`, within a scope when given. */
  async list(q: { search?: string; source?: string; within?: Scope; limit: number; offset: number }): Promise<{ items: UserView[]; total: number }> {
    const { rows, total } = await this.store.list({ search: q.search?.trim() || undefined, source: q.source, scopePrefix: q.within?.prefix, limit: q.limit, offset: q.offset });
    return { items: rows.map((r) => this.#view(r)), total };
  }

  /** A disabled user cannot sign in, locally or through a provider; enabling undoes it. */
  async setDisabled(id: string, disabled: boolean): Promise<UserView> {
    const row = await this.#row(id);
    if (row.id === STAGING_USER_ID) throw new UserError('invalid', 'the staging user is built in and cannot be disabled');
    const now = this.#now();
    await this.store.update(id, { disabled_at: disabled ? (row.disabled_at ?? now) : null, updated_at: now });
    return this.view(id);
  }

  async view(id: string): Promise<UserView> {
    return this.#view(await this.#row(id));
  }

  #view(r: UserRow): UserView {
    const now = this.#now();
    return {
      id: r.id, source: r.source, username: r.username, email: r.email, displayName: r.display_name, defaultGroupId: r.default_group_id,
      hasPin: r.pin_hash !== null, locked: r.locked_until !== null && r.locked_until > now, disabled: r.disabled_at !== null, lastSignInAt: r.last_sign_in_at,
    };
  }

  #identity(r: UserRow, provider: string): Identity {
    return { provider, subject: r.id, username: r.username, email: r.email ?? undefined, displayName: r.display_name ?? undefined, groups: [] };
  }

  async #row(id: string): Promise<UserRow> {
    const r = await this.store.get(id);
    if (!r) throw new UserError('not_found', 'no such user');
    return r;
  }
}

function checkUsername(u: string): string {
  const n = u.trim();
  if (!/^[\p{L}\p{N}._@+-]{1,128}$/u.test(n)) throw new UserError('invalid', 'the user name must be 1 to 128 letters, digits or . _ @ + -');
  return n;
}
