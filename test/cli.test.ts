/**
 * The `pomona` command line as an admin runs it: real processes, a SQLite data directory, and
 * the ABM simulator on loopback for the `pomona abm` flow.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAbmSimulator, type AbmSimulator } from '../src/sim/abm/server.js';

const run = promisify(execFile);

async function pomona(dir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/pomona.js', '--data-dir', dir, '--database-url', `sqlite:${join(dir, 'p.db')}`, '--log-level', 'silent', ...args], {
      env: { ...process.env, POMONA_CONFIG: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('pomona CLI', () => {
  let dir: string;
  let sim: AbmSimulator;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pomona-cli-'));
    sim = await startAbmSimulator({ seed: 5 });
  });
  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has --help on every command group', async () => {
    for (const group of [[], ['abm'], ['abm', 'devices'], ['sim', 'abm']]) {
      const out = await pomona(dir, ...group, '--help');
      expect(out.code, group.join(' ')).toBe(0);
      expect(out.stdout).toMatch(/^Usage: pomona/);
    }
  });

  it('fails with one clear line', async () => {
    const out = await pomona(dir, 'abm', 'test', '--server', 'nope');
    expect(out.code).toBe(1);
    expect(out.stderr.trim().split('\n')).toEqual(['pomona: no ABM server "nope" (see pomona abm list)']);
  });

  it('connects an ABM server, syncs, assigns and exports', async () => {
    const apple = sim.createServer({ name: 'CLI' }).serverUuid;
    sim.addDevices(apple, 30);
    const pem = join(dir, 'key.pem');
    const created = await pomona(dir, 'abm', 'create', '--name', 'Main', '--base-url', sim.url, '--public-key-out', pem);
    expect(created.code, created.stderr).toBe(0);
    const tokenFile = join(dir, 'token.p7m');
    writeFileSync(tokenFile, sim.issueToken(apple, readFileSync(pem, 'utf8')).smime);
    expect((await pomona(dir, 'abm', 'token', 'upload', '--server', 'Main', '--file', tokenFile)).code).toBe(0);
    const settings = join(dir, 'profile.json');
    writeFileSync(settings, JSON.stringify({ apple: { profile_name: 'Corporate' } }));
    const profile = await pomona(dir, 'abm', 'profile', 'create', '--server', 'Main', '--file', settings);
    expect(profile.stdout).toMatch(/created "Corporate" .*the default/);

    const synced = await pomona(dir, 'abm', 'sync', '--server', 'Main');
    expect(synced.stdout).toMatch(/full sync: .*30 added/);
    expect(synced.stdout).toMatch(/assignment: 30 sent, 30 succeeded/);
    expect((await pomona(dir, 'abm', 'list')).stdout).toMatch(/^Main\t.*\tok\t.*30 devices/m);

    const csv = join(dir, 'devices.csv');
    expect((await pomona(dir, 'abm', 'devices', 'export', '--server', 'Main', '--out', csv)).code).toBe(0);
    expect(readFileSync(csv, 'utf8').trim().split('\r\n')).toHaveLength(31);
  }, 60_000);

  it('lists the organization\'s devices by group and lifecycle state', async () => {
    const registered = await pomona(dir, 'devices', 'list', '--group', 'GLOBAL', '--lifecycle', 'registered');
    expect(registered.code, registered.stderr).toBe(0);
    const lines = registered.stdout.trim().split('\n');
    expect(lines).toHaveLength(30);
    for (const l of lines) expect(l.split('\t')[2]).toBe('registered');
    expect(registered.stderr.trim()).toBe('30 of 30 devices');
    const bad = await pomona(dir, 'devices', 'list', '--lifecycle', 'enrolled,bogus');
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toEqual(['pomona: unknown lifecycle state "bogus"; use registered, enrolling, enrolled, unenrolled, removed']);
  });
});
