import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../../test/support/db.js';
import { SecretBox } from '../../pki/secret-box.js';
import { PushCertStore, type NewPushCert } from './pushcert-store.js';

const cert = (topic: string, n: number): NewPushCert => ({
  topic,
  certPem: `-----BEGIN CERTIFICATE-----\n${topic}-${n}\n-----END CERTIFICATE-----\n`,
  keyPem: `-----BEGIN PRIVATE KEY-----\nkey-${topic}-${n}\n-----END PRIVATE KEY-----\n`,
  subject: `UID=${topic}`,
  notBefore: 1_000 * n,
  notAfter: 1_000_000 * n,
});

describe.each(testDatabaseKinds)('PushCertStore (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let store: PushCertStore;

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      store = new PushCertStore(db.db, new SecretBox(randomBytes(32)));
    });
    afterAll(async () => db?.dispose());

    it('has no current certificate at first', async () => {
      expect(await store.current()).toBeUndefined();
      expect(await store.currentTopic()).toBeUndefined();
      expect(await store.list()).toEqual([]);
    });

    it('inserts, then renews by topic keeping created_at', async () => {
      await store.upsert(cert('com.apple.mgmt.External.a', 1), 100);
      await store.upsert(cert('com.apple.mgmt.External.a', 2), 200);
      const a = await store.byTopic('com.apple.mgmt.External.a');
      expect(a).toEqual({
        topic: 'com.apple.mgmt.External.a',
        certPem: cert('com.apple.mgmt.External.a', 2).certPem,
        subject: 'UID=com.apple.mgmt.External.a',
        notBefore: 2_000,
        notAfter: 2_000_000,
        createdAt: 100,
        updatedAt: 200,
      });
      expect(a).not.toHaveProperty('keyPem');
      expect((await store.withKey('com.apple.mgmt.External.a'))?.keyPem).toBe(cert('com.apple.mgmt.External.a', 2).keyPem);
    });

    it('seals the key at rest', async () => {
      const row = await db.db.selectFrom('push_certificates').select('key_enc').executeTakeFirstOrThrow();
      expect(Buffer.from(row.key_enc).toString('latin1')).not.toContain('PRIVATE KEY');
    });

    it('calls the most recently updated certificate current, and lists newest first', async () => {
      await store.upsert(cert('com.apple.mgmt.External.b', 1), 300);
      expect((await store.current())?.topic).toBe('com.apple.mgmt.External.b');
      expect(await store.currentTopic()).toBe('com.apple.mgmt.External.b');
      await store.upsert(cert('com.apple.mgmt.External.a', 3), 400);
      expect((await store.current())?.topic).toBe('com.apple.mgmt.External.a');
      expect(await store.currentTopic()).toBe('com.apple.mgmt.External.a');
      expect((await store.list()).map((c) => [c.topic, c.updatedAt])).toEqual([
        ['com.apple.mgmt.External.a', 400],
        ['com.apple.mgmt.External.b', 300],
      ]);
    });

    it('finds nothing for an unknown topic', async () => {
      expect(await store.byTopic('com.apple.mgmt.External.none')).toBeUndefined();
      expect(await store.withKey('com.apple.mgmt.External.none')).toBeUndefined();
    });
  });
});
