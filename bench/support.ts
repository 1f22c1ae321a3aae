/**
 * Shared by the benchmarks: a process's CPU time and peak RSS from /proc, a throwaway PostgreSQL
 * database, a worker pool, percentiles, and the benchmark server (server-process.ts) started in
 * its own process.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { openSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const TICK = 100; // USER_HZ on Linux

/** The process's user and system CPU so far, in ms. */
export function cpuTimes(pid: number): { user: number; system: number } {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: (Number(f[11]) * 1000) / TICK, system: (Number(f[12]) * 1000) / TICK };
}

/** user + system CPU milliseconds the process has used so far */
export function cpuMs(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

export const peakRssMb = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

function commit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/**
 * What a result file records about where it ran: CPUs, Node, load average at start, commit, and
 * the host's speed at the time.
 */
export const machine = () => ({ cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverageAtStart: loadavg().map((l) => +l.toFixed(2)), commit: commit(), rsaSignCpuUs: rsaSignCpuUs() });

let calibrationKey: KeyObject | undefined;

/**
 * The host's speed now: CPU µs of one RSA-2048 signature (SHA-256), the median of 5 batches of 40.
 * The shared machines the benchmarks run on change speed by a quarter from one hour to the next,
 * and CPU-per-operation figures move with them; two runs compare only beside this figure.
 */
export function rsaSignCpuUs(): number {
  calibrationKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const data = Buffer.alloc(64, 1);
  const batches = Array.from({ length: 5 }, () => {
    const t = process.cpuUsage();
    for (let i = 0; i < 40; i++) sign('sha256', data, calibrationKey!);
    const u = process.cpuUsage(t);
    return (u.user + u.system) / 40;
  });
  return Math.round(percentile(batches, 50));
}

export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** Runs `fn` with the URL of a new database on the server at `base`, dropped afterwards. */
export async function withPostgresDatabase<T>(base: string, prefix: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `${prefix}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/** Runs `fn` on each item, `width` at a time. */
export async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

/** The p-th percentile of `xs` (sorted in place). */
export function percentile(xs: number[], p: number): number {
  xs.sort((a, b) => a - b);
  return xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
}

export interface BenchServer {
  child: ChildProcess;
  pid: number;
  url: string;
  /** an administrator API token */
  token: string;
  /** Sends a request (server-process.ts lists them) and waits for its answer. */
  ask(m: object): Promise<void>;
  /** Closes the IPC channel, which ends the server; SIGTERM after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts server-process.ts (compiled) on `port`. Its stdout (the log lines) goes to /dev/null: we
 * measure making them, not a reader. `dataDir` is shared by nodes of one cluster (the secret key)
 * and kept; without it the server makes its own and removes it. `script` runs a variant of
 * server-process for experiments instead (bench/mdm.ts --server); a .ts file runs through tsx.
 */
export async function startServer(o: { databaseUrl: string; port: number; logLevel: string; adeTestRootFile?: string; dataDir?: string; script?: string }): Promise<BenchServer> {
  const args = [o.databaseUrl, String(o.port), o.logLevel, o.adeTestRootFile ?? '', ...(o.dataDir ? [o.dataDir] : [])];
  const script = o.script ?? fileURLToPath(new URL('./server-process.js', import.meta.url));
  const [main, ...rest] = script.endsWith('.ts') ? ['bin/run-ts.js', script, ...args] : [script, ...args];
  const child = fork(main!, rest, { stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit', 'ipc'] });
  const ready = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; token: string }));
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return {
    child, pid: child.pid!, ...ready,
    ask: (m) => new Promise<void>((resolve) => {
      child.once('message', () => resolve());
      child.send(m);
    }),
    async stop(graceMs = 10_000) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGTERM'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
