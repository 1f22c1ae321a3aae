/**
 * ABM sync benchmark: a full fetch of N devices (default 100,000) from the ABM simulator on
 * loopback, then an incremental sync of C changes (default 10,000: modified, added, deleted).
 * Pomona runs in a child process, compiled as `npm start` runs it; the figures are its wall time, devices per second, CPU and
 * peak RSS — on SQLite and on PostgreSQL (--postgres URL or TEST_DATABASE_URL).
 * Options: --devices N --changes C --page-size P (Apple's documented maximum is 1000).
 * Environment: BENCH_DB_DIR (where the SQLite file goes), BENCH_NODE_FLAGS (extra node flags for
 * Pomona's process, e.g. GC settings), BENCH_CPU_PROF (a directory for a V8 CPU profile).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAbmSimulator } from '../src/sim/abm/server.js';
import { arg, cpuMs, machine, peakRssMb, withPostgresDatabase } from './support.js';

const N = Number(arg('devices', '100000'));
const C = Number(arg('changes', '10000'));
const pageSize = Number(arg('page-size', '1000'));
const postgresBase = arg('postgres', process.env.TEST_DATABASE_URL ?? '');

const message = <T>(child: ChildProcess, pick: (m: any) => boolean): Promise<T> =>
  new Promise((resolve, reject) => {
    const on = (m: any) => {
      if (!pick(m)) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.once('exit', (code) => reject(new Error(`Pomona process exited ${code}`)));
  });

async function run(label: string, databaseUrl: string) {
  const sim = await startAbmSimulator({ seed: 1, fetchLimit: { default: pageSize, maximum: pageSize }, syncLimit: { default: pageSize, maximum: pageSize } });
  const apple = sim.createServer({ name: 'Bench' }).serverUuid;
  const serials = sim.addDevices(apple, N, { spreadDays: 365 });
  const child = fork(fileURLToPath(new URL('./abm-sync-process.js', import.meta.url)), [databaseUrl, sim.url, apple], { execArgv: [...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []), ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { rssMb: readyRssMb } = await message<{ rssMb: number }>(child, (m) => m.ready);
  const pid = child.pid!;

  const timed = async () => {
    const cpu0 = cpuMs(pid);
    child.send({ run: 'sync' });
    const { result, seconds, memory } = await message<{ result: any; seconds: number; memory: Record<string, number> }>(child, (m) => 'result' in m);
    return { result, seconds, memory, cpuMs: cpuMs(pid) - cpu0 };
  };
  const full = await timed();
  if (full.result.added !== N) throw new Error(`full fetch stored ${full.result.added} of ${N} devices`);

  // C changes: half modified, three tenths added, a fifth deleted.
  const modified = serials.slice(0, Math.floor(C / 2));
  const deleted = serials.slice(Math.floor(C / 2), Math.floor(C / 2) + Math.floor(C / 5));
  sim.modifyDevices(modified, { asset_tag: 'BENCH' });
  sim.deleteDevices(deleted);
  sim.addDevices(apple, C - modified.length - deleted.length);
  const incremental = await timed();
  if (incremental.result.records < C) throw new Error(`sync saw ${incremental.result.records} of ${C} changes`);

  const out = {
    database: label, devices: N, changes: C, pageSize,
    fullFetch: { seconds: +full.seconds.toFixed(2), devicesPerSecond: Math.round(N / full.seconds), pages: full.result.pages, serverCpuMs: Math.round(full.cpuMs) },
    sync: { seconds: +incremental.seconds.toFixed(2), changesPerSecond: Math.round(C / incremental.seconds), pages: incremental.result.pages, serverCpuMs: Math.round(incremental.cpuMs) },
    totalSeconds: +(full.seconds + incremental.seconds).toFixed(2),
    serverPeakRssMb: +peakRssMb(pid).toFixed(1),
    serverRssBeforeSyncMb: +readyRssMb.toFixed(1),
    /** process.memoryUsage() in MB right after each run */
    serverMemoryAfterMb: { fullFetch: full.memory, sync: incremental.memory },
  };
  child.disconnect();
  await new Promise((r) => child.once('exit', r));
  await sim.close();
  return out;
}

const results = [await run('sqlite', `sqlite:${join(mkdtempSync(join(process.env.BENCH_DB_DIR ?? tmpdir(), 'pomona-bench-db-')), 'pomona.db')}`)];
if (postgresBase) results.push(await withPostgresDatabase(postgresBase, 'pomona_bench', (url) => run('postgres', url)));
else console.log('PostgreSQL skipped: give --postgres URL or TEST_DATABASE_URL');
console.table(results.map((r) => ({
  db: r.database, 'full fetch s': r.fullFetch.seconds, 'devices/s': r.fullFetch.devicesPerSecond, 'sync s': r.sync.seconds, 'changes/s': r.sync.changesPerSecond,
  'total s': r.totalSeconds, 'peak RSS MB': r.serverPeakRssMb,
})));
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/abm-sync-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ machine: machine(), at: new Date().toISOString(), results }, null, 2));
console.log(`wrote ${file}`);
