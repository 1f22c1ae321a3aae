import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAbmSimulator, type AbmSimulator } from './server.js';
import { rawRequest, TestDepClient } from './test-client.js';

const cert = readFileSync(new URL('../../../test/fixtures/abm-sim/token/mdm-server-cert.pem', import.meta.url), 'utf8');
const keyPath = new URL('../../../test/fixtures/abm-sim/token/mdm-server-key.TEST-ONLY.pem', import.meta.url).pathname;

let sim: AbmSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function ctl(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string; headers: Record<string, unknown> }> {
  const a = await rawRequest(`${sim!.url}/_sim${path}`, method, { 'Content-Type': 'application/json', ...headers }, body === undefined ? undefined : JSON.stringify(body));
  let json: unknown;
  try {
    json = JSON.parse(a.text);
  } catch {
    json = undefined;
  }
  return { status: a.status, json, text: a.text, headers: a.headers };
}

describe('HTTP control API under /_sim/', () => {
  it('scripts a whole scenario: server, token file, devices, move, faults, clock, activation', async () => {
    sim = await startAbmSimulator({ seed: 3 });
    const srv = (await ctl('POST', '/servers', { name: 'Pomona' })).json;
    expect(srv.serverUuid).toMatch(/^[0-9A-F]{32}$/);

    const file = await ctl('POST', `/servers/${srv.serverUuid}/token`, { certificate: cert });
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('application/pkcs7-mime; smime-type=enveloped-data');
    expect(file.headers['content-disposition']).toMatch(/^attachment; filename="Pomona_Token_.*Z_smime\.p7m"$/);
    expect(file.text.startsWith('Content-Type: application/pkcs7-mime; name="smime.p7m"')).toBe(true);
    if (spawnSync('openssl', ['version']).status === 0) {
      const dir = mkdtempSync(join(tmpdir(), 'abm-ctl-'));
      try {
        writeFileSync(join(dir, 't.p7m'), file.text);
        const out = execFileSync('openssl', ['smime', '-decrypt', '-in', join(dir, 't.p7m'), '-inkey', keyPath], { encoding: 'utf8' });
        expect(out).toContain('-----BEGIN MESSAGE-----');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const tokens = (await ctl('GET', `/servers/${srv.serverUuid}/tokens`)).json;
    expect(out(tokens)).toBe(true);
    const all = (await ctl('POST', `/servers/${srv.serverUuid}/token`, { certificate: cert, format: 'all', keepPrevious: true })).json;
    expect(Object.keys(all).sort()).toEqual(['derBase64', 'fileName', 'smime', 'tokens']);
    const asJson = await ctl('POST', `/servers/${srv.serverUuid}/token`, { certificate: cert, format: 'json', keepPrevious: true });
    const client = new TestDepClient(sim.url, asJson.json);

    const added = (await ctl('POST', `/servers/${srv.serverUuid}/devices`, { count: 12, families: ['Mac'], spreadDays: 10 })).json;
    expect(added.serials).toHaveLength(12);
    expect((await ctl('GET', `/devices/${added.serials[0]}`)).json).toMatchObject({ device_family: 'Mac', os: 'OSX', server_uuid: srv.serverUuid });
    const page = await client.json('POST', '/server/devices', { limit: 100 });
    expect(page.devices).toHaveLength(12);

    const other = (await ctl('POST', '/servers', { name: 'Other' })).json;
    expect((await ctl('POST', '/devices/move', { serials: added.serials.slice(0, 2), to: other.serverUuid, as: 'modified' })).status).toBe(200);
    expect((await ctl('POST', '/devices/modify', { serials: [added.serials[5]], changes: { asset_tag: 'A-5' } })).status).toBe(200);
    expect((await ctl('POST', '/devices/delete', { serials: [added.serials[6]] })).status).toBe(200);
    const log = (await ctl('GET', `/servers/${srv.serverUuid}/log?from=12`)).json;
    expect(log.map((e: any) => e.op)).toEqual(['deleted', 'deleted', 'modified', 'deleted']);
    const sync = await client.json('POST', '/devices/sync', { cursor: page.cursor });
    expect(sync.devices).toHaveLength(4);

    expect((await ctl('POST', '/faults', { path: '/account', times: null, action: { kind: 'status', status: 503 } })).json.id).toBeTruthy();
    expect((await client.api('GET', '/account')).status).toBe(503);
    expect((await client.api('GET', '/account')).status).toBe(503);
    expect((await ctl('GET', '/faults')).json[0]).toMatchObject({ fired: 2 });
    await ctl('DELETE', '/faults');
    expect((await client.api('GET', '/account')).status).toBe(200);

    await ctl('POST', '/org', { termsNotSigned: true });
    expect((await client.api('GET', '/account')).text).toBe('T_C_NOT_SIGNED');
    await ctl('POST', '/org', { termsNotSigned: false });

    const before = (await ctl('GET', '/clock')).json.ms;
    const after = (await ctl('POST', '/clock', { advanceMs: 8 * 24 * 3600_000 })).json.ms;
    expect(after - before).toBeGreaterThanOrEqual(8 * 24 * 3600_000);
    expect((await client.api('POST', '/devices/sync', { cursor: sync.cursor })).text).toBe('EXPIRED_CURSOR');

    const prof = await client.json('POST', '/profile', { profile_name: 'p', url: 'https://mdm.example.org/ade', is_mdm_removable: true, org_magic: '1', devices: [added.serials[3]] });
    const act = await ctl('POST', `/devices/${added.serials[3]}/activate`);
    expect(act.json).toMatchObject({ profile_uuid: prof.profile_uuid, url: 'https://mdm.example.org/ade' });
    expect((await ctl('POST', `/devices/${added.serials[4]}/activate`)).json).toMatchObject({ ok: false, reason: 'NO_PROFILE' });
    expect((await ctl('GET', '/assignments')).json.at(-1)).toMatchObject({ action: 'activate', serial: added.serials[3] });
    expect((await ctl('GET', '/profiles')).json).toHaveLength(1);

    await ctl('POST', '/assign-results', { serials: [added.serials[7]], status: 'THROTTLED' });
    expect((await client.json('POST', '/profile/devices', { profile_uuid: prof.profile_uuid, devices: [added.serials[7]] })).devices[added.serials[7]]).toBe('THROTTLED');

    expect((await ctl('POST', '/sessions/expire', {})).json.expired).toBeGreaterThan(0);
    expect((await ctl('GET', '/requests?limit=3')).json).toHaveLength(3);
    const state = await ctl('GET', '/state');
    expect(state.json.servers).toHaveLength(2);
  });

  it('answers 400/404 with a reason, and can require a control token', async () => {
    sim = await startAbmSimulator({ controlToken: 'secret' });
    expect((await ctl('GET', '/state')).status).toBe(403);
    const h = { 'X-Sim-Control-Token': 'secret' };
    expect((await ctl('GET', '/state', undefined, h)).status).toBe(200);
    expect((await ctl('POST', '/servers', {}, h))).toMatchObject({ status: 400, json: { error: 'name is required' } });
    expect((await ctl('POST', '/servers/NOPE/devices', { count: 1 }, h)).status).toBe(404);
    expect((await ctl('GET', '/nothing', undefined, h)).status).toBe(404);
    expect((await ctl('POST', '/servers/NOPE/token', { certificate: cert }, h)).status).toBe(404);
  });
});

function out(t: Record<string, string>): boolean {
  return /^CK_/.test(t.consumer_key) && /^AT_O/.test(t.access_token);
}
