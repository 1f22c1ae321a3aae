/**
 * Metrics and health on a real server, on SQLite and PostgreSQL: `/metrics` counts HTTP requests by
 * route pattern, check-ins, command results, pushes and job runs, and shows expiry timestamps and
 * the pool; it can be protected with a bearer token or turned off; `/readyz` refuses while a
 * migration this build knows is missing from the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { SimulatedDevice } from '../src/sim/device.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

/** The value of one sample line, e.g. `name{a="b"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.each(testDatabaseKinds)('observability (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let s: TestServer;
    let device: SimulatedDevice;
    const scrape = async () => (await fetch(`${s.url}/metrics`)).text();

    beforeAll(async () => {
      s = await startTestServer(kind);
      device = new SimulatedDevice({ platform: 'iOS' });
      await device.enroll(await s.profile());
      s.wake(device);
    });
    afterAll(async () => s?.close());

    it('serves Prometheus text with HTTP requests labelled by route pattern, never the raw URL', async () => {
      await s.api(`/api/v1/devices/${device.udid}`);
      await fetch(`${s.url}/no/such/${'x'.repeat(8)}`);
      const res = await fetch(`${s.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(sample(text, 'pomona_http_request_duration_seconds_count{method="GET",route="/api/v1/devices/:id",status="200"}')).toBeGreaterThanOrEqual(1);
      expect(text).toContain('route="unmatched",status="404"');
      expect(text).not.toContain(device.udid);
      expect(text).not.toContain('xxxxxxxx');
      expect(text).toContain('pomona_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/devices/:id",status="200"}');
    });

    it('counts check-ins by MessageType, enrollment events, command results by RequestType and status, and pushes', async () => {
      const { json } = await s.api('/api/v1/commands', { body: { devices: [device.udid], command: { RequestType: 'DeviceInformation', Queries: ['DeviceName'] } } });
      await s.commandSettled(json.commandUuid);
      const text = await scrape();
      expect(sample(text, 'pomona_mdm_checkins_total{message_type="Authenticate",outcome="ok"}')).toBe(1);
      expect(sample(text, 'pomona_mdm_checkins_total{message_type="TokenUpdate",outcome="ok"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'pomona_mdm_enrollment_events_total{event="authenticate"}')).toBe(1);
      expect(sample(text, 'pomona_mdm_command_results_total{request_type="DeviceInformation",status="Acknowledged"}')).toBe(1);
      expect(sample(text, 'pomona_push_notifications_total{outcome="sent"}')).toBeGreaterThanOrEqual(1);
    });

    it('counts a check-in the server refuses', async () => {
      const res = await fetch(`${s.url}/mdm/checkin`, { method: 'PUT', headers: { 'content-type': 'application/x-apple-aspen-mdm-checkin' }, body: 'not a plist' });
      expect(res.status).toBe(400);
      // No parsed message, no MessageType: the HTTP histogram is where it shows.
      expect(await scrape()).toContain('route="/mdm/checkin",status="400"');
    });

    it('counts job runs and reads expiry timestamps and the database pool on scrape', async () => {
      await s.ctx.scheduler.runNow('abm-sync');
      const text = await scrape();
      expect(sample(text, 'pomona_job_runs_total{job="abm-sync",outcome="ok"}')).toBe(1);
      const cert = (await s.ctx.pushcerts.list())[0]!;
      expect(sample(text, `pomona_push_certificate_expiry_timestamp_seconds{topic="${cert.topic}"}`)).toBe(cert.notAfter / 1000);
      expect(sample(text, 'pomona_db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1);
      if (kind === 'postgres') expect(text).toMatch(/pomona_db_pool_connections\{state="idle"\} \d+/);
      expect(text).toContain('pomona_process_resident_memory_bytes');
    });

    it('answers /healthz and /readyz, and refuses readiness while a migration is missing', async () => {
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${s.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
      const db = s.ctx.database.db;
      const last = await db.selectFrom('kysely_migration' as never).select(sql<string>`name`.as('name')).orderBy(sql`name`, 'desc').limit(1).executeTakeFirstOrThrow() as { name: string };
      await sql`delete from kysely_migration where name = ${last.name}`.execute(db);
      try {
        const res = await fetch(`${s.url}/readyz`);
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual({ status: 'not ready', reason: 'database migrations pending (run pomona migrate)' });
      } finally {
        await sql`insert into kysely_migration (name, timestamp) values (${last.name}, ${new Date().toISOString()})`.execute(db);
      }
      expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    });
  });
});

describe.each(testDatabaseKinds)('metrics endpoint settings (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    it('requires the bearer token when one is configured', async () => {
      const s = await startTestServer(kind, { metricsToken: 'scrape-secret-0123456789' });
      try {
        expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
        expect((await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
        const ok = await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer scrape-secret-0123456789' } });
        expect(ok.status).toBe(200);
        expect(await ok.text()).toContain('pomona_http_request_duration_seconds');
      } finally {
        await s.close();
      }
    });

    it('serves no /metrics when turned off', async () => {
      const s = await startTestServer(kind, { metrics: 'false' });
      try {
        expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
      } finally {
        await s.close();
      }
    });
  });
});
