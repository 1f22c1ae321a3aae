/**
 * Moves an installation to another database (SQLite → PostgreSQL): every row copied as it is,
 * sealed secrets included (they stay sealed with the same secret.key, which does not move), then
 * the row counts of both sides compared.
 */
import { openDatabase, parseDatabaseUrl } from '../db/database.js';
import { countRows, loadSnapshot, readSnapshot } from './snapshot.js';

export async function migrateDatabase(from: string, to: string, opts: { force?: boolean } = {}): Promise<{ counts: Record<string, number>; migrated: string[] }> {
  if (parseDatabaseUrl(from).dialect !== 'sqlite') throw new Error('--from must be sqlite:PATH');
  if (parseDatabaseUrl(to).dialect !== 'postgres') throw new Error('--to must be postgres://…');
  const source = openDatabase(from, { poolSize: 1 });
  const target = openDatabase(to, { poolSize: 2 });
  try {
    const snapshot = await readSnapshot(source.db);
    if (!snapshot.migrations.length) throw new Error(`${from} is not a Pomona database (no migrations applied)`);
    const { migrated } = await loadSnapshot(target.db, snapshot, { force: opts.force });
    // Counted again once committed (loadSnapshot checks before commit too). The source may have gained
    // rows since the snapshot: what was copied is compared with the snapshot. Migrations the source
    // lacked may legitimately change counts, so then the pre-commit check is the one that counts.
    const copied = await countRows(target.db);
    const counts: Record<string, number> = {};
    for (const { name, rows } of snapshot.tables) {
      if (!migrated.length && copied[name] !== rows.length) throw new Error(`verification failed: ${name} has ${copied[name] ?? 0} rows on the target, ${rows.length} in the source`);
      counts[name] = rows.length;
    }
    return { counts, migrated };
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
}
