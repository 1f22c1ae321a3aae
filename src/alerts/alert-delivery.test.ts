import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Writable } from 'node:stream';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { AlertStore } from './alert-store.js';
import { AlertDelivery } from './alert-delivery.js';
import type { AlertMessage } from './alert-message.js';

const T0 = Date.UTC(2026, 0, 1);

describe.each(testDatabaseKinds)('alert delivery (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let now: number;
    let lines: Record<string, unknown>[];
    const log = () => pino({ level: 'info' }, new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }));

    beforeEach(async () => {
      db = await createTestDatabase(kind);
      now = T0;
      lines = [];
      const store = new AlertStore(db.db);
      await store.transition(undefined,
        { key: 'ca-expiring:device-ca', kind: 'ca-expiring', subject: 'device-ca', group_id: null, state: 'expired', severity: 'critical', summary: 'CA expired', raised_at: T0, updated_at: T0 },
        { id: 'e1', alert_key: 'ca-expiring:device-ca', kind: 'ca-expiring', subject: 'device-ca', group_id: null, event: 'raised', state: 'expired', previous_state: 'ok', severity: 'critical', summary: 'CA expired', at: T0 },
        [
          { id: 'd-mail', event_id: 'e1', channel: 'email', recipients_json: '["root@example.com"]', attempts: 0, next_attempt_at: T0, delivered_at: null, last_error: null, created_at: T0 },
          { id: 'd-hook', event_id: 'e1', channel: 'webhook', recipients_json: '[]', attempts: 0, next_attempt_at: T0, delivered_at: null, last_error: null, created_at: T0 },
        ]);
    });
    afterEach(async () => db.dispose());

    it('retries a failing channel with doubling delays, gives up after its bound, and keeps sending the others', async () => {
      const sent: [AlertMessage, string[]][] = [];
      let hookCalls = 0;
      const delivery = new AlertDelivery({
        store: new AlertStore(db.db), log: log(), now: () => now, maxAttempts: 3, retryMs: 1000,
        channels: {
          email: { send: async (m, to) => void sent.push([m, to]) },
          webhook: { send: async () => { hookCalls++; throw new Error('connect ECONNREFUSED'); } },
        },
      });
      expect(await delivery.deliverDue()).toEqual({ delivered: 1, failed: 1 });
      expect(sent).toEqual([[expect.objectContaining({ key: 'ca-expiring:device-ca', event: 'raised', state: 'expired' }), ['root@example.com']]]);
      expect(await delivery.deliverDue()).toEqual({ delivered: 0, failed: 0 }); // not due yet
      now += 1000;
      expect(await delivery.deliverDue()).toEqual({ delivered: 0, failed: 1 });
      now += 1999;
      expect(await delivery.deliverDue()).toEqual({ delivered: 0, failed: 0 });
      now += 1;
      expect(await delivery.deliverDue()).toEqual({ delivered: 0, failed: 1 });
      now += 3_600_000;
      expect(await delivery.deliverDue()).toEqual({ delivered: 0, failed: 0 }); // given up
      expect(hookCalls).toBe(3);
      const rows = await new AlertStore(db.db).deliveriesOf('e1');
      expect(rows.find((r) => r.id === 'd-hook')).toMatchObject({ attempts: 3, next_attempt_at: null, delivered_at: null, last_error: 'connect ECONNREFUSED' });
      expect(rows.find((r) => r.id === 'd-mail')).toMatchObject({ attempts: 1, next_attempt_at: null, delivered_at: T0 });
      expect(lines.filter((l) => l.msg === 'alert delivery failed; will retry')).toHaveLength(2);
      expect(lines.filter((l) => l.msg === 'alert delivery failed; giving up')).toHaveLength(1);
    });

    it('fails a delivery whose channel is no longer configured without throwing', async () => {
      const delivery = new AlertDelivery({ store: new AlertStore(db.db), log: log(), now: () => now, channels: {} });
      expect(await delivery.deliverDue()).toEqual({ delivered: 0, failed: 2 });
      expect(lines.map((l) => l.reason).sort()).toEqual(['e-mail is not configured', 'no webhook is configured']);
    });
  });
});
