import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * Enrollment staging records: one per enrollment attempt (web enrollment, user enrollment, the
 * ADE web view), kept apart from devices so an abandoned or restarted attempt never leaves a
 * ghost device. The device learns how it enrolled when its first check-in links the two.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = isPostgres(db) ? 'bigint' : 'integer';

  await db.schema
    .createTable('pending_enrollments')
    /** random and unguessable: it is in the sign-in pages' URLs */
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('mode', 'text', (c) => c.notNull()) // web | user-profile | user-account | ade-webview
    .addColumn('state', 'text', (c) => c.notNull()) // started | authenticated | profile-issued | enrolled
    .addColumn('organization_group_id', 'text')
    .addColumn('user_id', 'text')
    .addColumn('registration_token_id', 'text')
    .addColumn('ownership', 'text')
    /** the platform the flow knows or the user chose */
    .addColumn('platform', 'text')
    /** set when a platform-bound registration token was used: the first check-in must match */
    .addColumn('required_platform', 'text')
    /** the version of the terms of use the final group had at sign-in; null: no terms */
    .addColumn('terms_version_required', 'integer')
    .addColumn('terms_version', 'integer')
    .addColumn('terms_accepted_at', ms)
    .addColumn('managed_apple_id', 'text')
    /** facts the flow started with (JSON), e.g. the serial number an ADE web view reported */
    .addColumn('context_json', 'text')
    /** SHA-256 of the secret in the browser's cookie: the sign-in pages belong to that browser */
    .addColumn('browser_key_hash', 'text', (c) => c.notNull())
    /** SHA-256 of the key in the profile's CheckInURL: the first Authenticate finds the record by it */
    .addColumn('checkin_key_hash', 'text', (c) => c.unique())
    .addColumn('enrollment_id', 'text')
    .addColumn('device_id', 'text')
    .addColumn('source_address', 'text')
    /** after this, a record not yet enrolled is incomplete */
    .addColumn('expires_at', ms, (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addColumn('profile_issued_at', ms)
    .addColumn('completed_at', ms)
    .execute();
  await db.schema.createIndex('pending_enrollments_state_created').on('pending_enrollments').columns(['state', 'created_at']).execute();
  await db.schema.createIndex('pending_enrollments_group').on('pending_enrollments').column('organization_group_id').execute();
  await db.schema.createIndex('pending_enrollments_device').on('pending_enrollments').column('device_id').execute();

  // How each device enrolled, written when its first check-in is linked to a staging record.
  await db.schema.alterTable('devices').addColumn('enrollment_method', 'text').execute();
  await db.schema.alterTable('devices').addColumn('enrolled_user_id', 'text').execute();
  await db.schema.alterTable('devices').addColumn('registration_token_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const c of ['registration_token_id', 'enrolled_user_id', 'enrollment_method']) await db.schema.alterTable('devices').dropColumn(c).execute();
  await db.schema.dropTable('pending_enrollments').ifExists().execute();
}
