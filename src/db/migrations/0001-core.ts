import type { Kysely } from 'kysely';
import { isPostgres, type Dialect } from '../dialect.js';

/** The core MDM tables. One definition for both dialects; only blob and serial types differ. */
export async function up(db: Kysely<unknown>): Promise<void> {
  const dialect: Dialect = isPostgres(db) ? 'postgres' : 'sqlite';
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';
  const ms = dialect === 'postgres' ? 'bigint' : 'integer';

  await db.schema
    .createTable('devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('udid', 'text', (c) => c.unique())
    .addColumn('serial_number', 'text')
    .addColumn('model', 'text')
    .addColumn('model_name', 'text')
    .addColumn('product_name', 'text')
    .addColumn('device_name', 'text')
    .addColumn('os_version', 'text')
    .addColumn('build_version', 'text')
    .addColumn('imei', 'text')
    .addColumn('meid', 'text')
    .addColumn('info_json', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addColumn('last_seen_at', ms)
    .execute();
  await db.schema.createIndex('devices_serial').on('devices').column('serial_number').execute();

  await db.schema
    .createTable('enrollments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('parent_id', 'text')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('is_ade', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('user_id', 'text')
    .addColumn('user_short_name', 'text')
    .addColumn('user_long_name', 'text')
    .addColumn('topic', 'text')
    .addColumn('push_magic', 'text')
    .addColumn('token_hex', 'text')
    .addColumn('token_invalid_at', ms)
    .addColumn('unlock_token_enc', blob)
    .addColumn('awaiting_configuration', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('token_update_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('authenticate_plist', 'text')
    .addColumn('token_update_plist', 'text')
    .addColumn('last_push_at', ms)
    .addColumn('last_push_result', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addColumn('last_seen_at', ms)
    .addColumn('checked_out_at', ms)
    .execute();
  await db.schema.createIndex('enrollments_device').on('enrollments').column('device_id').execute();
  await db.schema.createIndex('enrollments_parent').on('enrollments').column('parent_id').execute();

  await db.schema
    .createTable('identity_certificates')
    .addColumn('sha256', 'text', (c) => c.primaryKey())
    .addColumn('enrollment_id', 'text')
    .addColumn('serial', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('issued_by_pomona', 'integer', (c) => c.notNull())
    .addColumn('not_before', ms, (c) => c.notNull())
    .addColumn('not_after', ms, (c) => c.notNull())
    .addColumn('der', blob, (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('bound_at', ms)
    .execute();
  await db.schema
    .createIndex('identity_certificates_enrollment')
    .on('identity_certificates')
    .column('enrollment_id')
    .execute();

  await db.schema
    .createTable('bootstrap_tokens')
    .addColumn('enrollment_id', 'text', (c) => c.primaryKey())
    .addColumn('token_enc', blob, (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('commands')
    .addColumn('uuid', 'text', (c) => c.primaryKey())
    .addColumn('request_type', 'text', (c) => c.notNull())
    .addColumn('plist', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('created_by', 'text')
    .execute();

  await db.schema
    .createTable('command_queue')
    .addColumn('enrollment_id', 'text', (c) => c.notNull().references('enrollments.id').onDelete('cascade'))
    .addColumn('command_uuid', 'text', (c) => c.notNull().references('commands.uuid').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('not_now_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('not_now_at', ms)
    .addColumn('result_plist', 'text')
    .addColumn('result_json', 'text')
    .addColumn('queued_at', ms, (c) => c.notNull())
    .addColumn('sent_at', ms)
    .addColumn('answered_at', ms)
    .addPrimaryKeyConstraint('command_queue_pk', ['enrollment_id', 'command_uuid'])
    .execute();
  // The hot query: the next eligible command for one enrollment.
  await db.schema
    .createIndex('command_queue_next')
    .on('command_queue')
    .columns(['enrollment_id', 'active', 'status', 'priority', 'queued_at'])
    .execute();
  await db.schema.createIndex('command_queue_command').on('command_queue').column('command_uuid').execute();

  await db.schema
    .createTable('push_certificates')
    .addColumn('topic', 'text', (c) => c.primaryKey())
    .addColumn('cert_pem', 'text', (c) => c.notNull())
    .addColumn('key_enc', blob, (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('not_before', ms, (c) => c.notNull())
    .addColumn('not_after', ms, (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('certificate_authorities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('cert_pem', 'text', (c) => c.notNull())
    .addColumn('key_enc', blob, (c) => c.notNull())
    .addColumn('not_after', ms, (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('scep_challenges')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('expires_at', ms, (c) => c.notNull())
    .addColumn('used_at', ms)
    .addColumn('created_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('admin_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('disabled_at', ms)
    .execute();

  await db.schema
    .createTable('admin_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('admin_users.id').onDelete('cascade'))
    .addColumn('expires_at', ms, (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('expires_at', ms)
    .addColumn('last_used_at', ms)
    .addColumn('revoked_at', ms)
    .execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('at', ms, (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('source', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('details_json', 'text')
    .execute();
  await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', ms, (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'leases', 'settings', 'audit_events', 'api_tokens', 'admin_sessions', 'admin_users',
    'scep_challenges', 'certificate_authorities', 'push_certificates', 'command_queue',
    'commands', 'bootstrap_tokens', 'identity_certificates', 'enrollments', 'devices',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
