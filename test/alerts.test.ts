/**
 * Alerts end to end on a real server's context: an ABM token nearing expiry in a customer's group
 * is raised once by the job under its lease (two nodes ticking at once), e-mailed to that group's
 * recipients through a real SMTP server on loopback, POSTed to a webhook with a valid signature
 * (after a 500, retried), logged as one line, listed by `GET /api/v1/alerts` and counted in `/metrics`. Unreachable
 * SMTP and webhook endpoints are logged and retried on a later run.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAlerts } from '../src/alerts/alert-module.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { freePort, startTestServer, type TestServer } from './support/server.js';
import { startSmtpCapture, type SmtpCapture } from './support/smtp-capture.js';

const DAY = 86_400_000;
const SECRET = 'webhook-secret-for-tests-0123456789';

interface Hook {
  url: string;
  port: number;
  received: { body: string; signature: string; timestamp: string }[];
  /** statuses to answer, in order; 200 once used up */
  answers: number[];
  close(): Promise<void>;
}

async function startHook(port?: number): Promise<Hook> {
  const hook = { received: [], answers: [] } as unknown as Hook;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hook.received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['x-pomona-signature']), timestamp: String(req.headers['x-pomona-timestamp']) });
      res.statusCode = hook.answers.shift() ?? 200;
      res.end();
    });
  });
  const p = port ?? (await freePort());
  await new Promise<void>((r) => server.listen(p, '127.0.0.1', () => r()));
  hook.port = p;
  hook.url = `http://127.0.0.1:${p}/hooks/pomona`;
  hook.close = () => new Promise<void>((r) => server.close(() => r()));
  return hook;
}

