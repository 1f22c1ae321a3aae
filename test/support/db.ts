/**
 * Databases the storage and integration suites run on: SQLite always, PostgreSQL when
 * TEST_DATABASE_URL is set (scripts/test.js starts a throwaway cluster and sets it when
 * the PostgreSQL binaries are present). Each call to `createTestDatabase` gets a fresh,
 * migrated, empty database of its own, so suites can run in parallel.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/db/database.js';

export type TestDbKind = 'sqlite' | 'postgres';

export const postgresAvailable = Boolean(process.env.TEST_DATABASE_URL);

/** Use as `describe.each(testDatabaseKinds)('… on %s', (kind) => …)`; postgres is listed
 * always, so a missing server shows as skipped tests instead of silently fewer ones. */
export const testDatabaseKinds: TestDbKind[] = ['sqlite', 'postgres'];

export function skipUnlessAvailable(kind: TestDbKind): boolean {
  return kind === 'postgres' && !postgresAvailable;
}

export interface TestDatabase extends DatabaseHandle {
  url: string;
  /** closes the handle and drops the database */
  dispose(): Promise<void>;
}

/** A fresh database URL (not yet opened) — for tests that start a server process themselves. */
export async function createTestDatabaseUrl(kind: TestDbKind): Promise<{ url: string; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'pomona-test-'));
    return { url: `sqlite:${join(dir, 'pomona.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const name = `pomona_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function createTestDatabase(kind: TestDbKind): Promise<TestDatabase> {
  const { url, drop } = kind === 'sqlite' ? { url: 'sqlite::memory:', drop: async () => {} } : await createTestDatabaseUrl(kind);
  const handle = openDatabase(url, { poolSize: 4 });
  await migrateToLatest(handle.db);
  return {
    ...handle,
    url,
    dispose: async () => {
      await handle.close();
      await drop();
    },
  };
}
