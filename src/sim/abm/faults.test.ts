import { afterEach, describe, expect, it } from 'vitest';
import type { AbmSimulator } from './server.js';
import { rawRequest, simWithClient } from './test-client.js';

let sim: AbmSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('fault injection', () => {
  it('a 5xx storm: N answers replaced, then normal service', async () => {
    const s = await simWithClient({}, { devices: 3 });
    sim = s.sim;
    await s.client.session();
    sim.faults.add({ path: '*', times: 3, action: { kind: 'status', status: 503 } });
    for (let i = 0; i < 3; i++) expect(await s.client.call('GET', '/account')).toMatchObject({ status: 503, text: 'SERVICE_UNAVAILABLE' });
    expect((await s.client.call('GET', '/account')).status).toBe(200);
    expect(sim.faults.list()).toEqual([]);
    expect(sim.requests().slice(-4).map((r) => r.faults)).toEqual([['status'], ['status'], ['status'], []]);
  });

  it('skip lets requests through first; method and path narrow a rule; a rule can be removed', async () => {
    const s = await simWithClient({}, { devices: 3 });
    sim = s.sim;
    await s.client.session();
    sim.faults.add({ path: '/server/devices', method: 'POST', skip: 1, action: { kind: 'status', status: 500, body: '<html>oops</html>' } });
    const storm = sim.faults.add({ path: '/profile*', times: Infinity, action: { kind: 'status', status: 502 } });
    expect((await s.client.call('POST', '/server/devices', {})).status).toBe(200);
    expect((await s.client.call('GET', '/account')).status).toBe(200);
    expect(await s.client.call('POST', '/server/devices', {})).toMatchObject({ status: 500, text: '<html>oops</html>' });
    for (let i = 0; i < 5; i++) expect((await s.client.call('GET', '/profile?profile_uuid=x')).status).toBe(502);
    expect(sim.faults.remove(storm)).toBe(true);
    expect((await s.client.call('GET', '/profile?profile_uuid=x')).status).toBe(404);
  });

  it('Apple error codes on demand (e.g. EXHAUSTED_CURSOR on sync, 403 T_C_NOT_SIGNED once)', async () => {
    const s = await simWithClient({ dialect: 'depsim' }, { devices: 1 });
    sim = s.sim;
    await s.client.session();
    sim.faults.add({ path: '/devices/sync', action: { kind: 'status', status: 400, code: 'EXHAUSTED_CURSOR' } });
    expect(await s.client.call('POST', '/devices/sync', { cursor: 'x' })).toMatchObject({ status: 400, text: '"EXHAUSTED_CURSOR"' });
  });

  it('probability fires on a seeded share of requests', async () => {
    const s = await simWithClient({ seed: 'p' }, {});
    sim = s.sim;
    await s.client.session();
    sim.faults.add({ path: '/account', times: Infinity, probability: 0.5, action: { kind: 'status', status: 500 } });
    let failed = 0;
    for (let i = 0; i < 60; i++) if ((await s.client.call('GET', '/account')).status === 500) failed++;
    expect(failed).toBeGreaterThan(15);
    expect(failed).toBeLessThan(45);
  });

  it('hang: never answers (the client’s timeout fires); delay: answers late', async () => {
    const s = await simWithClient({}, { devices: 1 });
    sim = s.sim;
    await s.client.session();
    sim.faults.add({ path: '/account', action: { kind: 'hang' } });
    const headers = { 'User-Agent': 'pomona/0.1', 'X-ADM-Auth-Session': s.client.sessionToken! };
    await expect(rawRequest(`${sim.url}/account`, 'GET', headers, undefined, 300)).rejects.toThrow(/timeout/);
    expect(sim.requests().at(-1)!.status).toBe('hang');
    sim.faults.add({ path: '/account', action: { kind: 'delay', ms: 250 } });
    const t = Date.now();
    expect((await rawRequest(`${sim.url}/account`, 'GET', headers)).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(240);
  });

  it('reset, invalid JSON and wrong-shape JSON', async () => {
    const s = await simWithClient({}, { devices: 1 });
    sim = s.sim;
    await s.client.session();
    sim.faults.add({ path: '/account', action: { kind: 'reset' } });
    await expect(s.client.call('GET', '/account')).rejects.toThrow();
    sim.faults.add({ path: '/server/devices', action: { kind: 'invalid-json' } });
    const bad = await s.client.call('POST', '/server/devices', {});
    expect(bad.status).toBe(200);
    expect(() => JSON.parse(bad.text)).toThrow();
    sim.faults.add({ path: '/server/devices', action: { kind: 'wrong-shape' } });
    const odd = JSON.parse((await s.client.call('POST', '/server/devices', {})).text);
    expect(Array.isArray(odd.devices)).toBe(false);
    expect(typeof odd.more_to_follow).toBe('string');
  });

  it('truncate: the real page announced in full, cut short, connection closed', async () => {
    const s = await simWithClient({}, { devices: 50 });
    sim = s.sim;
    await s.client.session();
    sim.faults.add({ path: '/server/devices', action: { kind: 'truncate', bytes: 100 } });
    await expect(s.client.call('POST', '/server/devices', {})).rejects.toThrow();
    expect((await s.client.call('POST', '/server/devices', {})).status).toBe(200);
  });

  it('enormous: a page padded to many megabytes, chunked or with its Content-Length', async () => {
    const s = await simWithClient({}, { devices: 5 });
    sim = s.sim;
    await s.client.session();
    sim.faults.add({ path: '/server/devices', action: { kind: 'enormous', bytes: 8 * 1024 * 1024 } });
    const big = await s.client.call('POST', '/server/devices', {});
    expect(big.headers['content-length']).toBeUndefined();
    expect(big.text.length).toBeGreaterThanOrEqual(8 * 1024 * 1024 - 10);
    const parsed = JSON.parse(big.text);
    expect(parsed.devices).toHaveLength(5);
    sim.faults.add({ path: '/server/devices', action: { kind: 'enormous', bytes: 2 * 1024 * 1024, contentLength: true } });
    const sized = await s.client.call('POST', '/server/devices', {});
    expect(Number(sized.headers['content-length'])).toBe(Buffer.byteLength(sized.text));
  });

  it('expire-session: the session dies in the middle of a sync; re-authentication resumes it', async () => {
    const s = await simWithClient({ fetchLimit: { default: 2, maximum: 2 } }, { devices: 6 });
    sim = s.sim;
    sim.faults.add({ path: '/server/devices', skip: 1, action: { kind: 'expire-session' } });
    const p1 = await s.client.json('POST', '/server/devices', {});
    const before = s.client.sessionCalls;
    expect((await s.client.call('POST', '/server/devices', { cursor: p1.cursor })).status).toBe(401);
    const p2 = await s.client.json('POST', '/server/devices', { cursor: p1.cursor }); // same cursor, new session
    expect(s.client.sessionCalls).toBe(before + 1);
    expect(p2.devices.map((d: any) => d.serial_number)).not.toEqual(p1.devices.map((d: any) => d.serial_number));
  });

  it('stuck-cursor: more_to_follow true with the very cursor the client sent', async () => {
    const s = await simWithClient({}, { devices: 5 });
    sim = s.sim;
    const p1 = await s.client.json('POST', '/server/devices', { limit: 2 });
    sim.faults.add({ path: '/server/devices', times: 2, action: { kind: 'stuck-cursor' } });
    const p2 = await s.client.json('POST', '/server/devices', { cursor: p1.cursor, limit: 2 });
    expect(p2.cursor).toBe(p1.cursor);
    expect(p2.more_to_follow).toBe(true);
  });
});
