import { afterEach, describe, expect, it } from 'vitest';
import { startAbmSimulator, type AbmSimulator } from './server.js';
import { simWithClient, TestDepClient } from './test-client.js';

const sims: AbmSimulator[] = [];
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close();
});

describe('saved state', () => {
  it('a restart keeps servers, tokens, devices, profiles, change logs and cursors; sessions are gone', async () => {
    const s = await simWithClient({}, { devices: 20 });
    sims.push(s.sim);
    const serials = s.sim.devices(s.serverUuid).map((d) => d.serial_number);
    const { cursor } = await s.client.json('POST', '/server/devices', { limit: 100 });
    const { profile_uuid } = await s.client.json('POST', '/profile', { profile_name: 'p', url: 'https://x.example/e', is_mdm_removable: true, org_magic: '1', devices: [serials[0]] });
    s.sim.deleteDevices([serials[1]], { fromOrg: true });
    s.sim.addDevices(null, 3);
    const state = JSON.parse(JSON.stringify(s.sim.saveState()));

    const again = await startAbmSimulator({ state });
    sims.push(again);
    const c = new TestDepClient(again.url, s.client.tokens);
    c.sessionToken = s.client.sessionToken;
    expect((await c.call('GET', '/account')).status).toBe(401);
    const sync = await c.json('POST', '/devices/sync', { cursor });
    expect(sync.devices.map((d: any) => [d.serial_number, d.op_type])).toEqual([
      [serials[0], 'modified'],
      [serials[1], 'deleted'],
    ]);
    expect((await c.json('GET', `/profile?profile_uuid=${profile_uuid}`)).profile_name).toBe('p');
    expect(again.devices()).toHaveLength(22);
    expect(again.device(serials[1])).toBeUndefined();
    expect(again.activate(serials[0])).toMatchObject({ ok: true });
    expect(again.saveState().devices.length).toBeGreaterThanOrEqual(22);
  });
});
