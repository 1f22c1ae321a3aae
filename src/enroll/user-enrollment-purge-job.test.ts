import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { ConfigError, loadConfig } from '../config.js';
import { LeaseStore } from '../jobs/lease-store.js';
import { PendingEnrollmentService } from './pending-enrollment-service.js';
import { PendingEnrollmentStore } from './pending-enrollment-store.js';
import { ENROLLMENT_PURGE_LEASE, enrollmentPurgeJob } from './user-enrollment-purge-job.js';
import { UserEnrollmentTokenStore } from './user-enrollment-token-store.js';

const DAY = 86_400_000;

describe('enrollment purge settings', () => {
  it('default to 30 days, and an incomplete user enrollment after 60 minutes', () => {
    expect(loadConfig({ env: {} }).userEnrollment).toEqual({ incompleteAfterMinutes: 60, purgeIncompleteAfterDays: 30 });
    expect(loadConfig({ env: { POMONA_INCOMPLETE_ENROLLMENT_PURGE_DAYS: '7', POMONA_USER_ENROLLMENT_INCOMPLETE_MINUTES: '15' } }).userEnrollment).toEqual({ incompleteAfterMinutes: 15, purgeIncompleteAfterDays: 7 });
    expect(() => loadConfig({ env: { POMONA_INCOMPLETE_ENROLLMENT_PURGE_DAYS: '0' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { POMONA_USER_ENROLLMENT_INCOMPLETE_MINUTES: 'soon' } })).toThrow(ConfigError);
  });
});

describe.each(testDatabaseKinds)('the enrollment purge job (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let clock = 1_700_000_000_000;
    const now = () => clock;
    let pending: PendingEnrollmentService;
    let tokens: UserEnrollmentTokenStore;
    let leases: LeaseStore;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      pending = new PendingEnrollmentService(new PendingEnrollmentStore(db.db), { now, signInTtlMs: 60 * 60_000 });
      tokens = new UserEnrollmentTokenStore(db.db);
      leases = new LeaseStore(db.db);
    });
    afterEach(() => db.dispose());

    const job = () => enrollmentPurgeJob({ pending, tokens, leases, nodeId: 'node-a', log: pino({ level: 'silent' }), purgeAfterDays: 30, now });
    const ids = async () => (await db.db.selectFrom('pending_enrollments').select('id').execute()).map((r) => r.id).sort();

    it('shows an abandoned attempt as incomplete, then purges it after the configured age; enrolled ones stay', async () => {
      const old = (await pending.create({ mode: 'user-account' })).pending;
      await tokens.insert({ tokenHash: 'h-old', pendingEnrollmentId: old.id, expiresAt: clock + 600_000, now: clock });
      const done = (await pending.create({ mode: 'user-profile' })).pending;
      await db.db.updateTable('pending_enrollments').set({ state: 'enrolled' }).where('id', '=', done.id).execute();

      clock += 2 * 60 * 60_000;
      expect((await pending.get(old.id)).state).toBe('incomplete');
      const fresh = (await pending.create({ mode: 'user-account' })).pending;

      clock += 29 * DAY;
      await job().tick();
      expect(await ids()).toEqual([old.id, done.id, fresh.id].sort());

      clock += DAY;
      await job().tick();
      expect(await ids()).toEqual([done.id, fresh.id].sort());
      expect(await db.db.selectFrom('user_enrollment_tokens').selectAll().execute()).toEqual([]);
    });

    it('does nothing while another node holds the lease', async () => {
      const old = (await pending.create({ mode: 'user-account' })).pending;
      clock += 31 * DAY;
      expect(await leases.acquire(ENROLLMENT_PURGE_LEASE, 'node-b', 60_000, clock)).toBe(true);
      await job().tick();
      expect(await ids()).toEqual([old.id]);
      await leases.release(ENROLLMENT_PURGE_LEASE, 'node-b');
      await job().tick();
      expect(await ids()).toEqual([]);
    });
  });
});