describe.each(testDatabaseKinds)('alerts (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    let now: number;
    let logLines: Record<string, unknown>[];
    let closers: (() => unknown)[];
    let serverId: string;

    /** the alert pieces of one node, with this test's channels and clock */
    const node = (nodeId: string, channels: { smtpPort?: number; hookUrl?: string }) => {
      const { ctx } = pomona;
      const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { logLines.push(JSON.parse(String(chunk))); cb(); } }));
      const webhook = channels.hookUrl ? { url: channels.hookUrl, secret: SECRET, backoffMs: 5 } : undefined;
      const a = createAlerts({
        db: ctx.database.db, log, leases: ctx.leases, servers: ctx.abmServers, pushcerts: ctx.pushcerts, groups: ctx.groups, caNotAfter: ctx.ca.notAfter, now: () => now,
        config: {
          nodeId, tls: undefined,
          alerts: {
            ...ctx.config.alerts,
            smtp: channels.smtpPort ? { host: '127.0.0.1', port: channels.smtpPort, secure: false, from: 'pomona@pomona.test' } : undefined,
            webhook,
          },
        },
      });
      closers.push(a.closeAlerts);
      return a;
    };

    beforeEach(async () => {
      pomona = await startTestServer(kind);
      now = Date.now();
      logLines = [];
      closers = [];
      const { ctx } = pomona;
      const customer = await ctx.groups.create({ parentId: 'global', name: 'Customer', groupId: 'CUSTOMER' });
      await ctx.groups.setSetting('global', 'alerts.recipients', ['root@pomona.test'], 'test');
      await ctx.groups.setSetting(customer.id, 'alerts.recipients', ['ops@customer.test', 'it@customer.test'], 'test');
      const site = await ctx.groups.create({ parentId: customer.id, name: 'Site', groupId: 'SITE' });
      serverId = (await ctx.abmServers.create({ name: 'Customer ABM', organizationGroupId: site.id })).id; // inherits the customer's recipients
      // A token Apple issued (its content does not matter to the checks), expiring in ten days.
      await ctx.database.db.updateTable('abm_servers').set({ tokens_enc: Buffer.from('sealed'), token_expires_at: now + 10 * DAY, token_uploaded_at: now - DAY }).where('id', '=', serverId).execute();
    });
    afterEach(async () => {
      for (const c of closers) await c();
      await pomona.close();
    });

    it('raises once across two nodes, e-mails the group\'s recipients, signs the webhook and retries it after a 500', async () => {
      const smtp = await startSmtpCapture();
      const hook = await startHook();
      closers.push(() => smtp.close(), () => hook.close());
      hook.answers = [500];
      const a = node('node-a', { smtpPort: smtp.port, hookUrl: hook.url });
      const b = node('node-b', { smtpPort: smtp.port, hookUrl: hook.url });
      await Promise.all([a.alertJob.tick(), b.alertJob.tick()]);

      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0].to.sort()).toEqual(['it@customer.test', 'ops@customer.test']);
      expect(smtp.messages[0].from).toBe('pomona@pomona.test');
      expect(smtp.messages[0].raw).toContain('Customer ABM');
      expect(smtp.messages[0].raw).toMatch(/expiring-14/);

      expect(hook.received).toHaveLength(2); // the 500, then the retry
      const last = hook.received[1];
      expect(last.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(last.body).digest('hex')}`);
      expect(Number(last.timestamp)).toBeGreaterThan(0);
      expect(JSON.parse(last.body)).toMatchObject({ event: 'raised', kind: 'abm-token-expiring', subject: serverId, state: 'expiring-14', previousState: 'ok' });

      const raised = logLines.filter((l) => l.msg === 'alert raised');
      expect(raised).toHaveLength(1);
      expect(raised[0]).toMatchObject({ alert: { key: `abm-token-expiring:${serverId}`, state: 'expiring-14' } });

      // Nothing changed: nothing more is sent.
      now += 60_000;
      await a.alertJob.tick();
      expect(smtp.messages).toHaveLength(1);
      expect(hook.received).toHaveLength(2);

      // Next threshold, then renewed: one message each.
      now += 5 * DAY;
      await b.alertJob.tick();
      await pomona.ctx.database.db.updateTable('abm_servers').set({ token_expires_at: now + 365 * DAY }).where('id', '=', serverId).execute();
      now += 60_000;
      await a.alertJob.tick();
      expect(smtp.messages).toHaveLength(3);
      expect(/Subject: (.*)/.exec(smtp.messages[2].raw)![1]).toContain('resolved');
      expect(hook.received.map((r) => JSON.parse(r.body).state)).toEqual(['expiring-14', 'expiring-14', 'expiring-7', 'ok']);
      expect(logLines.filter((l) => l.msg === 'alert resolved')).toHaveLength(1);

      const { status, json } = await pomona.api('/api/v1/alerts');
      expect(status).toBe(200);
      expect(json.open).toEqual([]);
      expect(json.history.map((e: { event: string; state: string }) => `${e.event}:${e.state}`)).toEqual(['resolved:ok', 'raised:expiring-7', 'raised:expiring-14']);
    });

    it('lists open alerts in the API by scope', async () => {
      await node('node-a', {}).alertJob.tick();
      const { json } = await pomona.api('/api/v1/alerts');
      expect(json.open).toEqual([expect.objectContaining({ kind: 'abm-token-expiring', subject: serverId, state: 'expiring-14', severity: 'warning' })]);
      // an admin scoped to another branch sees none of it
      const { ctx } = pomona;
      const other = await ctx.groups.create({ parentId: 'global', name: 'Other', groupId: 'OTHER' });
      const scope = await ctx.groups.scopeOf(other.id);
      const { secret } = await ctx.tokens.create({ name: 'other-reader', role: 'read-only', scope });
      const res = await fetch(`${pomona.url}/api/v1/alerts`, { headers: { authorization: `Bearer ${secret}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ open: [], history: [] });
    });

    it('counts open alerts in /metrics by kind and severity, read on scrape; 0 once resolved', async () => {
      const scrape = async () => (await fetch(`${pomona.url}/metrics`)).text();
      expect(await scrape()).not.toMatch(/^pomona_alerts_open\{/m);
      const a = node('node-a', {});
      await a.alertJob.tick();
      expect(await scrape()).toContain('pomona_alerts_open{kind="abm-token-expiring",severity="warning"} 1');
      await pomona.ctx.database.db.updateTable('abm_servers').set({ token_expires_at: now + 365 * DAY }).where('id', '=', serverId).execute();
      now += 60_000;
      await a.alertJob.tick();
      expect(await scrape()).toContain('pomona_alerts_open{kind="abm-token-expiring",severity="warning"} 0');
    });

    it('logs an unreachable SMTP server or webhook and delivers on a later run', async () => {
      const smtpPort = await freePort();
      const hookPort = await freePort();
      const a = node('node-a', { smtpPort, hookUrl: `http://127.0.0.1:${hookPort}/hooks/pomona` });
      await expect(a.alertJob.tick()).resolves.toBeUndefined();
      const failures = logLines.filter((l) => l.msg === 'alert delivery failed; will retry');
      expect(failures.map((l) => l.channel).sort()).toEqual(['email', 'webhook']);
      expect(logLines.filter((l) => l.msg === 'alert raised')).toHaveLength(1);

      const smtp = await startSmtpCapture(smtpPort);
      const hook = await startHook(hookPort);
      closers.push(() => smtp.close(), () => hook.close());
      await a.alertJob.tick(); // not due yet: retried after a delay
      expect(smtp.messages).toHaveLength(0);
      now += 61_000;
      await a.alertJob.tick();
      expect(smtp.messages).toHaveLength(1);
      expect(hook.received).toHaveLength(1);
      expect(logLines.filter((l) => l.msg === 'alert raised')).toHaveLength(1); // raised once, delivered late
    });
  });
});
