/** Queries for Pomona's enrollment (DEP) profiles and the Apple profiles they defined. */
import type { Insertable, Selectable, Updateable } from 'kysely';
import { isUniqueViolation, type Db } from '../db/database.js';
import type { DepProfileDefinitionTable, DepProfileTable } from '../db/schema.js';
import { prepared } from '../db/prepared.js';

export type DepProfileRow = Selectable<DepProfileTable>;
export type DepProfileDefinitionRow = Selectable<DepProfileDefinitionTable>;

// Read on every ADE request (see src/db/prepared.ts).
const byId = prepared((db, id: string) => db.selectFrom('dep_profiles').selectAll().where('id', '=', id));

export class DepProfileStore {
  constructor(private readonly db: Db) {}

  async get(id: string): Promise<DepProfileRow | undefined> {
    return (await byId(this.db, id)).rows[0];
  }

  async listForServer(serverId: string): Promise<DepProfileRow[]> {
    return this.db.selectFrom('dep_profiles').selectAll().where('abm_server_id', '=', serverId).orderBy('name').execute();
  }

  async defaultFor(serverId: string): Promise<DepProfileRow | undefined> {
    return this.db.selectFrom('dep_profiles').selectAll().where('abm_server_id', '=', serverId).where('is_default', '=', 1).executeTakeFirst();
  }

  /**
   * Inserts the profile; the first profile of a server becomes its default. The unique index on
   * defaults settles a race between two first profiles: the loser is inserted as a plain one.
   */
  async insert(row: Insertable<DepProfileTable>): Promise<DepProfileRow> {
    const existing = await this.db.selectFrom('dep_profiles').select('id').where('abm_server_id', '=', row.abm_server_id).where('is_default', '=', 1).executeTakeFirst();
    try {
      await this.db.insertInto('dep_profiles').values({ ...row, is_default: existing ? 0 : 1 }).execute();
    } catch (err) {
      if (existing || !isUniqueViolation(err)) throw err;
      await this.db.insertInto('dep_profiles').values({ ...row, is_default: 0 }).execute();
    }
    return this.db.selectFrom('dep_profiles').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  }

  /** Writes new settings only if the row is still at `expectedRevision` (two admins saving at once: one wins). */
  async updateSettings(id: string, expectedRevision: number, set: Updateable<DepProfileTable>): Promise<boolean> {
    const res = await this.db
      .updateTable('dep_profiles')
      .set((eb) => ({ ...set, revision: eb('revision', '+', 1) }))
      .where('id', '=', id)
      .where('revision', '=', expectedRevision)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async update(id: string, set: Updateable<DepProfileTable>): Promise<void> {
    await this.db.updateTable('dep_profiles').set(set).where('id', '=', id).execute();
  }

  /** Records an Apple definition and makes it current unless the profile moved on meanwhile. */
  async recordDefinition(def: Insertable<DepProfileDefinitionTable>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('dep_profile_definitions').values(def).execute();
      await tx
        .updateTable('dep_profiles')
        .set({ apple_profile_uuid: def.apple_profile_uuid, apple_version: def.version, apple_defined_at: def.defined_at, define_error: null, define_failed_at: null })
        .where('id', '=', def.profile_id)
        .where((eb) => eb.or([eb('apple_version', 'is', null), eb('apple_version', '<=', def.version)]))
        .execute();
    });
  }

  async definitions(profileId: string): Promise<DepProfileDefinitionRow[]> {
    return this.db.selectFrom('dep_profile_definitions').selectAll().where('profile_id', '=', profileId).orderBy('version', 'desc').execute();
  }

  /** Apple profile UUID → Pomona profile id, for every profile this server ever defined. */
  async adoptionMap(serverId: string): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom('dep_profile_definitions')
      .innerJoin('dep_profiles', 'dep_profiles.id', 'dep_profile_definitions.profile_id')
      .select(['dep_profile_definitions.apple_profile_uuid', 'dep_profile_definitions.profile_id'])
      .where('dep_profile_definitions.abm_server_id', '=', serverId)
      .execute();
    return new Map(rows.map((r) => [r.apple_profile_uuid, r.profile_id]));
  }

  async setDefault(serverId: string, id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('dep_profiles').set({ is_default: 0 }).where('abm_server_id', '=', serverId).where('id', '!=', id).execute();
      await tx.updateTable('dep_profiles').set({ is_default: 1 }).where('abm_server_id', '=', serverId).where('id', '=', id).execute();
    });
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('dep_profiles').where('id', '=', id).where('is_default', '=', 0).execute();
  }
}
