/**
 * ADE benchmark: N simulated devices (default 500) through the whole Automated Device Enrollment
 * path, W at a time (default 8): activation at the ABM simulator, the web view loaded with signed
 * MachineInfo, sign-in, terms of use, the enrollment profile, SCEP, Authenticate and TokenUpdate —
 * on SQLite and on PostgreSQL (--postgres URL or TEST_DATABASE_URL). The sign-in (--sign-in, one
 * or several comma-separated, each a run of its own): `token` (default) a registration token in
 * the web view — hashed with SHA-256, as high-entropy secrets are, so it is the web-view sign-in
 * the CPU goal is for; `password` a local user's password (argon2id, ~12 ms of CPU by design);
 * `none` every device on a profile without authentication (MachineInfo POSTed, no web view). Pomona runs
 * compiled in its own process (server-process.ts), trusting a simulated device CA; the ABM
 * simulator and the devices run here. Device keys (SCEP and MachineInfo identities) are made and
 * every MachineInfo signed before the measured window; the server's work is all inside it.
 *
 * Prints enrollments per second, p50/p99 of each step (activation apart: it is the simulator's),
 * the server process's own CPU per complete enrollment (from /proc: the devices' signing does not
 * count; on PostgreSQL its backends' CPU apart, when they run on this machine), the bench
 * process's CPU, and the server's peak RSS; writes bench/results/ade-*.json.
 * Options: --sign-in token|password|none[,…] --devices N --concurrency W (with 1, the server's CPU
 * is also charged to each step) --postgres URL --auth-off SHARE (0–1: that share of the devices is
 * on a profile without authentication, which POSTs MachineInfo instead of the web view)
 * --abm-devices M (M more devices in ABM that do not enroll: a larger organization)
 * --warmup M (default 500: M more devices enrolled before the window, their server CPU reported
 * apart. The first few hundred enrollments after a start also pay for V8 compiling the path —
 * about 16 ms each for the first 50, against 6 for a long-running server — so the window measures
 * what a server that has been up spends on each enrollment; --warmup 0 measures the first N after
 * a start) --log-level LEVEL (the server's, default info as `pomona serve`; its lines are discarded)
 * --profile DIR (a V8 CPU profile of the server during the window; argon2 runs on libuv threads
 * and is not in it).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminApi, type AdminApi } from '../src/demo/admin-api.js';
import { assignProfile, connectAbmServer, createDepProfile, setGroupSetting } from '../src/demo/demo-setup.js';
import { startAbmSimulator, type AbmSimulator } from '../src/sim/abm/server.js';
import { AdeDevice, passwordSignIn, tokenSignIn } from '../src/sim/ade-device.js';
import { SimulatedDeviceCa } from '../src/sim/device-identity-ca.js';
import { freePort } from '../src/sim/free-port.js';
import { StepTimer, threadsCpuMs } from './ade-steps.js';
import { PostgresBackendCpu } from './postgres-cpu.js';
import { arg, cpuMs, cpuTimes, machine, peakRssMb, withPostgresDatabase } from './support.js';

const N = Number(arg('devices', '500'));
const W = Number(arg('concurrency', '8'));
const WARMUP = Number(arg('warmup', '500'));
const SIGN_INS = arg('sign-in', 'token').split(',');
const AUTH_OFF_SHARE = Number(arg('auth-off', '0'));
const ABM_EXTRA = Number(arg('abm-devices', '0'));
const postgresBase = arg('postgres', process.env.TEST_DATABASE_URL ?? '');
const logLevel = arg('log-level', 'info');
const profileDir = arg('profile', '');
const USER = 'bench-user';
const PASSWORD = 'bench user long passphrase';

type SignInMode = 'token' | 'password' | 'none';
if (!(AUTH_OFF_SHARE >= 0 && AUTH_OFF_SHARE <= 1)) throw new Error('--auth-off is a share from 0 to 1');
if (!SIGN_INS.every((m) => ['token', 'password', 'none'].includes(m))) throw new Error('--sign-in is token, password or none (or several, comma-separated)');

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<void>) {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

/** Sends a message to the server process and waits for its answer. */
const ask = (child: ChildProcess, m: object) =>
  new Promise<void>((resolve) => {
    child.once('message', () => resolve());
    child.send(m);
  });

/**
 * The organization the devices enroll into: terms of use, a local user, a web-view profile (the
 * default) signing in by `signIn` — the user's password, or a registration token issued to that
 * user for the whole batch — and a profile without authentication.
 */
async function organize(api: AdminApi, sim: AbmSimulator, apple: string, signIn: SignInMode) {
  const serverId = await connectAbmServer(api, sim, apple, 'Bench ABM');
  await setGroupSetting(api, 'global', 'enrollment.authenticationMethods', [signIn === 'token' ? 'registration-token' : 'local']);
  await setGroupSetting(api, 'global', 'enrollment.termsOfUse', { version: 1, text: 'Benchmark terms of use.' });
  const user = await api<{ id: string }>('/api/v1/users', { body: { username: USER, password: PASSWORD, defaultGroupId: 'global' } });
  const token = signIn === 'token' ? (await api<{ token: string }>('/api/v1/registration-tokens', { body: { groupId: 'global', userId: user.id, maxUses: null } })).token : undefined;
  const method = signIn === 'token' ? 'registration-token' : 'password';
  const webView = await createDepProfile(api, serverId, { apple: { profile_name: 'Web view', await_device_configured: false }, pomona: { authentication: { enabled: true, methods: [method] } } });
  const open = await createDepProfile(api, serverId, { apple: { profile_name: 'No sign-in', await_device_configured: false } });
  return { serverId, profiles: { webView, open }, signIn: token ? tokenSignIn(token) : passwordSignIn(USER, PASSWORD) };
}

