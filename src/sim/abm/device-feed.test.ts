import { afterEach, describe, expect, it } from 'vitest';
import type { AbmSimulator } from './server.js';
import { simWithClient, TestDepClient } from './test-client.js';

interface Page {
  devices: Record<string, any>[];
  cursor: string;
  more_to_follow: boolean;
  fetched_until: string;
}

let sim: AbmSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function fetchAll(client: TestDepClient, limit?: number): Promise<{ serials: string[]; cursor: string; pages: number }> {
  const serials: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const body: Record<string, unknown> = {};
    if (cursor) body.cursor = cursor;
    if (limit) body.limit = limit;
    const p = await client.json<Page>('POST', '/server/devices', body);
    pages++;
    serials.push(...p.devices.map((d) => d.serial_number));
    cursor = p.cursor;
    if (!p.more_to_follow) return { serials, cursor, pages };
  }
}

async function syncAll(client: TestDepClient, cursor: string, limit?: number): Promise<{ records: Record<string, any>[]; cursor: string }> {
  const records: Record<string, any>[] = [];
  for (;;) {
    const p = await client.json<Page>('POST', '/devices/sync', limit ? { cursor, limit } : { cursor });
    records.push(...p.devices);
    cursor = p.cursor;
    if (!p.more_to_follow) return { records, cursor };
  }
}

