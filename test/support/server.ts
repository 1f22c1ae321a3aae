/**
 * A real Pomona server on loopback for integration tests: its own database (SQLite file or
 * a fresh PostgreSQL database), data directory, APNs simulator with a test push
 * certificate, and an administrator API token. Simulated devices are woken by pushes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { loadConfig } from '../../src/config.js';
import { buildApp, openContext, type Context } from '../../src/app.js';
import { createTestPushCertificate } from '../../src/apple/push-certificate.js';
import { startApnsSimulator, type ApnsSimulator } from '../../src/sim/apns.js';
import type { SimulatedDevice } from '../../src/sim/device.js';
import { createTestDatabaseUrl, type TestDbKind } from './db.js';
import { freePort } from '../../src/sim/free-port.js';
import { recordSecret, testRunDir } from './test-run.js';

export interface TestServer {
  url: string;
  ctx: Context;
  app: FastifyInstance;
  apns: ApnsSimulator;
  token: string;
  dataDir: string;
  /** fetch against the admin API with the admin token */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; json: any }>;
  profile(opts?: { unsigned?: boolean }): Promise<Buffer>;
  /** devices answer their pushes by connecting, as real ones do */
  wake(device: SimulatedDevice): void;
  /** polls the API until the command reached `status` on every target (devices answer pushes asynchronously) */
  commandSettled(uuid: string, status?: string): Promise<any>;
  close(): Promise<void>;
}

export { freePort };

/** `logStream`: every log line (services' and requests') goes there, at the configured level (`extra.logLevel`) */
export async function startTestServer(kind: TestDbKind, extra: Record<string, unknown> = {}, opts: { logStream?: DestinationStream } = {}): Promise<TestServer> {
  const db = await createTestDatabaseUrl(kind);
  const dataDir = mkdtempSync(join(tmpdir(), 'pomona-data-'));
  const push = await createTestPushCertificate();
  const apns = await startApnsSimulator({ trustedClientCerts: [push.certPem] });
  writeFileSync(join(dataDir, 'apns-ca.pem'), apns.caPem);
  const port = await freePort();
  const config = loadConfig({
    env: {},
    flags: {
      databaseUrl: db.url, dataDir, listen: `127.0.0.1:${port}`, logLevel: 'silent',
      apnsUrl: apns.url, apnsCaFile: join(dataDir, 'apns-ca.pem'), ...extra,
    },
  });
  const ctx = await openContext(config, { logStream: opts.logStream });
  // In a run of scripts/test.js request lines are logged too, into the run's capture (src/http/log.ts).
  const logStream = opts.logStream ?? (testRunDir() ? nowhere() : undefined);
  const app = await buildApp(ctx, logStream ? { logStream } : { logger: false });
  if (testRunDir()) {
    // The secrets a server is configured with (those it creates are recorded where they are made: ./secret-recorders.ts).
    recordSecret('secret box key', config.secretKey ?? readFileSync(join(dataDir, 'secret.key'), 'utf8').trim());
    recordSecret('metrics bearer token', config.metrics.token);
    recordSecret('alert webhook secret', config.alerts.webhook?.secret);
    recordSecret('SMTP password', config.alerts.smtp?.pass);
    recordSecret('static SCEP challenge', config.scep.staticChallenge);
  }
  await app.listen({ host: '127.0.0.1', port });
  await ctx.pushcerts.import({ certPem: push.certPem, keyPem: push.keyPem });
  const { secret: token } = await ctx.tokens.create({ name: 'test', role: 'administrator' });
  const url = `http://127.0.0.1:${port}`;

  const byToken = new Map<string, SimulatedDevice>();
  const sessions = new Set<Promise<unknown>>();
  apns.onPush((p) => {
    const d = byToken.get(p.token);
    if (!d) return;
    const channel = p.token === d.pushToken ? 'device' : 'user';
    const s = d.connect(channel).catch(() => undefined).finally(() => sessions.delete(s));
    sessions.add(s);
  });

  const server: TestServer = {
    url, ctx, app, apns, token, dataDir,
    async api(path, init = {}) {
      const res = await fetch(url + path, {
        method: init.method ?? (init.body ? 'POST' : 'GET'),
        headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
        body: init.body ? JSON.stringify(init.body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    },
    async profile(opts = {}) {
      const res = await fetch(`${url}/enroll/profile?token=${token}${opts.unsigned ? '&unsigned=true' : ''}`);
      if (res.status !== 200) throw new Error(`profile download answered ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    },
    wake(device) {
      byToken.set(device.pushToken, device);
      if (device.userPushToken) byToken.set(device.userPushToken, device);
    },
    async commandSettled(uuid, status) {
      return until(async () => {
        const { json } = await server.api(`/api/v1/commands/${uuid}`);
        const done = json.results.every((r: { status: string }) => (status ? r.status === status : r.status !== 'Pending'));
        return done && sessions.size === 0 ? json : undefined;
      });
    },
    async close() {
      await app.close();
      await ctx.close();
      await apns.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

/** A stream for a logger whose lines only the test run's capture keeps. */
const nowhere = () => new Writable({ write: (_c, _e, done) => done() });

/** Polls `fn` until it returns something other than undefined (10 s at most). */
export async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
