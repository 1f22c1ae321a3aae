import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestPushCertificate, type PushCertificate } from '../../apple/push-certificate.js';
import { startApnsSimulator, type ApnsSimulator } from '../../sim/apns.js';
import { ApnsClient, type ApnsClientOptions, type ApnsCredentials } from './apns-client.js';

const token = (n: number) => n.toString(16).padStart(64, '0');

describe('ApnsClient against the APNs simulator (HTTP/2 + TLS on loopback)', () => {
  let pc: PushCertificate;
  let renewed: PushCertificate; // same topic, new certificate and key
  let stranger: PushCertificate; // not trusted by the simulator
  let sim: ApnsSimulator;
  let client: ApnsClient;
  let sleeps: number[];
  const creds = (c: PushCertificate): ApnsCredentials => ({ topic: c.topic, certPem: c.certPem, keyPem: c.keyPem });
  const makeClient = (opts: ApnsClientOptions = {}) => {
    client = new ApnsClient({ baseUrl: sim.url, ca: sim.caPem, sleep: async (ms) => void sleeps.push(ms), random: () => 1, ...opts });
    return client;
  };

  beforeAll(async () => {
    pc = await createTestPushCertificate();
    renewed = await createTestPushCertificate({ topic: pc.topic });
    stranger = await createTestPushCertificate();
  });
  beforeEach(async () => {
    sim = await startApnsSimulator({ trustedClientCerts: [pc.certPem, renewed.certPem] });
    sleeps = [];
  });
  afterEach(async () => {
    await client?.close();
    await sim.close();
  });

  it('sends exactly what Apple expects and returns the apns-id', async () => {
    const [result] = await makeClient().send(creds(pc), [{ token: token(1).toUpperCase(), pushMagic: 'magic-1' }]);
    expect(result).toMatchObject({ token: token(1).toUpperCase(), status: 'sent', httpStatus: 200 });
    expect(result.apnsId).toMatch(/^[0-9A-F-]{36}$/);
    const [seen] = sim.requests;
    expect(seen.method).toBe('POST');
    expect(seen.path).toBe(`/3/device/${token(1)}`);
    expect(seen.body).toBe('{"mdm":"magic-1"}');
    expect(seen.headers).toMatchObject({
      'apns-push-type': 'mdm',
      'apns-topic': pc.topic,
      'apns-priority': '10',
      'content-type': 'application/json',
    });
    expect(sim.pushes).toEqual([{ token: token(1), topic: pc.topic, pushMagic: 'magic-1', apnsId: result.apnsId, at: expect.any(Number) }]);
  });

  it('escapes the PushMagic as JSON', async () => {
    await makeClient().send(creds(pc), [{ token: token(1), pushMagic: 'a"b\\c' }]);
    expect(sim.requests[0].body).toBe('{"mdm":"a\\"b\\\\c"}');
    expect(sim.pushes[0].pushMagic).toBe('a"b\\c');
  });

  it('multiplexes many concurrent pushes over one session', async () => {
    const pushes = Array.from({ length: 200 }, (_, i) => ({ token: token(i), pushMagic: `m${i}` }));
    const results = await makeClient().send(creds(pc), pushes);
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    expect(results.map((r) => r.token)).toEqual(pushes.map((p) => p.token));
    expect(sim.pushes).toHaveLength(200);
    expect(sim.stats.sessions).toBe(1);
    await client.send(creds(pc), pushes.slice(0, 5));
    expect(sim.stats.sessions).toBe(1);
  });

  it('keeps at most maxConcurrentStreams in flight and queues the rest', async () => {
    makeClient({ maxConcurrentStreams: 4 });
    sim.pause();
    const pending = client.send(creds(pc), Array.from({ length: 20 }, (_, i) => ({ token: token(i), pushMagic: 'm' })));
    await vi.waitFor(() => expect(sim.stats.inFlight).toBe(4));
    await new Promise((r) => setTimeout(r, 50)); // room for a fifth stream to show up if the bound leaked
    expect(sim.stats.inFlight).toBe(4);
    sim.resume();
    expect((await pending).every((r) => r.status === 'sent')).toBe(true);
    expect(sim.stats.maxInFlight).toBe(4);
  });

  it('reports 410 Unregistered as an invalid token, without retry', async () => {
    sim.markUnregistered(token(7));
    const [r] = await makeClient().send(creds(pc), [{ token: token(7), pushMagic: 'm' }]);
    expect(r).toMatchObject({ status: 'invalid-token', httpStatus: 410, reason: 'Unregistered' });
    expect(sim.requests).toHaveLength(1);
  });

  it('reports 400 BadDeviceToken as an invalid token; refuses a non-hex token locally', async () => {
    const results = await makeClient().send(creds(pc), [
      { token: 'abcd'.repeat(4), pushMagic: 'm' },
      { token: 'not-hex', pushMagic: 'm' },
    ]);
    expect(results[0]).toMatchObject({ status: 'invalid-token', httpStatus: 400, reason: 'BadDeviceToken' });
    expect(results[1]).toMatchObject({ status: 'invalid-token', reason: 'BadDeviceToken' });
    expect(sim.requests).toHaveLength(1);
  });

  it('retries 429 with backoff and then succeeds', async () => {
    sim.injectFaults(429, 1);
    const [r] = await makeClient().send(creds(pc), [{ token: token(1), pushMagic: 'm' }]);
    expect(r.status).toBe('sent');
    expect(sim.requests.map((q) => q.status)).toEqual([429, 200]);
    expect(sleeps).toEqual([200]);
  });

  it('gives up on a persistent 503 after the configured attempts, backing off exponentially', async () => {
    sim.injectFaults(503, 100);
    const [r] = await makeClient({ attempts: 4, baseDelayMs: 100 }).send(creds(pc), [{ token: token(1), pushMagic: 'm' }]);
    expect(r).toMatchObject({ status: 'failed', httpStatus: 503, reason: 'ServiceUnavailable' });
    expect(sim.requests).toHaveLength(4);
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('jitters the backoff between half and all of the ceiling', async () => {
    sim.injectFaults(503, 100);
    await makeClient({ random: () => 0 }).send(creds(pc), [{ token: token(1), pushMagic: 'm' }]);
    expect(sleeps).toEqual([100, 200]);
  });

  it('does not retry other 4xx answers', async () => {
    const wrongTopic = { ...creds(pc), topic: 'com.apple.mgmt.External.not-mine' };
    const [r] = await makeClient().send(wrongTopic, [{ token: token(1), pushMagic: 'm' }]);
    expect(r).toMatchObject({ status: 'failed', httpStatus: 400, reason: 'BadTopic' });
    expect(sim.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('fails, without crashing, when the simulator does not trust the client certificate', async () => {
    const [r] = await makeClient().send(creds(stranger), [{ token: token(1), pushMagic: 'm' }]);
    expect(r.status).toBe('failed');
    expect(r.httpStatus).toBeUndefined();
    expect(r.reason).toMatch(/refused the TLS handshake/);
    expect(sim.stats.rejectedHandshakes).toBeGreaterThanOrEqual(1);
    expect(sim.pushes).toHaveLength(0);
    expect(sleeps).toHaveLength(2); // transport errors are retried
  });

  it('fails when nothing listens at the base URL', async () => {
    const url = sim.url;
    await sim.close();
    sim = await startApnsSimulator({ trustedClientCerts: [pc.certPem] });
    const c = new ApnsClient({ baseUrl: url, ca: sim.caPem, sleep: async () => {}, attempts: 2 });
    const [r] = await c.send(creds(pc), [{ token: token(1), pushMagic: 'm' }]);
    await c.close();
    expect(r).toMatchObject({ status: 'failed', reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('gives up on a push APNs does not answer in time', async () => {
    sim.pause();
    const [r] = await makeClient({ requestTimeoutMs: 30, attempts: 2 }).send(creds(pc), [{ token: token(1), pushMagic: 'm' }]);
    expect(r).toMatchObject({ status: 'failed', reason: 'no answer within 30 ms' });
    expect(sim.requests).toHaveLength(2);
  });

  it('reconnects after the server closes the session', async () => {
    makeClient();
    expect((await client.send(creds(pc), [{ token: token(1), pushMagic: 'm' }]))[0].status).toBe('sent');
    sim.closeSessions();
    await vi.waitFor(() => expect(sim.stats.openSessions).toBe(0));
    expect((await client.send(creds(pc), [{ token: token(2), pushMagic: 'm' }]))[0].status).toBe('sent');
    expect(sim.stats.sessions).toBe(2);
  });

  it('recovers when the session is closed while pushes are being sent', async () => {
    makeClient();
    sim.pause();
    const pending = client.send(creds(pc), Array.from({ length: 10 }, (_, i) => ({ token: token(i), pushMagic: 'm' })));
    await vi.waitFor(() => expect(sim.stats.inFlight).toBe(10));
    sim.closeSessions(); // GOAWAY: streams already accepted still finish
    sim.resume();
    expect((await pending).map((r) => r.status)).toEqual(Array(10).fill('sent'));
    expect((await client.send(creds(pc), [{ token: token(99), pushMagic: 'm' }]))[0].status).toBe('sent');
    expect(sim.stats.sessions).toBe(2);
  });

  it('opens a new session when the certificate of a topic is renewed', async () => {
    makeClient();
    await client.send(creds(pc), [{ token: token(1), pushMagic: 'm' }]);
    await client.send(creds(renewed), [{ token: token(2), pushMagic: 'm' }]);
    await client.send(creds(renewed), [{ token: token(3), pushMagic: 'm' }]);
    expect(sim.pushes.map((p) => p.topic)).toEqual([pc.topic, pc.topic, pc.topic]);
    expect(sim.stats.sessions).toBe(2);
    await vi.waitFor(() => expect(sim.stats.openSessions).toBe(1)); // the old one was closed
  });

  it('pings an idle session', async () => {
    makeClient({ pingIntervalMs: 20 });
    await client.send(creds(pc), [{ token: token(1), pushMagic: 'm' }]);
    await vi.waitFor(() => expect(sim.stats.pings).toBeGreaterThan(0));
    expect(sim.stats.openSessions).toBe(1);
  });
});
