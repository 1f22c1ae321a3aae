import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * What an ADE device's timeline needs beyond what other tables already hold: which serial a
 * staging record was for and when and how its user signed in, and the requests Pomona refused
 * (or answered with "update first") — those leave no other trace, and the admin needs the reason.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = isPostgres(db) ? 'bigint' : 'integer';
  await db.schema.alterTable('pending_enrollments').addColumn('serial_number', 'text').execute();
  await db.schema.alterTable('pending_enrollments').addColumn('authenticated_at', ms).execute();
  await db.schema.alterTable('pending_enrollments').addColumn('sign_in_method', 'text').execute();
  await db.schema.createIndex('pending_enrollments_serial').on('pending_enrollments').column('serial_number').execute();

  await db.schema
    .createTable('enrollment_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('serial_number', 'text', (c) => c.notNull())
    .addColumn('at', ms, (c) => c.notNull())
    .addColumn('step', 'text', (c) => c.notNull()) // enrollment-request | web-view
    .addColumn('outcome', 'text', (c) => c.notNull()) // refused | update-required
    .addColumn('detail', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('enrollment_events_serial').on('enrollment_events').columns(['serial_number', 'at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('enrollment_events').ifExists().execute();
  await db.schema.dropIndex('pending_enrollments_serial').ifExists().execute();
  await db.schema.alterTable('pending_enrollments').dropColumn('sign_in_method').execute();
  await db.schema.alterTable('pending_enrollments').dropColumn('authenticated_at').execute();
  await db.schema.alterTable('pending_enrollments').dropColumn('serial_number').execute();
}
