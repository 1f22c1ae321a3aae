/** Shared by the benchmarks: a process's CPU time and peak RSS from /proc, and a throwaway PostgreSQL database. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
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

/** What a result file records about where it ran: CPUs, Node, load average at start, commit. */
export const machine = () => ({ cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverageAtStart: loadavg().map((l) => +l.toFixed(2)), commit: commit() });

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
