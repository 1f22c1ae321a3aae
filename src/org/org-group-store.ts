/** Queries for the organization tree and the settings set at its groups. */
import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import { isPostgres } from '../db/dialect.js';
import type { GroupSettingTable, OrganizationGroupTable } from '../db/schema.js';
import { prepared, preparedPerShape } from '../db/prepared.js';

export type OrgGroupRow = Selectable<OrganizationGroupTable>;
export type GroupSettingRow = Selectable<GroupSettingTable>;

export interface GroupUsage {
  children: number;
  devices: number;
  abmServers: number;
  admins: number;
  apiTokens: number;
  users: number;
  userGroupMappings: number;
  registrationTokens: number;
  identityProviders: number;
  attachedProfiles: number;
  depProfiles: number;
}

// Read on every enrollment request (see src/db/prepared.ts).
const byId = prepared((db, id: string) => db.selectFrom('organization_groups').selectAll().where('id', '=', id));
/** settingsOnPath, prepared for each list of keys asked for (a handful, from the code) */
const settingsOnPathFor = preparedPerShape<[string], { key: string | null; value_json: string | null }>();

export class OrgGroupStore {
  constructor(private readonly db: Db) {}

  async all(): Promise<OrgGroupRow[]> {
    return this.db.selectFrom('organization_groups').selectAll().orderBy('depth').orderBy('name').execute();
  }

  async get(id: string): Promise<OrgGroupRow | undefined> {
    return (await byId(this.db, id)).rows[0];
  }

  async byCode(code: string): Promise<OrgGroupRow | undefined> {
    return this.db.selectFrom('organization_groups').selectAll().where('group_code', '=', code).executeTakeFirst();
  }

  /** The groups whose ids are given, for walking a path to the root. */
  async many(ids: string[]): Promise<OrgGroupRow[]> {
    if (ids.length === 0) return [];
    return this.db.selectFrom('organization_groups').selectAll().where('id', 'in', ids).execute();
  }

  async insert(row: Insertable<OrganizationGroupTable>): Promise<void> {
    await this.db.insertInto('organization_groups').values(row).execute();
  }

  async rename(id: string, set: { name?: string; group_code?: string; updated_at: number }): Promise<void> {
    await this.db.updateTable('organization_groups').set(set).where('id', '=', id).execute();
  }

