import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * User enrollment (BYOD): each user's Managed Apple Account, the flag on devices enrolled by
 * user enrollment, and the access tokens account-driven enrollment hands the device after
 * sign-in (only their hashes).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = isPostgres(db) ? 'bigint' : 'integer';

  /** the account assigned in the user-enrollment profile (AssignedManagedAppleID); null: derived or none */
  await db.schema.alterTable('users').addColumn('managed_apple_id', 'text').execute();
  // One account belongs to one person; NULLs do not collide on either database.
  await db.schema.createIndex('users_managed_apple_id').on('users').column('managed_apple_id').unique().execute();

  /** 1 when the device enrolled by user enrollment: it is known by its EnrollmentID only */
  await db.schema.alterTable('devices').addColumn('user_enrolled', 'integer', (c) => c.notNull().defaultTo(0)).execute();

  await db.schema
    .createTable('user_enrollment_tokens')
    /** SHA-256 (hex) of the access token; the token itself is never stored */
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('pending_enrollment_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', ms, (c) => c.notNull())
    .addColumn('used_at', ms)
    .addColumn('created_at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('user_enrollment_tokens_pending').on('user_enrollment_tokens').column('pending_enrollment_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('user_enrollment_tokens').ifExists().execute();
  await db.schema.alterTable('devices').dropColumn('user_enrolled').execute();
  await db.schema.dropIndex('users_managed_apple_id').ifExists().execute();
  await db.schema.alterTable('users').dropColumn('managed_apple_id').execute();
}
