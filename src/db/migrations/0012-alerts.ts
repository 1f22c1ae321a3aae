import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * Alerts: the current state of every alert (one row per kind + subject, so nodes agree on what
 * was already raised), the history of raises and resolutions, and the deliveries still owed for
 * each (e-mail, webhook) — kept in the database so a failed one is retried later by any node.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = isPostgres(db) ? 'bigint' : 'integer';
  await db.schema
    .createTable('alerts')
    .addColumn('key', 'text', (c) => c.primaryKey()) // kind:subject
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('group_id', 'text') // null: global (push certificate, CA, TLS)
    .addColumn('state', 'text', (c) => c.notNull()) // ok | expiring-30 | expired | failing | …
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('raised_at', ms)
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('alert_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('alert_key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('group_id', 'text')
    .addColumn('event', 'text', (c) => c.notNull()) // raised | resolved
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('previous_state', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_events_at').on('alert_events').column('at').execute();
  await db.schema
    .createTable('alert_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull()) // email | webhook
    .addColumn('recipients_json', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', ms) // null once delivered or given up
    .addColumn('delivered_at', ms)
    .addColumn('last_error', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_deliveries_due').on('alert_deliveries').column('next_attempt_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('alert_deliveries').ifExists().execute();
  await db.schema.dropTable('alert_events').ifExists().execute();
  await db.schema.dropTable('alerts').ifExists().execute();
}
