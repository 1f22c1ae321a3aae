import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds } from '../../test/support/db.js';
import { isForeignKeyViolation } from '../db/database.js';
import { buildServer } from './server.js';

function capture() {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, stream };
}

describe('buildServer request log', () => {
  it('logs one line per request, with method, URL, status and time, and no secrets', async () => {
    const { lines, stream } = capture();
    const config = { bodyLimit: 1024, logLevel: 'info' as const, publicUrl: 'http://localhost' };
    const app = await buildServer(config, { logger: { level: 'info', stream, redact: { paths: ['req.headers.authorization'], censor: '[redacted]' } } });
    app.put('/mdm/connect', async () => '');
    await app.ready();
    await app.inject({ method: 'PUT', url: '/mdm/connect', headers: { 'mdm-signature': 'c2VjcmV0', authorization: 'Bearer pom_secret' }, payload: 'x' });
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.close();
    const requests = lines.filter((l) => l.req || l.res);
    expect(requests.map((l) => l.msg)).toEqual(['request completed', 'request completed']);
    expect(requests[0]).toMatchObject({ level: 30, req: { method: 'PUT', url: '/mdm/connect' }, res: { statusCode: 200 }, responseTime: expect.any(Number) });
    expect(requests[1]).toMatchObject({ req: { method: 'GET', url: '/healthz' }, res: { statusCode: 200 } });
    expect(JSON.stringify(lines)).not.toMatch(/c2VjcmV0|pom_secret/);
    expect(lines.some((l) => l.msg === 'incoming request')).toBe(false);
  });

  it('as configured by default (no redaction pass), keeps every secret header, cookie and query value off the line', async () => {
    const { lines, stream } = capture();
    const app = await buildServer({ bodyLimit: 1024, logLevel: 'info', publicUrl: 'http://localhost' }, { logStream: stream });
    app.post('/enroll/profile', async (_req, reply) => reply.header('set-cookie', 'pomona_session=s3ss10n; HttpOnly').send('ok'));
    await app.ready();
    const headers = { authorization: 'Bearer pom_secret', cookie: 'pomona_session=c00k1e', 'mdm-signature': 'c2lnbmF0dXJl', 'x-csrf-token': 'csrf-t0ken' };
    await app.inject({ method: 'POST', url: '/enroll/profile?token=qu3ry&unsigned=true', headers, payload: 'x' });
    await app.close();
    const line = lines.find((l) => l.msg === 'request completed')!;
    expect(line).toMatchObject({ req: { method: 'POST', url: '/enroll/profile?token=[redacted]&unsigned=true' }, res: { statusCode: 200 } });
    expect(JSON.stringify(lines)).not.toMatch(/pom_secret|c00k1e|c2lnbmF0dXJl|csrf-t0ken|s3ss10n|qu3ry/);
  });

  it('still logs a failing request as an error', async () => {
    const { lines, stream } = capture();
    const app = await buildServer({ bodyLimit: 1024, logLevel: 'info', publicUrl: 'http://localhost' }, { logger: { level: 'info', stream } });
    app.get('/boom', async () => {
      throw new Error('kaput');
    });
    await app.ready();
    expect((await app.inject({ method: 'GET', url: '/boom' })).statusCode).toBe(500);
    await app.close();
    expect(lines.some((l) => l.level === 50 && l.msg === 'request failed')).toBe(true);
    expect(lines.filter((l) => l.msg === 'request completed')).toHaveLength(1);
  });
});

describe.each(testDatabaseKinds)('a write naming a removed row (%s)', (kind) => {
  const enrollment = (id: string) => ({ id, device_id: 'no-such-device', channel: 'device' as const, type: 'Device', is_ade: 0, awaiting_configuration: 0, status: 'pending' as const, token_update_count: 0, created_at: 1, updated_at: 1 });
  it.skipIf(skipUnlessAvailable(kind))('is refused with 409 and a reason, not a 500', async () => {
    const db = await createTestDatabase(kind);
    const { lines, stream } = capture();
    const app = await buildServer({ bodyLimit: 1024, logLevel: 'info', publicUrl: 'http://localhost' }, { logger: { level: 'info', stream } });
    // An enrollment for a device that is gone (removed by another request or node meanwhile).
    app.post('/enrollments', async () => {
      await db.db.insertInto('enrollments').values(enrollment('e1')).execute();
    });
    try {
      const res = await app.inject({ method: 'POST', url: '/enrollments' });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toEqual({ error: 'conflict', message: expect.stringMatching(/removed meanwhile/) });
      expect(await db.db.selectFrom('enrollments').selectAll().execute()).toEqual([]);
      expect(lines.some((l) => l.msg === 'request refused: it refers to a removed record' && l.level === 30)).toBe(true);
      // The same database error, recognized as such (and a unique violation is not).
      const err = await db.db.insertInto('enrollments').values(enrollment('e2')).execute().catch((e: unknown) => e);
      expect(isForeignKeyViolation(err)).toBe(true);
      expect(isForeignKeyViolation(new Error('x'))).toBe(false);
    } finally {
      await app.close();
      await db.dispose();
    }
  });
});
