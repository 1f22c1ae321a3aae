/**
 * Three Pomona nodes as real processes (the compiled `pomona serve`) on one PostgreSQL, behind a round-robin
 * balancer, with the ABM and APNs simulators — and nodes killed (SIGKILL) in the middle of the
 * work: mid-ABM-sync, after handing a device a command, after storing a result whose answer
 * never reached the device. Every ABM device is stored once, every command delivered once with
 * its result stored once, a dead node's sync moves to another node within one lease period, and
 * no job runs twice for the same due time (read from every node's log, the killed ones' too).
 *
 * The nodes share only the database and the secret key (POMONA_SECRET_KEY); each has its own
 * data directory, as separate machines would. PostgreSQL only: SQLite is one process's file.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openContext, type Context } from '../src/app.js';
import { createTestPushCertificate } from '../src/apple/push-certificate.js';
import { startApnsSimulator, type ApnsSimulator } from '../src/sim/apns.js';
import { startAbmSimulator, type AbmSimulator } from '../src/sim/abm/server.js';
import { SimulatedDevice } from '../src/sim/device.js';
import { AdeDevice, passwordSignIn } from '../src/sim/ade-device.js';
import { SimulatedDeviceCa, type DeviceIdentity } from '../src/sim/device-identity-ca.js';
import { freePort } from '../src/sim/free-port.js';
import { createTestDatabaseUrl, skipUnlessAvailable } from './support/db.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './support/round-robin-proxy.js';
import { buildServer, startNodeProcess, type LogLine, type NodeProcess } from './support/node-process.js';
import { until } from './support/server.js';

const LEASE_MS = 5000;
/** what a node logs when another took over its run after its lease lapsed */
const LOST = 'job run taken over by another node before it finished (lease lost)';
const FLEET = 240; // twelve pages of 20, each answered 300 ms late: a sync long enough to kill a node in
const PASSWORD = 'alice has a long passphrase';

