/** Queries for end users, user groups, their memberships and their mapping to organization groups. */
import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { Db } from '../db/database.js';
import type { UserTable } from '../db/schema.js';
import { groupsWithin } from './scope-store.js';
import { prepared } from '../db/prepared.js';

// Read at every enrollment sign-in (see src/db/prepared.ts): the user, and the groups the user's groups map to.
const byId = prepared((db, id: string) => db.selectFrom('users').selectAll().where('id', '=', id));
const mappedGroupsOf = prepared((db, userId: string) =>
  db
    .selectFrom('user_group_members')
    .innerJoin('user_group_mappings', 'user_group_mappings.user_group_id', 'user_group_members.user_group_id')
    .innerJoin('user_groups', 'user_groups.id', 'user_group_members.user_group_id')
    .select(['user_group_mappings.organization_group_id', 'user_group_mappings.rank', 'user_groups.name'])
    .where('user_group_members.user_id', '=', userId)
    .orderBy('user_group_mappings.rank')
    .orderBy('user_groups.name'),
);

/** The id of the staging user (see UserService.stagingUser): not a person, never listed. */
export const STAGING_USER_ID = 'staging-user';

export type UserRow = Selectable<UserTable>;

export class UserStore {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<UserTable>): Promise<void> {
    await this.db.insertInto('users').values(row).execute();
  }

  /** Inserts the row unless one with its id exists (racing nodes both succeed). */
  async insertIfAbsent(row: Insertable<UserTable>): Promise<void> {
    await this.db.insertInto('users').values(row).onConflict((oc) => oc.column('id').doNothing()).execute();
  }

  async get(id: string): Promise<UserRow | undefined> {
    return (await byId(this.db, id)).rows[0];
  }

  async find(source: string, username: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('source', '=', source).where('username', '=', username).executeTakeFirst();
  }

  /** Users of any source with this name, local ones first. */
  async byUsername(username: string): Promise<UserRow[]> {
    const rows = await this.db.selectFrom('users').selectAll().where('username', '=', username).orderBy('created_at').execute();
    return rows.sort((a, b) => Number(b.source === 'local') - Number(a.source === 'local'));
  }

  /**
   * A page of users by name (a substring of user name, display name or e-mail), with the count of
   * all that match; with a scope prefix, only users whose default group lies under it.
   */
  async list(q: { source?: string; search?: string; scopePrefix?: string; limit: number; offset: number }): Promise<{ rows: UserRow[]; total: number }> {
    let query = this.db.selectFrom('users').where('id', '!=', STAGING_USER_ID);
    if (q.source) query = query.where('source', '=', q.source);
    if (q.search) {
      // Wildcards the admin typed match themselves (escaped), in both dialects.
      const like = `%${q.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const matches = (column: 'username' | 'display_name' | 'email') => sql<boolean>`lower(${sql.ref(column)}) like ${like} escape '\\'`;
      query = query.where((eb) => eb.or([matches('username'), matches('display_name'), matches('email')]));
    }
    if (q.scopePrefix) query = query.where('default_group_id', 'in', groupsWithin(this.db, q.scopePrefix));
    const [rows, count] = await Promise.all([
      query.selectAll().orderBy('username').orderBy('id').limit(q.limit).offset(q.offset).execute(),
      query.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  async update(id: string, set: Updateable<UserTable>): Promise<void> {
    await this.db.updateTable('users').set(set).where('id', '=', id).execute();
  }

  /** Counts a failed sign-in; returns the new count (atomic, so parallel guesses all count). */
  async countFailure(id: string, now: number): Promise<number> {
    const row = await this.db
      .updateTable('users')
      .set((eb) => ({ failed_sign_ins: eb('failed_sign_ins', '+', 1), updated_at: now }))
      .where('id', '=', id)
      .returning('failed_sign_ins')
      .executeTakeFirst();
    return row?.failed_sign_ins ?? 0;
  }

  async groupByName(source: string, name: string): Promise<{ id: string } | undefined> {
    return this.db.selectFrom('user_groups').select('id').where('source', '=', source).where('name', '=', name).executeTakeFirst();
  }

  async insertGroup(row: { id: string; source: string; name: string; created_at: number }): Promise<void> {
    await this.db.insertInto('user_groups').values(row).onConflict((oc) => oc.columns(['source', 'name']).doNothing()).execute();
  }

  /** With a scope prefix: groups mapped under it and groups mapped nowhere. */
  async listGroups(scopePrefix?: string): Promise<{ id: string; source: string; name: string; organization_group_id: string | null; rank: number | null }[]> {
    let q = this.db
      .selectFrom('user_groups')
      .leftJoin('user_group_mappings', 'user_group_mappings.user_group_id', 'user_groups.id')
      .select(['user_groups.id', 'user_groups.source', 'user_groups.name', 'user_group_mappings.organization_group_id', 'user_group_mappings.rank']);
    if (scopePrefix) {
      q = q.where((eb) => eb.or([eb('user_group_mappings.organization_group_id', 'is', null), eb('user_group_mappings.organization_group_id', 'in', groupsWithin(this.db, scopePrefix))]));
    }
    return q.orderBy('user_groups.name').execute();
  }

  /** Replaces the user's memberships among groups of one source (a directory's groups at sign-in). */
  async setMemberships(userId: string, source: string, groupIds: string[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const ofSource = tx.selectFrom('user_groups').select('id').where('source', '=', source);
      await tx.deleteFrom('user_group_members').where('user_id', '=', userId).where('user_group_id', 'in', ofSource).execute();
      if (groupIds.length) await tx.insertInto('user_group_members').values(groupIds.map((g) => ({ user_group_id: g, user_id: userId }))).execute();
    });
  }

  async addMember(groupId: string, userId: string): Promise<void> {
    await this.db.insertInto('user_group_members').values({ user_group_id: groupId, user_id: userId }).onConflict((oc) => oc.columns(['user_group_id', 'user_id']).doNothing()).execute();
  }

  async setMapping(userGroupId: string, organizationGroupId: string | null, rank: number, now: number): Promise<void> {
    if (organizationGroupId === null) {
      await this.db.deleteFrom('user_group_mappings').where('user_group_id', '=', userGroupId).execute();
      return;
    }
    await this.db
      .insertInto('user_group_mappings')
      .values({ user_group_id: userGroupId, organization_group_id: organizationGroupId, rank, created_at: now })
      .onConflict((oc) => oc.column('user_group_id').doUpdateSet({ organization_group_id: organizationGroupId, rank }))
      .execute();
  }

  /** The organization groups the user's groups map to, best (lowest rank, then name) first. */
  async mappedGroups(userId: string): Promise<{ organization_group_id: string; rank: number; name: string }[]> {
    return (await mappedGroupsOf(this.db, userId)).rows;
  }
}
