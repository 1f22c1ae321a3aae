import { afterEach, describe, expect, it } from 'vitest';
import type { AbmSimulator } from './server.js';
import { oauthHeader, rawRequest, simWithClient, TestDepClient } from './test-client.js';

let sim: AbmSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('User-Agent, session and token checks', () => {
  it('requires a User-Agent everywhere and refuses library defaults', async () => {
    const s = await simWithClient();
    sim = s.sim;
    const url = `${sim.url}/session`;
    const signed = () => oauthHeader(s.client.tokens, 'GET', url);
    let a = await rawRequest(url, 'GET', { Authorization: signed() });
    expect([a.status, a.text]).toEqual([400, 'USER_AGENT_MISSING']);
    a = await rawRequest(url, 'GET', { Authorization: signed(), 'User-Agent': 'nanodep-godep/0' });
    expect([a.status, a.text]).toEqual([400, 'USER_AGENT_INVALID']);
    a = await rawRequest(url, 'GET', { Authorization: signed(), 'User-Agent': 'node' });
    expect([a.status, a.text]).toEqual([400, 'USER_AGENT_INVALID']);
    a = await rawRequest(`${sim.url}/account`, 'GET', {});
    expect([a.status, a.text]).toEqual([400, 'USER_AGENT_MISSING']);
    a = await rawRequest(url, 'GET', { Authorization: signed(), 'User-Agent': 'pomona/0.1' });
    expect(a.status).toBe(200);
  });

  it('issues a session over OAuth and answers with Apple’s content type', async () => {
    const s = await simWithClient();
    sim = s.sim;
    const a = await s.client.session();
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('application/json;charset=UTF8');
    expect(Object.keys(JSON.parse(a.text))).toEqual(['auth_session_token']);
    const acc = await s.client.call('GET', '/account');
    expect(acc.status).toBe(200);
    expect(acc.headers['content-type']).toBe('application/json;charset=UTF8');
    expect(JSON.parse(acc.text).server_uuid).toBe(s.serverUuid);
  });

  it('answers 401 without a session, with an unknown one and with an expired one', async () => {
    let now = Date.UTC(2026, 0, 1);
    const s = await simWithClient({ now: () => now, sessions: { ttlMs: 10 * 60_000 } });
    sim = s.sim;
    // the client signs with the same (injected) clock
    expect((await s.client.call('GET', '/account')).status).toBe(401);
    s.client.sessionToken = 'made-up';
    expect(await s.client.call('GET', '/account')).toMatchObject({ status: 401, text: 'UNAUTHORIZED' });
    const c = new TestDepClient(sim.url, s.client.tokens);
    const signedAt = Math.floor(now / 1000);
    const a = await rawRequest(`${sim.url}/session`, 'GET', { 'User-Agent': 'pomona/0.1', Authorization: oauthHeader(c.tokens, 'GET', `${sim.url}/session`, { timestamp: signedAt }) });
    c.sessionToken = JSON.parse(a.text).auth_session_token;
    expect((await c.call('GET', '/account')).status).toBe(200);
    now += 10 * 60_000 - 1;
    expect((await c.call('GET', '/account')).status).toBe(200);
    now += 1;
    expect((await c.call('GET', '/account')).status).toBe(401);
  });

  it('expires sessions on demand and accepts a fresh one at once', async () => {
    const s = await simWithClient();
    sim = s.sim;
    await s.client.session();
    expect((await s.client.call('GET', '/account')).status).toBe(200);
    expect(sim.expireSessions()).toBe(1);
    expect((await s.client.call('GET', '/account')).status).toBe(401);
    const before = s.client.sessionCalls;
    expect((await s.client.api('GET', '/account')).status).toBe(200);
    expect(s.client.sessionCalls).toBe(before + 1);
  });

  it('rotates the session in the X-ADM-Auth-Session response header; the old token dies', async () => {
    const s = await simWithClient({ sessions: { rotateEveryRequests: 2 } });
    sim = s.sim;
    await s.client.session();
    const first = s.client.sessionToken!;
    let a = await s.client.call('GET', '/account');
    expect(a.headers['x-adm-auth-session']).toBeUndefined();
    a = await s.client.call('GET', '/account');
    const rotated = a.headers['x-adm-auth-session'];
    expect(typeof rotated).toBe('string');
    expect(rotated).not.toBe(first);
    expect(a.status).toBe(200);
    const stale = new TestDepClient(sim.url, s.client.tokens);
    stale.sessionToken = first;
    expect((await stale.call('GET', '/account')).status).toBe(401);
    expect((await s.client.call('GET', '/account')).status).toBe(200); // the client switched to the rotated token
  });

  it('keeps a rotated-away token alive for the grace period when asked', async () => {
    let now = Date.now();
    const s = await simWithClient({ now: () => now, sessions: { rotateEveryRequests: 1, rotationGraceMs: 5000 } });
    sim = s.sim;
    await s.client.session();
    const first = s.client.sessionToken!;
    await s.client.call('GET', '/account');
    const withFirst = () => rawRequest(`${sim!.url}/account`, 'GET', { 'User-Agent': 'pomona/0.1', 'X-ADM-Auth-Session': first });
    expect((await withFirst()).status).toBe(200);
    now += 4999;
    expect((await withFirst()).status).toBe(200);
    now += 1;
    expect((await withFirst()).status).toBe(401);
  });

  it('T_C_NOT_SIGNED on /session and on API calls while the terms are not accepted', async () => {
    const s = await simWithClient();
    sim = s.sim;
    await s.client.session();
    sim.setTermsNotSigned(true);
    expect(await s.client.call('GET', '/account')).toMatchObject({ status: 403, text: 'T_C_NOT_SIGNED' });
    expect(await s.client.session()).toMatchObject({ status: 403, text: 'T_C_NOT_SIGNED' });
    sim.setTermsNotSigned(false);
    expect((await s.client.api('GET', '/account')).status).toBe(200);
  });

  it('token_rejected: 401 from /session, 403 on API calls; issuing a new token revokes the old one', async () => {
    const s = await simWithClient();
    sim = s.sim;
    await s.client.session();
    sim.rejectToken(s.serverUuid);
    expect(await s.client.call('GET', '/account')).toMatchObject({ status: 403, text: 'token_rejected' });
    expect(await s.client.session()).toMatchObject({ status: 401, text: 'token_rejected' });

    const pem = (await import('node:fs')).readFileSync(new URL('../../../test/fixtures/abm-sim/token/mdm-server-cert.pem', import.meta.url), 'utf8');
    const first = sim.issueToken(s.serverUuid, pem);
    const c1 = new TestDepClient(sim.url, first.tokens);
    expect((await c1.api('GET', '/account')).status).toBe(200);
    const second = sim.issueToken(s.serverUuid, pem);
    expect(await c1.call('GET', '/account')).toMatchObject({ status: 403, text: 'token_rejected' });
    const c2 = new TestDepClient(sim.url, second.tokens);
    expect((await c2.api('GET', '/account')).status).toBe(200);
    const kept = sim.issueToken(s.serverUuid, pem, { keepPrevious: true });
    expect((await c2.call('GET', '/account')).status).toBe(200);
    expect((await new TestDepClient(sim.url, kept.tokens).api('GET', '/account')).status).toBe(200);
    expect(() => sim!.issueToken(s.serverUuid, 'garbage')).toThrow();
    expect((await c2.call('GET', '/account')).status).toBe(200); // a bad certificate revoked nothing
  });

  it('an expired access token: API calls 401, /session 401 token_expired', async () => {
    const s = await simWithClient();
    sim = s.sim;
    await s.client.session();
    sim.clock.advance(366 * 24 * 3600_000);
    expect((await s.client.call('GET', '/account')).status).toBe(401);
    expect(await s.client.session()).toMatchObject({ status: 401, text: 'token_expired' });
  });

  it('ACCESS_DENIED per server; other servers unaffected', async () => {
    const s = await simWithClient();
    sim = s.sim;
    const other = sim.createServer({ name: 'other' });
    const c2 = new TestDepClient(sim.url, sim.org.newToken(sim.org.server(other.serverUuid)).tokens);
    sim.setAccessDenied(s.serverUuid, true);
    expect(await s.client.api('GET', '/account')).toMatchObject({ status: 403, text: 'ACCESS_DENIED' });
    expect((await c2.api('GET', '/account')).status).toBe(200);
  });

  it('depsim dialect: JSON-quoted codes, 403 FORBIDDEN for an unknown session, PUT-only assign, Content-Type on /session', async () => {
    const s = await simWithClient({ dialect: 'depsim' });
    sim = s.sim;
    s.client.sessionToken = 'from-before-a-restart';
    expect(await s.client.call('GET', '/account')).toMatchObject({ status: 403, text: '"FORBIDDEN"' });
    const url = `${sim.url}/session`;
    const noCt = await rawRequest(url, 'GET', { 'User-Agent': 'pomona/0.1', Authorization: oauthHeader(s.client.tokens, 'GET', url) });
    expect(noCt.status).toBe(400);
    const ok = await rawRequest(url, 'GET', { 'User-Agent': 'pomona/0.1', 'Content-Type': 'application/json;charset=UTF8', Authorization: oauthHeader(s.client.tokens, 'GET', url) });
    expect(ok.status).toBe(200);
    s.client.sessionToken = JSON.parse(ok.text).auth_session_token;
    expect(await s.client.call('POST', '/devices/sync', {})).toMatchObject({ status: 400, text: '"CURSOR_REQUIRED"' });
    expect((await s.client.call('POST', '/profile/devices', { profile_uuid: 'x', devices: ['y'] })).status).toBe(405);
    expect(await s.client.call('PUT', '/profile/devices', { profile_uuid: 'x', devices: ['y'] })).toMatchObject({ status: 404, text: '"NOT_FOUND"' });
  });

  it('unknown paths and methods, malformed bodies', async () => {
    const s = await simWithClient();
    sim = s.sim;
    await s.client.session();
    expect(await s.client.call('GET', '/nope')).toMatchObject({ status: 404, text: 'NOT_FOUND' });
    expect(await s.client.call('GET', '/server/devices')).toMatchObject({ status: 405 });
    const bad = await rawRequest(`${sim.url}/server/devices`, 'POST', { 'User-Agent': 'pomona/0.1', 'X-ADM-Auth-Session': s.client.sessionToken!, 'Content-Type': 'application/json;charset=UTF8' }, '{"limit":');
    expect([bad.status, bad.text]).toEqual([400, 'MALFORMED_REQUEST_BODY']);
    expect(await s.client.call('POST', '/server/devices', { limit: 'ten' })).toMatchObject({ status: 400, text: 'MALFORMED_REQUEST_BODY' });
  });

  it('records what the client sent (for asserting its wire format)', async () => {
    const s = await simWithClient();
    sim = s.sim;
    await s.client.api('POST', '/server/devices', { limit: 5 });
    const r = sim.requests().at(-1)!;
    expect(r).toMatchObject({ method: 'POST', path: '/server/devices', status: 200, serverUuid: s.serverUuid });
    expect(r.headers['x-server-protocol-version']).toBe('10');
    expect(r.headers['content-type']).toBe('application/json;charset=UTF8');
    expect(JSON.parse(r.body)).toEqual({ limit: 5 });
  });
});