async function run(label: string, databaseUrl: string, signIn: SignInMode) {
  const AUTH_OFF = signIn === 'none' ? 1 : AUTH_OFF_SHARE;
  const sim = await startAbmSimulator({ seed: 'ade-bench', profileValidation: { allowHttpWebUrl: true }, fetchLimit: { default: 1000, maximum: 1000 }, syncLimit: { default: 1000, maximum: 1000 } });
  const deviceCa = await SimulatedDeviceCa.create();
  const dir = mkdtempSync(join(tmpdir(), 'pomona-bench-ade-'));
  writeFileSync(join(dir, 'device-ca.pem'), deviceCa.rootPem);
  const port = await freePort();
  // The server's stdout (its log lines) goes to /dev/null: we measure making them, not a reader.
  const child = fork(fileURLToPath(new URL('./server-process.js', import.meta.url)), [databaseUrl, String(port), logLevel, join(dir, 'device-ca.pem')], {
    stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; token: string }));
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const api = adminApi(ready.url, ready.token);
  const pid = child.pid!;

  // ABM: the devices, synced and assigned by Pomona's own job; a share moved to the profile without sign-in.
  const apple = sim.createServer({ name: 'Bench' }).serverUuid;
  const org = await organize(api, sim, apple, signIn);
  const total = N + WARMUP;
  const serials = Array.from({ length: total }, (_, i) => `BENCH${String(i).padStart(7, '0')}`);
  sim.addDevices(apple, serials.map((serial_number, i) => ({ serial_number, model: i % 2 ? 'iPad (10th generation)' : 'iPhone 15 Pro', device_family: i % 2 ? 'iPad' : 'iPhone', os: i % 2 ? 'iPadOS' : 'iOS' })));
  // The rest of the organization's fleet: in ABM, on the default profile, not enrolling now.
  if (ABM_EXTRA) sim.addDevices(apple, ABM_EXTRA, { spreadDays: 365 });
  await ask(child, { run: 'abm-sync' });
  const authOff = new Set(serials.filter((_, i) => AUTH_OFF > 0 && Math.floor((i + 1) * AUTH_OFF) > Math.floor(i * AUTH_OFF)));
  if (authOff.size) await assignProfile(api, org.serverId, [...authOff], org.profiles.open);

  // Before the window: keys (a small pool, the server cannot tell), identities, signed MachineInfo.
  // The timer wraps fetch first: each simulated device keeps the fetch it was made with.
  // One device at a time, the server's CPU during each request is charged to its step.
  const timer = new StepTimer(W === 1 ? () => threadsCpuMs(pid) : undefined);
  const uninstall = timer.install();
  // Each device has an identity certificate of its own (Pomona parses and caches certificates by hash).
  const keys = Array.from({ length: 16 }, () => generateKeyPairSync('rsa', { modulusLength: 2048 }));
  const devices = await Promise.all(serials.map(async (serial, i) => {
    const d = new AdeDevice({
      serial, udid: `00008130-${String(i).padStart(16, '0')}`, product: i % 2 ? 'iPad13,18' : 'iPhone16,1', osVersion: '18.1', build: '22B83',
      identity: await deviceCa.issue(randomUUID().toUpperCase(), keys[(i + 7) % keys.length]), keyPair: keys[i % keys.length], abmUrl: sim.url, signIn: org.signIn,
    });
    d.presignMachineInfo();
    return d;
  }));
  const enroll = async (d: AdeDevice) => {
    const outcome = await d.run();
    if (outcome.kind !== 'enrolled') throw new Error(`${d.device.serialNumber} did not enroll: ${JSON.stringify(outcome)}`);
  };
  // The warmup window is measured too: the first enrollments after a start also pay for V8
  // compiling the enrollment path (on its worker threads), which a long-running server has done.
  const cold0 = cpuTimes(pid);
  if (WARMUP) await pool(devices.slice(0, WARMUP), W, enroll);
  const cold1 = cpuTimes(pid);
  const measured = devices.slice(WARMUP);

  if (profileDir) await ask(child, { profile: 'start' });
  const database = label === 'postgres' ? await PostgresBackendCpu.open(databaseUrl) : undefined;
  await database?.start();
  const times0 = cpuTimes(pid);
  const bench0 = process.cpuUsage();
  const t0 = performance.now();
  await pool(measured, W, (d) => timer.device(() => enroll(d)));
  const seconds = (performance.now() - t0) / 1000;
  const times1 = cpuTimes(pid);
  const bench = process.cpuUsage(bench0);
  const databaseCpu = await database?.stop();
  await database?.close();
  uninstall();
  let profileFile: string | undefined;
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    profileFile = join(profileDir, `ade-${label}-${signIn}-${Date.now()}.cpuprofile`);
    await ask(child, { profile: 'stop', file: profileFile });
    console.log(`CPU profile of the measured window: ${profileFile}`);
  }

  // Pomona agrees: every device is enrolled.
  const summary = await api<{ groups: Array<{ id: string; subtree: Record<string, number> }> }>('/api/v1/lifecycle/summary');
  const enrolled = summary.groups.find((g) => g.id === 'global')?.subtree.enrolled;
  if (enrolled !== total) throw new Error(`Pomona reports ${enrolled} enrolled devices, expected ${total}`);

  const { steps, enrollment } = timer.summary();
  const serverCpu = times1.user + times1.system - (times0.user + times0.system);
  const result = {
    database: label, signIn, devices: N, concurrency: W, warmupDevices: WARMUP, otherAbmDevices: ABM_EXTRA, serverLogLevel: logLevel, profiled: Boolean(profileDir),
    webViewDevices: measured.filter((d) => !authOff.has(d.device.serialNumber)).length,
    authOffDevices: measured.filter((d) => authOff.has(d.device.serialNumber)).length,
    seconds: +seconds.toFixed(2),
    enrollmentsPerSecond: +(N / seconds).toFixed(1),
    serverCpuMsPerEnrollment: +(serverCpu / N).toFixed(2),
    /** the same over the warmup window (the first enrollments after the server started), when there is one */
    serverCpuMsPerEnrollmentWarmup: WARMUP ? +((cold1.user + cold1.system - cold0.user - cold0.system) / WARMUP).toFixed(2) : undefined,
    serverCpuMsPerEnrollmentSplit: { user: +((times1.user - times0.user) / N).toFixed(2), system: +((times1.system - times0.system) / N).toFixed(2) },
    /** PostgreSQL's backends for this database, when they run here (not in the server's own figure) */
    databaseCpuMsPerEnrollment: databaseCpu === undefined ? undefined : +(databaseCpu / N).toFixed(2),
    benchProcessCpuMsPerEnrollment: +((bench.user + bench.system) / 1000 / N).toFixed(2),
    enrollmentMs: enrollment,
    stepsMs: steps,
    serverPeakRssMb: +peakRssMb(pid).toFixed(1),
    profile: profileFile,
  };
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  const timer2 = setTimeout(() => child.kill('SIGTERM'), 10_000);
  await exited;
  clearTimeout(timer2);
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const machineInfo = machine();
const sqliteDir = mkdtempSync(join(tmpdir(), 'pomona-bench-db-'));
const results: Awaited<ReturnType<typeof run>>[] = [];
for (const signIn of SIGN_INS as SignInMode[]) {
  results.push(await run('sqlite', `sqlite:${join(sqliteDir, `pomona-${signIn}.db`)}`, signIn));
  if (postgresBase) results.push(await withPostgresDatabase(postgresBase, 'pomona_bench', (url) => run('postgres', url, signIn)));
}
rmSync(sqliteDir, { recursive: true, force: true });
if (!postgresBase) console.log('PostgreSQL skipped: give --postgres URL or TEST_DATABASE_URL');

