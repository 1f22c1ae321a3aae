import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../../test/support/db.js';
import { createTestPushCertificate, PushCertificateError, type PushCertificate } from '../../apple/push-certificate.js';
import { SecretBox } from '../../pki/secret-box.js';
import { PushCertReplaceError, PushCertService } from './pushcert-service.js';
import { PushCertStore } from './pushcert-store.js';

const DAY = 86_400_000;

describe.each(testDatabaseKinds)('PushCertService (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let service: PushCertService;
    let now = Math.floor(Date.now() / 1000) * 1000; // X.509 times have whole seconds
    let first: PushCertificate;
    let renewal: PushCertificate; // same topic, later expiry
    let other: PushCertificate; // another topic
    let expired: PushCertificate;

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      service = new PushCertService(new PushCertStore(db.db, new SecretBox(randomBytes(32))), { now: () => now });
      first = await createTestPushCertificate({ days: 100, now });
      [renewal, other, expired] = await Promise.all([
        createTestPushCertificate({ topic: first.topic, days: 465, now }),
        createTestPushCertificate({ now }),
        createTestPushCertificate({ days: -3, now }),
      ]);
    });
    afterAll(async () => db?.dispose());

    it('reports no certificate before the first import', async () => {
      expect(await service.status()).toBeUndefined();
      expect(await service.currentTopic()).toBeUndefined();
    });

    it('imports a PEM certificate and key and reports its status', async () => {
      const status = await service.import({ certPem: first.certPem, keyPem: first.keyPem });
      // The topic read a moment ago (none) is not kept past the import.
      expect(await service.currentTopic()).toBe(first.topic);
      expect(status).toEqual({
        topic: first.topic,
        subject: first.subject,
        notBefore: first.notBefore,
        notAfter: first.notAfter,
        expiresInDays: 100,
        expired: false,
      });
      expect(await service.status()).toEqual(status);
      expect(await service.getCredentials(first.topic)).toEqual({ topic: first.topic, certPem: first.certPem, keyPem: first.keyPem });
    });

    it('renews the certificate of the same topic from a PKCS#12 file', async () => {
      const p12 = forge.pkcs12.toPkcs12Asn1(
        forge.pki.privateKeyFromPem(renewal.keyPem),
        [forge.pki.certificateFromPem(renewal.certPem)],
        'pw',
        { algorithm: '3des' },
      );
      const status = await service.import({ pkcs12: Buffer.from(forge.asn1.toDer(p12).getBytes(), 'binary'), password: 'pw' });
      expect(status).toMatchObject({ topic: first.topic, notAfter: renewal.notAfter });
      expect((await service.getCredentials(first.topic))?.certPem).toBe(renewal.certPem);
      expect(await service.list()).toHaveLength(1);
    });

    it('refuses to go back to an older certificate of the topic unless forced', async () => {
      const input = { certPem: first.certPem, keyPem: first.keyPem };
      await expect(service.import(input)).rejects.toMatchObject({ code: 'older-certificate' });
      expect((await service.getCredentials(first.topic))?.certPem).toBe(renewal.certPem);
    });

    it('refuses a certificate of another topic unless forced, saying devices would re-enroll', async () => {
      const input = { certPem: other.certPem + other.keyPem };
      const err = await service.import(input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PushCertReplaceError);
      expect(err).toMatchObject({ code: 'topic-changed' });
      expect((err as Error).message).toMatch(/every enrolled device would have to re-enroll/);
      expect((await service.status())?.topic).toBe(first.topic);

      now += 1000;
      expect((await service.import(input, { force: true })).topic).toBe(other.topic);
      expect((await service.status())?.topic).toBe(other.topic);
      expect(await service.currentTopic()).toBe(other.topic);
      // devices still enrolled under the old topic keep being pushed with its certificate
      expect(await service.getCredentials(first.topic)).toBeDefined();
      expect((await service.list()).map((s) => s.topic)).toEqual([other.topic, first.topic]);
    });

    it('passes certificate problems through as PushCertificateError', async () => {
      await expect(service.import({ certPem: other.certPem })).rejects.toBeInstanceOf(PushCertificateError);
      await expect(service.import({ certPem: other.certPem, keyPem: first.keyPem })).rejects.toMatchObject({ code: 'key-mismatch' });
    });

    it('stores an expired certificate only when allowed, and reports it expired', async () => {
      const input = { certPem: expired.certPem, keyPem: expired.keyPem };
      await expect(service.import(input, { force: true })).rejects.toMatchObject({ code: 'expired' });
      now += 1000;
      const status = await service.import(input, { force: true, allowExpired: true });
      // expired 3 days and 2 seconds ago: day -4 counting down
      expect(status).toMatchObject({ topic: expired.topic, expired: true, expiresInDays: -4 });
    });

    it('counts days to expiry at the injected time', async () => {
      now = other.notAfter - 10 * DAY - 1;
      expect(await service.status(other.topic)).toMatchObject({ expiresInDays: 10, expired: false });
      now = other.notAfter;
      expect(await service.status(other.topic)).toMatchObject({ expiresInDays: 0, expired: true });
      expect(await service.getCredentials('com.apple.mgmt.External.unknown')).toBeUndefined();
    });
  });
});
