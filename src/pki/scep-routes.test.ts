import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { ScepClientError, enrollScep, type EnrollScepOptions } from '../sim/scep-client.js';
import { CertificateAuthority, createCaCertificate } from './ca.js';
import { buildEnvelope } from './cms-envelope.js';
import { oid, seq, setOf, utf8String } from './der.js';
import { FailInfo, MessageType, PkiStatus, buildSignedData, parsePkiMessage, scepAttributes } from './scep-message.js';
import { scepRoutes } from './scep-routes.js';
import { ScepService } from './scep-service.js';
import { ScepStore } from './scep-store.js';
import { SecretBox } from './secret-box.js';

const URL_BASE = 'http://pomona.test/scep';
const STATIC = 'static-challenge-for-tests';
const dir = mkdtempSync(join(tmpdir(), 'pomona-scep-routes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keys = Array.from({ length: 4 }, () => generateKeyPairSync('rsa', { modulusLength: 2048 }));

/** fetch over app.inject, so the client speaks real HTTP semantics without a socket. */
interface Spy {
  lastRequest?: Buffer;
  pkiMethod?: string;
  caps?: (s: string) => string;
}

function injectFetch(app: FastifyInstance, spy?: Spy): typeof fetch {
  return (async (input: string | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const payload = init?.body ? Buffer.from(init.body as Uint8Array) : undefined;
    if (payload) spy && (spy.lastRequest = payload);
    if (url.searchParams.get('message') && spy) spy.lastRequest = Buffer.from(url.searchParams.get('message')!, 'base64');
    if (spy && url.searchParams.get('operation') === 'PKIOperation') spy.pkiMethod = init?.method ?? 'GET';
    const res = await app.inject({ method: (init?.method ?? 'GET') as 'GET', url: url.pathname + url.search, headers: init?.headers as Record<string, string>, payload });
    let body: Buffer | string = res.rawPayload;
    if (spy?.caps && url.searchParams.get('operation') === 'GetCACaps') body = spy.caps(res.payload);
    const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
    delete headers['content-length'];
    return new Response(new Uint8Array(Buffer.from(body)), { status: res.statusCode, headers });
  }) as typeof fetch;
}

describe.each(testDatabaseKinds)('SCEP routes (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let store: ScepStore;
    let ca: CertificateAuthority;
    let service: ScepService;
    let app: FastifyInstance;
    let logs: Array<Record<string, unknown>>;
    let http: typeof fetch;
    const enroll = (o: Partial<EnrollScepOptions> = {}) =>
      enrollScep({ url: URL_BASE, fetch: http, keyPair: keys[0], subject: 'CN=device,O=Pomona Test', ...o });
    const countCerts = async () => Number((await db.db.selectFrom('identity_certificates').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const usedAt = async (challenge: string) =>
      (await db.db.selectFrom('scep_challenges').select('used_at').where('hash', '=', createHash('sha256').update(challenge).digest('hex')).executeTakeFirstOrThrow()).used_at;
    const post = (payload: Buffer | string, headers: Record<string, string> = { 'content-type': 'application/x-pki-message' }, query = '') =>
      app.inject({ method: 'POST', url: `/scep?operation=PKIOperation${query}`, payload, headers });

    beforeEach(async () => {
      db = await createTestDatabase(kind);
      store = new ScepStore(db.db);
      ca = await CertificateAuthority.load({ store, secretBox: new SecretBox(randomBytes(32)) });
      service = new ScepService({ store, ca, staticChallenge: STATIC, validityDays: 365 });
      logs = [];
      const stream = new Writable({ write: (chunk, _enc, done) => (logs.push(JSON.parse(String(chunk))), done()) });
      app = Fastify({ logger: { level: 'info', stream } });
      await app.register(scepRoutes, { service });
      await app.ready();
      http = injectFetch(app);
    });
    afterEach(async () => {
      await app.close();
      await db.dispose();
    });

    it('GetCACaps and GetCACert', async () => {
      const caps = await app.inject({ method: 'GET', url: '/scep?operation=GetCACaps' });
      expect(caps.statusCode).toBe(200);
      expect(caps.headers['content-type']).toMatch(/^text\/plain/);
      expect(caps.payload.split('\n')).toEqual(['POSTPKIOperation', 'SHA-256', 'SHA-1', 'AES', 'DES3', 'SCEPStandard', 'Renewal']);
      const cert = await app.inject({ method: 'GET', url: '/scep?operation=GetCACert' });
      expect(cert.headers['content-type']).toBe('application/x-x509-ca-cert');
      expect(cert.rawPayload).toEqual(ca.certificateDer);
    });

    for (const cipher of ['aes128', 'des3', 'des'] as const) {
      it(`enrolls with a one-time challenge, ${cipher}`, async () => {
        const challenge = await service.createChallenge();
        const res = await enroll({ challenge, cipher, digest: cipher === 'des' ? 'sha1' : 'sha256', dnsNames: ['device.example'] });
        const cert = new X509Certificate(res.certificatePem);
        expect(cert.subject).toBe('CN=device\nO=Pomona Test');
        expect(cert.subjectAltName).toBe('DNS:device.example');
        expect(cert.checkPrivateKey(keys[0].privateKey)).toBe(true);
        expect(res.caCertificateDer).toEqual(ca.certificateDer);
        writeFileSync(join(dir, `ca-${kind}.pem`), ca.certificatePem);
        writeFileSync(join(dir, `leaf-${kind}-${cipher}.pem`), res.certificatePem);
        expect(execFileSync('openssl', ['verify', '-CAfile', `ca-${kind}.pem`, `leaf-${kind}-${cipher}.pem`], { cwd: dir }).toString()).toContain('OK');
        const sha256 = createHash('sha256').update(res.certificateDer).digest('hex');
        expect(await store.findIssued(sha256)).toMatchObject({ sha256, enrollment_id: null });
        expect(await usedAt(challenge)).not.toBeNull();
        expect(logs.some((l) => l.msg === 'scep issued')).toBe(true);
      });
    }

    it('refuses a wrong challenge with a signed FAILURE and HTTP 403, writing nothing', async () => {
      const challenge = await service.createChallenge();
      const err = await enroll({ challenge: 'not-the-challenge' }).catch((e) => e);
      expect(err).toBeInstanceOf(ScepClientError);
      expect(err.details).toEqual({ httpStatus: 403, pkiStatus: PkiStatus.FAILURE, failInfo: FailInfo.badRequest });
      expect(await countCerts()).toBe(0);
      expect(await usedAt(challenge)).toBeNull();
      const refused = logs.find((l) => l.msg === 'scep refused');
      expect(refused?.reason).toMatch(/challenge/);
      expect(JSON.stringify(logs)).not.toContain('not-the-challenge');
      await expect(enroll({ challenge: undefined })).rejects.toThrow('failInfo badRequest');
    });

    it('refuses a one-time challenge the second time', async () => {
      const challenge = await service.createChallenge();
      await enroll({ challenge });
      const err = await enroll({ challenge, keyPair: keys[1] }).catch((e) => e);
      expect(err.details).toMatchObject({ httpStatus: 403, failInfo: FailInfo.badRequest });
      expect(await countCerts()).toBe(1);
      expect(JSON.stringify(logs)).not.toContain(challenge);
    });

    it('refuses an expired one-time challenge', async () => {
      let now = Date.now();
      const timed = new ScepService({ store, ca, validityDays: 365, now: () => now, challengeTtlMs: 1000 });
      const challenge = await timed.createChallenge();
      now += 2000;
      const app2 = Fastify();
      await app2.register(scepRoutes, { service: timed });
      await expect(enrollScep({ url: URL_BASE, fetch: injectFetch(app2), keyPair: keys[0], challenge })).rejects.toThrow('FAILURE');
      await app2.close();
    });

    it('accepts the static challenge repeatedly', async () => {
      await enroll({ challenge: STATIC });
      await enroll({ challenge: STATIC, keyPair: keys[1], cipher: 'des3' });
      expect(await countCerts()).toBe(2);
    });

    it('works over GET when POSTPKIOperation is not advertised', async () => {
      const spy: Spy = { caps: () => 'SHA-256\nAES' };
      const res = await enrollScep({ url: URL_BASE, fetch: injectFetch(app, spy), keyPair: keys[2], challenge: STATIC });
      expect(res.certificateDer.length).toBeGreaterThan(0);
      expect(spy.pkiMethod).toBe('GET');
      expect(spy.lastRequest && parsePkiMessage(spy.lastRequest).messageType).toBe(MessageType.PKCSReq);
    });

    it('takes the body of an mdmb-style POST (octet-stream, DER repeated raw in message=)', async () => {
      const spy: Spy = {};
      await enrollScep({ url: URL_BASE, fetch: injectFetch(app, spy), keyPair: keys[1], challenge: STATIC });
      const der = spy.lastRequest!;
      const escaped = [...der.subarray(0, 600)].map((b) => '%' + b.toString(16).padStart(2, '0')).join('');
      const res = await post(der, { 'content-type': 'application/octet-stream' }, `&message=${escaped}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/x-pki-message');
      // The recorded mdmb request, also with its raw DER in the query: well-formed, but for another CA.
      const mdmb = readFileSync(join(import.meta.dirname, '../../test/fixtures/scep/mdmb-PKCSReq.der'));
      const recorded = await post(mdmb, { 'content-type': 'application/octet-stream' }, `&message=${encodeURIComponent(mdmb.subarray(0, 300).toString('latin1'))}`);
      expect(recorded.statusCode).toBe(400);
      expect(recorded.payload).toContain('envelope could not be decrypted');
    });

    it('answers tampered signatures and envelopes with 400, writing nothing', async () => {
      const spy: Spy = {};
      await enrollScep({ url: URL_BASE, fetch: injectFetch(app, spy), keyPair: keys[3], challenge: STATIC });
      const before = await countCerts();
      const tampered = Buffer.from(spy.lastRequest!);
      tampered[tampered.length - 10] ^= 0xff;
      const res = await post(tampered);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.payload).toContain('signature does not verify');

      // A correctly signed request whose envelope is for somebody else.
      const msg = parsePkiMessage(spy.lastRequest!);
      const signerKey = keys[3].privateKey;
      const wrongEnvelope = buildSignedData({
        content: buildEnvelope(Buffer.from('not a CSR'), msg.signerCertificateDer),
        signer: { certificateDer: msg.signerCertificateDer, privateKey: signerKey },
        digest: 'sha256',
        attributes: scepAttributes({ messageType: MessageType.PKCSReq, transactionId: 'T', senderNonce: randomBytes(16) }),
        certificates: [msg.signerCertificateDer],
      });
      const res2 = await post(wrongEnvelope);
      expect(res2.statusCode).toBe(400);
      expect(res2.payload).toMatch(/envelope could not be decrypted|malformed/);
      // A decryptable envelope around something that is not a CSR.
      const notCsr = buildSignedData({
        content: buildEnvelope(Buffer.from('not a CSR'), ca.certificateDer),
        signer: { certificateDer: msg.signerCertificateDer, privateKey: signerKey },
        digest: 'sha256',
        attributes: scepAttributes({ messageType: MessageType.PKCSReq, transactionId: 'T', senderNonce: randomBytes(16) }),
        certificates: [msg.signerCertificateDer],
      });
      expect((await post(notCsr)).statusCode).toBe(400);
      expect(await countCerts()).toBe(before);
      expect(logs.filter((l) => l.msg === 'scep refused').length).toBeGreaterThanOrEqual(3);
    });

    it('answers CertPoll with FAILURE badCertID', async () => {
      const spy: Spy = {};
      await enrollScep({ url: URL_BASE, fetch: injectFetch(app, spy), keyPair: keys[0], challenge: STATIC });
      const msg = parsePkiMessage(spy.lastRequest!);
      const poll = buildSignedData({
        content: Buffer.alloc(0),
        signer: { certificateDer: msg.signerCertificateDer, privateKey: keys[0].privateKey },
        digest: 'sha256',
        attributes: scepAttributes({ messageType: MessageType.CertPoll, transactionId: msg.transactionId, senderNonce: randomBytes(16) }),
        certificates: [msg.signerCertificateDer],
      });
      const res = await post(poll);
      expect(res.statusCode).toBe(403);
      expect(parsePkiMessage(res.rawPayload, { signerCertificateDer: ca.certificateDer })).toMatchObject({ pkiStatus: 2, failInfo: FailInfo.badCertID });
    });

    it('renews an identity it issued without a challenge, and refuses renewal from strangers', async () => {
      const first = await enroll({ challenge: STATIC });
      const renewed = await enroll({ keyPair: keys[1], renew: { certificatePem: first.certificatePem, privateKeyPem: first.privateKeyPem } });
      expect(new X509Certificate(renewed.certificatePem).checkPrivateKey(keys[1].privateKey)).toBe(true);
      expect(await countCerts()).toBe(2);
      const created = await createCaCertificate({ commonName: 'Stranger CA' });
      const stranger = CertificateAuthority.fromPem(created.certPem, created.keyPem);
      const subject = seq(setOf(seq(oid('2.5.4.3'), utf8String('stranger'))));
      const foreign = stranger.issue({ subject, spki: keys[2].publicKey.export({ format: 'der', type: 'spki' }) }, { validityDays: 1 });
      const err = await enroll({ keyPair: keys[3], renew: { certificatePem: foreign.pem, privateKeyPem: keys[2].privateKey.export({ format: 'pem', type: 'pkcs8' }) as string } }).catch((e) => e);
      expect(err.details).toMatchObject({ httpStatus: 403, failInfo: FailInfo.badRequest });
    });

    it('never answers 500: unknown operations, garbage, empty bodies and odd content types', async () => {
      const cases = [
        await app.inject({ method: 'GET', url: '/scep?operation=GetNextCACert' }),
        await app.inject({ method: 'GET', url: '/scep' }),
        await app.inject({ method: 'GET', url: '/scep?operation=PKIOperation' }),
        await app.inject({ method: 'GET', url: '/scep?operation=PKIOperation&message=%%%' }),
        await app.inject({ method: 'GET', url: `/scep?operation=PKIOperation&message=${encodeURIComponent(randomBytes(500).toString('base64'))}` }),
        await post(randomBytes(2000)),
        await post(Buffer.alloc(0)),
        await post('{"not": "der"}', { 'content-type': 'application/json' }),
        await post('hello', { 'content-type': 'text/plain' }),
        await post(randomBytes(100), {}),
        await post(Buffer.from([0x30, 0x80, 0x30, 0x80])),
      ];
      for (const res of cases) {
        expect(res.statusCode, res.payload).toBe(400);
        expect(res.headers['content-type']).toMatch(/^text\/plain/);
      }
      expect(cases[0].payload).toContain('unknown operation');
      expect(logs.filter((l) => l.msg === 'scep refused')).toHaveLength(cases.length);
      expect((await post(randomBytes(300_000))).statusCode).toBe(413);
    });
  });
});

describe('scepRoutes plugin scope', () => {
  it('keeps its raw-body parser to itself: the rest of the app still parses JSON', async () => {
    const created = await createCaCertificate();
    const service = new ScepService({ store: {} as ScepStore, ca: CertificateAuthority.fromPem(created.certPem, created.keyPem), validityDays: 1 });
    const app = Fastify();
    app.post('/json', async (req) => ({ got: req.body }));
    await app.register(scepRoutes, { service });
    const res = await app.inject({ method: 'POST', url: '/json', payload: { a: 1 } });
    expect(res.json()).toEqual({ got: { a: 1 } });
    await app.close();
  });
});
