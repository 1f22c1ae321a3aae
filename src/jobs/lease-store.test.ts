import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { LeaseStore } from './lease-store.js';

describe.each(testDatabaseKinds)('lease store (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let leases: LeaseStore;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      leases = new LeaseStore(db.db);
    });
    afterEach(() => db.dispose());

    it('gives a free lease to one holder and keeps others out until it expires', async () => {
      expect(await leases.acquire('job', 'a', 1000, 0)).toBe(true);
      expect(await leases.acquire('job', 'b', 1000, 500)).toBe(false);
      expect(await leases.acquire('job', 'a', 1000, 900)).toBe(true); // renewal, now until 1900
      expect(await leases.acquire('job', 'b', 1000, 1800)).toBe(false);
      expect(await leases.holderOf('job', 1800)).toBe('a');
      expect(await leases.acquire('job', 'b', 1000, 1900)).toBe(true); // a's node died
      expect(await leases.acquire('job', 'a', 1000, 1950)).toBe(false);
    });

    it('is released only by its holder', async () => {
      await leases.acquire('job', 'a', 1000, 0);
      await leases.release('job', 'b');
      expect(await leases.holderOf('job', 1)).toBe('a');
      await leases.release('job', 'a');
      expect(await leases.holderOf('job', 1)).toBeUndefined();
      expect(await leases.acquire('job', 'b', 1000, 2)).toBe(true);
    });

    it('has one winner when many race for it', async () => {
      const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => leases.acquire('race', `n${i}`, 1000, 0)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });
  });
});
