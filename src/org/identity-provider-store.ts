/** Queries for identity providers and the SSO sign-ins in flight. */
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Db } from '../db/database.js';
import type { IdentityProviderTable } from '../db/schema.js';

export type IdentityProviderRow = Selectable<IdentityProviderTable>;

export class IdentityProviderStore {
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<IdentityProviderTable>): Promise<void> {
    await this.db.insertInto('identity_providers').values(row).execute();
  }

  async get(id: string): Promise<IdentityProviderRow | undefined> {
    return this.db.selectFrom('identity_providers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async inGroups(groupIds: string[]): Promise<IdentityProviderRow[]> {
    if (groupIds.length === 0) return [];
    return this.db.selectFrom('identity_providers').selectAll().where('organization_group_id', 'in', groupIds).orderBy('name').execute();
  }

  /** Enabled SAML and OIDC providers admins may sign in to the console through. */
  async forConsole(): Promise<IdentityProviderRow[]> {
    return this.db
      .selectFrom('identity_providers')
      .selectAll()
      .where('console_sign_in', '=', 1)
      .where('enabled', '=', 1)
      .where('kind', 'in', ['saml', 'oidc'])
      .orderBy('name')
      .execute();
  }

  async update(id: string, set: Updateable<IdentityProviderTable>): Promise<void> {
    await this.db.updateTable('identity_providers').set(set).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('identity_providers').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) === 1;
  }

  async saveFlow(id: string, providerId: string, data: unknown, expiresAt: number): Promise<void> {
    await this.db.insertInto('sign_in_flows').values({ id, provider_id: providerId, data_json: JSON.stringify(data), expires_at: expiresAt }).execute();
  }

  /** Marks the flow used and returns its data — once, and only before it expires. */
  async consumeFlow(id: string, providerId: string, now: number): Promise<unknown | undefined> {
    const row = await this.db
      .updateTable('sign_in_flows')
      .set({ consumed_at: now })
      .where('id', '=', id)
      .where('provider_id', '=', providerId)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .returning('data_json')
      .executeTakeFirst();
    return row ? (JSON.parse(row.data_json) as unknown) : undefined;
  }

  async purgeFlows(before: number): Promise<void> {
    await this.db.deleteFrom('sign_in_flows').where('expires_at', '<', before).execute();
  }
}
