import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { LeaseStore } from './lease-store.js';
import { LeaseLost, Scheduler, withLease } from './scheduler.js';

describe('withLease', () => {
  let db: TestDatabase;
  let leases: LeaseStore;
  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
    leases = new LeaseStore(db.db);
  });
  afterEach(() => db.dispose());

  it('keeps the lease while a long step runs, and releases it after', async () => {
    const ran = await withLease(leases, { name: 'job', holder: 'a', ttlMs: 1500 }, async (heartbeat) => {
      await new Promise((r) => setTimeout(r, 2600)); // longer than the lease itself
      expect(await leases.acquire('job', 'b', 1500, Date.now())).toBe(false);
      await heartbeat();
      return 7;
    });
    expect(ran).toEqual({ value: 7 });
    expect(await leases.holderOf('job', Date.now())).toBeUndefined();
  });

  it('does not run when another node holds it, and stops at the next heartbeat once it is lost', async () => {
    await leases.acquire('job', 'b', 60_000, Date.now());
    expect(await withLease(leases, { name: 'job', holder: 'a', ttlMs: 1000 }, async () => 1)).toBeUndefined();
    await leases.release('job', 'b');
    await expect(
      withLease(leases, { name: 'job', holder: 'a', ttlMs: 1200 }, async (heartbeat) => {
        await db.db.updateTable('leases').set({ holder: 'b', expires_at: Date.now() + 60_000 }).where('name', '=', 'job').execute();
        await new Promise((r) => setTimeout(r, 1200));
        await heartbeat();
      }),
    ).rejects.toBeInstanceOf(LeaseLost);
    expect(await leases.holderOf('job', Date.now())).toBe('b');
  });
});

describe('Scheduler', () => {
  it('reports each tick with its outcome (metrics), and logs a failed one', async () => {
    const runs: { job: string; outcome: string }[] = [];
    const errors: unknown[] = [];
    const log = { error: (o: unknown) => errors.push(o) } as unknown as ConstructorParameters<typeof Scheduler>[0];
    let fail = false;
    const scheduler = new Scheduler(log, { onRun: ({ job, outcome }) => runs.push({ job, outcome }) }).add({
      name: 'j', everyMs: 60_000, tick: async () => { if (fail) throw new Error('boom'); },
    });
    await scheduler.runNow('j');
    fail = true;
    await scheduler.runNow('j');
    expect(runs).toEqual([{ job: 'j', outcome: 'ok' }, { job: 'j', outcome: 'failed' }]);
    expect(errors).toHaveLength(1);
  });
});
