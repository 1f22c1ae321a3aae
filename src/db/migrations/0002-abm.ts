import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * Apple Business/School Manager: one row per virtual MDM server (its key pairs, sealed OAuth
 * secrets, shared DEP session, sync cursor and progress), the devices Apple assigned to it,
 * and Pomona's enrollment (DEP) profiles with the history of the Apple profiles they defined.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const pg = isPostgres(db);
  const blob = pg ? 'bytea' : 'blob';
  const ms = pg ? 'bigint' : 'integer';

  await db.schema
    .createTable('abm_servers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('organization_group_id', 'text')
    .addColumn('base_url', 'text')
    .addColumn('sync_interval_minutes', 'integer', (c) => c.notNull().defaultTo(30))
    .addColumn('cert_pem', 'text', (c) => c.notNull())
    .addColumn('key_enc', blob, (c) => c.notNull())
    .addColumn('staged_cert_pem', 'text')
    .addColumn('staged_key_enc', blob)
    .addColumn('consumer_key', 'text')
    .addColumn('tokens_enc', blob)
    .addColumn('token_expires_at', ms)
    .addColumn('token_uploaded_at', ms)
    .addColumn('session_enc', blob)
    .addColumn('account_json', 'text')
    .addColumn('apple_server_uuid', 'text')
    .addColumn('apple_server_name', 'text')
    .addColumn('org_name', 'text')
    .addColumn('admin_id', 'text')
    .addColumn('page_limit', 'integer')
    .addColumn('last_success_at', ms)
    .addColumn('last_error_at', ms)
    .addColumn('last_error_code', 'text')
    .addColumn('last_error_message', 'text')
    .addColumn('cursor', 'text')
    .addColumn('cursor_at', ms)
    .addColumn('fetch_complete', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('full_fetch_started_at', ms)
    .addColumn('sync_started_at', ms)
    .addColumn('sync_kind', 'text')
    .addColumn('sync_pages', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sync_devices', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_sync_at', ms)
    .addColumn('last_sync_json', 'text')
    .addColumn('last_sync_error', 'text')
    .addColumn('sync_requested', 'text')
    .addColumn('sync_requested_at', ms)
    .addColumn('next_sync_at', ms)
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();

  // One Pomona ABM server per MDM server in ABM (its consumer key), even when two uploads race.
  await db.schema.createIndex('abm_servers_consumer_key').on('abm_servers').column('consumer_key').unique().where(sql.ref('consumer_key'), 'is not', null).execute();

  await db.schema
    .createTable('abm_devices')
    .addColumn('serial_number', 'text', (c) => c.primaryKey())
    // No foreign key: checking it costs a lookup per row of a 100,000-device sync; deleting a
    // server deletes its devices explicitly (AbmServerStore.delete).
    .addColumn('abm_server_id', 'text', (c) => c.notNull())
    .addColumn('model', 'text')
    .addColumn('description', 'text')
    .addColumn('color', 'text')
    .addColumn('asset_tag', 'text')
    .addColumn('os', 'text')
    .addColumn('device_family', 'text')
    .addColumn('profile_status', 'text')
    .addColumn('profile_uuid', 'text')
    .addColumn('profile_assign_time', ms)
    .addColumn('profile_push_time', ms)
    .addColumn('device_assigned_date', ms)
    .addColumn('device_assigned_by', 'text')
    .addColumn('op_type', 'text')
    .addColumn('op_date', ms)
    .addColumn('apple_json', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', ms, (c) => c.notNull())
    .addColumn('last_seen_at', ms, (c) => c.notNull())
    .addColumn('removed_at', ms)
    .addColumn('profile_id', 'text')
    .addColumn('assign_mode', 'text', (c) => c.notNull().defaultTo('auto'))
    .addColumn('assign_started_at', ms)
    .addColumn('assign_result', 'text')
    .addColumn('assign_error', 'text')
    .addColumn('assign_attempted_at', ms)
    .addColumn('assign_retry_at', ms)
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
  // (abm_server_id, rowid): a sync appends to it in order, where (server, serial) would insert at random.
  await db.schema.createIndex('abm_devices_server').on('abm_devices').column('abm_server_id').execute();
  await db.schema.createIndex('abm_devices_profile').on('abm_devices').column('profile_id').execute();

  await db.schema
    .createTable('dep_profiles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('abm_server_id', 'text', (c) => c.notNull().references('abm_servers.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('settings_json', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    /** bumped by every save, so two saves made at once cannot both win */
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('apple_profile_uuid', 'text')
    .addColumn('apple_version', 'integer')
    .addColumn('apple_defined_at', ms)
    .addColumn('define_error', 'text')
    .addColumn('define_failed_at', ms)
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dep_profiles_server_name').on('dep_profiles').columns(['abm_server_id', 'name']).unique().execute();
  // One default per server, even when two profiles are created at the same moment.
  await db.schema.createIndex('dep_profiles_one_default').on('dep_profiles').column('abm_server_id').unique().where(sql.ref('is_default'), '=', 1).execute();

  await db.schema
    .createTable('dep_profile_definitions')
    .addColumn('apple_profile_uuid', 'text', (c) => c.primaryKey())
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addColumn('abm_server_id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('body_json', 'text', (c) => c.notNull())
    .addColumn('defined_at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dep_profile_definitions_profile').on('dep_profile_definitions').column('profile_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['dep_profile_definitions', 'dep_profiles', 'abm_devices', 'abm_servers']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