describe('fetch and sync: the cursor state machine', () => {
  it('a fetch without cursor pages through every assigned device once, oldest assignment first', async () => {
    const s = await simWithClient({}, { devices: 250 });
    sim = s.sim;
    const first = await s.client.json<Page>('POST', '/server/devices', {});
    expect(first.devices).toHaveLength(100); // schema default
    expect(first.more_to_follow).toBe(true);
    expect(first.devices[0].op_type).toBeUndefined();
    const all = await fetchAll(s.client, 40);
    expect(all.pages).toBe(7);
    expect(new Set(all.serials).size).toBe(250);
    const dates = sim.devices(s.serverUuid).map((d) => d.device_assigned_date as string);
    expect(all.serials).toEqual(sim.devices(s.serverUuid).map((d) => d.serial_number));
    expect([...dates].sort()).toEqual(dates);
  });

  it('an exact multiple of the limit ends with more_to_follow false (no empty page)', async () => {
    const s = await simWithClient({}, { devices: 30 });
    sim = s.sim;
    const all = await fetchAll(s.client, 10);
    expect(all.pages).toBe(3);
  });

  it('EXHAUSTED_CURSOR on fetch with a drained cursor; sync continues from it', async () => {
    const s = await simWithClient({}, { devices: 5 });
    sim = s.sim;
    const { cursor } = await fetchAll(s.client);
    expect(await s.client.api('POST', '/server/devices', { cursor })).toMatchObject({ status: 400, text: 'EXHAUSTED_CURSOR' });
    const sync = await s.client.json<Page>('POST', '/devices/sync', { cursor });
    expect(sync.devices).toEqual([]);
    expect(sync.more_to_follow).toBe(false);
    // a sync cursor used with fetch is exhausted too (NanoDEP's restart path relies on it)
    expect(await s.client.api('POST', '/server/devices', { cursor: sync.cursor })).toMatchObject({ status: 400, text: 'EXHAUSTED_CURSOR' });
  });

  it('CURSOR_REQUIRED, INVALID_CURSOR (garbage, tampered, another server’s) and EXPIRED_CURSOR', async () => {
    const frozen = Date.now();
    const s = await simWithClient({ now: () => frozen, oauthNow: Date.now }, { devices: 5 });
    sim = s.sim;
    expect(await s.client.api('POST', '/devices/sync', {})).toMatchObject({ status: 400, text: 'CURSOR_REQUIRED' });
    expect(await s.client.api('POST', '/devices/sync', { cursor: '' })).toMatchObject({ status: 400, text: 'CURSOR_REQUIRED' });
    for (const cursor of ['nonsense', 'MTY1NzI2ODE5Ny0x', 'x'.repeat(1001)]) {
      expect(await s.client.api('POST', '/devices/sync', { cursor })).toMatchObject({ status: 400, text: 'INVALID_CURSOR' });
      expect(await s.client.api('POST', '/server/devices', { cursor })).toMatchObject({ status: 400, text: 'INVALID_CURSOR' });
    }
    const { cursor } = await fetchAll(s.client);
    const decoded = Buffer.from(cursor, 'base64').toString('latin1');
    const tampered = Buffer.from(decoded.replace(/:(\d+):(\d+):/, ':0:$2:')).toString('base64').replace(/=+$/, '');
    expect(await s.client.api('POST', '/devices/sync', { cursor: tampered })).toMatchObject({ status: 400, text: 'INVALID_CURSOR' });

    const other = sim.createServer({ name: 'other' });
    const c2 = new TestDepClient(sim.url, sim.org.newToken(sim.org.server(other.serverUuid)).tokens);
    expect(await c2.api('POST', '/devices/sync', { cursor })).toMatchObject({ status: 400, text: 'INVALID_CURSOR' });

    sim.clock.advance(7 * 24 * 3600_000);
    expect((await s.client.api('POST', '/devices/sync', { cursor })).status).toBe(200); // exactly 7 days: still valid
    sim.clock.advance(1);
    expect(await s.client.api('POST', '/devices/sync', { cursor })).toMatchObject({ status: 400, text: 'EXPIRED_CURSOR' });
  });

  it('each answer issues a fresh cursor, so a client that syncs regularly never expires', async () => {
    const s = await simWithClient({}, { devices: 3 });
    sim = s.sim;
    let { cursor } = await fetchAll(s.client);
    for (let i = 0; i < 3; i++) {
      sim.clock.advance(5 * 24 * 3600_000);
      cursor = (await s.client.json<Page>('POST', '/devices/sync', { cursor })).cursor;
    }
    expect((await s.client.api('POST', '/devices/sync', { cursor })).status).toBe(200);
  });

  it('sync returns added / modified / deleted in order; a serial may appear several times', async () => {
    const s = await simWithClient({}, { devices: 4 });
    sim = s.sim;
    const { cursor } = await fetchAll(s.client);
    const [a, b] = sim.addDevices(s.serverUuid, 2);
    sim.clock.advance(1000);
    sim.modifyDevices([a], { asset_tag: 'TAG-1' });
    sim.clock.advance(1000);
    sim.modifyDevices([a], { color: 'GOLD' });
    sim.clock.advance(1000);
    sim.deleteDevices([b]);
    const { records, cursor: after } = await syncAll(s.client, cursor, 2);
    expect(records.map((r) => [r.serial_number, r.op_type])).toEqual([
      [a, 'added'],
      [b, 'added'],
      [a, 'modified'],
      [a, 'modified'],
      [b, 'deleted'],
    ]);
    expect(records[2].asset_tag).toBe('TAG-1');
    expect(records[2].color).not.toBe('GOLD'); // each record shows the device as it was then
    expect(records[3].color).toBe('GOLD');
    expect(records[0].op_date).toBe(records[0].device_assigned_date);
    const ops = records.map((r) => r.op_date);
    expect([...ops].sort()).toEqual(ops);
    expect((await syncAll(s.client, after)).records).toEqual([]);
  });

  it('moves: deleted on the old server, added (or, Apple’s oddity, modified) on the new one', async () => {
    const s = await simWithClient({}, { devices: 3 });
    sim = s.sim;
    const other = sim.createServer({ name: 'other' });
    const c2 = new TestDepClient(sim.url, sim.org.newToken(sim.org.server(other.serverUuid)).tokens);
    const c1From = (await fetchAll(s.client)).cursor;
    const c2From = (await fetchAll(c2)).cursor;
    const [x, y] = sim.devices(s.serverUuid).map((d) => d.serial_number);
    sim.moveDevices([x], other.serverUuid);
    sim.moveDevices([y], other.serverUuid, { as: 'modified' });
    expect((await syncAll(s.client, c1From)).records.map((r) => [r.serial_number, r.op_type])).toEqual([
      [x, 'deleted'],
      [y, 'deleted'],
    ]);
    const onNew = (await syncAll(c2, c2From)).records;
    expect(onNew.map((r) => [r.serial_number, r.op_type])).toEqual([
      [x, 'added'],
      [y, 'modified'],
    ]);
    expect(onNew[0].profile_status).toBe('empty');
    expect((await fetchAll(c2)).serials.sort()).toEqual([x, y].sort());
    expect((await fetchAll(s.client)).serials).toHaveLength(1);
    expect(sim.device(x)!.server_uuid).toBe(other.serverUuid);
  });

  it('a device deleted during a full fetch is skipped by the fetch and reported by the sync', async () => {
    const s = await simWithClient({}, { devices: 10 });
    sim = s.sim;
    const serials = sim.devices(s.serverUuid).map((d) => d.serial_number);
    const p1 = await s.client.json<Page>('POST', '/server/devices', { limit: 4 });
    sim.deleteDevices([serials[6]]);
    const [late] = sim.addDevices(s.serverUuid, 1);
    let cursor = p1.cursor;
    const seen = p1.devices.map((d) => d.serial_number);
    for (;;) {
      const p = await s.client.json<Page>('POST', '/server/devices', { cursor, limit: 4 });
      seen.push(...p.devices.map((d) => d.serial_number));
      cursor = p.cursor;
      if (!p.more_to_follow) break;
    }
    expect(seen).toEqual(serials.filter((_, i) => i !== 6)); // the fetch is a snapshot: no late addition
    const { records } = await syncAll(s.client, cursor);
    expect(records.map((r) => [r.serial_number, r.op_type])).toEqual([
      [serials[6], 'deleted'],
      [late, 'added'],
    ]);
  });

  it('a mid-fetch cursor given to sync continues from the fetch’s snapshot', async () => {
    const s = await simWithClient({}, { devices: 10 });
    sim = s.sim;
    const p1 = await s.client.json<Page>('POST', '/server/devices', { limit: 3 });
    const [late] = sim.addDevices(s.serverUuid, 1);
    const { records } = await syncAll(s.client, p1.cursor);
    expect(records.map((r) => r.serial_number)).toEqual([late]);
  });

  it('limit: default and maximum from the options, advertised in /account urls; larger limits are clamped', async () => {
    const s = await simWithClient({ fetchLimit: { default: 7, maximum: 20 }, syncLimit: { default: 3, maximum: 5 } }, { devices: 30 });
    sim = s.sim;
    const acc = await s.client.json('GET', '/account');
    const byUri = Object.fromEntries(acc.urls.map((u: any) => [u.uri, u]));
    expect(byUri['/server/devices'].limit).toEqual({ default: 7, maximum: 20 });
    expect(byUri['/devices/sync'].limit).toEqual({ default: 3, maximum: 5 });
    expect(byUri['/profile/devices'].http_method).toEqual(['DELETE', 'POST', 'PUT']);
    expect((await s.client.json<Page>('POST', '/server/devices', {})).devices).toHaveLength(7);
    expect((await s.client.json<Page>('POST', '/server/devices', { limit: 1000 })).devices).toHaveLength(20);
    const { cursor } = await fetchAll(s.client, 20);
    sim.addDevices(s.serverUuid, 9);
    const page = await s.client.json<Page>('POST', '/devices/sync', { cursor, limit: 50 });
    expect(page.devices).toHaveLength(5);
    expect(page.more_to_follow).toBe(true);
    expect(await s.client.api('POST', '/devices/sync', { cursor, limit: -1 })).toMatchObject({ status: 400 });
  });

  it('device records follow the protocol version (os/device_family v2+, iPadOS v7+, v10 identifiers)', async () => {
    const s = await simWithClient({}, {});
    sim = s.sim;
    sim.addDevices(s.serverUuid, 60, { families: ['iPad'] });
    const [mac] = sim.addDevices(s.serverUuid, [{ model: 'MacBook Pro', device_family: 'Mac', os: 'OSX', mdm_migration_deadline: Date.UTC(2027, 0, 1) }]);
    const at = async (protocol: number) => {
      s.client.protocol = protocol;
      const p = await s.client.json<Page>('POST', '/server/devices', { limit: 1000 });
      return { ipad: p.devices[0], mac: p.devices.find((d) => d.serial_number === mac)! };
    };
    let r = await at(1);
    expect(r.ipad.os).toBeUndefined();
    expect(r.ipad.device_family).toBeUndefined();
    r = await at(3);
    expect([r.ipad.os, r.ipad.device_family]).toEqual(['iOS', 'iPad']);
    r = await at(7);
    expect(r.ipad.os).toBe('iPadOS');
    expect(r.mac.mdm_migration_deadline).toBeUndefined();
    r = await at(8);
    expect(r.mac.mdm_migration_deadline).toBe('2027-01-01T00:00:00Z');
    expect(r.ipad.wifi_mac_address).toBeUndefined();
    r = await at(10);
    expect(r.ipad.wifi_mac_address).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(r.ipad.is_replacement_device).toBe(false);
    expect(r.mac.os).toBe('OSX');
  });

  it('released_by_replacement on deleted records (v10 only)', async () => {
    const s = await simWithClient({}, { devices: 2 });
    sim = s.sim;
    const { cursor } = await fetchAll(s.client);
    const [a] = sim.devices(s.serverUuid).map((d) => d.serial_number);
    sim.deleteDevices([a], { releasedByReplacement: true });
    expect((await syncAll(s.client, cursor)).records[0]).toMatchObject({ serial_number: a, op_type: 'deleted', released_by_replacement: true });
    s.client.protocol = 9;
    expect((await syncAll(s.client, cursor)).records[0].released_by_replacement).toBeUndefined();
  });
});
