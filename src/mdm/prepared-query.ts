/**
 * Queries built and compiled once, bound per call. Kysely builds an operation tree and
 * compiles it to SQL on every call, which on the device hot path (a few statements per
 * request, each taking SQLite microseconds) costs as much as running them. A prepared query
 * is built from placeholders standing in for its arguments, compiled for the store's own
 * database (so the SQL suits its dialect), and afterwards only its parameters change.
 *
 * The builder must use each argument only as a value (in `where`, `set`, `values`), never to
 * decide the query's shape: a variant that changes shape is a second prepared query.
 */
import type { Compilable, CompiledQuery, Kysely } from 'kysely';

/** Stands in for argument `index` while the query is built; Kysely treats it as a value. */
class Placeholder {
  constructor(readonly index: number) {}
}

export type PreparedQuery<Args extends unknown[], Row> = (...args: Args) => Promise<{ rows: Row[]; numAffectedRows?: bigint }>;

export function prepareQuery<DB, Args extends unknown[], Row>(
  db: Kysely<DB>,
  arity: Args['length'],
  build: (...args: Args) => Compilable<Row>,
): PreparedQuery<Args, Row> {
  const placeholders = Array.from({ length: arity }, (_, i) => new Placeholder(i));
  const compiled = build(...(placeholders as unknown as Args)).compile();
  // For each SQL parameter: the argument it takes, or -1 for a constant the builder put there.
  const slots = compiled.parameters.map((p) => (p instanceof Placeholder ? p.index : -1));
  for (const p of placeholders) {
    if (!slots.includes(p.index)) throw new Error(`prepared query does not use argument ${p.index} as a value: ${compiled.sql}`);
  }
  const constants = compiled.parameters;
  return (...args: Args) => {
    const parameters = slots.map((s, i) => (s < 0 ? constants[i] : args[s]));
    const bound: CompiledQuery<Row> = { query: compiled.query, queryId: compiled.queryId, sql: compiled.sql, parameters };
    return db.executeQuery(bound);
  };
}
