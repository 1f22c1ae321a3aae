import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/** Failed sign-ins by key (source address, user name), so the throttle holds across every node. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sign_in_failures')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('at', isPostgres(db) ? 'bigint' : 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sign_in_failures_key_at').on('sign_in_failures').columns(['key', 'at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sign_in_failures').ifExists().execute();
}
