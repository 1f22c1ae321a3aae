/** Queries for admin users and their console sessions (Kysely only, no logic). */
import type { Insertable } from 'kysely';
import { isUniqueViolation, type Db } from '../db/database.js';
import type { AdminSessionTable, AdminUser, AdminUserTable } from '../db/schema.js';

export interface SessionWithUser {
  expires_at: number;
  user: AdminUser;
}

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

  async listUsers(): Promise<AdminUser[]> {
    return this.db.selectFrom('admin_users').selectAll().orderBy('username').execute();
  }

  async insertSession(row: Insertable<AdminSessionTable>): Promise<void> {
    await this.db.insertInto('admin_sessions').values(row).execute();
  }

  async findSession(idHash: string): Promise<SessionWithUser | undefined> {
    const row = await this.db
      .selectFrom('admin_sessions as s')
      .innerJoin('admin_users as u', 'u.id', 's.user_id')
      .select([
        's.expires_at',
        'u.id',
        'u.username',
        'u.password_hash',
        'u.role',
        'u.created_at',
        'u.disabled_at',
      ])
      .where('s.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row) return undefined;
    const { expires_at, ...user } = row;
    return { expires_at, user };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('admin_sessions').where('id_hash', '=', idHash).execute();
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    const result = await this.db.deleteFrom('admin_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