describe.skipIf(skipUnlessAvailable('postgres'))('node processes on one PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabaseUrl>>;
  let dir: string;
  let apns: ApnsSimulator;
  let sim: AbmSimulator;
  let lb: RoundRobinProxy;
  let admin: Context; // what the `pomona` CLI opens: the database, no server, no jobs
  let token: string;
  let identity: DeviceIdentity;
  const secretKey = randomBytes(32).toString('base64');
  const ports: number[] = [];
  /** the node behind each balancer target (a killed one stays, dead, until restarted) */
  const nodes: NodeProcess[] = [];
  /** every node process started, killed ones included (their logs are evidence too) */
  const started: NodeProcess[] = [];
  const killed = new Set<string>();
  const devices = new Map<string, SimulatedDevice>(); // by push token
  let serverId: string;
  let serials: string[];

  const startNode = async (slot: number, nodeId: string, key = secretKey) => {
    const dataDir = join(dir, nodeId);
    mkdirSync(dataDir);
    const node = await startNodeProcess({
      nodeId,
      port: slot < ports.length ? ports[slot]! : await freePort(),
      env: {
        POMONA_DATABASE_URL: db.url, POMONA_DATA_DIR: dataDir, POMONA_SECRET_KEY: key, POMONA_PUBLIC_URL: lb.url,
        POMONA_LOG_LEVEL: 'debug', POMONA_APNS_URL: apns.url, POMONA_APNS_CA_FILE: join(dir, 'apns-ca.pem'), POMONA_ADE_TEST_ROOT_FILE: join(dir, 'device-ca.pem'),
        POMONA_JOB_TICK_SECONDS: '1', POMONA_JOB_LEASE_SECONDS: String(LEASE_MS / 1000), POMONA_ALERT_CHECK_MINUTES: '1',
      },
    });
    nodes[slot] = node;
    started.push(node);
  };
  const kill = async (slot: number) => {
    killed.add(nodes[slot]!.nodeId);
    await nodes[slot]!.kill('SIGKILL');
  };

  const api = async <T = any>(base: string, path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetch(base + path, {
      method: init.method ?? (init.body ? 'POST' : 'GET'),
      headers: { ...(init.headers ?? { authorization: `Bearer ${token}` }), ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as T, headers: res.headers };
  };
  const q = () => admin.database.db;

  /**
   * What each device's MDM requests met: for every command, the balancer targets that handed it
   * out and that took its result. `onAnswer` sees each answer before the device does and may
   * kill a node; answering 'lost' makes the device send its report again, as a device does when
   * the server's answer never arrives.
   */
  type Seen = { handedOutBy: number[]; resultTo: number[] };
  const seen = new Map<string, Seen>();
  let onAnswer: (e: { upstream: number; handedOut?: string; answered?: string }) => Promise<'lost' | void> = async () => {};
  const deviceFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const body = Buffer.from(await res.arrayBuffer());
    const upstream = Number(res.headers.get('x-upstream'));
    if (!String(input).endsWith('/mdm/connect') || res.status !== 200) return new Response(body, { status: res.status, headers: res.headers });
    const commandUuid = (plist: string) => /<key>CommandUUID<\/key>\s*<string>([^<]+)<\/string>/.exec(plist)?.[1];
    const answered = commandUuid(Buffer.from(init!.body as Uint8Array).toString('utf8'));
    const handedOut = body.length ? commandUuid(body.toString('utf8')) : undefined;
    const entry = (uuid: string) => seen.get(uuid) ?? seen.set(uuid, { handedOutBy: [], resultTo: [] }).get(uuid)!;
    if (answered) entry(answered).resultTo.push(upstream);
    if (handedOut) entry(handedOut).handedOutBy.push(upstream);
    if ((await onAnswer({ upstream, handedOut, answered })) === 'lost') return deviceFetch(input, init);
    return new Response(body, { status: res.status, headers: res.headers });
  };

  let busy = 0; // device sessions under way or waiting
  /** Devices answer pushes by connecting through the balancer, one session at a time; a session cut short by a dying node is tried again. */
  const wake = (device: SimulatedDevice) => {
    let session: Promise<unknown> = Promise.resolve();
    devices.set(device.pushToken, device);
    return () => {
      busy++;
      session = session.then(async () => {
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            return await device.connect('device');
          } catch {
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      }).finally(() => busy--);
    };
  };
  const wakers = new Map<string, () => void>();

  const enqueue = async (base: string, targets: string[], headers?: Record<string, string>) => {
    const res = await api<{ commandUuid: string; pushes: Array<{ status: string }> }>(base, '/api/v1/commands', {
      body: { devices: targets, command: { RequestType: 'DeviceInformation', Queries: ['OSVersion'] } }, headers,
    });
    expect(res.status).toBe(201);
    // The node that took the command pushed the devices itself.
    expect(res.json.pushes?.map((p) => p.status)).toEqual(targets.map(() => 'sent'));
    return res.json.commandUuid;
  };
  const settled = (uuids: string[]) =>
    until(async () => {
      const rows = await q().selectFrom('command_queue').select(['command_uuid', 'enrollment_id', 'status', 'result_plist']).where('command_uuid', 'in', uuids).execute();
      return rows.length > 0 && rows.every((r) => r.status === 'Acknowledged') && busy === 0 ? rows : undefined;
    }, 30_000);
  const answeredTimes = (uuid: string) => [...devices.values()].flatMap((d) => d.answered).filter((a) => a.commandUuid === uuid).length;

  beforeAll(async () => {
    db = await createTestDatabaseUrl('postgres');
    dir = mkdtempSync(join(tmpdir(), 'pomona-nodes-'));
    const push = await createTestPushCertificate();
    apns = await startApnsSimulator({ trustedClientCerts: [push.certPem] });
    writeFileSync(join(dir, 'apns-ca.pem'), apns.caPem);
    const deviceCa = await SimulatedDeviceCa.create();
    identity = await deviceCa.issue(randomUUID().toUpperCase());
    writeFileSync(join(dir, 'device-ca.pem'), deviceCa.rootPem);
    sim = await startAbmSimulator({ seed: 17, fetchLimit: { default: 20, maximum: 20 }, syncLimit: { default: 20, maximum: 20 }, profileValidation: { allowHttpWebUrl: true } });
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    lb = await startRoundRobinProxy(ports.map((p) => `http://127.0.0.1:${p}`));
    admin = await openContext(loadConfig({ env: {}, flags: { databaseUrl: db.url, dataDir: join(dir, 'admin'), secretKey, publicUrl: lb.url, logLevel: 'silent' } }));
    await admin.pushcerts.import({ certPem: push.certPem, keyPem: push.keyPem });
    token = (await admin.tokens.create({ name: 'test', role: 'administrator' })).secret;
    apns.onPush((p) => wakers.get(p.token)?.());
    buildServer();
    for (let i = 0; i < 3; i++) await startNode(i, `node-${i}`);
  }, 120_000);

  afterAll(async () => {
    for (const n of started) await n.kill('SIGTERM');
    await lb?.close();
    await apns?.close();
    await sim?.close();
    await admin?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('moves an ABM sync whose node was killed mid-way to another node within one lease period, and stores every device once', async () => {
    const apple = sim.createServer({ name: 'Cluster' }).serverUuid;
    serials = sim.addDevices(apple, FLEET).sort();
    const slow = sim.faults.add({ path: '/server/devices', times: Infinity, action: { kind: 'delay', ms: 300 } });
    const created = await api(lb.url, '/api/v1/abm-servers', { body: { name: 'Cluster', baseUrl: sim.url } });
    expect(created.status).toBe(201);
    serverId = created.json.id;
    const pem = await (await fetch(`${lb.url}/api/v1/abm-servers/${serverId}/public-key`, { headers: { authorization: `Bearer ${token}` } })).text();
    const up = await fetch(`${lb.url}/api/v1/abm-servers/${serverId}/token`, {
      method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/pkcs7-mime' }, body: sim.issueToken(apple, pem).smime,
    });
    expect(up.status).toBe(200); // the upload asks for a sync, which the next tick of some node starts

    const lease = `abm-sync:${serverId}`;
    const holder = await until(async () => {
      const s = await q().selectFrom('abm_servers').select('sync_pages').where('id', '=', serverId).executeTakeFirstOrThrow();
      const l = await q().selectFrom('leases').select('holder').where('name', '=', lease).executeTakeFirst();
      return s.sync_pages >= 3 && l ? l.holder : undefined;
    }, 30_000);
    const victim = nodes.findIndex((n) => n.nodeId === holder);
    await kill(victim);
    const deadUntil = (await q().selectFrom('leases').select(['holder', 'expires_at']).where('name', '=', lease).executeTakeFirstOrThrow());
    expect(deadUntil.holder).toBe(holder); // nobody took it while it was held

    const run = await until(() => q().selectFrom('job_runs').selectAll().where('job', '=', lease).where('finished_at', 'is not', null).executeTakeFirst(), 30_000);
    expect(run).toMatchObject({ attempts: 2, outcome: 'ok' });
    expect(run.holder).not.toBe(holder);
    // Taken over once the dead node's lease ran out — and within one lease period of that.
    expect(run.started_at).toBeGreaterThanOrEqual(deadUntil.expires_at);
    expect(run.started_at - deadUntil.expires_at).toBeLessThan(LEASE_MS);

    const stored = await q().selectFrom('abm_devices').select('serial_number').where('abm_server_id', '=', serverId).where('removed_at', 'is', null).orderBy('serial_number').execute();
    expect(stored.map((r) => r.serial_number)).toEqual(serials); // all there, none twice
    // Resumed from the last committed page, not started over: about one page fetched again.
    const fetches = sim.requests().filter((r) => r.path === '/server/devices').length;
    expect(fetches).toBeLessThanOrEqual(FLEET / 20 + 3);
    const finished = started.flatMap((n) => n.log.filter((l) => l.msg === 'ABM sync finished').map(() => n.nodeId));
    expect(finished).toEqual([run.holder]);

    sim.faults.remove(slow);
    await startNode(victim, `node-${victim}-restarted`);
  }, 90_000);

  it('enrolls ADE devices through the web view and sign-in pages, their requests spread over the nodes', async () => {
    expect((await api(lb.url, '/api/v1/organization-groups/global/settings/enrollment.authenticationMethods', { method: 'PUT', body: { value: ['local'] } })).status).toBeLessThan(300);
    expect((await api(lb.url, '/api/v1/users', { body: { username: 'alice', password: PASSWORD, defaultGroupId: 'global' } })).status).toBe(201);
    const profile = await api(lb.url, `/api/v1/abm-servers/${serverId}/profiles`, {
      body: { settings: { apple: { profile_name: 'Signed', await_device_configured: false }, pomona: { authentication: { enabled: true, methods: ['password'] } } } },
    });
    expect(profile.status).toBe(201);
    const ade = serials.slice(0, 2);
    // The restarted node's automatic assignment may hold a serial a moment (BUSY): again, as an admin would.
    await until(async () => {
      const res = await api(lb.url, '/api/v1/abm-devices/assign', { body: { serverId, serials: ade, profileId: profile.json.id } });
      expect(res.status).toBe(200);
      return res.json.results.every((r: { result: string }) => r.result === 'SUCCESS') ? true : undefined;
    });
    const before = [...lb.served];
    for (const [i, serial] of ade.entries()) {
      const d = new AdeDevice({
        serial, udid: `00008130-00${String(i + 1).padStart(14, '0')}`, product: 'iPhone16,1', osVersion: '18.1', build: '22B83', identity, abmUrl: sim.url,
        signIn: passwordSignIn('alice', PASSWORD), fetch: deviceFetch,
      });
      expect(await d.run()).toEqual({ kind: 'enrolled' });
      wakers.set(d.device.pushToken, wake(d.device));
    }
    expect(lb.served.every((n, i) => n > before[i]!)).toBe(true);
    const enrolled = await q().selectFrom('devices').select(['serial_number', 'enrollment_method']).where('serial_number', 'in', ade).execute();
    expect(enrolled.map((r) => r.enrollment_method)).toEqual(['ade-webview', 'ade-webview']);
  }, 60_000);

  it('delivers commands enqueued on any node — by API token or a console session signed in on another — once each, results stored once', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${lb.url}/enroll/profile?token=${token}`);
      expect(res.status).toBe(200);
      const d = new SimulatedDevice({ platform: 'iOS', fetch: deviceFetch });
      await d.enroll(Buffer.from(await res.arrayBuffer()));
      wakers.set(d.pushToken, wake(d));
    }
    const udids = [...devices.values()].map((d) => d.udid);
    expect(udids).toHaveLength(6);

    // A console session: signed in on one node, its CSRF token read on a second, used on the third.
    await admin.admins.createUser({ username: 'ops', password: PASSWORD, role: 'administrator', scope: await admin.groups.scopeOf('global') });
    const login = await fetch(`${nodes[0]!.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ops', password: PASSWORD }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const whoami = await api<{ csrfToken: string }>(nodes[1]!.url, '/api/v1/session', { headers: { cookie } });
    const session = { cookie, 'x-csrf-token': whoami.json.csrfToken };

    const uuids: string[] = [];
    for (const [i, node] of nodes.entries()) uuids.push(await enqueue(node.url, udids));
    uuids.push(await enqueue(nodes[2]!.url, udids, session));
    const rows = await settled(uuids);
    expect(rows).toHaveLength(uuids.length * udids.length); // one queue row per command and device
    expect(rows.every((r) => r.result_plist?.includes(r.command_uuid))).toBe(true);
    for (const uuid of uuids) expect(answeredTimes(uuid)).toBe(udids.length);
    // Commands went out from nodes other than the one that took them (the enqueuing node pushed).
    for (const [i, uuid] of uuids.slice(0, 3).entries()) expect(seen.get(uuid)!.handedOutBy.some((t) => t !== i)).toBe(true);
  }, 60_000);

  /**
   * Sends `device` one command through a node killed at `moment`: right after it handed the
   * command out, or right after it stored the result (whose answer then never reaches the device).
   */
  const throughDyingNode = async (device: SimulatedDevice, moment: 'handed-out' | 'result-stored') => {
    let victim: number | undefined;
    onAnswer = async ({ upstream, handedOut, answered }) => {
      if (victim !== undefined || !(moment === 'handed-out' ? handedOut : answered)) return;
      victim = upstream;
      await kill(upstream);
      if (moment === 'result-stored') return 'lost';
    };
    const live = nodes.find((n) => !killed.has(n.nodeId))!;
    const uuid = await enqueue(live.url, [device.udid]);
    const rows = await settled([uuid]).finally(() => (onAnswer = async () => {}));
    expect(victim).toBeDefined();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.result_plist).toContain(uuid);
    expect(answeredTimes(uuid)).toBe(1); // delivered once
    return { victim: victim!, ...seen.get(uuid)! };
  };

  it('delivers a command whose node died after handing it out: the result goes to another node, stored once', async () => {
    const { victim, handedOutBy, resultTo } = await throughDyingNode([...devices.values()][2]!, 'handed-out');
    expect(handedOutBy).toEqual([victim]);
    expect(resultTo).toHaveLength(1);
    expect(resultTo[0]).not.toBe(victim);
    await startNode(victim, `node-${victim}-restarted-2`);
  }, 60_000);

  it('stores a result once when its node died before the device heard back and the device sent it again', async () => {
    const { victim, resultTo } = await throughDyingNode([...devices.values()][3]!, 'result-stored');
    // The report reached the dying node, then another; one queue row holds the result.
    expect(resultTo[0]).toBe(victim);
    expect(resultTo.slice(1).length).toBeGreaterThan(0);
    expect(resultTo.slice(1).every((t) => t !== victim)).toBe(true);
  }, 60_000);

  it('refuses to start a node given another secret key', async () => {
    await expect(startNode(3, 'node-wrong-key', randomBytes(32).toString('base64'))).rejects.toThrow(/exited before it was ready[\s\S]*wrong secret key/);
  }, 60_000);

  it('never ran a job twice for the same due time, on any node (the killed ones included)', async () => {
    // Long enough for every node to have ticked its per-minute and per-15-seconds jobs.
    await new Promise((r) => setTimeout(r, 2000));
    const runs = started
      .flatMap((n) => n.log.filter((l) => l.msg === 'job run started' || l.msg === 'job run finished' || l.msg === LOST).map((l) => ({ ...l, node: n.nodeId }) as LogLine & { node: string }))
      .sort((a, b) => Number(a.time) - Number(b.time));
    const byDue = new Map<string, Array<LogLine & { node: string }>>();
    for (const r of runs) {
      const key = `${String(r.job)}@${String(r.dueAt)}`;
      byDue.set(key, [...(byDue.get(key) ?? []), r]);
    }
    // The cluster ran its periodic jobs (several nodes ticked each period) …
    const jobs = new Set(runs.map((r) => String(r.job)));
    expect([...jobs]).toEqual(expect.arrayContaining(['alerts', 'setup-plans', 'enrollment-purge', `abm-sync:${serverId}`]));
    expect(new Set(runs.map((r) => r.node)).size).toBeGreaterThan(1);
    // … and nodes did come to due times another node had already run, and left them.
    const skipped = started.flatMap((n) => n.log.filter((l) => l.msg === 'job run skipped: already ran'));
    expect(skipped.length).toBeGreaterThan(0);
    for (const [key, lines] of byDue) {
      const finished = lines.filter((l) => l.msg === 'job run finished');
      const starts = lines.filter((l) => l.msg === 'job run started');
      // … each due time finished at most once, and started again only after its node was killed
      // (or, on a machine too busy to renew a lease in time, lost it: that run then did not finish).
      expect(finished.length, key).toBeLessThanOrEqual(1);
      const lost = new Set(lines.filter((l) => l.msg === LOST).map((l) => l.node));
      for (const s of starts.slice(0, -1)) expect(killed.has(s.node) || lost.has(s.node), key).toBe(true);
      if (finished[0]) expect(finished[0].node, key).toBe(starts.at(-1)!.node);
    }
    // The durable record agrees with what the nodes did.
    const rows = await q().selectFrom('job_runs').selectAll().where('finished_at', 'is not', null).execute();
    for (const row of rows) expect(byDue.get(`${row.job}@${row.due_at}`)?.filter((l) => l.msg === 'job run finished').map((l) => l.node)).toEqual([row.holder]);
  });
});
