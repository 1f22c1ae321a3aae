import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { prepared } from './prepared.js';

describe.each(testDatabaseKinds)('prepared queries (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
    });
    afterEach(() => db.dispose());

    const insert = (id: string, code: string) =>
      db.db.insertInto('organization_groups').values({ id, parent_id: 'global', name: id, group_code: code, path: `/global/${id}/`, depth: 1, created_at: 1, updated_at: 1 }).execute();

    it('runs the compiled statement with each call\'s arguments, constants kept, as Kysely would', async () => {
      await insert('a', 'AA');
      await insert('b', 'BB');
      const byCode = prepared((d, code: string, depth: number) => d.selectFrom('organization_groups').select(['id', 'name']).where('group_code', '=', code).where('depth', '=', depth).where('parent_id', '=', 'global'));
      expect((await byCode(db.db, 'AA', 1)).rows).toEqual([{ id: 'a', name: 'a' }]);
      expect((await byCode(db.db, 'BB', 1)).rows).toEqual([{ id: 'b', name: 'b' }]);
      expect((await byCode(db.db, 'BB', 2)).rows).toEqual([]);
      const rename = prepared((d, id: string, name: string) => d.updateTable('organization_groups').set({ name, updated_at: 2 }).where('id', '=', id));
      expect(Number((await rename(db.db, 'a', 'Renamed')).numAffectedRows)).toBe(1);
      expect(Number((await rename(db.db, 'nope', 'X')).numAffectedRows)).toBe(0);
      // inside a transaction too (same dialect, the transaction's connection)
      await db.db.transaction().execute(async (trx) => {
        await rename(trx, 'b', 'In a transaction');
        expect((await byCode(trx, 'BB', 1)).rows).toEqual([{ id: 'b', name: 'In a transaction' }]);
      });
      expect((await db.db.selectFrom('organization_groups').select('name').where('id', 'in', ['a', 'b']).orderBy('id').execute()).map((r) => r.name)).toEqual(['Renamed', 'In a transaction']);
    });

    it('takes its arity when the builder declares its arguments with a rest parameter', async () => {
      await insert('a', 'AA');
      const ids = ['x', 'y', 'a'];
      const anyOf = prepared((d, ...a: unknown[]) => d.selectFrom('organization_groups').select('id').where('id', 'in', a as string[]), ids.length);
      expect((await anyOf(db.db, ...ids)).rows).toEqual([{ id: 'a' }]);
      const tooFew = prepared((d, ...a: unknown[]) => d.selectFrom('organization_groups').select('id').where('id', '=', a[0] as string), 2);
      await expect(tooFew(db.db, 'a', 'b')).rejects.toThrow(/1 of its 2 arguments are not plain parameters/);
    });

    it('never joins or breaks a transaction another caller has open, nor a streamed read', async () => {
      const add = prepared((d, id: string, code: string) => d.insertInto('organization_groups').values({ id, parent_id: 'global', name: id, group_code: code, path: `/global/${id}/`, depth: 1, created_at: 1, updated_at: 1 }));
      const names = prepared((d) => d.selectFrom('organization_groups').select('id').orderBy('id'));
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const order: string[] = [];
      // A transaction that writes, waits, and rolls back; meanwhile a prepared write on the database.
      const tx = db.db.transaction().execute(async (trx) => {
        await trx.insertInto('organization_groups').values({ id: 'rolled-back', parent_id: 'global', name: 'x', group_code: 'RB', path: '/global/rolled-back/', depth: 1, created_at: 1, updated_at: 1 }).execute();
        await add(trx, 'prepared-in-tx', 'PT'); // a prepared statement of the transaction is part of it
        expect((await names(trx)).rows.map((r) => r.id)).toEqual(expect.arrayContaining(['rolled-back', 'prepared-in-tx']));
        await held;
        order.push('transaction ends');
        throw new Error('roll back');
      }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 20));
      const outside = add(db.db, 'outside', 'OUT').then(() => order.push('prepared write done'));
      await new Promise((r) => setTimeout(r, 20));
      release();
      await Promise.all([tx, outside]);
      const ids = (await names(db.db)).rows.map((r) => r.id);
      expect(ids).toContain('outside');
      expect(ids).not.toContain('rolled-back');
      expect(ids).not.toContain('prepared-in-tx');
      if (kind === 'sqlite') expect(order).toEqual(['transaction ends', 'prepared write done']); // one connection: it waited its turn

      // A read streamed over several turns of the event loop (SQLite: its one connection is held
      // meanwhile; Pomona streams on SQLite only): prepared reads and writes still work.
      if (kind !== 'sqlite') return;
      const seen: string[] = [];
      let write: Promise<unknown> | undefined;
      for await (const row of db.db.selectFrom('organization_groups').select('id').orderBy('id').stream(1)) {
        seen.push(row.id);
        if (seen.length === 1) {
          expect((await names(db.db)).rows.length).toBeGreaterThan(1); // a read runs at once
          write = add(db.db, 'during-stream', 'DS').then(() => seen.push('write done')); // a write waits for the stream
        }
      }
      await write;
      expect(seen.at(-1)).toBe('write done');
      expect(seen).not.toContain('during-stream');
      expect((await names(db.db)).rows.map((r) => r.id)).toContain('during-stream');
    });

    it('refuses a query whose shape depends on an argument\'s value', async () => {
      const bad = prepared((d, id: string) => d.selectFrom('organization_groups').selectAll().where('id', '=', typeof id === 'string' ? id : 'global'));
      await expect(bad(db.db, 'global')).rejects.toThrow(/1 of its 1 arguments are not plain parameters/);
    });
  });
});
