import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { prepareQuery } from './prepared-query.js';

describe.each(testDatabaseKinds)('prepareQuery (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(kind);
      await db.db.insertInto('settings').values([{ key: 'a', value: '1', updated_at: 1 }, { key: 'b', value: '2', updated_at: 2 }, { key: 'c', value: '3', updated_at: 3 }]).execute();
    });
    afterAll(async () => db?.dispose());

    it('binds each call’s arguments wherever the builder used them, keeping the builder’s own constants', async () => {
      const q = prepareQuery(db.db, 2, (key: string, other: string) =>
        db.db.selectFrom('settings').select(['key', 'value']).where((eb) => eb.or([eb('key', '=', key), eb('key', '=', other), eb('key', '=', key)])).where('updated_at', '<', 3).orderBy('key'),
      );
      expect((await q('a', 'b')).rows).toEqual([{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
      expect((await q('c', 'b')).rows).toEqual([{ key: 'b', value: '2' }]);
      expect((await q('x', 'y')).rows).toEqual([]);
    });

    it('writes with the bound values and reports affected rows', async () => {
      const set = prepareQuery(db.db, 3, (key: string, value: string, at: number) =>
        db.db.updateTable('settings').set({ value, updated_at: sql<number>`${at} + 0` }).where('key', '=', key).returning(['key', 'value', 'updated_at']),
      );
      expect((await set('b', 'two', 20)).rows).toEqual([{ key: 'b', value: 'two', updated_at: 20 }]);
      expect((await set('zz', 'none', 1)).rows).toEqual([]);
    });

    it('refuses a builder that does not use an argument as a value', () => {
      expect(() => prepareQuery(db.db, 2, (key: string, _unused: string) => db.db.selectFrom('settings').select('key').where('key', '=', key))).toThrow(/argument 1/);
    });
  });
});
