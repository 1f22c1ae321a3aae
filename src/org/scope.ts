/**
 * An admin's or API token's scope: the organization group whose subtree it acts in. Groups keep a
 * materialized path ('/global/<id>/…/<id>/'), so "inside the scope" is "the path starts with the
 * scope's path" — one string test here, one prefix match in SQL (`withinScope`).
 *
 * Paths are made of ids Pomona generates (UUIDs and 'global'): they hold no `%`, `_` or `\`, so a
 * path is safe as a LIKE prefix as it is.
 */
import { ServiceError } from '../service-error.js';

export const ROOT_GROUP_ID = 'global';
const ROOT_PATH = `/${ROOT_GROUP_ID}/`;

export class Scope {
  static readonly GLOBAL = new Scope(ROOT_GROUP_ID, ROOT_PATH);

  constructor(
    /** the scope's organization group */
    readonly groupId: string,
    /** that group's materialized path */
    readonly path: string,
  ) {}

  /** Everything: the root group's scope. */
  get global(): boolean {
    return this.path === ROOT_PATH;
  }

  /** Whether a group (given by its path) lies in this scope's subtree. */
  covers(groupPath: string): boolean {
    return groupPath.startsWith(this.path);
  }

  /** The path prefix a store filters on, or undefined when nothing needs filtering (global). */
  get prefix(): string | undefined {
    return this.global ? undefined : this.path;
  }
}

/** A refusal because something lies outside the caller's scope, or would widen it. */
export class ScopeError extends ServiceError {
  constructor(message: string) {
    super('forbidden', 'refused', message);
  }
}

/** The roles an API token or admin user may hold; ranked roles first. */
export type GrantableRole = 'administrator' | 'operator' | 'read-only' | 'custom-enrollment';
const RANK: Record<string, number> = { 'read-only': 1, operator: 2, administrator: 3 };

/**
 * Whether someone holding `creatorRole` may hand out `role`: never more than their own rank, and
 * "custom-enrollment" (a separate capability, not a rank) only from an administrator.
 */
export function mayGrantRole(creatorRole: string, role: string): boolean {
  const creator = RANK[creatorRole] ?? 0;
  if (role === 'custom-enrollment') return creator === RANK.administrator;
  const granted = RANK[role];
  return granted !== undefined && granted <= creator;
}

/**
 * Refuses a grant (an API token, an admin account, a change to one) that would give more than the
 * granting actor holds: a higher role, or a scope outside theirs.
 */
export function checkGrant(grantor: { role: string; scope: Scope }, granted: { role: string; scope: Scope }, what: string): void {
  if (!mayGrantRole(grantor.role, granted.role)) {
    throw new ScopeError(`${what} cannot have the role "${granted.role}": it would be wider than yours ("${grantor.role}")`);
  }
  if (!grantor.scope.covers(granted.scope.path)) {
    throw new ScopeError(`${what} cannot be scoped outside your own organization group scope`);
  }
}
