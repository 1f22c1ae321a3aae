import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { DbSignInThrottle } from './sign-in-throttle.js';

describe.each(testDatabaseKinds)('sign-in throttle in the database (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let t = 1_000_000;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
    });
    afterEach(() => db.dispose());

    it('blocks a key after 5 failures in 5 minutes, for every node sharing the database', async () => {
      const nodeA = new DbSignInThrottle(db.db, { now: () => t });
      const nodeB = new DbSignInThrottle(db.db, { now: () => t });
      for (let i = 0; i < 5; i++) {
        expect(await (i % 2 ? nodeA : nodeB).retryAfterMs(['ip:1', 'user:a'])).toBe(0);
        await (i % 2 ? nodeA : nodeB).recordFailure(['ip:1', 'user:a']);
        t += 10_000;
      }
      expect(await nodeA.retryAfterMs(['user:a'])).toBe(300_000 - 50_000);
      expect(await nodeB.retryAfterMs(['ip:2', 'user:a'])).toBe(300_000 - 50_000);
      expect(await nodeB.retryAfterMs(['ip:2', 'user:b'])).toBe(0);
      t += 250_000;
      expect(await nodeA.retryAfterMs(['user:a'])).toBe(0);
      await nodeA.recordFailure(['user:a']);
      await nodeB.reset(['user:a']);
      expect(await nodeA.retryAfterMs(['user:a'])).toBe(0);
      const left = await db.db.selectFrom('sign_in_failures').select('key').where('key', '=', 'user:a').execute();
      expect(left).toEqual([]);
    });
  });
});
