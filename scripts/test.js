#!/usr/bin/env node
// `npm test`: runs vitest (extra arguments pass through, e.g. file filters) against SQLite and,
// when possible, a throwaway PostgreSQL 15 cluster, then prints one closing line
// `N passed, N failed, N skipped` — the line CI reads (vitest's own summary is not one it knows).
// Then a second, small vitest run (test/final/) checks the whole run's logs: every Pomona logger
// in the tests copied its lines into a run directory (POMONA_TEST_RUN_DIR) where test support also
// recorded every secret the tests created, and no log may hold one. Its results count in the line.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from './build.js';

const root = resolve(import.meta.dirname, '..');
const resultsFile = join(root, '.test-results.json');

/** Directory holding initdb and pg_ctl, or null. */
function findPgBin() {
  const candidates = ['/usr/lib/postgresql/15/bin'];
  const cfg = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (cfg.status === 0) candidates.push(cfg.stdout.trim());
  return candidates.find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl'))) ?? null;
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

// runuser lives in /usr/sbin, which a non-login root shell may lack on PATH.
const runuser = existsSync('/usr/sbin/runuser') ? '/usr/sbin/runuser' : 'runuser';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A private cluster in a fresh temp directory. PostgreSQL refuses to run as root and CI runs
 * as root, so there everything runs as `postgres` in a directory that user owns.
 */
class ThrowawayPostgres {
  constructor(bin) {
    this.bin = bin;
    this.dir = null;
    this.asRoot = process.getuid?.() === 0;
  }

  run(tool, args, timeout = 60_000) {
    const cmd = this.asRoot ? [runuser, ['-u', 'postgres', '--', join(this.bin, tool), ...args]] : [join(this.bin, tool), args];
    // stdin/stdout ignored: the postmaster must not hold a pipe of ours open.
    return spawnSync(cmd[0], cmd[1], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout });
  }

  async start() {
    let owner;
    if (this.asRoot) {
      const id = (flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
      const [uid, gid] = [id('-u'), id('-g')];
      if (uid.status !== 0) throw new Error('running as root and there is no "postgres" user to run PostgreSQL as');
      owner = [Number(uid.stdout), Number(gid.stdout)];
    }
    this.dir = mkdtempSync(join(tmpdir(), 'pomona-pg-'));
    if (owner) chownSync(this.dir, owner[0], owner[1]);
    const data = join(this.dir, 'data');
    const init = this.run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-locale', '--no-sync']);
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);

    // A port can be taken between probing and binding; try a few.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      // Durability is pointless for a cluster deleted at the end; turning it off makes tests faster.
      const opts = `-p ${port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      const started = this.run('pg_ctl', ['-D', data, '-l', join(this.dir, 'server.log'), '-o', opts, '-w', '-t', '30', 'start']);
      if (started.status === 0 && (await this.accepting(port))) {
        this.port = port;
        return `postgres://postgres@127.0.0.1:${port}/postgres`;
      }
      this.run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    }
    let log = '';
    try {
      log = readFileSync(join(this.dir, 'server.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {}
    throw new Error(`PostgreSQL did not start${log ? `:\n${log}` : ''}`);
  }

  async accepting(port) {
    for (let i = 0; i < 50; i++) {
      const r = spawnSync(join(this.bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'], { stdio: 'ignore' });
      if (r.status === 0) return true;
      await sleep(100);
    }
    return false;
  }

  /** Synchronous so it can run from an 'exit' handler; safe to call more than once. */
  stop() {
    if (!this.dir) return;
    const dir = this.dir;
    this.dir = null;
    const data = join(dir, 'data');
    if (existsSync(join(data, 'postmaster.pid'))) {
      const r = this.run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 40_000);
      if (r.status !== 0) killPostmaster(data);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Last resort when pg_ctl cannot stop it: the postmaster we started, by its recorded pid. */
function killPostmaster(data) {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {}
}

function summarize(resultsFile, vitestCode) {
  let report;
  try {
    report = JSON.parse(readFileSync(resultsFile, 'utf8'));
  } catch {
    console.log(`vitest wrote no results (${resultsFile}); counting the run as failed`);
    return { passed: 0, failed: 1, skipped: 0 };
  }
  const passed = report.numPassedTests ?? 0;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A file that failed to import (or whose hooks failed) has no failed test of its own: count it.
  const brokenFiles = (report.testResults ?? []).filter(
    (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
  );
  let failed = (report.numFailedTests ?? 0) + brokenFiles.length;
  if (failed === 0 && (vitestCode !== 0 || report.success === false || (report.numFailedTestSuites ?? 0) > 0)) {
    console.log('vitest reported errors outside any test (see above); counting the run as failed');
    failed = 1;
  }
  return { passed, failed, skipped };
}

const args = process.argv.slice(2);
const env = { ...process.env };
let pg = null;
let child = null;

// Logs and recorded secrets of this run (test/support/test-run.ts, src/http/log.ts).
const runDir = mkdtempSync(join(tmpdir(), 'pomona-test-run-'));
env.POMONA_TEST_RUN_DIR = runDir;
const finalResultsFile = join(runDir, 'final-results.json');
let keepRunDir = false;

const cleanup = () => {
  pg?.stop();
  if (!keepRunDir) rmSync(runDir, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    if (child && child.exitCode === null) child.kill(signal);
    cleanup();
    process.exit(code);
  });
}

if (env.TEST_DATABASE_URL) {
  console.log('PostgreSQL suites use TEST_DATABASE_URL from the environment');
} else {
  const bin = findPgBin();
  if (!bin) {
    console.log('PostgreSQL binaries not found (/usr/lib/postgresql/15/bin, pg_config --bindir): PostgreSQL suites will be reported as skipped');
  } else {
    pg = new ThrowawayPostgres(bin);
    const t0 = Date.now();
    try {
      env.TEST_DATABASE_URL = await pg.start();
      console.log(`PostgreSQL test cluster on 127.0.0.1:${pg.port} (${bin}, started in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (err) {
      cleanup();
      pg = null;
      console.log(`${err.message.split('\n')[0]}: PostgreSQL suites will be reported as skipped`);
      if (err.message.includes('\n')) console.log(err.message.split('\n').slice(1).join('\n'));
    }
  }
}

// The CLI tests run bin/pomona.js, which runs dist/: build it once here rather than let parallel
// test processes each find it stale and rebuild at the same time.
await build();

const vitest = join(root, 'node_modules', '.bin', 'vitest');

/** One vitest run with the JSON reporter into `outputFile`; resolves to its exit code. */
function runVitest(outputFile, vitestArgs) {
  rmSync(outputFile, { force: true });
  return new Promise((done) => {
    child = spawn(vitest, ['run', '--reporter=default', '--reporter=json', `--outputFile=${outputFile}`, ...vitestArgs], {
      cwd: root,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', (err) => {
      console.log(`could not start vitest: ${err.message}`);
      done(1);
    });
    child.on('exit', (c, signal) => done(c ?? (signal ? 1 : 0)));
  });
}

const code = await runVitest(resultsFile, args);
const main = summarize(resultsFile, code);
// The PostgreSQL cluster is not needed for the logs check.
pg?.stop();
console.log(`\nwhole-run checks (test/final/): the logs of the run above, in ${runDir}`);
// A run narrowed by arguments may start no server at all; the whole suite must have logs and secrets.
env.POMONA_TEST_RUN_WHOLE = args.length === 0 ? '1' : '';
const finalCode = await runVitest(finalResultsFile, ['--config', 'test/final/vitest.config.ts']);
const final = summarize(finalResultsFile, finalCode);
if (final.failed > 0) {
  keepRunDir = true;
  console.log(`kept ${runDir} (logs/, secrets/) for a look`);
}
cleanup();
const passed = main.passed + final.passed;
const failed = main.failed + final.failed;
const skipped = main.skipped + final.skipped;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || code !== 0 || finalCode !== 0 ? 1 : 0);
