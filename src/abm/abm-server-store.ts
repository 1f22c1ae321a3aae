/**
 * Queries for ABM servers: their key pairs and tokens, the shared DEP session, Apple's account
 * facts, the outcome of the last DEP call, and the sync cursor and progress.
 */
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../db/database.js';
import type { AbmServerTable } from '../db/schema.js';
import { groupsWithin } from '../org/scope-store.js';

export type AbmServerRow = Selectable<AbmServerTable>;

export class AbmServerStore {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<AbmServerTable>): Promise<void> {
    await this.db.insertInto('abm_servers').values(row).execute();
  }

  async get(id: string): Promise<AbmServerRow | undefined> {
    return this.db.selectFrom('abm_servers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byName(name: string): Promise<AbmServerRow | undefined> {
    return this.db.selectFrom('abm_servers').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async byConsumerKey(consumerKey: string): Promise<AbmServerRow | undefined> {
    return this.db.selectFrom('abm_servers').selectAll().where('consumer_key', '=', consumerKey).executeTakeFirst();
  }

  /** After a switch to another MDM server, its Apple profiles are unknown there: define them again. */
  async forgetAppleProfiles(serverId: string): Promise<void> {
    await this.db.updateTable('dep_profiles').set({ apple_profile_uuid: null, apple_version: null }).where('abm_server_id', '=', serverId).execute();
  }

  /** Every server, or those whose organization group lies under a path prefix (a server with no group is global). */
  async list(scopePrefix?: string): Promise<AbmServerRow[]> {
    let q = this.db.selectFrom('abm_servers').selectAll();
    if (scopePrefix) q = q.where('organization_group_id', 'in', groupsWithin(this.db, scopePrefix));
    return q.orderBy('name').execute();
  }

  async update(id: string, set: Updateable<AbmServerTable>): Promise<void> {
    await this.db.updateTable('abm_servers').set(set).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<boolean> {
    const res = await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('dep_profile_definitions').where('abm_server_id', '=', id).execute();
      await tx.deleteFrom('abm_devices').where('abm_server_id', '=', id).execute();
      await tx.deleteFrom('dep_profiles').where('abm_server_id', '=', id).execute();
      return tx.deleteFrom('abm_servers').where('id', '=', id).executeTakeFirst();
    });
    return Number(res.numDeletedRows) === 1;
  }

  async loadSession(id: string): Promise<Buffer | null> {
    const row = await this.db.selectFrom('abm_servers').select('session_enc').where('id', '=', id).executeTakeFirst();
    return row?.session_enc ? Buffer.from(row.session_enc) : null;
  }

  async saveSession(id: string, sealed: Buffer | null): Promise<void> {
    await this.db.updateTable('abm_servers').set({ session_enc: sealed }).where('id', '=', id).execute();
  }

  /** Servers that have a token: the periodic job visits each (sync when due, assignments always). */
  async withTokens(): Promise<AbmServerRow[]> {
    return this.db.selectFrom('abm_servers').selectAll().where('tokens_enc', 'is not', null).execute();
  }

  /** Clears the sync request the run started with; one made while it ran stays for the next run. */
  async takeSyncRequest(id: string, requestedAt: number | null): Promise<void> {
    if (requestedAt === null) return;
    await this.db.updateTable('abm_servers').set({ sync_requested: null, sync_requested_at: null }).where('id', '=', id).where('sync_requested_at', '<=', requestedAt).execute();
  }
}
