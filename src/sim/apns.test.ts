import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestPushCertificate, type PushCertificate } from '../apple/push-certificate.js';
import { startApnsSimulator, type ApnsSimulator, type SimulatedPush } from './apns.js';

const TOKEN = 'ab'.repeat(32);

interface RawAnswer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh session, so each case stands alone. */
async function raw(
  sim: ApnsSimulator,
  cert: PushCertificate,
  req: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const session = http2.connect(sim.url, { cert: cert.certPem, key: cert.keyPem, ca: sim.caPem });
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':method': req.method ?? 'POST', ':path': req.path ?? `/3/device/${TOKEN}`, ...req.headers });
      const chunks: Buffer[] = [];
      let headers: http2.IncomingHttpHeaders = {};
      stream.on('response', (h) => (headers = h));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', reject);
      stream.on('close', () => {
        if (headers[':status'] === undefined) reject(new Error(`no answer (stream code ${stream.rstCode})`));
        else resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks).toString() });
      });
      stream.end(req.body ?? (req.method && req.method !== 'POST' ? undefined : '{"mdm":"magic"}'));
    });
  } finally {
    session.close();
  }
}

const reason = (a: RawAnswer) => (a.body ? (JSON.parse(a.body) as { reason: string }).reason : undefined);

describe('APNs simulator', () => {
  let a: PushCertificate;
  let b: PushCertificate;
  let sim: ApnsSimulator;

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestPushCertificate(), createTestPushCertificate()]);
    sim = await startApnsSimulator({ trustedClientCerts: [a.certPem] });
  });
  afterAll(() => sim.close());

  it('accepts a valid MDM push, answers 200 with an apns-id, records it and tells listeners', async () => {
    const seen: SimulatedPush[] = [];
    const off = sim.onPush((p) => seen.push(p));
    const ok = await raw(sim, a, { headers: { 'apns-push-type': 'mdm', 'apns-topic': a.topic, 'apns-priority': '10' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    expect(ok.headers['apns-id']).toMatch(/^[0-9A-F-]{36}$/);
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]).toEqual({ token: TOKEN, topic: a.topic, pushMagic: 'magic', apnsId: ok.headers['apns-id'], at: expect.any(Number) });
    expect(sim.pushes.at(-1)).toEqual(seen[0]);
    off();
    await raw(sim, a);
    await new Promise((r) => setImmediate(r));
    expect(seen).toHaveLength(1);
  });

  it('echoes the apns-id the provider chose', async () => {
    const id = '123E4567-E89B-12D3-A456-4266554400A0';
    expect((await raw(sim, a, { headers: { 'apns-id': id } })).headers['apns-id']).toBe(id);
  });

  it.each([
    ['GET', { method: 'GET' }, 405, 'MethodNotAllowed'],
    ['another path', { path: '/3/devices/abc' }, 404, 'BadPath'],
    ['no token', { path: '/3/device/' }, 400, 'MissingDeviceToken'],
    ['a short token', { path: `/3/device/${'ab'.repeat(16)}` }, 400, 'BadDeviceToken'],
    ['a non-hex token', { path: `/3/device/${'zz'.repeat(32)}` }, 400, 'BadDeviceToken'],
    ['push type alert', { headers: { 'apns-push-type': 'alert' } }, 400, 'InvalidPushType'],
    ['priority 7', { headers: { 'apns-priority': '7' } }, 400, 'BadPriority'],
    ["another certificate's topic", { headers: { 'apns-topic': 'com.apple.mgmt.External.someone-else' } }, 400, 'BadTopic'],
    ['an empty body', { body: '' }, 400, 'PayloadEmpty'],
    ['a body that is not JSON', { body: 'not json' }, 400, 'BadMessage'],
    ['a body without mdm', { body: '{"aps":{}}' }, 400, 'BadMessage'],
    ['a non-string mdm', { body: '{"mdm":42}' }, 400, 'BadMessage'],
    ['a 5 KB body', { body: JSON.stringify({ mdm: 'x'.repeat(5000) }) }, 413, 'PayloadTooLarge'],
  ])('rejects %s with %i %s', async (_label, req, status, why) => {
    const answer = await raw(sim, a, req);
    expect(answer.status).toBe(status);
    expect(reason(answer)).toBe(why);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(sim.requests.at(-1)).toMatchObject({ status, reason: why });
  });

  it('answers 410 Unregistered with a timestamp for an unregistered token', async () => {
    const token = 'cd'.repeat(32);
    sim.markUnregistered(token.toUpperCase());
    const answer = await raw(sim, a, { path: `/3/device/${token}` });
    expect(answer.status).toBe(410);
    expect(JSON.parse(answer.body)).toEqual({ reason: 'Unregistered', timestamp: expect.any(Number) });
  });

  it('serves injected faults to the next requests, in order', async () => {
    sim.injectFaults(429, 1);
    sim.injectFaults(503, 2);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await raw(sim, a)).status);
    expect(statuses).toEqual([429, 503, 503, 200]);
  });

  it('refuses client certificates it does not trust, until told to trust them', async () => {
    const before = sim.stats.rejectedHandshakes;
    await expect(raw(sim, b)).rejects.toThrow();
    expect(sim.stats.rejectedHandshakes).toBeGreaterThan(before);
    sim.trust(b.certPem);
    expect((await raw(sim, b, { path: `/3/device/${'ef'.repeat(32)}` })).status).toBe(200);
  });

  it('answers DeviceTokenNotForTopic for a token that belongs to another topic', async () => {
    // TOKEN was first pushed on a's topic; b is trusted by now.
    const answer = await raw(sim, b);
    expect(answer.status).toBe(400);
    expect(reason(answer)).toBe('DeviceTokenNotForTopic');
  });

  it('counts sessions', async () => {
    const before = sim.stats.sessions;
    await raw(sim, a);
    expect(sim.stats.sessions).toBe(before + 1);
  });
});
