import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { LeaseStore } from './lease-store.js';
import { periodStart, runOnce, Scheduler, withLease } from './scheduler.js';

describe.each(testDatabaseKinds)('job runs (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let leases: LeaseStore;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      leases = new LeaseStore(db.db);
    });
    afterEach(() => db.dispose());
    const rows = () => db.db.selectFrom('job_runs').selectAll().orderBy('due_at').execute();

    it('claims a due time once; a finished run is never claimed again, an abandoned one is taken over', async () => {
      expect(await leases.runs.claim('job', 100, 'a', 1)).toBe(1);
      // a's node dies mid-run: the next lease holder takes the run over, as attempt 2
      expect(await leases.runs.claim('job', 100, 'b', 2)).toBe(2);
      expect(await leases.runs.finish('job', 100, 'a', 'ok', 3)).toBe(false); // a lost it: b's outcome counts
      expect(await leases.runs.finish('job', 100, 'b', 'ok', 4)).toBe(true);
      expect(await leases.runs.claim('job', 100, 'a', 5)).toBeUndefined();
      expect(await leases.runs.claim('job', 200, 'a', 6)).toBe(1); // the next due time is a new run
      expect(await rows()).toMatchObject([
        { job: 'job', due_at: 100, holder: 'b', attempts: 2, finished_at: 4, outcome: 'ok' },
        { job: 'job', due_at: 200, holder: 'a', attempts: 1, finished_at: null, outcome: null },
      ]);
    });

    it('has one winner when nodes race to claim the same due time', async () => {
      // (under a lease only one node claims; this is the record's own guarantee)
      const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => leases.runs.claim('race', 1, `n${i}`, 0)));
      const finished = await Promise.all(claims.map((_, i) => leases.runs.finish('race', 1, `n${i}`, 'ok', 1)));
      expect(finished.filter(Boolean)).toHaveLength(1);
      expect(await leases.runs.claim('race', 1, 'late', 2)).toBeUndefined();
    });

    it('records a failed run as finished (retried at the next due time), and prunes runs a day old', async () => {
      await expect(runOnce(leases.runs, { job: 'j', dueAt: 1000, holder: 'a' }, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
      expect(await runOnce(leases.runs, { job: 'j', dueAt: 1000, holder: 'a' }, async () => 1)).toBeUndefined();
      expect(await runOnce(leases.runs, { job: 'j', dueAt: 1000 + 86_400_001, holder: 'a' }, async () => 2)).toEqual({ value: 2 });
      expect((await rows()).map((r) => [r.due_at, r.outcome])).toEqual([[1000 + 86_400_001, 'ok']]);
    });

    it('withLease with a due time runs once per due time across nodes, each tick ending with the lease released', async () => {
      let ran = 0;
      const tick = (node: string, dueAt?: number) => withLease(leases, { name: 'alerts', holder: node, ttlMs: 60_000, dueAt }, async () => ++ran);
      expect(await tick('a', 60_000)).toEqual({ value: 1 });
      expect(await tick('b', 60_000)).toBeUndefined(); // the same period on another node: already done
      expect(await tick('b', 120_000)).toEqual({ value: 2 });
      expect(await tick('a')).toEqual({ value: 3 }); // on demand: always runs
      expect(await leases.holderOf('alerts', Date.now())).toBeUndefined();
    });
  });
});

describe('Scheduler due times', () => {
  it('gives timed ticks the start of their period (the same on every node), runNow none', async () => {
    expect(periodStart(125_000, 60_000)).toBe(120_000);
    const dues: Array<number | undefined> = [];
    const log = { error: () => {} } as unknown as ConstructorParameters<typeof Scheduler>[0];
    const everyMs = 50;
    const scheduler = new Scheduler(log).add({ name: 'j', everyMs, tick: async (due) => void dues.push(due) });
    await scheduler.runNow('j');
    scheduler.start();
    while (dues.length < 3) await new Promise((r) => setTimeout(r, 10));
    await scheduler.stop();
    expect(dues[0]).toBeUndefined();
    for (const due of dues.slice(1)) expect(due! % everyMs).toBe(0);
  });
});
