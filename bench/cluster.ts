/**
 * Cluster benchmark (issue 7 §5): two Pomona nodes, each in its own process (server-process.ts,
 * compiled), on one PostgreSQL database and one data directory (the secret key). N simulated
 * devices (default 10,000) enroll, each through one node — half through each, W at a time (the
 * profile, SCEP, Authenticate, TokenUpdate). Then, after an unmeasured warm-up of each node alone
 * (so neither enters the 2-node phase less compiled than the other), two measured phases of the
 * same length (default 60 s) and the same offered load, W command cycles under way at any time:
 *   - 1 node: every device talks to node 1 (node 2 is up and idle), the single-node figure;
 *   - 2 nodes: each device talks to the node it enrolled through, W/2 cycles on each.
 * A command cycle: the admin API of the device's node enqueues one command for it (push: false),
 * then the device's session runs — Idle, the command, its result, the empty answer. Devices go
 * round in a ring, so none has two sessions at once. The closed loop runs at the highest rate the
 * machine sustains with W cycles outstanding; the devices' side (Mdm-Signature on every request)
 * runs here, on the same cores.
 *
 * Prints, per phase, for each node and in total: commands per second, p50/p99 of the cycle, and
 * the node process's own CPU per command (from /proc); PostgreSQL's backends' CPU per command
 * (when they run on this machine) and this process's; then the 2-node/1-node throughput ratio.
 * Writes bench/results/cluster-*.json. Options: --devices N (10000) --duration S (60) --warmup S
 * (5, on each node) --concurrency W (16) --postgres URL (or TEST_DATABASE_URL; required)
 * --log-level LEVEL (the nodes', default info as `pomona serve`; their lines are discarded).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedDevice } from '../src/sim/device.js';
import { freePort } from '../src/sim/free-port.js';
import { PostgresBackendCpu } from './postgres-cpu.js';
import { arg, cpuMs, machine, peakRssMb, percentile, pool, startServer, withPostgresDatabase, type BenchServer } from './support.js';

const N = Number(arg('devices', '10000'));
const DURATION = Number(arg('duration', '60'));
const WARMUP = Number(arg('warmup', '5'));
const W = Number(arg('concurrency', '16'));
const postgresBase = arg('postgres', process.env.TEST_DATABASE_URL ?? '');
const logLevel = arg('log-level', 'info');
const COMMANDS = ['DeviceInformation', 'ProfileList', 'SecurityInfo', 'InstalledApplicationList', 'RestartDevice'];

if (!postgresBase) {
  console.error('the cluster benchmark needs PostgreSQL: give --postgres URL or TEST_DATABASE_URL');
  process.exit(2);
}
if (W < 2 || N < W) throw new Error('--concurrency is at least 2 and at most --devices');

/** A device and the node it talks to now (its requests are sent there, whatever URL its profile named). */
interface Fleet {
  device: SimulatedDevice;
  node: number;
}

const round = (x: number, digits = 2) => +x.toFixed(digits);

