import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { orderTables, TABLE_ORDER, tablesIn } from './table-order.js';

describe.each(testDatabaseKinds)('table order (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(kind);
    });
    afterAll(async () => db?.dispose());

    it('knows every table the migrations create', async () => {
      const tables = await tablesIn(db.db);
      expect(tables.length).toBeGreaterThan(30);
      expect(tables).toEqual(TABLE_ORDER.filter((t) => tables.includes(t)));
    });

    it('puts each table after the tables its foreign keys reference', async () => {
      const { rows } = kind === 'sqlite'
        ? await sql<{ child: string; parent: string }>`SELECT m.name AS child, f."table" AS parent FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'`.execute(db.db)
        : await sql<{ child: string; parent: string }>`
            SELECT tc.table_name AS child, ccu.table_name AS parent FROM information_schema.table_constraints tc
            JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
            WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()`.execute(db.db);
      expect(rows.length).toBeGreaterThan(0);
      const at = (t: string) => (TABLE_ORDER as readonly string[]).indexOf(t);
      for (const { child, parent } of rows) if (child !== parent) expect({ child, parent, after: at(child) > at(parent) }).toEqual({ child, parent, after: true });
    });
  });
});

describe('orderTables', () => {
  it('refuses a table it has no place for, naming it', () => {
    expect(() => orderTables(['devices', 'widgets'])).toThrow(/^table widgets not in src\/ops\/table-order\.ts: add it to TABLE_ORDER/);
    expect(orderTables(['enrollments', 'devices'])).toEqual(['devices', 'enrollments']);
  });
});
