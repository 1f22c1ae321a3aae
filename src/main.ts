/**
 * The `pomona` command line. Every command builds the configuration the same way (flags,
 * then POMONA_* environment, then the config file), and fails with one clear line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from '@commander-js/extra-typings';
import { ConfigError, loadConfig, OPTIONS, type Config } from './config.js';
import { openContext, startServer, type Context } from './app.js';
import { registerAbmCommands } from './abm/abm-cli.js';
import { registerSimAbmCommand } from './sim/abm-cli.js';
import { registerDemoCommand } from './demo/demo-cli.js';
import { registerOpsCommands } from './ops/ops-cli.js';

const program = new Command('pomona')
  .description('Pomona — self-hosted Apple MDM server built around Automated Device Enrollment')
  .showHelpAfterError('(run with --help for usage)')
  .option('--config <file>', 'JSON configuration file (also POMONA_CONFIG)');
for (const o of OPTIONS) program.addOption(new Option(`--${o.flag} <value>`, `${o.describe} [${o.env}]${o.default ? ` (default ${o.default})` : ''}`));

function configFrom(cmd: { optsWithGlobals(): Record<string, unknown> }): Config {
  return loadConfig({ flags: cmd.optsWithGlobals() });
}

/** Runs a command with an open context, closing it afterwards; errors become one line and exit 1. */
async function withContext(cmd: { optsWithGlobals(): Record<string, unknown> }, fn: (ctx: Context) => Promise<void>, quiet = true): Promise<void> {
  const ctx = await openContext(configFrom(cmd), { logLevel: quiet ? 'silent' : undefined });
  try {
    await fn(ctx);
  } finally {
    await ctx.close();
  }
}

