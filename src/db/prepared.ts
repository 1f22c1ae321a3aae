/**
 * Hot queries built and compiled once. Kysely builds an immutable operation tree and compiles it
 * to SQL on every call; for the small indexed reads and writes of an enrollment that costs more
 * than the database running them (a profile of the ADE benchmark: Kysely's own JavaScript was
 * ~18% of the server's CPU). `prepared(build)` builds the query once per dialect with placeholder
 * arguments, keeps its SQL and where each placeholder landed among its parameters, and each call
 * runs that SQL with the call's arguments in their places — the same statement, as Kysely would
 * have compiled it for these arguments. The SQLite statement cache (database.ts) then finds the
 * very same SQL string. On SQLite it runs on the connection at once whenever that is the same as
 * waiting in Kysely's queue (runNowOnSqlite).
 *
 * Only for queries whose shape does not depend on the arguments' values: each argument must be
 * used as a plain value (no `in` lists, no clauses added or left out by argument). A build that
 * does not pass every placeholder through as a parameter is refused when first run.
 */
import { CompiledQuery, PostgresAdapter, type Compilable, type QueryResult } from 'kysely';
import { runNowOnSqlite, type Db } from './database.js';

class Placeholder {
  constructor(readonly index: number) {}
}

interface Compiled {
  sql: string;
  /** per parameter: the index of the argument that goes there, or the constant Kysely put there */
  slots: Array<{ arg: number } | { value: unknown }>;
}

export type PreparedQuery<A extends unknown[], R> = (db: Db, ...args: A) => Promise<QueryResult<R>>;

/** `arity`: how many arguments the query takes, when `build` declares them with a rest parameter. */
export function prepared<A extends unknown[], R>(build: (db: Db, ...args: A) => Compilable<R>, arity = build.length - 1): PreparedQuery<A, R> {
  const byDialect = new Map<boolean, Compiled>();
  const compile = (db: Db): Compiled => {
    const placeholders = Array.from({ length: arity }, (_, i) => new Placeholder(i));
    const { sql, parameters } = build(db, ...(placeholders as unknown as A)).compile();
    const slots = parameters.map((p) => (p instanceof Placeholder ? { arg: p.index } : { value: p }));
    const used = new Set(slots.flatMap((s) => ('arg' in s ? [s.arg] : [])));
    if (used.size !== arity) throw new Error(`prepared query: ${arity - used.size} of its ${arity} arguments are not plain parameters of "${sql}"`);
    return { sql, slots };
  };
  return async (db, ...args) => {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    let c = byDialect.get(postgres);
    if (!c) byDialect.set(postgres, (c = compile(db)));
    const parameters = c.slots.map((s) => ('arg' in s ? args[s.arg] : s.value));
    return runNowOnSqlite<R>(db, c.sql, parameters) ?? db.executeQuery<R>(CompiledQuery.raw(c.sql, parameters));
  };
}

/**
 * Prepared queries for a query whose shape varies among a few variants fixed by the code (which
 * columns an update sets, which setting keys a read asks for): one per shape key, made on first use.
 */
export function preparedPerShape<A extends unknown[], R>(): (shape: string, make: () => PreparedQuery<A, R>) => PreparedQuery<A, R> {
  const byShape = new Map<string, PreparedQuery<A, R>>();
  return (shape, make) => {
    let query = byShape.get(shape);
    if (!query) byShape.set(shape, (query = make()));
    return query;
  };
}