const runName = (r: (typeof results)[number]) => `${r.database} ${r.signIn}`;
console.table(results.map((r) => ({
  db: r.database, 'sign-in': r.signIn, devices: `${r.webViewDevices} web view + ${r.authOffDevices} no sign-in`, 'enroll/s': r.enrollmentsPerSecond, 'server cpu ms/enroll': r.serverCpuMsPerEnrollment, 'warmup cpu ms/enroll': r.serverCpuMsPerEnrollmentWarmup ?? '-', 'db cpu ms/enroll': r.databaseCpuMsPerEnrollment ?? '-',
  'bench cpu ms/enroll': r.benchProcessCpuMsPerEnrollment, 'enrollment p50 ms': r.enrollmentMs.p50, 'p99 ms': r.enrollmentMs.p99, 'peak RSS MB': r.serverPeakRssMb,
})));
const steps = [...new Set(results.flatMap((r) => Object.keys(r.stepsMs)))];
console.table(Object.fromEntries(steps.map((s) => [s, Object.fromEntries(results.flatMap((r) => {
  const x = r.stepsMs[s];
  return [[`${runName(r)} p50`, x?.p50], [`${runName(r)} p99`, x?.p99], ...(x?.serverCpuMs !== undefined ? [[`${runName(r)} server cpu ms`, x.serverCpuMs]] : [])];
}))])));
const at = new Date().toISOString();
const { loadAverageAtStart: loadAverageAtEnd, rsaSignCpuUs: rsaSignCpuUsAtEnd } = machine();
console.log(JSON.stringify({ machine: machineInfo, loadAverageAtEnd, rsaSignCpuUsAtEnd }));
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/ade-${at.replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ machine: machineInfo, loadAverageAtEnd, rsaSignCpuUsAtEnd, at, results }, null, 2));
console.log(`wrote ${file}`);
