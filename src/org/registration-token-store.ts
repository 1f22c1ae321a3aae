/** Queries for registration tokens; a use is claimed with one conditional UPDATE so it cannot be spent twice. */
import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { RegistrationTokenTable } from '../db/schema.js';
import { groupsWithin } from './scope-store.js';
import { prepared } from '../db/prepared.js';

export type RegistrationTokenRow = Selectable<RegistrationTokenTable>;

// Checked and spent at every sign-in with a token (see src/db/prepared.ts).
const byTokenHash = prepared((db, hash: string) => db.selectFrom('registration_tokens').selectAll().where('token_hash', '=', hash));
const claim = prepared((db, id: string, now: number) =>
  db
    .updateTable('registration_tokens')
    .set((eb) => ({ uses: eb('uses', '+', 1), last_used_at: now }))
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))])),
);

export class RegistrationTokenStore {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<RegistrationTokenTable>): Promise<void> {
    await this.db.insertInto('registration_tokens').values(row).execute();
  }

  async byHash(hash: string): Promise<RegistrationTokenRow | undefined> {
    return (await byTokenHash(this.db, hash)).rows[0];
  }

  async get(id: string): Promise<RegistrationTokenRow | undefined> {
    return this.db.selectFrom('registration_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(groupId?: string, scopePrefix?: string): Promise<RegistrationTokenRow[]> {
    let q = this.db.selectFrom('registration_tokens').selectAll();
    if (groupId) q = q.where('organization_group_id', '=', groupId);
    if (scopePrefix) q = q.where('organization_group_id', 'in', groupsWithin(this.db, scopePrefix));
    return q.orderBy('created_at', 'desc').execute();
  }

  /** Takes one use if the token is still valid; false when another request took the last one first. */
  async claimUse(id: string, now: number): Promise<boolean> {
    return Number((await claim(this.db, id, now)).numAffectedRows) === 1;
  }

  async revoke(id: string, now: number): Promise<boolean> {
    const res = await this.db.updateTable('registration_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
