/**
 * `pomona demo`: see demo.ts. Runs until Ctrl-C (or SIGTERM), then stops everything and removes
 * its temporary data directory.
 */
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import { startDemo } from './demo.js';

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

export function registerDemoCommand(program: Command<any, any, any>): void {
  program
    .command('demo')
    .description('run Pomona with simulated Apple services and devices enrolling through ADE, on a fresh database')
    .option('--port <n>', 'port Pomona listens on, on 127.0.0.1 (0: any free port)', int('--port', 0, 65535), 9000)
    .option('--devices <n>', 'simulated devices (a mix of iPhone, iPad and Mac)', int('--devices', 0, 10_000), 25)
    .option('--pace <ms>', 'milliseconds between two devices starting Setup Assistant', int('--pace', 0, 600_000), 1000)
    // The same flags as every command's (they are read from there; listed here so --help shows them).
    .option('--database-url <url>', 'database to use instead of a SQLite file in the data directory; must be empty')
    .option('--data-dir <dir>', 'keep the data here (default: a temporary directory removed at exit)')
    .option('--log-level <level>', "Pomona's own log on stdout, requests included (default: warnings only)")
    .addHelpText('after', '\nThe admin password is random unless POMONA_ADMIN_PASSWORD is set. Stop with Ctrl-C.')
    .action(async (o, cmd) => {
      const g = cmd.optsWithGlobals() as { databaseUrl?: string; dataDir?: string; logLevel?: string };
      const demo = await startDemo({
        port: o.port, devices: o.devices, paceMs: o.pace, databaseUrl: g.databaseUrl, dataDir: g.dataDir, logLevel: g.logLevel,
        adminPassword: process.env.POMONA_ADMIN_PASSWORD || undefined,
      });
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        console.log('\nStopping the demo…');
        demo.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(`pomona: ${err instanceof Error ? err.message : String(err)}`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
