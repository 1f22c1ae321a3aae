import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { UserEnrollmentTokenStore } from './user-enrollment-token-store.js';
import { PendingEnrollmentService } from './pending-enrollment-service.js';
import { PendingEnrollmentStore } from './pending-enrollment-store.js';

describe.each(testDatabaseKinds)('user enrollment access tokens (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let tokens: UserEnrollmentTokenStore;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      tokens = new UserEnrollmentTokenStore(db.db);
    });
    afterEach(() => db.dispose());

    it('are consumed once, and not after they expire', async () => {
      await tokens.insert({ tokenHash: 'h1', pendingEnrollmentId: 'p1', expiresAt: 2000, now: 1000 });
      await tokens.insert({ tokenHash: 'h2', pendingEnrollmentId: 'p2', expiresAt: 2000, now: 1000 });
      expect(await tokens.consume('h1', 1500)).toBe('p1');
      expect(await tokens.consume('h1', 1500)).toBeUndefined();
      expect(await tokens.consume('h2', 2000)).toBeUndefined();
      expect(await tokens.consume('unknown', 1500)).toBeUndefined();
    });

    it('are consumed once when replayed in parallel', async () => {
      await tokens.insert({ tokenHash: 'h', pendingEnrollmentId: 'p', expiresAt: 2000, now: 1000 });
      const results = await Promise.all(Array.from({ length: 8 }, () => tokens.consume('h', 1500)));
      expect(results.filter(Boolean)).toEqual(['p']);
    });

    it('are purged once expired, or once their staging record is gone', async () => {
      const pending = new PendingEnrollmentService(new PendingEnrollmentStore(db.db), { now: () => 1000 });
      const { pending: p } = await pending.create({ mode: 'user-account' });
      await tokens.insert({ tokenHash: 'live', pendingEnrollmentId: p.id, expiresAt: 5000, now: 1000 });
      await tokens.insert({ tokenHash: 'orphan', pendingEnrollmentId: 'gone', expiresAt: 5000, now: 1000 });
      await tokens.insert({ tokenHash: 'old', pendingEnrollmentId: p.id, expiresAt: 1500, now: 1000 });
      expect(await tokens.purge(2000)).toBe(2);
      expect(await tokens.consume('live', 1200)).toBe(p.id);
    });
  });
});
