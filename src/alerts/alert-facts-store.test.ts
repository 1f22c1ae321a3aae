import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import type { Db } from '../db/database.js';
import { AlertFactsStore } from './alert-facts-store.js';

const MIN = 60_000;
const NOW = Date.UTC(2026, 5, 1);

async function server(db: Db, id: string) {
  await db.insertInto('abm_servers').values({
    id, name: id, organization_group_id: null, base_url: null, sync_interval_minutes: 30, cert_pem: 'x', key_enc: Buffer.from('x'),
    fetch_complete: 0, sync_pages: 0, sync_devices: 0, created_at: NOW, updated_at: NOW,
  } as never).execute();
}

async function abmDevice(db: Db, serial: string, serverId: string, assign_result: string | null, over: Record<string, unknown> = {}) {
  await db.insertInto('abm_devices').values({
    serial_number: serial, abm_server_id: serverId, apple_json: '{}', first_seen_at: NOW, last_seen_at: NOW, assign_mode: 'auto',
    assign_result, updated_at: NOW, ...over,
  } as never).execute();
}

async function enrolled(db: Db, id: string, groupId: string, over: { awaiting: number; createdAt: number; status?: string; enrolledAt?: number | null }) {
  await db.insertInto('devices').values({ id, udid: id, created_at: NOW, updated_at: NOW, organization_group_id: groupId, lifecycle_changed_at: over.enrolledAt ?? null } as never).execute();
  await db.insertInto('enrollments').values({
    id, device_id: id, channel: 'device', type: 'Device', is_ade: 1, awaiting_configuration: over.awaiting, status: over.status ?? 'active',
    token_update_count: 1, created_at: over.createdAt, updated_at: over.createdAt,
  } as never).execute();
}

describe.each(testDatabaseKinds)('alert facts store (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      for (const g of ['g1', 'g2']) {
        await db.db.insertInto('organization_groups').values({ id: g, parent_id: 'global', name: g, group_code: g.toUpperCase(), path: `/global/${g}/`, depth: 1, created_at: NOW, updated_at: NOW }).execute();
      }
    });
    afterEach(async () => db.dispose());

    it('counts failed and throttled assignments per server, leaving out successes, removed and hands-off devices', async () => {
      await server(db.db, 's1');
      await server(db.db, 's2');
      await abmDevice(db.db, 'A1', 's1', 'FAILED');
      await abmDevice(db.db, 'A2', 's1', 'NOT_ACCESSIBLE');
      await abmDevice(db.db, 'A3', 's1', 'THROTTLED');
      await abmDevice(db.db, 'A4', 's1', 'SUCCESS');
      await abmDevice(db.db, 'A5', 's1', null);
      await abmDevice(db.db, 'A6', 's1', 'FAILED', { removed_at: NOW });
      await abmDevice(db.db, 'A7', 's1', 'FAILED', { assign_mode: 'none' });
      await abmDevice(db.db, 'B1', 's2', 'THROTTLED');
      const counts = await new AlertFactsStore(db.db).assignmentCounts();
      expect(Object.fromEntries(counts)).toEqual({ s1: { failed: 2, throttled: 1 }, s2: { failed: 0, throttled: 1 } });
    });

    it('counts devices awaiting configuration too long and setup plans past their deadline, per group', async () => {
      await enrolled(db.db, 'd1', 'g1', { awaiting: 1, createdAt: NOW - 90 * MIN });
      await enrolled(db.db, 'd2', 'g1', { awaiting: 1, createdAt: NOW - 10 * MIN }); // not long enough yet
      await enrolled(db.db, 'd3', 'g1', { awaiting: 0, createdAt: NOW - 90 * MIN }); // released
      await enrolled(db.db, 'd4', 'g2', { awaiting: 1, createdAt: NOW - 90 * MIN, status: 'removed' });
      await enrolled(db.db, 'd5', 'g2', { awaiting: 1, createdAt: NOW - 900 * MIN, enrolledAt: NOW - 5 * MIN }); // re-enrolled just now
      await enrolled(db.db, 'd6', 'g1', { awaiting: 1, createdAt: NOW - 900 * MIN, enrolledAt: NOW - 61 * MIN });
      const plan = (id: string, device: string, group: string, status: string, deadline: number) => db.db.insertInto('setup_plans').values({
        id, enrollment_id: device, device_id: device, session_at: NOW - 90 * MIN, dep_profile_id: null, platform: 'iOS', organization_group_id: group,
        primary_account_json: null, time_limit_minutes: 30, status, reason: null, ended_by: null, started_at: NOW - 90 * MIN, deadline_at: deadline, ended_at: null,
      } as never).execute();
      await plan('p1', 'd2', 'g2', 'running', NOW - MIN);
      await plan('p2', 'd3', 'g2', 'released', NOW - MIN);
      await plan('p3', 'd1', 'g1', 'running', NOW + MIN);
      const stuck = await new AlertFactsStore(db.db).stuckDevices(NOW - 60 * MIN, NOW);
      expect(stuck.sort((a, b) => a.groupId.localeCompare(b.groupId))).toEqual([
        { groupId: 'g1', awaiting: 2, overdue: 0 },
        { groupId: 'g2', awaiting: 0, overdue: 1 },
      ]);
    });
  });
});
