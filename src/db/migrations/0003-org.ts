import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * Organization groups: a tree (root "Global", then customers, sites, departments…) kept with a
 * materialized path so a subtree is one prefix match; settings set at a group and inherited by
 * its subtree; and the group and ownership of each device.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = isPostgres(db) ? 'bigint' : 'integer';

  await db.schema
    .createTable('organization_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('parent_id', 'text')
    .addColumn('name', 'text', (c) => c.notNull())
    /** the short Group ID users type, stored upper-case */
    .addColumn('group_code', 'text', (c) => c.notNull().unique())
    /** '/root-id/…/this-id/' */
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('depth', 'integer', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('organization_groups_parent').on('organization_groups').column('parent_id').execute();
  await db.schema.createIndex('organization_groups_path').on('organization_groups').column('path').execute();

  await db.schema
    .createTable('group_settings')
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value_json', 'text', (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .addPrimaryKeyConstraint('group_settings_pk', ['group_id', 'key'])
    .execute();

  const now = Date.now();
  await sql`INSERT INTO organization_groups (id, parent_id, name, group_code, path, depth, created_at, updated_at)
            VALUES ('global', NULL, 'Global', 'GLOBAL', '/global/', 0, ${now}, ${now})`.execute(db);

  await db.schema.alterTable('devices').addColumn('organization_group_id', 'text', (c) => c.notNull().defaultTo('global')).execute();
  await db.schema.alterTable('devices').addColumn('ownership', 'text').execute();
  await db.schema.createIndex('devices_group').on('devices').column('organization_group_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('devices_group').ifExists().execute();
  await db.schema.alterTable('devices').dropColumn('ownership').execute();
  await db.schema.alterTable('devices').dropColumn('organization_group_id').execute();
  await db.schema.dropTable('group_settings').ifExists().execute();
  await db.schema.dropTable('organization_groups').ifExists().execute();
}