async function api(node: BenchServer, path: string, body?: unknown): Promise<Response> {
  return fetch(node.url + path, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${node.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

/** Enrolls every device through its own node, W at a time; the profile comes from that node's admin API. */
async function enroll(nodes: BenchServer[], fleet: Fleet[]) {
  const cpu0 = nodes.map((n) => cpuMs(n.pid));
  const t0 = performance.now();
  let done = 0;
  await pool(fleet, W, async ({ device, node }) => {
    const res = await api(nodes[node]!, '/api/v1/enrollment-profile?unsigned=true');
    if (res.status !== 200) throw new Error(`enrollment profile answered ${res.status}`);
    await device.enroll(Buffer.from(await res.arrayBuffer()));
    // A full-size run enrolls for minutes: a line every tenth.
    if (++done % Math.ceil(fleet.length / 10) === 0) console.log(`  ${done} enrolled, ${round(done / ((performance.now() - t0) / 1000), 1)}/s`);
  });
  const seconds = (performance.now() - t0) / 1000;
  return {
    devices: fleet.length, seconds: round(seconds, 1), enrollmentsPerSecond: round(fleet.length / seconds, 1),
    nodeCpuMsPerEnrollment: nodes.map((n, i) => round((cpuMs(n.pid) - cpu0[i]!) / fleet.filter((f) => f.node === i).length)),
  };
}

/**
 * Runs command cycles for `seconds`: `width` at a time, spread evenly over the nodes the fleet
 * talks to now; each node's devices go round in a ring.
 */
async function commandPhase(nodes: BenchServer[], fleet: Fleet[], seconds: number, width: number, pg: PostgresBackendCpu) {
  const used = [...new Set(fleet.map((f) => f.node))].sort();
  const stats = used.map((node) => ({ node, ring: fleet.filter((f) => f.node === node).map((f) => f.device), commands: 0, latencies: [] as number[], cpu0: cpuMs(nodes[node]!.pid) }));
  const nodesCpu0 = nodes.map((n) => cpuMs(n.pid));
  const bench0 = process.cpuUsage();
  await pg.start();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let k = 0;
  await Promise.all(Array.from({ length: width }, async (_, w) => {
    const s = stats[w % stats.length]!;
    const node = nodes[s.node]!;
    while (performance.now() < end) {
      const device = s.ring.shift()!;
      const start = performance.now();
      const res = await api(node, '/api/v1/commands', { devices: [device.udid], command: { RequestType: COMMANDS[k++ % COMMANDS.length] }, push: false });
      if (res.status !== 201) throw new Error(`enqueue answered ${res.status}: ${await res.text()}`);
      const answered = await device.connect();
      if (answered.length !== 1) throw new Error(`a session answered ${answered.length} commands, not 1`);
      s.latencies.push(performance.now() - start);
      s.commands++;
      s.ring.push(device);
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  const databaseCpu = await pg.stop();
  const bench = process.cpuUsage(bench0);
  const all = stats.flatMap((s) => s.latencies);
  const total = stats.reduce((a, s) => a + s.commands, 0);
  return {
    nodes: used.length, concurrency: width, seconds: round(elapsed, 1),
    /** each node's CPU per second of the phase, an idle node's too (its periodic jobs, whichever node holds their lease) */
    nodeCpuMsPerSecond: nodes.map((n, i) => round((cpuMs(n.pid) - nodesCpu0[i]!) / elapsed, 1)),
    perNode: stats.map((s) => ({
      node: s.node + 1, devices: s.ring.length, commands: s.commands, commandsPerSecond: round(s.commands / elapsed, 1),
      cycleMs: { p50: round(percentile(s.latencies, 50)), p99: round(percentile(s.latencies, 99)) },
      nodeCpuMsPerCommand: round((cpuMs(nodes[s.node]!.pid) - s.cpu0) / s.commands, 3),
    })),
    total: {
      commands: total, commandsPerSecond: round(total / elapsed, 1),
      cycleMs: { p50: round(percentile(all, 50)), p99: round(percentile(all, 99)) },
      /** PostgreSQL's backends for this database, when they run here */
      databaseCpuMsPerCommand: databaseCpu === undefined ? undefined : round(databaseCpu / total, 3),
      benchProcessCpuMsPerCommand: round((bench.user + bench.system) / 1000 / total, 3),
    },
  };
}

async function run(databaseUrl: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'pomona-bench-cluster-'));
  const nodes: BenchServer[] = [];
  try {
    // One after the other: the first migrates the database, makes the secret key and imports the push certificate.
    for (let i = 0; i < 2; i++) nodes.push(await startServer({ databaseUrl, port: await freePort(), logLevel, dataDir }));
    // Keys are made before any window; a small pool is shared (the server cannot tell).
    const keys = Array.from({ length: 8 }, () => generateKeyPairSync('rsa', { modulusLength: 2048 }));
    const fleet: Fleet[] = [];
    for (let i = 0; i < N; i++) {
      const entry: Fleet = { node: i % 2, device: undefined! };
      // The device's requests go to the node it talks to now, whichever node's URL its profile named.
      const route: typeof fetch = (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        url.host = new URL(nodes[entry.node]!.url).host;
        return fetch(url, init);
      };
      entry.device = new SimulatedDevice({ platform: i % 4 === 0 ? 'macOS' : 'iOS', keyPair: keys[i % keys.length], fetch: route });
      fleet.push(entry);
    }
    console.log(`enrolling ${N} devices through 2 nodes, ${W} at a time`);
    const enrollment = await enroll(nodes, fleet);
    console.log(`enrolled in ${enrollment.seconds} s (${enrollment.enrollmentsPerSecond}/s); warm-up ${WARMUP} s on each node, then ${DURATION} s on 1 node and ${DURATION} s on 2 nodes`);
    const pg = await PostgresBackendCpu.open(databaseUrl);
    try {
      const onNode = (node: (i: number) => number) => fleet.forEach((f, i) => (f.node = node(i)));
      // Each node compiles its command path under the full load before either window, as long-running servers have.
      for (let n = 0; n < nodes.length && WARMUP > 0; n++) {
        onNode(() => n);
        await commandPhase(nodes, fleet, WARMUP, W, pg);
      }
      onNode(() => 0);
      const one = await commandPhase(nodes, fleet, DURATION, W, pg);
      onNode((i) => i % 2);
      const two = await commandPhase(nodes, fleet, DURATION, W, pg);
      return { enrollment, phases: [one, two], twoNodesOverOne: round(two.total.commandsPerSecond / one.total.commandsPerSecond), nodePeakRssMb: nodes.map((n) => round(peakRssMb(n.pid), 1)) };
    } finally {
      await pg.close();
    }
  } finally {
    for (const n of nodes) await n.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const machineInfo = machine();
const result = await withPostgresDatabase(postgresBase, 'pomona_bench_cluster', run);
const { loadAverageAtStart: loadAverageAtEnd, rsaSignCpuUs: rsaSignCpuUsAtEnd } = machine();
console.table(result.phases.flatMap((p) => [
  ...p.perNode.map((n) => ({ phase: `${p.nodes} node${p.nodes > 1 ? 's' : ''}`, node: n.node, devices: n.devices, commands: n.commands, 'commands/s': n.commandsPerSecond, 'p50 ms': n.cycleMs.p50, 'p99 ms': n.cycleMs.p99, 'node cpu ms/cmd': n.nodeCpuMsPerCommand, 'db cpu ms/cmd': '', 'bench cpu ms/cmd': '' })),
  { phase: `${p.nodes} node${p.nodes > 1 ? 's' : ''}`, node: 'total', devices: N, commands: p.total.commands, 'commands/s': p.total.commandsPerSecond, 'p50 ms': p.total.cycleMs.p50, 'p99 ms': p.total.cycleMs.p99, 'node cpu ms/cmd': '', 'db cpu ms/cmd': p.total.databaseCpuMsPerCommand ?? '-', 'bench cpu ms/cmd': p.total.benchProcessCpuMsPerCommand },
]));
for (const p of result.phases) console.log(`${p.nodes} node${p.nodes > 1 ? 's' : ''}: CPU ms per second of node 1 / node 2: ${p.nodeCpuMsPerSecond.join(' / ')}`);
console.log(`2 nodes / 1 node: ${result.twoNodesOverOne}× the commands per second; enrollment ${result.enrollment.enrollmentsPerSecond}/s; node peak RSS ${result.nodePeakRssMb.join(' / ')} MB`);
console.log(JSON.stringify({ machine: machineInfo, loadAverageAtEnd, rsaSignCpuUsAtEnd }));
const at = new Date().toISOString();
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/cluster-${at.replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ machine: machineInfo, loadAverageAtEnd, rsaSignCpuUsAtEnd, at, options: { devices: N, durationSeconds: DURATION, warmupSeconds: WARMUP, concurrency: W, serverLogLevel: logLevel }, ...result }, null, 2));
console.log(`wrote ${file}`);
