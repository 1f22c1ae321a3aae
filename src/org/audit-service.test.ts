import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { AuditService } from './audit-service.js';
import { AuditStore } from './audit-store.js';

describe.each(testDatabaseKinds)('AuditService (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let audit: AuditService;
    let t = 1_000_000;

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      audit = new AuditService(new AuditStore(db.db), { now: () => t });
      for (let i = 0; i < 10; i++) {
        t = 1_000_000 + i * 1000;
        await audit.record({
          actor: i % 2 ? 'user:alice' : 'token:pom_abcdefgh',
          action: i < 5 ? 'session.login' : 'api-token.create',
          target: `t${i % 3}`,
          source: '127.0.0.1',
          outcome: i === 9 ? 'denied' : 'success',
          details: { n: i },
        });
      }
    });
    afterAll(async () => db?.dispose());

    it('lists newest first with all fields', async () => {
      const { events, nextCursor } = await audit.list();
      expect(events.map((e) => e.details?.n)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(events[0]).toMatchObject({ at: 1_009_000, actor: 'user:alice', action: 'api-token.create', target: 't0', source: '127.0.0.1', outcome: 'denied' });
      expect(typeof events[0].id).toBe('number');
      expect(nextCursor).toBeNull();
    });

    it('filters by actor, action, target, outcome and time range', async () => {
      const n = async (q: Parameters<AuditService['list']>[0]) => (await audit.list(q)).events.map((e) => e.details?.n);
      expect(await n({ actor: 'user:alice' })).toEqual([9, 7, 5, 3, 1]);
      expect(await n({ action: 'session.login', actor: 'user:alice' })).toEqual([3, 1]);
      expect(await n({ target: 't1' })).toEqual([7, 4, 1]);
      expect(await n({ outcome: 'denied' })).toEqual([9]);
      expect(await n({ since: 1_003_000, until: 1_006_000 })).toEqual([5, 4, 3]);
    });

    it('pages by offset and by cursor', async () => {
      const page1 = await audit.list({ limit: 4 });
      expect(page1.events.map((e) => e.details?.n)).toEqual([9, 8, 7, 6]);
      expect(page1.nextCursor).toBe(page1.events[3].id);
      const page2 = await audit.list({ limit: 4, cursor: page1.nextCursor! });
      expect(page2.events.map((e) => e.details?.n)).toEqual([5, 4, 3, 2]);
      const page3 = await audit.list({ limit: 4, cursor: page2.nextCursor! });
      expect(page3.events.map((e) => e.details?.n)).toEqual([1, 0]);
      expect(page3.nextCursor).toBeNull();
      expect((await audit.list({ limit: 3, offset: 3 })).events.map((e) => e.details?.n)).toEqual([6, 5, 4]);
    });

    it('redacts values under secret-looking keys as a safety net, and stores null details as null', async () => {
      t = 2_000_000;
      await audit.record({ actor: 'system', action: 'x.test', outcome: 'failure', details: { password: 'hunter2', nested: { secret: 's', ok: 1 } } });
      await audit.record({ actor: 'system', action: 'y.test', outcome: 'success' });
      const [y, x] = (await audit.list({ actor: 'system' })).events;
      expect(x.details).toEqual({ password: '[redacted]', nested: { secret: '[redacted]', ok: 1 } });
      expect(y).toMatchObject({ target: null, source: null, details: null });
      const raw = await db.db.selectFrom('audit_events').select('details_json').execute();
      expect(JSON.stringify(raw)).not.toContain('hunter2');
    });
  });
});
