import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { AlertStore } from './alert-store.js';
import { AlertService, type AlertFacts } from './alert-service.js';
import { Scope } from '../org/scope.js';
import type { AbmServerFacts, CertificateFacts, StuckFacts } from './alert-checks.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

describe.each(testDatabaseKinds)('alert service (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let now: number;
    let tokenExpiresAt: number;
    let certs: CertificateFacts[];
    let stuck: StuckFacts[];
    let serverGone: boolean;
    let failCertificates: boolean;
    const recipientsAsked: (string | null)[] = [];

    const server = (): AbmServerFacts => ({
      id: 's1', name: 'Main', groupId: 'g1', hasToken: true, tokenExpiresAt, lastSuccessAt: now, lastError: null,
      syncIntervalMinutes: 30, lastSyncError: null, lastSyncAt: now, since: T0 - 100 * DAY,
    });
    const facts: AlertFacts = {
      abmServers: async () => (serverGone ? [] : [server()]),
      assignments: async () => [],
      certificates: async () => {
        if (failCertificates) throw new Error('push certificate store unreachable');
        return certs;
      },
      stuckDevices: async () => stuck,
    };
    const service = (o: { email?: boolean; webhook?: boolean } = {}) => new AlertService({
      store: new AlertStore(db.db), facts, log: pino({ level: 'silent' }), now: () => now,
      thresholds: { expiryDays: [30, 14, 7, 1], syncFailures: 3, assignFailures: 1, stuckAfterMinutes: 60 },
      recipients: async (groupId) => {
        recipientsAsked.push(groupId);
        return groupId === 'g1' ? ['ops@example.com', 'abm@example.com'] : ['root@example.com'];
      },
      channels: { email: o.email ?? true, webhook: o.webhook ?? true },
    });
    const events = async () => (await new AlertStore(db.db).recentEvents(100)).reverse();

    beforeEach(async () => {
      db = await createTestDatabase(kind);
      now = T0;
      tokenExpiresAt = T0 + 45 * DAY;
      certs = [{ kind: 'push-cert-expiring', subject: 'com.apple.mgmt.test', label: 'the push certificate', notAfter: T0 + 365 * DAY }];
      stuck = [];
      serverGone = false;
      failCertificates = false;
      recipientsAsked.length = 0;
    });
    afterEach(async () => db.dispose());

    it('raises once per state change as a token nears expiry, and resolves once when renewed', async () => {
      const alerts = service();
      expect(await alerts.check()).toEqual([]); // all ok: nothing recorded
      const seen: string[] = [];
      for (const day of [15, 16, 20, 31, 32, 38, 40, 44, 45, 46]) {
        now = T0 + day * DAY;
        for (const e of await alerts.check()) seen.push(`${day}:${e.event}:${e.state}`);
      }
      expect(seen).toEqual(['15:raised:expiring-30', '31:raised:expiring-14', '38:raised:expiring-7', '44:raised:expiring-1', '45:raised:expired']);
      tokenExpiresAt = now + 365 * DAY; // a new token
      expect((await alerts.check()).map((e) => `${e.event}:${e.previousState}->${e.state}`)).toEqual(['resolved:expired->ok']);
      expect(await alerts.check()).toEqual([]);
      const { open, history } = await alerts.list();
      expect(open).toEqual([]);
      expect(history).toHaveLength(6);
      expect(history[0]).toMatchObject({ event: 'resolved', key: 'abm-token-expiring:s1', groupId: 'g1' });
    });

    it('queues e-mail to the subject group\'s recipients and a webhook for every event', async () => {
      now = T0 + 20 * DAY;
      const [raised] = await service().check();
      const store = new AlertStore(db.db);
      const deliveries = await store.deliveriesOf(raised.id);
      expect(deliveries.map((d) => [d.channel, JSON.parse(d.recipients_json)]).sort()).toEqual([['email', ['ops@example.com', 'abm@example.com']], ['webhook', []]]);
      expect(recipientsAsked).toEqual(['g1']);
      // global alerts go to the root's recipients (the callback gets null)
      certs = [{ ...certs[0], notAfter: now + 3 * DAY }];
      const [cert] = await service().check();
      expect(cert).toMatchObject({ kind: 'push-cert-expiring', groupId: null, state: 'expiring-7' });
      expect(JSON.parse((await store.deliveriesOf(cert.id)).find((d) => d.channel === 'email')!.recipients_json)).toEqual(['root@example.com']);
      // no channel configured: recorded and logged, nothing queued
      certs = [{ ...certs[0], notAfter: now - 1 }];
      const [expired] = await service({ email: false, webhook: false }).check();
      expect(await store.deliveriesOf(expired.id)).toEqual([]);
    });

    it('records a change once when two nodes check at the same moment', async () => {
      now = T0 + 20 * DAY;
      const [a, b] = await Promise.all([service().check(), service().check()]);
      expect(a.length + b.length).toBe(1);
      expect(await events()).toHaveLength(1);
      const store = new AlertStore(db.db);
      expect(await store.dueDeliveries(now, 10)).toHaveLength(2);
    });

    it('resolves an open alert whose subject went away, but not when its facts could not be read', async () => {
      now = T0 + 20 * DAY;
      stuck = [{ groupId: 'g1', awaiting: 2, overdue: 0 }];
      certs = [{ ...certs[0], notAfter: now + 3 * DAY }];
      const alerts = service();
      expect((await alerts.check()).map((e) => e.kind).sort()).toEqual(['abm-token-expiring', 'devices-stuck', 'push-cert-expiring']);
      stuck = [{ groupId: 'g1', awaiting: 5, overdue: 1 }]; // more stuck devices: same state, the summary follows
      expect(await alerts.check()).toEqual([]);
      expect((await alerts.list()).open.find((a) => a.kind === 'devices-stuck')!.summary).toContain('5 device(s)');
      stuck = [];
      serverGone = true;
      failCertificates = true;
      const resolved = await alerts.check();
      expect(resolved.map((e) => `${e.event}:${e.kind}`).sort()).toEqual(['resolved:abm-token-expiring', 'resolved:devices-stuck']);
      expect((await alerts.list()).open.map((a) => a.kind)).toEqual(['push-cert-expiring']);
      expect(await alerts.openCounts()).toEqual([{ kind: 'push-cert-expiring', severity: 'warning', open: 1 }]);
    });

    it('lists only the alerts of groups in a scope', async () => {
      await db.db.insertInto('organization_groups').values([
        { id: 'g1', parent_id: 'global', name: 'Customer', group_code: 'CUST', path: '/global/g1/', depth: 1, created_at: T0, updated_at: T0 },
        { id: 'g2', parent_id: 'global', name: 'Other', group_code: 'OTHER', path: '/global/g2/', depth: 1, created_at: T0, updated_at: T0 },
      ]).execute();
      now = T0 + 20 * DAY;
      certs = [{ ...certs[0], notAfter: now + 3 * DAY }];
      stuck = [{ groupId: 'g2', awaiting: 1, overdue: 0 }];
      await service().check();
      const inG1 = await service().list(new Scope('g1', '/global/g1/'));
      expect(inG1.open.map((a) => a.kind)).toEqual(['abm-token-expiring']);
      expect(inG1.history.map((e) => e.kind)).toEqual(['abm-token-expiring']);
      expect((await service().list(Scope.GLOBAL)).open).toHaveLength(3);
    });
  });
});
