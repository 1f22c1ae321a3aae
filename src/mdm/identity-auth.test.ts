import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { CheckinStore } from './checkin-store.js';
import { DeviceRefusal } from './device-refusal.js';
import { IdentityAuth } from './identity-auth.js';

const DAY = 86_400_000;

describe.each(testDatabaseKinds)('IdentityAuth (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let store: CheckinStore;
    let clock = 100 * DAY;
    const cert = (name: string) => ({ der: Buffer.from(name), sha256: `sha-${name}` });
    const issue = (name: string, notAfter = 200 * DAY) =>
      db.db
        .insertInto('identity_certificates')
        .values({ sha256: `sha-${name}`, enrollment_id: null, serial: '01', subject: `CN=${name}`, issued_by_pomona: 1, not_before: 0, not_after: notAfter, der: Buffer.from(name), created_at: 1, bound_at: null })
        .execute();
    const authenticate = (enrollmentId: string, certName: string) =>
      store.authenticate({ enrollmentId, type: 'Device', topic: 't', facts: { udid: enrollmentId }, rawPlist: '<a/>', certSha256: `sha-${certName}` });
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(DeviceRefusal);
      return (err as DeviceRefusal).reason;
    };

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      store = new CheckinStore(db.db, () => clock);
    });
    afterAll(async () => db?.dispose());

    it('answers a bound certificate from memory after the first look-up', async () => {
      await issue('a');
      await authenticate('DEV-A', 'a');
      const auth = new IdentityAuth(store, [], () => clock);
      const find = vi.spyOn(store, 'findCertificate');
      await auth.forMessage(cert('a'), 'DEV-A');
      await auth.forMessage(cert('a'), 'DEV-A');
      await auth.forMessage(cert('a'), 'DEV-A');
      expect(find).toHaveBeenCalledTimes(1);
      expect(await refusal(auth.forMessage(cert('a'), 'DEV-OTHER'))).toMatch(/belongs to another enrollment/);
      expect(find).toHaveBeenCalledTimes(1);
      find.mockRestore();
    });

    it('still checks the validity period of a remembered certificate', async () => {
      await issue('short', 101 * DAY);
      await authenticate('DEV-S', 'short');
      const auth = new IdentityAuth(store, [], () => clock);
      await auth.forMessage(cert('short'), 'DEV-S');
      clock = 102 * DAY;
      expect(await refusal(auth.forMessage(cert('short'), 'DEV-S'))).toMatch(/validity period/);
      clock = 100 * DAY;
    });

    it('does not remember an unbound certificate: it is accepted once an Authenticate binds it', async () => {
      await issue('b');
      const auth = new IdentityAuth(store, [], () => clock);
      expect(await refusal(auth.forMessage(cert('b'), 'DEV-B'))).toMatch(/no Authenticate seen/);
      await auth.forAuthenticate(cert('b'), 'DEV-B');
      await authenticate('DEV-B', 'b');
      await auth.forMessage(cert('b'), 'DEV-B');
    });

    it('a binding is written once: a certificate bound elsewhere is never re-bound, even past the check', async () => {
      await issue('c');
      await authenticate('DEV-C', 'c');
      const auth = new IdentityAuth(store, [], () => clock);
      expect(await refusal(auth.forAuthenticate(cert('c'), 'DEV-D'))).toMatch(/bound to another enrollment/);
      // Two Authenticates racing past forAuthenticate: the store refuses the second binding.
      expect(await refusal(authenticate('DEV-D', 'c'))).toMatch(/bound to another enrollment/);
      expect(await db.db.selectFrom('enrollments').select('id').where('id', '=', 'DEV-D').executeTakeFirst()).toBeUndefined();
      const row = await db.db.selectFrom('identity_certificates').select('enrollment_id').where('sha256', '=', 'sha-c').executeTakeFirstOrThrow();
      expect(row.enrollment_id).toBe('DEV-C');
      // Re-authenticating the same enrollment with its own certificate stays allowed.
      await authenticate('DEV-C', 'c');
    });

    it('keeps at most cacheSize certificates, forgetting the least recently seen', async () => {
      for (const n of ['m1', 'm2', 'm3']) {
        await issue(n);
        await authenticate(`DEV-${n}`, n);
      }
      const auth = new IdentityAuth(store, [], () => clock, 2);
      await auth.forMessage(cert('m1'), 'DEV-m1');
      await auth.forMessage(cert('m2'), 'DEV-m2');
      await auth.forMessage(cert('m1'), 'DEV-m1'); // m1 seen again: m2 is now the least recent
      await auth.forMessage(cert('m3'), 'DEV-m3');
      const find = vi.spyOn(store, 'findCertificate');
      await auth.forMessage(cert('m1'), 'DEV-m1');
      await auth.forMessage(cert('m3'), 'DEV-m3');
      expect(find).not.toHaveBeenCalled();
      await auth.forMessage(cert('m2'), 'DEV-m2');
      expect(find).toHaveBeenCalledTimes(1);
      find.mockRestore();
    });
  });
});
