/**
 * `pomona sim abm`: runs the ABM/ASM Device Assignment simulator (src/sim/abm/) as a
 * process, with a seeded fleet on one virtual MDM server, and prints how to get a token.
 * Wire it in with `registerSimAbmCommand(program)`; it adds `sim` when absent.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import type { PageLimit } from './abm/dep-routes.js';
import type { SavedState } from './abm/persist.js';
import { startAbmSimulator, type AbmSimulator } from './abm/server.js';
import type { Dialect } from './abm/wire.js';

export interface SimAbmOptions {
  port: number;
  host: string;
  devices: number;
  serverName: string;
  stateFile?: string;
  seed: string;
  dialect: Dialect;
  limit: PageLimit;
  protocol: number;
  cert?: string;
  tokenOut?: string;
  allowHttpWebUrl: boolean;
  sessionTtl: number;
  rotateEvery: number;
  controlToken?: string;
}

export interface RunningSimAbm {
  sim: AbmSimulator;
  serverUuid: string;
  /** saves the state file (if any) and stops the server */
  stop(): Promise<void>;
}

/** Starts the simulator as the command does; `print` receives the lines the command prints. */
export async function runSimAbm(o: SimAbmOptions, print: (line: string) => void = console.log): Promise<RunningSimAbm> {
  let state: SavedState | undefined;
  if (o.stateFile && existsSync(o.stateFile)) state = JSON.parse(readFileSync(o.stateFile, 'utf8')) as SavedState;
  const sim = await startAbmSimulator({
    port: o.port,
    host: o.host,
    seed: o.seed,
    dialect: o.dialect,
    fetchLimit: o.limit,
    syncLimit: o.limit,
    prerenderProtocolVersion: o.protocol,
    profileValidation: { allowHttpWebUrl: o.allowHttpWebUrl },
    sessions: { ttlMs: o.sessionTtl * 1000, rotateEveryRequests: o.rotateEvery },
    controlToken: o.controlToken,
    state,
  });
  let server = sim.servers().find((s) => s.name === o.serverName);
  if (!server) {
    server = sim.createServer({ name: o.serverName });
    if (o.devices > 0) sim.addDevices(server.serverUuid, o.devices, { spreadDays: 365 });
  }
  const uuid = server.serverUuid;
  print(`ABM simulator (${o.dialect} dialect) listening on ${sim.url}`);
  print(`  organisation "${sim.org.info.org_name}", MDM server "${server.name}" ${uuid} with ${sim.servers().find((s) => s.serverUuid === uuid)!.devices} devices${state ? ` (restored from ${o.stateFile})` : ''}`);
  if (o.cert) {
    const file = sim.issueToken(uuid, readFileSync(o.cert, 'utf8'));
    const out = o.tokenOut ?? file.fileName;
    writeFileSync(out, file.smime);
    print(`  token file for ${o.cert} written to ${out}`);
  }
  const auth = o.controlToken ? ` -H 'X-Sim-Control-Token: ${o.controlToken}'` : '';
  print('  get a server token (S/MIME, encrypted to your MDM server certificate, as ABM issues it):');
  print(`    curl -sf${auth} -H 'Content-Type: application/json' --data "{\\"certificate\\": $(jq -Rs . < server-cert.pem)}" \\`);
  print(`      ${sim.url}/_sim/servers/${uuid}/token -o ${o.serverName.replace(/[^A-Za-z0-9._-]+/g, '_')}_Token_smime.p7m`);
  print(`    (add "format": "json" to the body for the bare token JSON)`);
  print(`  point the DEP client's base URL at ${sim.url}; control API: ${sim.url}/_sim/state`);

  let stopped = false;
  return {
    sim,
    serverUuid: uuid,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (o.stateFile) {
        writeFileSync(`${o.stateFile}.tmp`, JSON.stringify(sim.saveState()));
        renameSync(`${o.stateFile}.tmp`, o.stateFile);
      }
      await sim.close();
    },
  };
}

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

function limits(v: string): PageLimit {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new InvalidArgumentError('expected DEFAULT/MAXIMUM, e.g. 1000/5000');
  return { default: Number(m[1]), maximum: Number(m[2]) };
}

/** Adds `sim abm` (and `sim` if the program has none). */
export function registerSimAbmCommand(program: Command<any, any, any>): void {
  const sim = (program.commands.find((c) => c.name() === 'sim') as Command<any, any, any> | undefined) ?? program.command('sim').description('simulators of Apple services and devices');
  sim
    .command('abm')
    .description('run the ABM/ASM Device Assignment (DEP) service simulator')
    .option('--port <n>', 'port to listen on', int('--port', 0, 65535), 8091)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--devices <n>', 'devices to create on the MDM server at first start', int('--devices', 0, 1_000_000), 100)
    .option('--server-name <name>', 'name of the virtual MDM server', 'Pomona')
    .option('--state-file <file>', 'load the organisation from this file at start, save it there at exit')
    .option('--seed <seed>', 'seed for generated devices and random faults', '1')
    .option('--dialect <dialect>', 'apple (bare error codes) or depsim (JSON-quoted codes, 403 FORBIDDEN, PUT-only assign)', 'apple')
    .addOption(new Option('--limit <default/max>', 'page size default/maximum for fetch and sync (a real account advertises 1000/5000)').argParser(limits).default({ default: 100, maximum: 1000 }, '100/1000'))
    .option('--protocol <n>', 'X-Server-Protocol-Version to pre-render device JSON for', int('--protocol', 1, 100), 10)
    .option('--cert <pem>', 'MDM server certificate: write a token file for it at start')
    .option('--token-out <file>', 'where --cert writes the token file (default: the name ABM gives it)')
    .option('--allow-http-web-url', 'accept http:// configuration_web_url in profiles (Apple requires https)', false)
    .option('--session-ttl <seconds>', 'auth session lifetime', int('--session-ttl', 1, 86_400), 1800)
    .option('--rotate-every <n>', 'hand out a new X-ADM-Auth-Session every N requests (0 = never)', int('--rotate-every', 0, 1_000_000), 0)
    .option('--control-token <token>', 'require X-Sim-Control-Token on /_sim/')
    .action(async (opts) => {
      if (opts.dialect !== 'apple' && opts.dialect !== 'depsim') {
        console.error('pomona sim abm: --dialect must be apple or depsim');
        process.exit(1);
      }
      let running: RunningSimAbm;
      try {
        running = await runSimAbm({ ...opts, dialect: opts.dialect as Dialect, allowHttpWebUrl: !!opts.allowHttpWebUrl });
      } catch (e) {
        console.error(`pomona sim abm: ${(e as Error).message}`);
        process.exit(1);
      }
      const shutdown = () => {
        running.stop().then(
          () => process.exit(0),
          (e: unknown) => {
            console.error(`pomona sim abm: ${(e as Error).message}`);
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
}
