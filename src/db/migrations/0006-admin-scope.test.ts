import { Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, skipUnlessAvailable, testDatabaseKinds } from '../../../test/support/db.js';
import { openDatabase, type DatabaseHandle } from '../database.js';
import { migrationProvider } from './index.js';

describe.each(testDatabaseKinds)('migration 0006-admin-scope (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let handle: DatabaseHandle | undefined;
    let drop = async () => {};
    afterEach(async () => {
      await handle?.close();
      await drop();
    });

    it('scopes existing admins and tokens globally and renames the enrollment role to custom-enrollment', async () => {
      const url = kind === 'sqlite' ? { url: 'sqlite::memory:', drop: async () => {} } : await createTestDatabaseUrl(kind);
      drop = url.drop;
      handle = openDatabase(url.url, { poolSize: 2 });
      const migrator = new Migrator({ db: handle.db, provider: migrationProvider });
      expect((await migrator.migrateTo('0005-sign-in-failures')).error).toBeUndefined();
      await sql`INSERT INTO admin_users (id, username, password_hash, role, created_at) VALUES ('u1', 'old', 'x', 'operator', 1)`.execute(handle.db);
      await sql`INSERT INTO api_tokens (id, name, token_hash, prefix, role, created_at) VALUES ('t1', 'link', 'h1', 'p1', 'enrollment', 1), ('t2', 'ops', 'h2', 'p2', 'operator', 1)`.execute(handle.db);

      expect((await migrator.migrateTo('0006-admin-scope')).error).toBeUndefined();
      expect(await handle.db.selectFrom('admin_users').select(['id', 'scope_group_id']).execute()).toEqual([{ id: 'u1', scope_group_id: 'global' }]);
      expect(await handle.db.selectFrom('api_tokens').select(['id', 'role', 'scope_group_id']).orderBy('id').execute()).toEqual([
        { id: 't1', role: 'custom-enrollment', scope_group_id: 'global' },
        { id: 't2', role: 'operator', scope_group_id: 'global' },
      ]);

      expect((await migrator.migrateTo('0005-sign-in-failures')).error).toBeUndefined();
      expect(await handle.db.selectFrom('api_tokens').select(['id', 'role']).orderBy('id').execute()).toEqual([{ id: 't1', role: 'enrollment' }, { id: 't2', role: 'operator' }]);
    });
  });
});