program
  .command('serve')
  .description('run the server (migrates the database first); the same as npm start')
  .action(async (_o, cmd) => {
    const config = configFrom(cmd);
    const running = await startServer(config);
    const stop = async () => {
      await running.close();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('migrate')
  .description('bring the database schema up to date')
  .action(async (_o, cmd) =>
    withContext(cmd, async (ctx) => {
      console.log(ctx.appliedMigrations.length ? `applied: ${ctx.appliedMigrations.join(', ')}` : 'database is up to date');
    }),
  );

const admin = program.command('admin').description('admin users');
admin
  .command('create')
  .description('create an admin user (password from --password-stdin or POMONA_ADMIN_PASSWORD)')
  .requiredOption('--username <name>', 'user name')
  .addOption(new Option('--role <role>', 'role').choices(['administrator', 'operator', 'read-only'] as const).default('administrator' as const))
  .option('--scope <group>', 'organization group (id or Group ID) whose subtree the admin acts in', 'global')
  .option('--password-stdin', 'read the password from standard input')
  .action(async (o, cmd) => {
    const password = o.passwordStdin ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : process.env.POMONA_ADMIN_PASSWORD;
    if (!password) throw new Error('give the password with --password-stdin or POMONA_ADMIN_PASSWORD');
    await withContext(cmd, async (ctx) => {
      const scope = await ctx.groups.scopeOf(o.scope);
      const user = await ctx.admins.createUser({ username: o.username, password, role: o.role, scope });
      await ctx.audit.record({ actor: 'cli', action: 'admin.create', target: user.username, outcome: 'success', details: { role: user.role, scopeGroupId: user.scopeGroupId } });
      console.log(`created ${user.role} "${user.username}" scoped to ${o.scope} — sign in with POST /api/v1/session`);
    });
  });
admin
  .command('list')
  .description('list admin users')
  .action(async (_o, cmd) =>
    withContext(cmd, async (ctx) => {
      for (const u of await ctx.admins.listUsers()) console.log(`${u.username}\t${u.role}\t${u.scopeGroupId}${u.disabledAt ? '\tdisabled' : ''}`);
    }),
  );

const apiToken = program.command('api-token').description('API tokens for scripts and integrations');
apiToken
  .command('create')
  .description('create a token; the secret is printed once')
  .requiredOption('--name <name>', 'what the token is for')
  .addOption(new Option('--role <role>', 'role (custom-enrollment: only the external custom-enrollment profile endpoint)').choices(['administrator', 'operator', 'read-only', 'custom-enrollment'] as const).default('read-only' as const))
  .option('--scope <group>', 'organization group (id or Group ID) whose subtree the token acts in', 'global')
  .option('--expires-days <days>', 'expire after this many days')
  .action(async (o, cmd) =>
    withContext(cmd, async (ctx) => {
      const days = o.expiresDays === undefined ? undefined : Number(o.expiresDays);
      if (days !== undefined && !(Number.isInteger(days) && days > 0)) throw new Error('--expires-days must be a positive whole number');
      const scope = await ctx.groups.scopeOf(o.scope);
      const { token, secret } = await ctx.tokens.create({ name: o.name, role: o.role, scope, expiresAt: days ? Date.now() + days * 86_400_000 : null });
      await ctx.audit.record({ actor: 'cli', action: 'api-token.create', target: token.id, outcome: 'success', details: { name: token.name, role: token.role, scopeGroupId: token.scopeGroupId } });
      console.log(secret);
      console.error(`token ${token.id} (${token.role}, scoped to ${o.scope}); store the secret above now, it is not shown again`);
    }),
  );
apiToken
  .command('list')
  .description('list tokens (never their secrets)')
  .action(async (_o, cmd) =>
    withContext(cmd, async (ctx) => {
      for (const t of await ctx.tokens.list()) {
        const state = t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt < Date.now() ? 'expired' : 'active';
        console.log(`${t.id}\t${t.prefix}…\t${t.role}\t${t.scopeGroupId}\t${state}\t${t.name}`);
      }
    }),
  );
apiToken
  .command('revoke')
  .description('revoke a token by id or prefix')
  .argument('<id>', 'token id or prefix')
  .action(async (id, _o, cmd) =>
    withContext(cmd, async (ctx) => {
      const t = await ctx.tokens.revoke(id);
      if (!t) throw new Error(`no API token ${id}`);
      await ctx.audit.record({ actor: 'cli', action: 'api-token.revoke', target: t.id, outcome: 'success' });
      console.log(`revoked ${t.id} (${t.name})`);
    }),
  );

const pushcert = program.command('pushcert').description('the APNs push certificate');
pushcert
  .command('import')
  .description('import the push certificate and key (PEM, or PKCS#12 with --p12)')
  .option('--cert <file>', 'certificate PEM (may also hold the key)')
  .option('--key <file>', 'private key PEM')
  .option('--p12 <file>', 'PKCS#12 file')
  .option('--password-env <var>', 'environment variable holding the PKCS#12 or key password')
  .option('--force', 'replace a certificate of a different topic (every device must re-enroll)')
  .action(async (o, cmd) => {
    const password = o.passwordEnv ? process.env[o.passwordEnv] : undefined;
    if (o.passwordEnv && password === undefined) throw new Error(`environment variable ${o.passwordEnv} is not set`);
    if (!o.p12 && !o.cert) throw new Error('give --cert (and --key) or --p12');
    await withContext(cmd, async (ctx) => {
      const status = await ctx.pushcerts.import(
        o.p12
          ? { pkcs12: readFileSync(o.p12), password }
          : { certPem: readFileSync(o.cert!, 'utf8'), keyPem: o.key ? readFileSync(o.key, 'utf8') : undefined, password },
        { force: Boolean(o.force) },
      );
      await ctx.audit.record({ actor: 'cli', action: 'pushcert.import', target: status.topic, outcome: 'success' });
      console.log(`imported push certificate for ${status.topic}, expires ${new Date(status.notAfter).toISOString()}`);
    });
  });
pushcert
  .command('show')
  .description('show the current push certificate')
  .action(async (_o, cmd) =>
    withContext(cmd, async (ctx) => {
      const s = await ctx.pushcerts.status();
      if (!s) throw new Error('no push certificate imported (pomona pushcert import)');
      console.log(`topic\t${s.topic}\nsubject\t${s.subject}\nexpires\t${new Date(s.notAfter).toISOString()} (${s.expired ? 'EXPIRED' : `${s.expiresInDays} days`})`);
    }),
  );

program
  .command('enrollment-profile')
  .description('write an enrollment profile (.mobileconfig) with a fresh one-time SCEP challenge')
  .requiredOption('--out <file>', 'where to write it')
  .option('--unsigned', 'plain XML instead of CMS-signed')
  .action(async (o, cmd) =>
    withContext(cmd, async (ctx) => {
      const p = await ctx.enrollmentProfiles.build({ signed: !o.unsigned });
      writeFileSync(o.out, p.body);
      await ctx.audit.record({ actor: 'cli', action: 'enrollment-profile.create', target: o.out, outcome: 'success', details: { signed: p.signed } });
      console.log(`wrote ${p.signed ? 'signed' : 'unsigned'} profile to ${o.out}`);
    }),
  );

const command = program.command('command').description('MDM commands');
command
  .command('send')
  .description('queue a command for devices and push them')
  .requiredOption('--device <id...>', 'device id, UDID, serial number or enrollment id (repeatable)')
  .requiredOption('--type <RequestType>', 'e.g. DeviceInformation, ProfileList, RestartDevice')
  .option('--json <keys>', 'further command keys as a JSON object (data as base64)')
  .option('--no-push', 'queue without pushing')
  .action(async (o, cmd) => {
    let extra: Record<string, unknown> = {};
    if (o.json) {
      try {
        extra = JSON.parse(o.json) as Record<string, unknown>;
      } catch (e) {
        throw new Error(`--json is not valid JSON: ${(e as Error).message}`);
      }
      if (!extra || typeof extra !== 'object' || Array.isArray(extra)) throw new Error('--json must be a JSON object');
    }
    await withContext(cmd, async (ctx) => {
      const r = await ctx.commands.enqueue({ targets: o.device, command: { ...extra, RequestType: o.type }, push: o.push, actor: 'cli' });
      console.log(`command ${r.commandUuid} (${r.requestType})`);
      for (const t of r.targets) console.log(`  ${t.target}\t${t.status}`);
      for (const p of r.pushes ?? []) console.log(`  push ${p.enrollmentId}\t${p.status}${p.reason ? ` (${p.reason})` : ''}`);
      if (!r.targets.some((t) => t.status === 'queued')) process.exitCode = 1;
    });
  });

const devices = program.command('devices').description('devices');
devices
  .command('list')
  .description('list devices')
  .option('--limit <n>', 'at most this many', '100')
  .option('--search <text>', 'match serial, UDID or name')
  .option('--group <group>', 'only this organization group and the groups below it (id or Group ID)')
  .option('--lifecycle <states>', 'only these lifecycle states, comma-separated (registered, enrolling, enrolled, unenrolled, removed)')
  .action(async (o, cmd) =>
    withContext(cmd, async (ctx) => {
      const { devices: list, total } = await ctx.inventory.list({ limit: Number(o.limit) || 100, offset: 0, q: o.search, group: o.group, lifecycle: o.lifecycle ? [o.lifecycle] : undefined });
      for (const d of list) console.log([d.serialNumber ?? '-', d.udid ?? '-', d.lifecycleState, d.ownership ?? '-', d.deviceName ?? '', d.productName ?? d.modelName ?? ''].join('\t'));
      console.error(`${list.length} of ${total} devices`);
    }),
  );

registerAbmCommands(program, withContext);
registerSimAbmCommand(program);
registerDemoCommand(program);
registerOpsCommands(program, configFrom);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) for (const p of err.problems) console.error(`pomona: ${p}`);
  else console.error(`pomona: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
