/**
 * A database's rows as plain data, read in one consistent snapshot, and loaded into another
 * database of either dialect. Values are copied as they are: sealed secrets stay sealed with
 * the same key, 0/1 booleans and epoch-ms numbers stay numbers, blobs stay bytes.
 */
import { Migrator, sql, type Kysely } from 'kysely';
import { isPostgres } from '../db/dialect.js';
import { migrateToLatest } from '../db/database.js';
import { createGroupReferenceChecks, dropGroupReferenceChecks, hasGroupReferenceChecks } from '../db/group-references.js';
import { migrationProvider } from '../db/migrations/index.js';
import { TABLE_ORDER, tablesIn, type TableName } from './table-order.js';

export type Row = Record<string, unknown>;

export interface Snapshot {
  /** migrations applied to the source, oldest first: the schema the rows fit */
  migrations: string[];
  /** every data table, in copy order */
  tables: { name: TableName; rows: Row[] }[];
}

/** Reads every table inside one transaction (REPEATABLE READ on PostgreSQL, a read transaction on SQLite's WAL). */
export async function readSnapshot(db: Kysely<any>): Promise<Snapshot> {
  const tx = isPostgres(db) ? db.transaction().setIsolationLevel('repeatable read') : db.transaction();
  return tx.execute(async (trx) => {
    const migrations = await appliedMigrations(trx);
    const tables: Snapshot['tables'] = [];
    for (const name of await tablesIn(trx)) {
      const { rows } = await sql<Row>`SELECT * FROM ${sql.table(name)}`.execute(trx);
      tables.push({ name, rows: rows.map(normalize) });
    }
    return { migrations, tables };
  });
}

async function appliedMigrations(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
  return rows.map((r) => r.name);
}

/** Both drivers give bytes as Buffer; anything else (numbers, strings, null) is already portable. */
function normalize(row: Row): Row {
  for (const [k, v] of Object.entries(row)) if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[k] = Buffer.from(v);
  return row;
}

/** Row counts per data table. */
export async function countRows(db: Kysely<any>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const name of await tablesIn(db)) {
    const { rows } = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(name)}`.execute(db);
    counts[name] = Number(rows[0].n);
  }
  return counts;
}

/**
 * Tables holding more rows than a fresh installation's migrations put there (the root
 * organization group): a target with any of these is not empty.
 */
export async function tablesWithData(db: Kysely<any>): Promise<string[]> {
  const seeded: Record<string, number> = { organization_groups: 1 };
  return Object.entries(await countRows(db)).filter(([t, n]) => n > (seeded[t] ?? 0)).map(([t, n]) => `${t}: ${n} row${n === 1 ? '' : 's'}`);
}

export class TargetNotEmptyError extends Error {}

/**
 * Loads a snapshot into `db`: brings its schema to the snapshot's migration, refuses a target
 * holding data unless `force`, replaces every row in one transaction, advances PostgreSQL's
 * sequences past the copied ids, then runs the migrations the snapshot did not have yet.
 */
export async function loadSnapshot(db: Kysely<any>, snapshot: Snapshot, opts: { force?: boolean } = {}): Promise<{ migrated: string[] }> {
  const known = Object.keys(await migrationProvider.getMigrations()).sort();
  const unknown = snapshot.migrations.filter((m) => !known.includes(m));
  if (unknown.length) throw new Error(`the data comes from a newer Pomona (migration ${unknown.join(', ')} unknown here): upgrade Pomona first`);
  const last = snapshot.migrations.at(-1);
  if (!last) throw new Error('the data has no migrations applied: nothing to copy');

  // Data must not be at risk before the schema moves: an installation in use is refused first.
  // A brand-new database (no tables) is migrated straight to the snapshot's schema, never past it and back.
  const busy = (await tablesIn(db)).length ? await tablesWithData(db) : [];
  if (busy.length && !opts.force) throw new TargetNotEmptyError(`target database is not empty (${busy.slice(0, 3).join(', ')}${busy.length > 3 ? ', …' : ''}): use --force to replace it`);
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo(last);
  if (error) throw new Error(`could not bring the target to migration ${last}: ${error instanceof Error ? error.message : String(error)}`);

  const present = await tablesIn(db);
  const missing = snapshot.tables.map((t) => t.name).filter((t) => !present.includes(t));
  if (missing.length) throw new Error(`target has no table ${missing.join(', ')} at migration ${last}`);

  const postgres = isPostgres(db);
  await db.transaction().execute(async (trx) => {
    // The copy holds history the group checks would refuse (a revoked token of a deleted group)
    // and groups in any order; they are made again before the commit.
    const checked = await hasGroupReferenceChecks(trx);
    if (checked) await dropGroupReferenceChecks(trx);
    for (const name of [...present].reverse()) await sql`DELETE FROM ${sql.table(name)}`.execute(trx);
    for (const { name, rows } of orderLike(snapshot.tables)) await insertRows(trx, name, rows);
    if (checked) await createGroupReferenceChecks(trx);
    if (postgres) await advanceSequences(trx);
    // Checked before commit, so a short copy rolls back instead of leaving half an installation.
    const counts = await countRows(trx);
    for (const { name, rows } of snapshot.tables) {
      if (counts[name] !== rows.length) throw new Error(`verification failed: ${name} has ${counts[name]} rows after loading, ${rows.length} expected`);
    }
  });
  return { migrated: await migrateToLatest(db) };
}

function orderLike(tables: Snapshot['tables']): Snapshot['tables'] {
  return [...tables].sort((a, b) => TABLE_ORDER.indexOf(a.name) - TABLE_ORDER.indexOf(b.name));
}

/** Several rows per statement, staying well inside both drivers' bound-parameter limits. */
async function insertRows(db: Kysely<any>, table: string, rows: Row[]): Promise<void> {
  if (!rows.length) return;
  const perStatement = Math.max(1, Math.floor(4000 / Object.keys(rows[0]).length));
  for (let i = 0; i < rows.length; i += perStatement) {
    await db.insertInto(table).values(rows.slice(i, i + perStatement)).execute();
  }
}

/** Serial columns got explicit ids; their sequences must continue after the largest one. */
async function advanceSequences(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'`.execute(db);
  for (const { table_name: t, column_name: c } of rows) {
    await sql`SELECT setval(pg_get_serial_sequence(${t}, ${c}), COALESCE((SELECT max(${sql.ref(c)}) FROM ${sql.table(t)}), 0) + 1, false)`.execute(db);
  }
}
