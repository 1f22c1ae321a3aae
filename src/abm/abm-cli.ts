/**
 * `pomona abm …`: the ABM admin tasks from a shell — servers and their tokens, sync, profiles,
 * assignment and the device export. Each subcommand calls the same services as the API.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from '@commander-js/extra-typings';
import type { Context } from '../app.js';
import { hostname } from 'node:os';
import type { DeviceFilter } from './abm-device-store.js';
import { withLease } from '../jobs/scheduler.js';
import { abmLeaseName } from './abm-sync-job.js';

type WithContext = (cmd: { optsWithGlobals(): Record<string, unknown> }, fn: (ctx: Context) => Promise<void>) => Promise<void>;

const day = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 10));

/** A server by id or by name, so admins can type the name they gave it. */
async function serverId(ctx: Context, ref: string): Promise<string> {
  const match = (await ctx.abmServers.list()).find((s) => s.id === ref || s.name === ref);
  if (!match) throw new Error(`no ABM server "${ref}" (see pomona abm list)`);
  return match.id;
}

export function registerAbmCommands(program: Command<any, any, any>, withContext: WithContext): void {
  const abm = program.command('abm').description('Apple Business/School Manager servers, sync, enrollment profiles and assignment');

  abm
    .command('create')
    .description('create an ABM server and write the public key to upload to Apple Business Manager')
    .requiredOption('--name <name>', 'a name for this MDM server')
    .option('--base-url <url>', "DEP service URL (default Apple's; the simulator's for tests)")
    .option('--sync-interval <minutes>', 'minutes between syncs', '30')
    .requiredOption('--public-key-out <file>', 'where to write the PEM certificate to upload')
    .action(async (o, cmd) =>
      withContext(cmd, async (ctx) => {
        const s = await ctx.abmServers.create({ name: o.name, baseUrl: o.baseUrl, syncIntervalMinutes: Number(o.syncInterval) });
        writeFileSync(o.publicKeyOut, (await ctx.abmServers.publicKey(s.id)).certPem);
        await ctx.audit.record({ actor: 'cli', action: 'abm.server.create', target: s.id, outcome: 'success', details: { name: s.name } });
        console.log(`created ABM server "${s.name}" (${s.id}); upload ${o.publicKeyOut} to your MDM server in Apple Business Manager, then: pomona abm token upload --server "${s.name}" --file TOKEN.p7m`);
      }),
    );

  abm
    .command('list')
    .description('ABM servers with token state and last sync')
    .action(async (_o, cmd) =>
      withContext(cmd, async (ctx) => {
        const counts = await ctx.abmDevices.countsByServer();
        for (const s of await ctx.abmServers.list()) {
          const c = counts.get(s.id);
          console.log([s.name, s.id, s.tokenState, `expires ${day(s.tokenExpiresAt)}`, `${c?.devices ?? 0} devices`, `last sync ${s.sync.lastSyncAt ? new Date(s.sync.lastSyncAt).toISOString() : 'never'}`, s.sync.lastError ?? ''].join('\t'));
        }
      }),
    );

  abm
    .command('public-key')
    .description('write the public key to upload to Apple Business Manager (the staged one during a key change)')
    .requiredOption('--server <name|id>', 'ABM server')
    .requiredOption('--out <file>', 'PEM file to write')
    .option('--new', 'stage a new key pair first (the current token keeps working until its replacement is uploaded)')
    .action(async (o, cmd) =>
      withContext(cmd, async (ctx) => {
        const id = await serverId(ctx, o.server);
        if (o.new) await ctx.abmServers.stageNewKey(id);
        writeFileSync(o.out, (await ctx.abmServers.publicKey(id)).certPem);
        console.log(`wrote ${o.out}${o.new ? ' (new key pair staged)' : ''}`);
      }),
    );

  const token = abm.command('token').description('the server token');
  token
    .command('upload')
    .description('upload or renew the token file downloaded from Apple Business Manager (.p7m, DER or decrypted JSON)')
    .requiredOption('--server <name|id>', 'ABM server')
    .requiredOption('--file <file>', 'the token file')
    .option('--force', 'accept a token for a different MDM server (the device list is fetched again)')
    .action(async (o, cmd) =>
      withContext(cmd, async (ctx) => {
        const id = await serverId(ctx, o.server);
        const { server, replacedServer } = await ctx.abmServers.uploadToken(id, readFileSync(o.file), { force: o.force });
        await ctx.audit.record({ actor: 'cli', action: 'abm.server.token_upload', target: id, outcome: 'success', details: { replacedServer } });
        console.log(`token stored for "${server.name}", expires ${day(server.tokenExpiresAt)}; a sync starts on the next tick of a running server`);
      }),
    );

  abm
    .command('test')
    .description("test the connection: Apple's account details for this server")
    .requiredOption('--server <name|id>', 'ABM server')
    .action(async (o, cmd) =>
      withContext(cmd, async (ctx) => {
        const a = await ctx.abmServers.testConnection(await serverId(ctx, o.server));
        console.log(`ok: "${a.server_name}" (${a.server_uuid}) of ${a.org_name}, token by ${a.admin_id ?? a.facilitator_id ?? 'unknown'}`);
      }),
    );

  abm
    .command('sync')
    .description('sync devices now (in this process) and assign profiles')
    .requiredOption('--server <name|id>', 'ABM server')
    .option('--full', 'fetch every device again')
    .action(async (o, cmd) =>
      withContext(cmd, async (ctx) => {
        const id = await serverId(ctx, o.server);
        // Under the same lease as the servers' job, so it never runs beside a node's sync.
        const ran = await withLease(ctx.leases, { name: abmLeaseName(id), holder: `cli:${hostname()}:${process.pid}`, ttlMs: 60_000 }, async (heartbeat) => {
          const r = await ctx.abmSync.run(id, { full: o.full, heartbeat });
          console.log(`${r.kind} sync: ${r.pages} pages, ${r.added} added, ${r.modified} modified, ${r.deleted} deleted, ${r.missing} no longer in ABM`);
          const a = await ctx.abmAssign.run(id, heartbeat);
          console.log(`assignment: ${a.sent} sent, ${a.succeeded} succeeded, ${a.failed} failed, ${a.throttled} throttled, ${a.notAccessible} not accessible${a.errors.length ? `; ${a.errors.join('; ')}` : ''}`);
        });
        if (!ran) throw new Error(`a sync of "${o.server}" is running on a Pomona node; try again when it has finished`);
      }),
    );

  abm
    .command('delete')
    .description('delete an ABM server with its device records and profiles')
    .requiredOption('--server <name|id>', 'ABM server')
    .action(async (o, cmd) =>
      withContext(cmd, async (ctx) => {
        const id = await serverId(ctx, o.server);
        await ctx.abmServers.delete(id);
        await ctx.audit.record({ actor: 'cli', action: 'abm.server.delete', target: id, outcome: 'success' });
        console.log('deleted');
      }),
    );

  const profile = abm.command('profile').description('enrollment (DEP) profiles');
  profile
    .command('list')
    .requiredOption('--server <name|id>', 'ABM server')
    .action(async (o, cmd) =>
      withContext(cmd, async (ctx) => {
        for (const p of await ctx.depProfiles.list(await serverId(ctx, o.server))) {
          console.log([p.name, p.id, p.isDefault ? 'default' : '', `v${p.version}`, p.apple.profileUuid ?? 'not defined', `${p.devices} devices`, p.apple.defineError ?? ''].join('\t'));
        }
      }),
    );
  profile
    .command('create')
    .description('create a profile from a JSON settings file ({"apple": {...}, "pomona": {...}})')
    .requiredOption('--server <name|id>', 'ABM server')
    .requiredOption('--file <file>', 'settings JSON')
    .action(async (o, cmd) =>
      withContext(cmd, async (ctx) => {
        const p = await ctx.depProfiles.create(await serverId(ctx, o.server), JSON.parse(readFileSync(o.file, 'utf8')));
        console.log(`created "${p.name}" (${p.id})${p.isDefault ? ', the default' : ''}; Apple profile ${p.apple.profileUuid ?? `not defined yet${p.apple.defineError ? `: ${p.apple.defineError}` : ''}`}`);
        for (const w of p.warnings) console.error(`warning: ${w.path}: ${w.message}`);
      }),
    );
  profile
    .command('update')
    .requiredOption('--profile <id>', 'profile id')
    .requiredOption('--file <file>', 'settings JSON')
    .action(async (o, cmd) =>
      withContext(cmd, async (ctx) => {
        const p = await ctx.depProfiles.update(o.profile, JSON.parse(readFileSync(o.file, 'utf8')));
        console.log(`saved "${p.name}" v${p.version}; Apple profile ${p.apple.profileUuid ?? 'not defined yet'}`);
      }),
    );
  profile
    .command('default')
    .description("make a profile its server's default")
    .requiredOption('--profile <id>', 'profile id')
    .action(async (o, cmd) => withContext(cmd, async (ctx) => void console.log(`"${(await ctx.depProfiles.setDefault(o.profile)).name}" is the default`)));
  profile
    .command('delete')
    .requiredOption('--profile <id>', 'profile id')
    .action(async (o, cmd) => withContext(cmd, async (ctx) => void console.log(`deleted; ${(await ctx.depProfiles.delete(o.profile)).movedDevices} devices moved to the default`)));

  const device = abm.command('devices').description('devices in Apple Business Manager');
  device
    .command('assign')
    .description("assign devices to a profile now (default: the server's default profile)")
    .requiredOption('--server <name|id>', 'ABM server')
    .option('--profile <id>', 'profile id')
    .argument('<serials...>')
    .action(async (serials, o, cmd) =>
      withContext(cmd, async (ctx) => {
        for (const r of await ctx.abmAssign.assign(await serverId(ctx, o.server), serials, o.profile ?? null)) console.log([r.serial, r.result, r.error ?? ''].join('\t'));
      }),
    );
  device
    .command('remove')
    .description('remove the profile from devices')
    .requiredOption('--server <name|id>', 'ABM server')
    .argument('<serials...>')
    .action(async (serials, o, cmd) =>
      withContext(cmd, async (ctx) => {
        for (const r of await ctx.abmAssign.remove(await serverId(ctx, o.server), serials)) console.log([r.serial, r.result, r.error ?? ''].join('\t'));
      }),
    );
  device
    .command('export')
    .description('CSV export of ABM devices (every column)')
    .option('--server <name|id>', 'only this ABM server')
    .option('--state <state>', 'active or removed')
    .option('--out <file>', 'file to write (default standard output)')
    .action(async (o, cmd) =>
      withContext(cmd, async (ctx) => {
        const filter: DeviceFilter = { serverId: o.server ? await serverId(ctx, o.server) : undefined, state: o.state as DeviceFilter['state'] };
        const out: string[] = [];
        for await (const line of ctx.abmDevices.exportCsv(filter)) {
          if (o.out) out.push(line);
          else process.stdout.write(line);
        }
        if (o.out) writeFileSync(o.out, out.join(''));
      }),
    );
}
