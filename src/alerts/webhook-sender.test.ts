import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../sim/free-port.js';
import { WebhookError, WebhookSender, signature } from './webhook-sender.js';
import type { AlertMessage } from './alert-message.js';

const message: AlertMessage = {
  id: 'e1', event: 'raised', key: 'ca-expiring:device-ca', kind: 'ca-expiring', subject: 'device-ca', groupId: null,
  state: 'expiring-30', previousState: 'ok', severity: 'warning', summary: 'the device CA expires in 29 day(s)', at: '2026-11-21T00:00:00.000Z',
};

describe('WebhookSender', () => {
  const answers: number[] = [];
  const received: { body: string; headers: Record<string, unknown> }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.statusCode = answers.shift() ?? 200;
      res.end();
    });
  });
  let url = '';
  const sleeps: number[] = [];
  const sender = (attempts = 3, u = url) => new WebhookSender({ url: u, secret: 's3cret-s3cret-s3cret', attempts, backoffMs: 100 }, { now: () => 1_700_000_000_000, sleep: async (ms) => void sleeps.push(ms) });

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('signs the exact body and says when it was sent', async () => {
    received.length = 0;
    await sender().send(message);
    const [r] = received;
    expect(JSON.parse(r.body)).toEqual(message);
    expect(r.headers['x-pomona-signature']).toBe(`sha256=${createHmac('sha256', 's3cret-s3cret-s3cret').update(r.body).digest('hex')}`);
    expect(r.headers['x-pomona-signature']).toBe(signature('s3cret-s3cret-s3cret', r.body));
    expect(r.headers['x-pomona-timestamp']).toBe('1700000000');
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('retries 5xx with doubling backoff, up to its bound', async () => {
    received.length = 0;
    sleeps.length = 0;
    answers.push(500, 503);
    await sender().send(message);
    expect(received).toHaveLength(3);
    expect(sleeps).toEqual([100, 200]);
    answers.push(500, 500, 500, 500);
    received.length = 0;
    await expect(sender().send(message)).rejects.toThrow(/HTTP 500/);
    expect(received).toHaveLength(3);
    answers.length = 0;
  });

  it('does not retry a 4xx refusal', async () => {
    received.length = 0;
    answers.push(401);
    await expect(sender().send(message)).rejects.toBeInstanceOf(WebhookError);
    expect(received).toHaveLength(1);
  });

  it('reports an unreachable receiver after its attempts', async () => {
    const port = await freePort();
    await expect(sender(2, `http://127.0.0.1:${port}/hook`).send(message)).rejects.toThrow(/webhook 127\.0\.0\.1:\d+: fetch failed/);
  });
});