  /** Moves a subtree: every path under `oldPath` is re-rooted at `newPath`, in one transaction. */
  async moveSubtree(id: string, parentId: string, oldPath: string, newPath: string, depthDelta: number, now: number): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('organization_groups').set({ parent_id: parentId, updated_at: now }).where('id', '=', id).execute();
      const rows = await tx.selectFrom('organization_groups').select(['id', 'path', 'depth']).where('path', 'like', `${oldPath}%`).execute();
      for (const r of rows) {
        await tx.updateTable('organization_groups').set({ path: newPath + r.path.slice(oldPath.length), depth: r.depth + depthDelta }).where('id', '=', r.id).execute();
      }
    });
  }

  /**
   * Deletes the group if nothing uses it; returns what uses it (all zero: deleted). Counted and
   * deleted in one transaction, the group row locked first on PostgreSQL: a write putting
   * something in the group meanwhile either commits before the count and is counted, or waits
   * and then finds no group (src/db/group-references.ts).
   */
  async deleteUnlessUsed(id: string, now: number): Promise<GroupUsage> {
    return this.db.transaction().execute(async (tx) => {
      if (isPostgres(tx as never)) await tx.selectFrom('organization_groups').select('id').where('id', '=', id).forUpdate().execute();
      const used = await this.#usage(id, now, tx);
      if (Object.values(used).every((n) => n === 0)) {
        await tx.deleteFrom('group_settings').where('group_id', '=', id).execute();
        await tx.deleteFrom('organization_groups').where('id', '=', id).execute();
      }
      return used;
    });
  }

  /**
   * What still belongs to the group or names it (a group is deleted only when nothing does):
   * without this, users, tokens and profiles would go on sending devices to a group that no
   * longer exists. Records kept for history (revoked or spent tokens, past enrollments) do not count.
   */
  async #usage(id: string, now: number, db: Db): Promise<GroupUsage> {
    const count = async (q: { executeTakeFirst(): Promise<{ n: number | string | bigint } | undefined> }) => Number((await q.executeTakeFirst())?.n ?? 0);
    const n = sql<number>`count(*)`.as('n');
    return {
      children: await count(db.selectFrom('organization_groups').select(n).where('parent_id', '=', id)),
      devices: await count(db.selectFrom('devices').select(n).where('organization_group_id', '=', id)),
      abmServers: await count(db.selectFrom('abm_servers').select(n).where('organization_group_id', '=', id)),
      admins: await count(db.selectFrom('admin_users').select(n).where('scope_group_id', '=', id)),
      // revoked tokens are kept for the record; they no longer act anywhere
      apiTokens: await count(db.selectFrom('api_tokens').select(n).where('scope_group_id', '=', id).where('revoked_at', 'is', null)),
      users: await count(db.selectFrom('users').select(n).where('default_group_id', '=', id)),
      userGroupMappings: await count(db.selectFrom('user_group_mappings').select(n).where('organization_group_id', '=', id)),
      registrationTokens: await count(
        db.selectFrom('registration_tokens').select(n).where('organization_group_id', '=', id).where('revoked_at', 'is', null).where('expires_at', '>', now)
          .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))])),
      ),
      identityProviders: await count(db.selectFrom('identity_providers').select(n).where('organization_group_id', '=', id)),
      attachedProfiles: await count(db.selectFrom('configuration_profile_attachments').select(n).where('target_kind', '=', 'organization-group').where('target_id', '=', id)),
      depProfiles: await this.#depProfilesNaming(id, db),
    };
  }

  /** DEP profiles whose devices join the group (`pomona.organizationGroupId` in their settings JSON). */
  async #depProfilesNaming(id: string, db: Db): Promise<number> {
    // An organization has a few dozen profiles at most; reading them all is exact and simple.
    const rows = await db.selectFrom('dep_profiles').select('settings_json').execute();
    return rows.filter((r) => (JSON.parse(r.settings_json) as { pomona?: { organizationGroupId?: unknown } }).pomona?.organizationGroupId === id).length;
  }

  async settingsOf(groupIds: string[]): Promise<GroupSettingRow[]> {
    if (groupIds.length === 0) return [];
    return this.db.selectFrom('group_settings').selectAll().where('group_id', 'in', groupIds).execute();
  }

  /**
   * Where `keys` are set on the way from a group up to the root, in one query: the group (so an
   * unknown one is told apart) left-joined to the settings of its ancestors — the groups whose
   * path begins its path — nearest first. No rows: no such group; a row with a null key: the group
   * exists and none of its ancestors sets any of the keys.
   */
  async settingsOnPath(groupId: string, keys: readonly string[]): Promise<Array<{ key: string | null; value_json: string | null }>> {
    const query = settingsOnPathFor(keys.join('\n'), () =>
      prepared((db, id: string) => {
        const set = db
          .selectFrom('group_settings as s')
          .innerJoin('organization_groups as a', 'a.id', 's.group_id')
          .select(['s.key', 's.value_json', 'a.path', 'a.depth'])
          .where('s.key', 'in', [...keys])
          .as('x');
        return db
          .selectFrom('organization_groups as g')
          .leftJoin(set, (j) => j.on(sql<string>`substr(g.path, 1, length(x.path))`, '=', sql.ref<string>('x.path')))
          .select(['x.key', 'x.value_json'])
          .where('g.id', '=', id)
          .orderBy('x.depth', 'desc');
      }),
    );
    return (await query(this.db, groupId)).rows;
  }

  async setSetting(row: Insertable<GroupSettingTable>): Promise<void> {
    await this.db
      .insertInto('group_settings')
      .values(row)
      .onConflict((oc) => oc.columns(['group_id', 'key']).doUpdateSet({ value_json: row.value_json, updated_at: row.updated_at, updated_by: row.updated_by }))
      .execute();
  }

  async clearSetting(groupId: string, key: string): Promise<void> {
    await this.db.deleteFrom('group_settings').where('group_id', '=', groupId).where('key', '=', key).execute();
  }

  /**
   * Moves a device; returns the group it was in (for the audit log), or undefined when there is no
   * such device. The move applies only from the group read, so two moves at once both report truly.
   */
  async moveDevice(deviceId: string, groupId: string): Promise<string | undefined> {
    for (;;) {
      const row = await this.db.selectFrom('devices').select('organization_group_id').where('id', '=', deviceId).executeTakeFirst();
      if (!row) return undefined;
      const res = await this.db
        .updateTable('devices')
        .set({ organization_group_id: groupId })
        .where('id', '=', deviceId)
        .where('organization_group_id', '=', row.organization_group_id)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) return row.organization_group_id;
    }
  }
}
