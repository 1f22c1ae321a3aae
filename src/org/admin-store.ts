/** Queries for admin users and their console sessions (Kysely only, no logic). */
import type { Insertable, Updateable } from 'kysely';
import { isUniqueViolation, type Db } from '../db/database.js';
import type { AdminSessionTable, AdminUser, AdminUserTable } from '../db/schema.js';
import { groupsWithin } from './scope-store.js';

/** An admin with the path of their scope group (an admin whose group is gone is not found). */
export type AdminUserWithScope = AdminUser & { scope_path: string };

export interface SessionWithUser {
  expires_at: number;
  user: AdminUserWithScope;
}

const USER_COLUMNS = ['u.id', 'u.username', 'u.password_hash', 'u.role', 'u.created_at', 'u.disabled_at', 'u.scope_group_id', 'g.path as scope_path'] as const;

export class AdminStore {
  constructor(private readonly db: Db) {}

  /** False when the username is taken (the unique index decides, so two nodes cannot race). */
  async insertUser(row: Insertable<AdminUserTable>): Promise<boolean> {
    try {
      await this.db.insertInto('admin_users').values(row).execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async findUserByUsername(username: string): Promise<AdminUser | undefined> {
    return this.db.selectFrom('admin_users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  async findUserById(id: string): Promise<AdminUser | undefined> {
    return this.db.selectFrom('admin_users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  #scoped() {
    return this.db.selectFrom('admin_users as u').innerJoin('organization_groups as g', 'g.id', 'u.scope_group_id').select(USER_COLUMNS);
  }

  async findScopedById(id: string): Promise<AdminUserWithScope | undefined> {
    return this.#scoped().where('u.id', '=', id).executeTakeFirst();
  }

  async findScopedByUsername(username: string): Promise<AdminUserWithScope | undefined> {
    return this.#scoped().where('u.username', '=', username).executeTakeFirst();
  }

  /** Every admin, or those scoped under a group path prefix. */
  async listUsers(scopePrefix?: string): Promise<AdminUser[]> {
    let q = this.db.selectFrom('admin_users').selectAll();
    if (scopePrefix) q = q.where('scope_group_id', 'in', groupsWithin(this.db, scopePrefix));
    return q.orderBy('username').execute();
  }

  async updateUser(id: string, set: Updateable<AdminUserTable>): Promise<void> {
    await this.db.updateTable('admin_users').set(set).where('id', '=', id).execute();
  }

  async deleteUser(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('admin_sessions').where('user_id', '=', id).execute();
      await tx.deleteFrom('admin_users').where('id', '=', id).execute();
    });
  }

  async insertSession(row: Insertable<AdminSessionTable>): Promise<void> {
    await this.db.insertInto('admin_sessions').values(row).execute();
  }

  async findSession(idHash: string): Promise<SessionWithUser | undefined> {
    const row = await this.db
      .selectFrom('admin_sessions as s')
      .innerJoin('admin_users as u', 'u.id', 's.user_id')
      .innerJoin('organization_groups as g', 'g.id', 'u.scope_group_id')
      .select(['s.expires_at', ...USER_COLUMNS])
      .where('s.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row) return undefined;
    const { expires_at, ...user } = row;
    return { expires_at, user };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('admin_sessions').where('id_hash', '=', idHash).execute();
  }

  async deleteSessionsOf(userId: string): Promise<void> {
    await this.db.deleteFrom('admin_sessions').where('user_id', '=', userId).execute();
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    const result = await this.db.deleteFrom('admin_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
