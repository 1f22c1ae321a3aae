/**
 * Two Pomona nodes on one database behind a round-robin load balancer, on SQLite and PostgreSQL:
 * a device enrolls through the balancer (its requests alternate between the nodes), commands
 * enqueued on either node push the device and are delivered when it connects to the other, and
 * every result is stored once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { buildApp, openContext, type Context } from '../src/app.js';
import { createTestPushCertificate } from '../src/apple/push-certificate.js';
import { startApnsSimulator, type ApnsSimulator } from '../src/sim/apns.js';
import { SimulatedDevice } from '../src/sim/device.js';
import { freePort } from '../src/sim/free-port.js';
import { createTestDatabaseUrl, skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './support/round-robin-proxy.js';
import { until } from './support/server.js';

describe.each(testDatabaseKinds)('two nodes on one database (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: Awaited<ReturnType<typeof createTestDatabaseUrl>>;
    let dataDir: string;
    let apns: ApnsSimulator;
    let lb: RoundRobinProxy;
    const nodes: Array<{ ctx: Context; app: FastifyInstance; url: string }> = [];
    let token: string;
    const device = new SimulatedDevice({ platform: 'iOS' });

    const api = async <T>(node: number, path: string, body?: unknown): Promise<{ status: number; json: T }> => {
      const res = await fetch(nodes[node]!.url + path, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, json: (await res.json()) as T };
    };

    beforeAll(async () => {
      db = await createTestDatabaseUrl(kind);
      dataDir = mkdtempSync(join(tmpdir(), 'pomona-nodes-'));
      const push = await createTestPushCertificate();
      apns = await startApnsSimulator({ trustedClientCerts: [push.certPem] });
      writeFileSync(join(dataDir, 'apns-ca.pem'), apns.caPem);
      const ports = [await freePort(), await freePort()];
      lb = await startRoundRobinProxy(ports.map((p) => `http://127.0.0.1:${p}`));
      for (const [i, port] of ports.entries()) {
        // Same database, same data directory (the secret key), one public URL: the balancer's.
        const config = loadConfig({
          env: {},
          flags: {
            databaseUrl: db.url, dataDir, listen: `127.0.0.1:${port}`, publicUrl: lb.url, logLevel: 'silent', nodeId: `node-${i}`,
            apnsUrl: apns.url, apnsCaFile: join(dataDir, 'apns-ca.pem'),
          },
        });
        const ctx = await openContext(config);
        const app = await buildApp(ctx, { logger: false });
        await app.listen({ host: '127.0.0.1', port });
        nodes.push({ ctx, app, url: `http://127.0.0.1:${port}` });
      }
      await nodes[0]!.ctx.pushcerts.import({ certPem: push.certPem, keyPem: push.keyPem });
      token = (await nodes[1]!.ctx.tokens.create({ name: 'test', role: 'administrator' })).secret;
      // The device answers pushes by connecting, through the balancer — one session at a time, as
      // a real device does (pushes that arrive meanwhile are covered by the session under way).
      let session: Promise<unknown> = Promise.resolve();
      apns.onPush((p) => {
        if (p.token === device.pushToken) session = session.then(() => device.connect('device')).catch(() => undefined);
      });
    });
    afterAll(async () => {
      for (const n of nodes) {
        await n.app.close();
        await n.ctx.close();
      }
      await lb?.close();
      await apns?.close();
      await db?.drop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('enrolls through the balancer, both nodes answering', async () => {
      const res = await fetch(`${lb.url}/enroll/profile?token=${token}`);
      expect(res.status).toBe(200);
      await device.enroll(Buffer.from(await res.arrayBuffer()));
      expect(lb.served.every((n) => n > 0)).toBe(true);
      const listed = await api<{ devices: unknown[] }>(0, `/api/v1/devices?udid=${device.udid}`);
      expect(listed.json.devices).toHaveLength(1);
    });

    it('delivers commands enqueued on either node, each result stored once', async () => {
      const before = [...lb.served];
      const uuids: string[] = [];
      for (const node of [0, 1, 0, 1]) {
        const queued = await api<{ commandUuid: string }>(node, '/api/v1/commands', { devices: [device.udid], command: { RequestType: 'DeviceInformation', Queries: ['OSVersion'] } });
        expect(queued.status).toBe(201);
        uuids.push(queued.json.commandUuid);
      }
      await until(async () => {
        const rows = await nodes[0]!.ctx.database.db.selectFrom('command_queue').select(['command_uuid', 'status']).where('command_uuid', 'in', uuids).execute();
        const done = rows.filter((r) => r.status === 'Acknowledged');
        return done.length >= uuids.length ? rows : undefined;
      });
      const rows = await nodes[1]!.ctx.database.db.selectFrom('command_queue').select(['command_uuid', 'status', 'result_plist']).where('command_uuid', 'in', uuids).execute();
      expect(rows).toHaveLength(uuids.length);
      expect(rows.every((r) => r.status === 'Acknowledged' && r.result_plist)).toBe(true);
      // The device answered each command once.
      const answered = device.answered.map((a) => a.commandUuid).filter((u) => uuids.includes(u));
      expect(answered.sort()).toEqual([...uuids].sort());
      // Both nodes took part in the device's sessions.
      expect(lb.served.every((n, i) => n > before[i]!)).toBe(true);
    });
  });
});
