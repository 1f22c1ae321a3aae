/**
 * `pomona demo`: Pomona and everything Apple would provide, in one process on loopback — the
 * ABM simulator, the APNs simulator with a test push certificate, a simulated device CA that
 * Pomona trusts in test mode — set up as an admin would through the API (demo-setup.ts), then
 * simulated devices going through Automated Device Enrollment one after another while the admin
 * watches in the API. It keeps serving until stopped.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, openContext } from '../app.js';
import { createTestPushCertificate } from '../apple/push-certificate.js';
import { loadConfig } from '../config.js';
import { startAbmSimulator } from '../sim/abm/server.js';
import { startApnsSimulator } from '../sim/apns.js';
import { freePort } from '../sim/free-port.js';
import { SimulatedDeviceCa } from '../sim/device-identity-ca.js';
import { adminApi } from './admin-api.js';
import { demoFleet } from './demo-fleet.js';
import { assignProfile, DEMO_USER, DEMO_USER_PASSWORD, provisionDemo } from './demo-setup.js';
import { DemoDevices, type DemoResult } from './demo-devices.js';

export interface DemoOptions {
  /** 0: any free port */
  port: number;
  devices: number;
  /** milliseconds between two devices starting Setup Assistant */
  paceMs: number;
  /** default: a SQLite file in the data directory */
  databaseUrl?: string;
  /** kept at exit when given; otherwise a temporary directory, removed at exit */
  dataDir?: string;
  /** Pomona's own log (stdout); default warn, and request logs only when a level is given */
  logLevel?: string;
  /** the admin's password; default a random one */
  adminPassword?: string;
}

export interface RunningDemo {
  url: string;
  /** an administrator's API token */
  token: string;
  adminPassword: string;
  dataDir: string;
  /** every device's result, once each has its outcome (and Macs are released from Setup Assistant) */
  finished: Promise<DemoResult[]>;
  stop(): Promise<void>;
}

export async function startDemo(o: DemoOptions, print: (line: string) => void = console.log): Promise<RunningDemo> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'pomona-demo-'));
  mkdirSync(dataDir, { recursive: true });
  // Undone in reverse order at stop, or when starting fails half-way.
  const undo: Array<() => unknown> = [];
  if (!o.dataDir) undo.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const unwind = async () => {
    for (const step of undo.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined);
  };
  try {
    const port = o.port || (await freePort());
    const url = `http://127.0.0.1:${port}`;

    // Apple's side. Apple requires https for the web view; the demo's server speaks http on loopback.
    const sim = await startAbmSimulator({ seed: 'pomona-demo', profileValidation: { allowHttpWebUrl: true } });
    undo.push(() => sim.close());
    const pushCert = await createTestPushCertificate();
    const apns = await startApnsSimulator({ trustedClientCerts: [pushCert.certPem] });
    undo.push(() => apns.close());
    const deviceCa = await SimulatedDeviceCa.create();
    writeFileSync(join(dataDir, 'apns-simulator-ca.pem'), apns.caPem);
    writeFileSync(join(dataDir, 'simulated-device-ca.pem'), deviceCa.rootPem);

    const config = loadConfig({
      env: {},
      flags: {
        databaseUrl: o.databaseUrl ?? `sqlite:${join(dataDir, 'pomona.db')}`, dataDir, listen: `127.0.0.1:${port}`, logLevel: o.logLevel ?? 'warn',
        apnsUrl: apns.url, apnsCaFile: join(dataDir, 'apns-simulator-ca.pem'), adeTestRootFile: join(dataDir, 'simulated-device-ca.pem'),
      },
    });
    const ctx = await openContext(config);
    undo.push(() => ctx.close());
    if ((await ctx.admins.listUsers()).length > 0) throw new Error('the demo needs an empty database; this one already has admins (give a fresh --data-dir or --database-url)');
    const app = await buildApp(ctx, o.logLevel ? {} : { logger: false });
    await app.listen({ host: '127.0.0.1', port });
    undo.push(() => app.close());

    // The admin's side: push certificate, an administrator and a token, then the rest through the API.
    await ctx.pushcerts.import({ certPem: pushCert.certPem, keyPem: pushCert.keyPem });
    const adminPassword = o.adminPassword ?? randomBytes(12).toString('base64url');
    await ctx.admins.createUser({ username: 'admin', password: adminPassword, role: 'administrator' });
    const { secret: token } = await ctx.tokens.create({ name: 'demo', role: 'administrator' });
    const api = adminApi(url, token);
    const apple = sim.createServer({ name: 'Pomona demo' }).serverUuid;
    const org = await provisionDemo(api, sim, apple);
    const fleet = demoFleet(o.devices);
    if (fleet.length > 0) {
      sim.addDevices(apple, fleet.map((d) => ({ serial_number: d.serial, model: d.model, description: d.model, device_family: d.family, os: d.os })));
      // The sync finds them and assigns the default profile; then some move to the other profiles.
      await ctx.scheduler.runNow('abm-sync');
      for (const key of ['signIn', 'macs'] as const) {
        const serials = fleet.filter((d) => d.profile === key).map((d) => d.serial);
        if (serials.length) await assignProfile(api, org.serverId, serials, org.profiles[key]);
      }
    }
    ctx.scheduler.start();

    const bearer = `-H 'Authorization: Bearer ${token}'`;
    for (const line of [
      '',
      `Pomona demo running at ${url}  (test mode: MachineInfo from the simulated device CA is trusted)`,
      `  console         ${url}/   (sign in as admin / ${adminPassword})`,
      `  API token       ${token}   (administrator)`,
      `  API docs        ${url}/api/docs`,
      `  web view user   ${DEMO_USER} / ${DEMO_USER_PASSWORD}`,
      `  simulators      ABM ${sim.url}, APNs ${apns.url}`,
      `  data directory  ${dataDir}${o.dataDir ? '' : ' (removed at exit)'}`,
      '',
      `Watch the devices arrive in the console (${url}/abm-devices, each serial's ADE timeline) or the API:`,
      `  curl -s ${bearer} ${url}/api/v1/devices`,
      `  curl -s ${bearer} ${url}/api/v1/pending-enrollments`,
      `  curl -s ${bearer} ${url}/api/v1/lifecycle/summary`,
      '',
      fleet.length ? `${fleet.length} devices start Setup Assistant, one every ${(o.paceMs / 1000).toFixed(1)} s:` : 'No devices (--devices 0).',
    ]) print(line);

    const devices = new DemoDevices({ fleet, abmUrl: sim.url, apns, issueIdentity: () => deviceCa.issue(randomUUID().toUpperCase()), paceMs: o.paceMs, print });
    undo.push(() => devices.stop());
    const finished = devices.run().then((results) => {
      if (results.length) print(devices.summary(results));
      print('Pomona keeps serving — Ctrl-C to stop.');
      return results;
    });
    finished.catch(() => undefined);

    return { url, token, adminPassword, dataDir, finished, stop: unwind };
  } catch (err) {
    await unwind();
    throw err;
  }
}
