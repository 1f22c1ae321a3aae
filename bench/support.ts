/** Shared by the benchmarks: a process's CPU time and peak RSS from /proc, and a throwaway PostgreSQL database. */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import pg from 'pg';

const TICK = 100; // USER_HZ on Linux

/** user + system CPU milliseconds the process has used so far */
export function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
}

export const peakRssMb = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

export const machine = () => ({ cpus: cpus().length, model: cpus()[0]?.model, node: process.version });

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
