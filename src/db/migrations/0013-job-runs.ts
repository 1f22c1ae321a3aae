import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * Job runs: one row per periodic job and due time (an ABM server's scheduled or requested sync, an
 * alert-check period, …), claimed by the node holding the job's lease and marked finished when the
 * run ends. A finished row is never run again by any node; an unfinished one (its node died) is
 * taken over by the next lease holder, which counts the attempt.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = isPostgres(db) ? 'bigint' : 'integer';
  await db.schema
    .createTable('job_runs')
    .addColumn('job', 'text', (c) => c.notNull())
    .addColumn('due_at', ms, (c) => c.notNull())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('started_at', ms, (c) => c.notNull())
    .addColumn('finished_at', ms)
    .addColumn('outcome', 'text') // ok | failed; null while running (or when its node died)
    .addPrimaryKeyConstraint('job_runs_pk', ['job', 'due_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('job_runs').ifExists().execute();
}
