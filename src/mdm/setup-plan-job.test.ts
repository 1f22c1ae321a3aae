import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseStore } from '../jobs/lease-store.js';
import { AuditService } from '../org/audit-service.js';
import { AuditStore } from '../org/audit-store.js';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import type { ManagedAdminService } from './managed-admin-service.js';
import { SETUP_PLAN_JOB, setupPlanJob } from './setup-plan-job.js';
import type { SetupPlanService } from './setup-plan-service.js';

describe.each(testDatabaseKinds)('setup-plan job (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let ticks: number[];
    let audit: AuditService;
    const clock = 5_000_000;

    beforeEach(async () => {
      db = await createTestDatabase(kind);
      ticks = [];
      audit = new AuditService(new AuditStore(db.db));
    });
    afterEach(() => db.dispose());

    const job = (nodeId: string) =>
      setupPlanJob({
        plans: { tick: async (now: number) => (ticks.push(now), { released: 1 }) } as unknown as SetupPlanService,
        managedAdmin: { rotateDue: async () => ['device-1'] } as unknown as ManagedAdminService,
        audit, leases: new LeaseStore(db.db), nodeId, log: pino({ level: 'silent' }), everyMs: 1000, now: () => clock,
      });

    it('works under the lease with the injected clock, and audits the rotations it made', async () => {
      await job('node-a').tick();
      expect(ticks).toEqual([clock]);
      const { events } = await audit.list();
      expect(events).toMatchObject([{ actor: 'system', action: 'device.managed_admin_password.rotate', target: 'device-1', details: { reason: 'after-view' } }]);
    });

    it('does nothing while another node holds the lease', async () => {
      await new LeaseStore(db.db).acquire(SETUP_PLAN_JOB, 'node-b', 60_000, clock);
      await job('node-a').tick();
      expect(ticks).toEqual([]);
    });
  });
});
