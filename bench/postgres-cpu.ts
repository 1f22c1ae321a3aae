/**
 * The CPU that PostgreSQL's backends spend for one database, read from /proc: on PostgreSQL part
 * of the server's work happens in those processes, which the server process's own CPU leaves out.
 * Works when the database runs on this machine and its processes are readable (same user, or
 * root); otherwise the figure is undefined. Backends that exit during a window are not counted.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { cpuMs } from './support.js';

export class PostgresBackendCpu {
  #start = new Map<number, number>();

  private constructor(private readonly client: pg.Client) {}

  static async open(databaseUrl: string): Promise<PostgresBackendCpu> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    return new PostgresBackendCpu(client);
  }

  /** Starts a window. */
  async start(): Promise<void> {
    this.#start = (await this.#read()) ?? new Map();
  }

  /** CPU ms of the database's backends since start(), or undefined when they cannot be read. */
  async stop(): Promise<number | undefined> {
    const now = await this.#read();
    if (!now) return undefined;
    let ms = 0;
    for (const [pid, cpu] of now) ms += cpu - (this.#start.get(pid) ?? 0);
    return ms;
  }

  close(): Promise<void> {
    return this.client.end();
  }

  async #read(): Promise<Map<number, number> | undefined> {
    const { rows } = await this.client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    const out = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') return undefined; // another machine's pid
        out.set(pid, cpuMs(pid));
      } catch {
        return undefined; // not on this machine, or not ours to read
      }
    }
    return out;
  }
}
