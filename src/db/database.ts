import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type QueryResult } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations/index.js';
import type { Dialect } from './dialect.js';

// int8 (bigint timestamps, count(*)) arrives as a string from pg; our values fit in 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  dialect: Dialect;
  /** PostgreSQL's connection pool counts (metrics); SQLite has one connection and no pool */
  pool?: { readonly totalCount: number; readonly idleCount: number; readonly waitingCount: number };
  close(): Promise<void>;
}

/** Parses `sqlite:PATH` (or `sqlite::memory:`) and `postgres://…` URLs. */
export function parseDatabaseUrl(url: string): { dialect: Dialect; path?: string; url?: string } {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { dialect: 'postgres', url };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new Error(`database URL "${url}" has no file path (use sqlite:./data/pomona.db)`);
    return { dialect: 'sqlite', path };
  }
  throw new Error(`database URL must start with sqlite: or postgres:// (got "${url.split(':')[0]}:")`);
}

export function openDatabase(url: string, opts: { poolSize?: number } = {}): DatabaseHandle {
  const parsed = parseDatabaseUrl(url);
  if (parsed.dialect === 'postgres') {
    const pool = new pg.Pool({ connectionString: parsed.url, max: opts.poolSize ?? 10 });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', pool, close: () => db.destroy() };
  }
  const path = parsed.path!;
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new SqliteDatabase(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // Checkpoint every ~40 MB of WAL instead of ~4 MB: a bulk sync of 100,000 devices otherwise
  // spends more time in checkpoint fsyncs than in its inserts. The WAL file is kept at most 64 MB.
  sqlite.pragma('wal_autocheckpoint = 10000');
  sqlite.pragma('journal_size_limit = 67108864');
  const statements = withStatementCache(sqlite);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) });
  directHandles.set(db.getExecutor().adapter, { sqlite, statements });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

/**
 * Runs compiled SQL on the SQLite connection behind `db` at once, as Kysely's SQLite driver would
 * (same statement cache, same result shape), skipping its connection queue: a handful of promises
 * per statement, a measurable share of an enrollment's CPU. Only when that is the same as waiting
 * in the queue:
 * - `db` is a transaction: it holds the connection (SQLite has one; no other transaction can be
 *   open while it is), so its statements run there, as they would through Kysely;
 * - otherwise, when no transaction is open on the connection: a statement is synchronous, so it
 *   runs exactly as if it had come before or after whatever holds the queue.
 * Returns undefined when it cannot run now (another caller's transaction is open, a streamed read
 * holds the connection for a write, or `db` carries plugins): the caller goes through Kysely,
 * which waits its turn.
 */
export function runNowOnSqlite<R>(db: Db, sql: string, parameters: readonly unknown[]): QueryResult<R> | undefined {
  const executor = db.getExecutor();
  const handle = directHandles.get(executor.adapter);
  if (!handle || executor.plugins.length > 0 || handle.sqlite.inTransaction !== db.isTransaction) return undefined;
  try {
    const stmt = handle.statements.prepare(sql);
    if (stmt.reader) return { rows: stmt.all(parameters) as R[] };
    const { changes, lastInsertRowid } = stmt.run(parameters);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  } catch (err) {
    if (err instanceof TypeError && /connection is busy/.test(err.message)) return undefined;
    throw err;
  }
}

/** By the Kysely adapter of a SQLite database, which its transactions share. */
const directHandles = new WeakMap<object, { sqlite: SqliteDatabase.Database; statements: ReturnType<typeof withStatementCache> }>();

/**
 * Kysely prepares every query anew; compiling the SQL again costs more than running many of
 * our statements. Prepared statements are kept by their text (the most recent 500).
 */
function withStatementCache(sqlite: SqliteDatabase.Database) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      // A statement still iterating (Kysely's streamQuery) cannot run again; give that caller its own.
      if (stmt?.busy) return sqlite.prepare(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = sqlite.prepare(sql);
        if (cache.size >= 500) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

/** Whether a query failed on a unique index (both dialects), e.g. two nodes inserting the same row. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Whether a query failed on a foreign key (both dialects): the row it refers to is gone, e.g. a
 * device deleted by another request while a command for it was being queued, or a group deleted
 * while something was put in it (on SQLite a trigger says so: group-references.ts).
 */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === 'SQLITE_CONSTRAINT_TRIGGER';
}

/** Brings the schema to the latest migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const msg = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${msg}`.replace('  ', ' '));
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when every known migration has been applied (used by readiness checks). */
export async function migrationsCurrent(db: Db): Promise<boolean> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const all = await migrator.getMigrations();
  return all.every((m) => m.executedAt !== undefined);
}
