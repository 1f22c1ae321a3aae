import { Command } from '@commander-js/extra-typings';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerSimAbmCommand, runSimAbm, type SimAbmOptions } from '../abm-cli.js';
import { TestDepClient } from './test-client.js';

const dir = mkdtempSync(join(tmpdir(), 'abm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const certPath = new URL('../../../test/fixtures/abm-sim/token/mdm-server-cert.pem', import.meta.url).pathname;

const base: SimAbmOptions = {
  port: 0,
  host: '127.0.0.1',
  devices: 25,
  serverName: 'Pomona CLI',
  seed: '1',
  dialect: 'apple',
  limit: { default: 1000, maximum: 5000 },
  protocol: 10,
  allowHttpWebUrl: false,
  sessionTtl: 1800,
  rotateEvery: 0,
};

describe('pomona sim abm', () => {
  it('registers `sim abm` with its options, next to an existing `sim`', () => {
    const program = new Command('pomona');
    program.command('sim').command('apns');
    registerSimAbmCommand(program);
    const sim = program.commands.find((c) => c.name() === 'sim')!;
    expect(sim.commands.map((c) => c.name())).toEqual(['apns', 'abm']);
    const abm = sim.commands.find((c) => c.name() === 'abm')!;
    expect(abm.options.map((o) => o.long)).toEqual(expect.arrayContaining(['--port', '--host', '--devices', '--server-name', '--state-file', '--cert']));
    const fresh = new Command('pomona');
    registerSimAbmCommand(fresh);
    expect(fresh.commands.map((c) => c.name())).toEqual(['sim']);
  });

  it('starts with a fleet, writes a token file, prints how to get one, and keeps state across restarts', async () => {
    const lines: string[] = [];
    const stateFile = join(dir, 'abm-state.json');
    const tokenOut = join(dir, 'token.p7m');
    const first = await runSimAbm({ ...base, stateFile, cert: certPath, tokenOut }, (l) => lines.push(l));
    expect(lines[0]).toMatch(/^ABM simulator \(apple dialect\) listening on http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines.join('\n')).toContain(`/_sim/servers/${first.serverUuid}/token`);
    expect(lines.join('\n')).toContain('with 25 devices');
    expect(readFileSync(tokenOut, 'utf8')).toMatch(/^Content-Type: application\/pkcs7-mime/);
    const tokens = first.sim.currentTokens(first.serverUuid)!;
    const c = new TestDepClient(first.sim.url, tokens);
    const page = await c.json('POST', '/server/devices', {});
    expect(page.devices).toHaveLength(25);
    await first.stop();
    expect(existsSync(stateFile)).toBe(true);

    const second = await runSimAbm({ ...base, stateFile, devices: 5 }, (l) => lines.push(l));
    try {
      expect(second.serverUuid).toBe(first.serverUuid);
      expect(lines.some((l) => l.includes('restored from'))).toBe(true);
      const c2 = new TestDepClient(second.sim.url, tokens);
      const sync = await c2.json('POST', '/devices/sync', { cursor: page.cursor });
      expect(sync.devices).toEqual([]);
      expect((await c2.json('POST', '/server/devices', {})).devices).toHaveLength(25);
    } finally {
      await second.stop();
    }
  });
});
