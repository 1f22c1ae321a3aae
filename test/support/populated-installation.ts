/**
 * An installation with something in every corner that matters to a backup, filled through the
 * real API and devices: an ABM server holding a token from the simulator and its synced devices,
 * an organization group, a user, a registration token, an enrolled Mac with an escrowed bootstrap
 * token and a command answered. Also the row-by-row comparison the backup tests use.
 */
import { expect } from 'vitest';
import type { Kysely } from 'kysely';
import { startAbmSimulator, type AbmSimulator } from '../../src/sim/abm/server.js';
import { SimulatedDevice } from '../../src/sim/device.js';
import { readSnapshot, type Snapshot } from '../../src/ops/snapshot.js';
import { startTestServer, type TestServer } from './server.js';
import type { TestDbKind } from './db.js';

export const BOOTSTRAP_TOKEN = Buffer.from('bootstrap-token-for-the-backup-test');

export interface PopulatedInstallation {
  server: TestServer;
  sim: AbmSimulator;
  abmServerId: string;
  /** the simulator's server the token belongs to */
  appleServerUuid: string;
  close(): Promise<void>;
}

export async function startPopulatedInstallation(kind: TestDbKind): Promise<PopulatedInstallation> {
  const sim = await startAbmSimulator({ seed: 23 });
  const server = await startTestServer(kind);
  const apple = sim.createServer({ name: 'Backup' }).serverUuid;
  const created = await server.api('/api/v1/abm-servers', { body: { name: 'Backup', baseUrl: sim.url } });
  const pem = await (await fetch(`${server.url}/api/v1/abm-servers/${created.json.id}/public-key`, { headers: { authorization: `Bearer ${server.token}` } })).text();
  const up = await fetch(`${server.url}/api/v1/abm-servers/${created.json.id}/token`, {
    method: 'PUT', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/pkcs7-mime' }, body: sim.issueToken(apple, pem).smime,
  });
  expect(up.status).toBe(200);
  sim.addDevices(apple, 25);
  await server.ctx.scheduler.runNow('abm-sync');

  const sales = await server.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Sales', groupId: 'SALES' } });
  expect(sales.status).toBe(201);
  expect((await server.api('/api/v1/users', { body: { username: 'alice', password: 'alice has a long passphrase', defaultGroupId: sales.json.id } })).status).toBe(201);
  expect((await server.api('/api/v1/registration-tokens', { body: { groupId: sales.json.id, maxUses: 5 } })).status).toBe(201);

  const mac = new SimulatedDevice({ platform: 'macOS' });
  await mac.enroll(await server.profile());
  server.wake(mac);
  await mac.checkin({ MessageType: 'SetBootstrapToken', UDID: mac.udid, BootstrapToken: BOOTSTRAP_TOKEN, AwaitingConfiguration: false });
  const sent = await server.api('/api/v1/commands', { body: { devices: [mac.udid], command: { RequestType: 'DeviceInformation', Queries: ['DeviceName'] } } });
  expect(sent.status).toBe(201);
  await server.commandSettled(sent.json.commandUuid);

  return {
    server, sim, abmServerId: created.json.id as string, appleServerUuid: apple,
    async close() {
      await server.close();
      await sim.close();
    },
  };
}

/** A row as text that compares equal across dialects: keys sorted, bytes as base64. */
function canonical(row: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(row).sort().map((k) => [k, Buffer.isBuffer(row[k]) ? { bytes: (row[k] as Buffer).toString('base64') } : row[k]]));
}

export function canonicalTables(s: Snapshot): Record<string, string[]> {
  return Object.fromEntries(s.tables.map((t) => [t.name, t.rows.map(canonical).sort()]));
}

/** Every table of `b` holds exactly the rows of `a`, value for value. */
export async function expectSameRows(a: Kysely<any> | Snapshot, b: Kysely<any>): Promise<void> {
  const left = 'tables' in a ? a : await readSnapshot(a);
  const right = await readSnapshot(b);
  expect(right.migrations).toEqual(left.migrations);
  const l = canonicalTables(left);
  const r = canonicalTables(right);
  expect(Object.keys(r).sort()).toEqual(Object.keys(l).sort());
  for (const table of Object.keys(l)) expect({ table, rows: r[table] }).toEqual({ table, rows: l[table] });
}
