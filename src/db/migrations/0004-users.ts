import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * End users (local, or met through a directory or SSO provider), user groups and their mapping
 * to organization groups, identity providers configured per organization group, and
 * registration tokens.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = isPostgres(db);
  const ms = pg ? 'bigint' : 'integer';
  const blob = pg ? 'bytea' : 'blob';

  await db.schema
    .createTable('identity_providers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_group_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull()) // local | ldap | saml | oidc
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('config_json', 'text', (c) => c.notNull())
    .addColumn('secrets_enc', blob)
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    /** 'local' or the identity provider's id */
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('email', 'text')
    .addColumn('display_name', 'text')
    .addColumn('password_hash', 'text')
    .addColumn('pin_hash', 'text')
    .addColumn('default_group_id', 'text', (c) => c.notNull())
    .addColumn('failed_sign_ins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', ms)
    .addColumn('disabled_at', ms)
    .addColumn('last_sign_in_at', ms)
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('users_source_username').on('users').columns(['source', 'username']).unique().execute();

  await db.schema
    .createTable('user_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    /** 'local', or the identity provider whose directory group this is */
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('user_groups_source_name').on('user_groups').columns(['source', 'name']).unique().execute();

  await db.schema
    .createTable('user_group_members')
    .addColumn('user_group_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('user_group_members_pk', ['user_group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('user_group_members_user').on('user_group_members').column('user_id').execute();

  await db.schema
    .createTable('user_group_mappings')
    .addColumn('user_group_id', 'text', (c) => c.primaryKey())
    .addColumn('organization_group_id', 'text', (c) => c.notNull())
    /** when a user's groups map to several organization groups, the lowest rank wins */
    .addColumn('rank', 'integer', (c) => c.notNull().defaultTo(100))
    .addColumn('created_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('registration_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('organization_group_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('platform', 'text')
    /** null: any number of uses until it expires */
    .addColumn('max_uses', 'integer')
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('two_factor', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', ms, (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('revoked_at', ms)
    .addColumn('last_used_at', ms)
    .execute();

  // SSO sign-ins in flight (SAML request ids, OIDC state with nonce and PKCE verifier), so the
  // node that receives the IdP's answer need not be the one that sent the user there.
  await db.schema
    .createTable('sign_in_flows')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('data_json', 'text', (c) => c.notNull())
    .addColumn('expires_at', ms, (c) => c.notNull())
    .addColumn('consumed_at', ms)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['sign_in_flows', 'registration_tokens', 'user_group_mappings', 'user_group_members', 'user_groups', 'users', 'identity_providers']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
