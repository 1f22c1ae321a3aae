/** Queries for the organization tree and the settings set at its groups. */
import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { GroupSettingTable, OrganizationGroupTable } from '../db/schema.js';
import { prepared, preparedPerShape } from '../db/prepared.js';

export type OrgGroupRow = Selectable<OrganizationGroupTable>;
export type GroupSettingRow = Selectable<GroupSettingTable>;

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

  async delete(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('group_settings').where('group_id', '=', id).execute();
      await tx.deleteFrom('organization_groups').where('id', '=', id).execute();
    });
  }

  /** What still belongs to the group (a group is deleted only when empty). */
  async usage(id: string): Promise<{ children: number; devices: number; abmServers: number; admins: number; apiTokens: number }> {
    const count = async (q: Promise<{ n: number | string | bigint } | undefined>) => Number((await q)?.n ?? 0);
    return {
      children: await count(this.db.selectFrom('organization_groups').select((eb) => eb.fn.countAll<number>().as('n')).where('parent_id', '=', id).executeTakeFirst()),
      devices: await count(this.db.selectFrom('devices').select((eb) => eb.fn.countAll<number>().as('n')).where('organization_group_id', '=', id).executeTakeFirst()),
      abmServers: await count(this.db.selectFrom('abm_servers').select((eb) => eb.fn.countAll<number>().as('n')).where('organization_group_id', '=', id).executeTakeFirst()),
      admins: await count(this.db.selectFrom('admin_users').select((eb) => eb.fn.countAll<number>().as('n')).where('scope_group_id', '=', id).executeTakeFirst()),
      // revoked tokens are kept for the record; they no longer act anywhere
      apiTokens: await count(this.db.selectFrom('api_tokens').select((eb) => eb.fn.countAll<number>().as('n')).where('scope_group_id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()),
    };
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
