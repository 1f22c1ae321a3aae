import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isForeignKeyViolation, migrateToLatest, openDatabase, type DatabaseHandle } from '../db/database.js';
import { createTestDatabaseUrl, skipUnlessAvailable, testDatabaseKinds } from '../../test/support/db.js';
import { Migrator } from 'kysely';
import { migrationsCurrent } from '../db/database.js';
import { migrationProvider } from '../db/migrations/index.js';
import { loadSnapshot, readSnapshot } from './snapshot.js';

describe.each(testDatabaseKinds)('snapshot (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let drop: () => Promise<void>;
    let reader: DatabaseHandle;
    let writer: DatabaseHandle;
    beforeAll(async () => {
      const db = await createTestDatabaseUrl(kind);
      drop = db.drop;
      reader = openDatabase(db.url);
      await migrateToLatest(reader.db);
      writer = openDatabase(db.url);
    });
    afterAll(async () => {
      await reader?.close();
      await writer?.close();
      await drop?.();
    });

    it('is consistent while another connection keeps writing', async () => {
      // Each write puts one row in `settings` and one in `leases`, which the snapshot reads far
      // apart; a snapshot that is not one point in time would hold a key in one and not the other.
      let stop = false;
      let written = 0;
      const write = async () => {
        const key = `k${written++}`;
        await writer.db.transaction().execute(async (trx) => {
          await trx.insertInto('settings').values({ key, value: '1', updated_at: written }).execute();
          await trx.insertInto('leases').values({ name: key, holder: 'test', expires_at: written }).execute();
        });
      };
      for (let i = 0; i < 5; i++) await write();
      // Bounded: on SQLite both sides are promise chains without I/O, interleaving only with each other.
      const writing = (async () => {
        for (let i = 0; i < 5000 && !stop; i++) await write();
      })();
      const snapshots = [];
      for (let i = 0; i < 5; i++) snapshots.push(await readSnapshot(reader.db));
      stop = true;
      await writing;
      for (const s of snapshots) {
        const keys = (t: string) => s.tables.find((x) => x.name === t)!.rows.map((r) => (r.key ?? r.name) as string).sort();
        expect(keys('leases')).toEqual(keys('settings'));
      }
      // The writes really went on between and during the snapshots.
      const sizes = snapshots.map((s) => s.tables.find((x) => x.name === 'settings')!.rows.length);
      expect(new Set(sizes).size).toBeGreaterThan(1);
    });

    it('loads data from an older schema into a new database, then runs the migrations it predates', async () => {
      const names = Object.keys(await migrationProvider.getMigrations()).sort();
      const older = await createTestDatabaseUrl(kind);
      const fresh = await createTestDatabaseUrl(kind);
      const oldDb = openDatabase(older.url);
      const newDb = openDatabase(fresh.url);
      try {
        expect((await new Migrator({ db: oldDb.db, provider: migrationProvider }).migrateTo(names.at(-2)!)).error).toBeUndefined();
        await oldDb.db.insertInto('settings').values({ key: 'from-the-past', value: 'v', updated_at: 1 }).execute();
        const snapshot = await readSnapshot(oldDb.db);
        expect(snapshot.migrations).toEqual(names.slice(0, -1));
        const { migrated } = await loadSnapshot(newDb.db, snapshot);
        expect(migrated).toEqual([names.at(-1)]);
        expect(await migrationsCurrent(newDb.db)).toBe(true);
        expect(await newDb.db.selectFrom('settings').select('value').where('key', '=', 'from-the-past').executeTakeFirst()).toEqual({ value: 'v' });
      } finally {
        await oldDb.close();
        await newDb.close();
        await older.drop();
        await fresh.drop();
      }
    });

    it('loads history the group checks would refuse (a token of a deleted group, a child before its parent), and checks again after', async () => {
      const target = await createTestDatabaseUrl(kind);
      const db = openDatabase(target.url);
      try {
        const snapshot = await readSnapshot(reader.db);
        const rows = (name: string) => snapshot.tables.find((t) => t.name === name)!.rows;
        const group = (id: string, parent: string, path: string) => ({ id, parent_id: parent, name: id, group_code: id.toUpperCase(), path, depth: path.split('/').length - 3, created_at: 1, updated_at: 1 });
        rows('organization_groups').push(group('child', 'parent', '/global/parent/child/'), group('parent', 'global', '/global/parent/'));
        rows('registration_tokens').push({ id: 't1', token_hash: 'h', prefix: 't1', organization_group_id: 'deleted', user_id: null, platform: null, max_uses: null, uses: 0, two_factor: 0, expires_at: 1, created_by: 'test', created_at: 1, revoked_at: 1, last_used_at: null });
        await loadSnapshot(db.db, snapshot);
        expect(await db.db.selectFrom('registration_tokens').select('organization_group_id').execute()).toEqual([{ organization_group_id: 'deleted' }]);
        const refused = await db.db.insertInto('registration_tokens').values({ ...rows('registration_tokens')[0], id: 't2', token_hash: 'h2' } as never).execute().then(() => undefined, (err: unknown) => err);
        expect(isForeignKeyViolation(refused)).toBe(true);
      } finally {
        await db.close();
        await target.drop();
      }
    });

    it('refuses data from a newer Pomona', async () => {
      const e = await loadSnapshot(writer.db, { migrations: ['0001-core', '9999-future'], tables: [] }).catch((err: Error) => err);
      expect((e as Error).message).toBe('the data comes from a newer Pomona (migration 9999-future unknown here): upgrade Pomona first');
    });
  });
});
