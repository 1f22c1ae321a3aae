/**
 * A Pomona node as a real process, for multi-node tests: the compiled `pomona serve` (what
 * bin/pomona.js runs) with its configuration in POMONA_* variables, as an installation runs it.
 * Its JSON log lines (stdout) are kept, parsed, for the test to read; `kill` ends it with a
 * signal (SIGKILL: a crash).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { until } from './server.js';

export interface LogLine {
  level: number;
  /** ms since the epoch */
  time: number;
  msg: string;
  [key: string]: unknown;
}

export interface NodeProcess {
  nodeId: string;
  url: string;
  /** every JSON line it logged so far */
  log: LogLine[];
  /** its exit, once it exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Brings dist/ up to date with the server's sources, once, before nodes start: every node then
 * runs the same build (bin/pomona.js would rebuild on each start when sources changed meanwhile,
 * console included, which the nodes do not need).
 */
export function buildServer(): void {
  execFileSync(process.execPath, ['--input-type=module', '-e', "const b = await import('./scripts/build.js'); if (b.isStale()) await b.build({ web: false });"], { stdio: 'inherit' });
}

/** Starts `pomona serve` (built by `buildServer`) with these POMONA_* settings and waits until it answers /readyz. */
export async function startNodeProcess(o: { nodeId: string; port: number; env: Record<string, string> }): Promise<NodeProcess> {
  const url = `http://127.0.0.1:${o.port}`;
  const child: ChildProcess = spawn(process.execPath, ['dist/src/main.js', 'serve'], {
    // Nothing from the test's own environment may configure the node but what is given here.
    env: { PATH: process.env.PATH ?? '', POMONA_CONFIG: '', POMONA_NODE_ID: o.nodeId, POMONA_LISTEN: `127.0.0.1:${o.port}`, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: LogLine[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) log.push(JSON.parse(line) as LogLine);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  await until(async () => {
    if (gone) throw new Error(`node ${o.nodeId} exited before it was ready: ${stderr}`);
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  }, 60_000);
  return {
    nodeId: o.nodeId,
    url,
    log,
    exited,
    async kill(signal = 'SIGKILL') {
      if (!gone) child.kill(signal);
      await exited;
    },
  };
}
