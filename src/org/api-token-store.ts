/** Queries for API tokens (Kysely only, no logic). */
import type { Db } from '../db/database.js';
import type { ApiToken } from '../db/schema.js';
import { groupsWithin } from './scope-store.js';

/** A token with the path of its scope group (a token whose group is gone is not found). */
export type ApiTokenWithScope = ApiToken & { scope_path: string };

export class ApiTokenStore {
  constructor(private readonly db: Db) {}

  async insert(row: ApiToken): Promise<void> {
    await this.db.insertInto('api_tokens').values(row).execute();
  }

  async findByHash(tokenHash: string): Promise<ApiTokenWithScope | undefined> {
    return this.db
      .selectFrom('api_tokens as t')
      .innerJoin('organization_groups as g', 'g.id', 't.scope_group_id')
      .selectAll('t')
      .select('g.path as scope_path')
      .where('t.token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  /** Matches the id or the display prefix; callers decide what to do with several matches. */
  async findByIdOrPrefix(idOrPrefix: string): Promise<ApiToken[]> {
    return this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrPrefix), eb('prefix', '=', idOrPrefix)]))
      .execute();
  }

  /** Every token, or those scoped under a group path prefix. */
  async list(scopePrefix?: string): Promise<ApiToken[]> {
    let q = this.db.selectFrom('api_tokens').selectAll();
    if (scopePrefix) q = q.where('scope_group_id', 'in', groupsWithin(this.db, scopePrefix));
    return q.orderBy('created_at', 'desc').orderBy('id').execute();
  }

  /** Sets revoked_at unless already revoked; true when this call revoked it. */
  async revoke(id: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Records use only when the stored value is older than `staleBefore`: the condition lives in
   * the UPDATE so concurrent requests on several nodes write at most once per interval.
   */
  async touchLastUsed(id: string, at: number, staleBefore: number): Promise<void> {
    await this.db
      .updateTable('api_tokens')
      .set({ last_used_at: at })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', staleBefore)]))
      .execute();
  }
}
