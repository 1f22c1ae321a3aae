import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { ScepStore } from './scep-store.js';

const hashOf = (s: string) => createHash('sha256').update(s).digest('hex');

describe.each(testDatabaseKinds)('ScepStore (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let store: ScepStore;
    const now = 1_800_000_000_000;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      store = new ScepStore(db.db);
    });
    afterEach(() => db.dispose());

    const cert = () => ({ der: randomBytes(300), serial: randomBytes(16).toString('hex'), subject: 'CN=x', not_before: now, not_after: now + 1000 });
    const countCerts = async () => Number((await db.db.selectFrom('identity_certificates').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

    it('stores only the hash and consumes a challenge exactly once', async () => {
      await store.createChallenge({ hash: hashOf('abc'), purpose: 'enrollment-profile', expiresAt: now + 60_000, now });
      const row = await db.db.selectFrom('scep_challenges').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ hash: hashOf('abc'), purpose: 'enrollment-profile', expires_at: now + 60_000, used_at: null, created_at: now });
      expect(await store.consumeChallenge(hashOf('abc'), now + 1)).toBe(true);
      expect(await store.consumeChallenge(hashOf('abc'), now + 2)).toBe(false);
      expect(await store.consumeChallenge(hashOf('unknown'), now)).toBe(false);
    });

    it('does not consume an expired challenge', async () => {
      await store.createChallenge({ hash: hashOf('old'), purpose: 'p', expiresAt: now, now: now - 1000 });
      expect(await store.consumeChallenge(hashOf('old'), now)).toBe(false);
    });

    it('lets exactly one of many concurrent consumers win', async () => {
      await store.createChallenge({ hash: hashOf('race'), purpose: 'p', expiresAt: now + 60_000, now });
      const results = await Promise.all(Array.from({ length: 20 }, () => store.recordIssued(cert(), { now, challengeHash: hashOf('race') })));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await countCerts()).toBe(1);
    });

    it('records an issued certificate by its SHA-256, unbound, and writes nothing when the challenge is gone', async () => {
      const c = cert();
      expect(await store.recordIssued(c, { now })).toBe(true);
      const expected = createHash('sha256').update(c.der).digest('hex');
      const row = await db.db.selectFrom('identity_certificates').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ sha256: expected, enrollment_id: null, serial: c.serial, subject: 'CN=x', issued_by_pomona: 1, not_before: now, not_after: now + 1000, created_at: now, bound_at: null });
      expect(Buffer.from(row.der)).toEqual(c.der);
      expect(await store.findIssued(expected)).toEqual({ sha256: expected, not_after: now + 1000, enrollment_id: null });
      expect(await store.recordIssued(cert(), { now, challengeHash: hashOf('never created') })).toBe(false);
      expect(await countCerts()).toBe(1);
    });

    it('inserts a CA row once and replaces it only from the expected certificate', async () => {
      const row = { id: 'scep', cert_pem: 'A', key_enc: Buffer.from([1, 2, 3]), not_after: now, created_at: now };
      expect(await store.insertAuthorityIfAbsent(row)).toBe(true);
      expect(await store.insertAuthorityIfAbsent({ ...row, cert_pem: 'B' })).toBe(false);
      expect(await store.getAuthority('scep')).toEqual(row);
      expect(await store.replaceAuthority({ ...row, cert_pem: 'C' }, 'B')).toBe(false);
      expect(await store.replaceAuthority({ ...row, cert_pem: 'C' }, 'A')).toBe(true);
      await store.saveAuthority({ ...row, cert_pem: 'D' });
      expect((await store.getAuthority('scep'))!.cert_pem).toBe('D');
      expect(await store.getAuthority('missing')).toBeUndefined();
    });
  });
});
