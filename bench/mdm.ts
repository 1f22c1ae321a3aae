/**
 * MDM benchmark: N simulated devices enroll (SCEP + Authenticate + TokenUpdate), then each
 * receives K commands answered over W concurrent device sessions. Reports enrollments/s,
 * command round trips/s, p50/p99 connect latency, the server process's own CPU ms per
 * round trip and per enrollment (read from /proc, so device-side signing does not count),
 * and the server's peak RSS — on SQLite and on PostgreSQL (when TEST_DATABASE_URL or
 * --postgres is given). Options: --devices N --commands K --concurrency W --postgres URL
 * --log-level LEVEL (the server's, default info as `pomona serve`; its lines are discarded)
 * --warmup C (C commands per device answered before the measured phase, default 0: the figures
 * then include the JIT compiling the command path, which a long-running server has done)
 * --profile DIR (writes a V8 CPU profile of the server during the command phase to DIR).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedDevice } from '../src/sim/device.js';
import { freePort } from '../src/sim/free-port.js';
import { arg, cpuMs, cpuTimes, machine, peakRssMb, percentile, pool, startServer, withPostgresDatabase } from './support.js';

const N = Number(arg('devices', '1000'));
const K = Number(arg('commands', '5'));
const W = Number(arg('concurrency', '8'));
const WARMUP = Number(arg('warmup', '0'));
const postgresBase = arg('postgres', process.env.TEST_DATABASE_URL ?? '');
const logLevel = arg('log-level', 'info');
const profileDir = arg('profile', '');
// The server runs compiled, like `npm start` (`npm run bench` builds first); --server takes a
// variant for experiments, a .ts file runs through tsx.
const serverScript = arg('server', '') || undefined;

async function run(label: string, databaseUrl: string) {
  const server = await startServer({ databaseUrl, port: await freePort(), logLevel, script: serverScript });
  const profile = async (command: 'start' | 'stop', file?: string) => {
    if (profileDir) await server.ask({ profile: command, file });
  };
  const pid = server.pid;
  const auth = { authorization: `Bearer ${server.token}` };
  // Keys are made before the measured window; a small pool is shared (the server cannot tell).
  const keys = Array.from({ length: 8 }, () => generateKeyPairSync('rsa', { modulusLength: 2048 }));
  const devices = Array.from({ length: N }, (_, i) => new SimulatedDevice({ platform: i % 4 === 0 ? 'macOS' : 'iOS', keyPair: keys[i % keys.length] }));

  const profiles: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    const res = await fetch(`${server.url}/api/v1/enrollment-profile`, { headers: auth });
    profiles.push(Buffer.from(await res.arrayBuffer()));
  }

  const cpu0 = cpuMs(pid);
  let t0 = performance.now();
  await pool(devices.map((d, i) => [d, i] as const), W, async ([d, i]) => d.enroll(profiles[i]));
  const enrollSeconds = (performance.now() - t0) / 1000;
  const enrollCpu = cpuMs(pid) - cpu0;

  const enqueue = async (count: number) => {
    for (let k = 0; k < count; k++) {
      const type = ['DeviceInformation', 'ProfileList', 'SecurityInfo', 'InstalledApplicationList', 'RestartDevice'][k % 5];
      const res = await fetch(`${server.url}/api/v1/commands`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ devices: devices.map((d) => d.udid), command: { RequestType: type }, push: false }) });
      if (res.status !== 201) throw new Error(`enqueue answered ${res.status}`);
    }
  };
  // Optional unmeasured command sessions first: a long-running server has compiled its hot path.
  if (WARMUP > 0) {
    await enqueue(WARMUP);
    await pool(devices, W, async (d) => void (await d.connect()));
  }
  await enqueue(K);

  // Time each PUT of each device session.
  const latencies: number[] = [];
  const realFetch = globalThis.fetch;
  const timed: typeof fetch = async (input, init) => {
    const s = performance.now();
    const r = await realFetch(input, init);
    const body = await r.arrayBuffer();
    latencies.push(performance.now() - s);
    return new Response(body, { status: r.status, headers: r.headers });
  };
  for (const d of devices) (d as unknown as { http: typeof fetch }).http = timed;
  await profile('start');
  const times0 = cpuTimes(pid);
  t0 = performance.now();
  await pool(devices, W, async (d) => {
    const answered = await d.connect();
    if (answered.length !== K) throw new Error(`device got ${answered.length} of ${K} commands`);
  });
  const cmdSeconds = (performance.now() - t0) / 1000;
  const times1 = cpuTimes(pid);
  const cmdCpu = times1.user + times1.system - (times0.user + times0.system);
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    const file = join(profileDir, `connect-${label}-${Date.now()}.cpuprofile`);
    await profile('stop', file);
    console.log(`CPU profile of the command phase: ${file}`);
  }
  const roundTrips = N * K;
  const result = {
    database: label, devices: N, commandsPerDevice: K, concurrency: W, warmupCommandsPerDevice: WARMUP, serverLogLevel: logLevel, profiled: Boolean(profileDir),
    enrollmentsPerSecond: +(N / enrollSeconds).toFixed(1),
    serverCpuMsPerEnrollment: +(enrollCpu / N).toFixed(3),
    commandRoundTripsPerSecond: +(roundTrips / cmdSeconds).toFixed(1),
    serverCpuMsPerRoundTrip: +(cmdCpu / roundTrips).toFixed(3),
    serverCpuMsPerRoundTripSplit: { user: +((times1.user - times0.user) / roundTrips).toFixed(3), system: +((times1.system - times0.system) / roundTrips).toFixed(3) },
    connectLatencyMs: { p50: +percentile(latencies, 50).toFixed(2), p99: +percentile(latencies, 99).toFixed(2) },
    serverPeakRssMb: +peakRssMb(pid).toFixed(1),
  };
  await server.stop(5000); // the server removes its data directory first
  return result;
}

const machineInfo = machine();
const sqliteDir = mkdtempSync(join(tmpdir(), 'pomona-bench-db-'));
const results = [await run('sqlite', `sqlite:${join(sqliteDir, 'pomona.db')}`)];
rmSync(sqliteDir, { recursive: true, force: true });
if (postgresBase) {
  results.push(await withPostgresDatabase(postgresBase, 'pomona_bench', (url) => run('postgres', url)));
} else {
  console.log('PostgreSQL skipped: give --postgres URL or TEST_DATABASE_URL');
}
console.table(results.map((r) => ({ db: r.database, 'enroll/s': r.enrollmentsPerSecond, 'cpu ms/enroll': r.serverCpuMsPerEnrollment, 'round trips/s': r.commandRoundTripsPerSecond, 'cpu ms/round trip': r.serverCpuMsPerRoundTrip, 'p50 ms': r.connectLatencyMs.p50, 'p99 ms': r.connectLatencyMs.p99, 'peak RSS MB': r.serverPeakRssMb })));
console.log(JSON.stringify({ machine: machineInfo }));
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/mdm-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ machine: machineInfo, at: new Date().toISOString(), results }, null, 2));
console.log(`wrote ${file}`);
