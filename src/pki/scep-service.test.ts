import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { enrollScep } from '../sim/scep-client.js';
import { CertificateAuthority, createCaCertificate } from './ca.js';
import { ScepService } from './scep-service.js';
import { ScepStore } from './scep-store.js';

describe('ScepService', () => {
  let db: TestDatabase;
  let store: ScepStore;
  let ca: CertificateAuthority;
  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
    store = new ScepStore(db.db);
    const created = await createCaCertificate();
    ca = CertificateAuthority.fromPem(created.certPem, created.keyPem);
  });
  afterEach(() => db.dispose());

  /** Talks to the service directly, capturing the last PKIOperation request. */
  const direct = (service: ScepService, seen: Buffer[] = []) =>
    (async (input: string | URL, init?: RequestInit) => {
      const op = new URL(String(input)).searchParams.get('operation');
      if (op === 'GetCACaps') return new Response(service.getCaCaps(), { headers: { 'content-type': 'text/plain' } });
      if (op === 'GetCACert') return new Response(new Uint8Array(service.getCaCert()), { headers: { 'content-type': 'application/x-x509-ca-cert' } });
      const body = Buffer.from(init!.body as Uint8Array);
      seen.push(body);
      const r = await service.pkiOperation(body);
      return new Response(new Uint8Array(r.body), { status: r.httpStatus, headers: { 'content-type': r.contentType } });
    }) as typeof fetch;

  it('creates 32-byte base64url one-time challenges and stores only their hash', async () => {
    const service = new ScepService({ store, ca, validityDays: 30, now: () => 1_000 });
    const challenge = await service.createChallenge({ purpose: 'test', ttlMs: 5_000 });
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await db.db.selectFrom('scep_challenges').selectAll().execute();
    expect(rows).toEqual([{ hash: createHash('sha256').update(challenge).digest('hex'), purpose: 'test', expires_at: 6_000, used_at: null, created_at: 1_000 }]);
  });

  it('answers 503 rather than throwing when its database fails', async () => {
    const seen: Buffer[] = [];
    const service = new ScepService({ store, ca, validityDays: 30, staticChallenge: 's' });
    await enrollScep({ url: 'http://x/scep', challenge: 's', fetch: direct(service, seen), keySize: 1024 });
    const broken = new ScepService({
      store: Object.assign(Object.create(ScepStore.prototype), { recordIssued: () => Promise.reject(new Error('connection lost')) }),
      ca,
      validityDays: 30,
      staticChallenge: 's',
    });
    const res = await broken.pkiOperation(seen[0]);
    expect(res).toMatchObject({ status: 'rejected', httpStatus: 503, reason: 'internal error: connection lost' });
  });

  it('never throws on hostile input', async () => {
    const seen: Buffer[] = [];
    const service = new ScepService({ store, ca, validityDays: 30, staticChallenge: 's' });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    await enrollScep({ url: 'http://x/scep', challenge: 's', fetch: direct(service, seen), keyPair: { privateKey } });
    for (let i = 0; i < 400; i++) {
      const b = Buffer.from(seen[0]);
      for (let j = 0; j < 1 + (i % 3); j++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      const res = await service.pkiOperation(i % 5 === 0 ? randomBytes(i) : b);
      expect([200, 400, 403]).toContain(res.httpStatus);
    }
  });
});
