import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { PendingEnrollmentError, PendingEnrollmentService, checkInUrl, platformOfProduct } from './pending-enrollment-service.js';
import { PendingEnrollmentStore } from './pending-enrollment-store.js';
import { insertGroup } from '../../test/support/fleet.js';

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PendingEnrollmentError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

const signedIn = { userId: 'u-1', groupId: 'global', ownership: 'employee-owned' as const, termsVersion: null };

describe.each(testDatabaseKinds)('pending enrollments (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let pending: PendingEnrollmentService;
    let clock = 1_000_000;
    const now = () => clock;
    const addDevice = async (id: string) => {
      await db.db.insertInto('devices').values({ id, udid: id, serial_number: null, model: null, model_name: null, product_name: null, device_name: null, os_version: null, build_version: null, imei: null, meid: null, info_json: null, created_at: clock, updated_at: clock, last_seen_at: null, ownership: null }).execute();
    };
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      pending = new PendingEnrollmentService(new PendingEnrollmentStore(db.db), { now, signInTtlMs: 60_000, linkTtlMs: 600_000 });
    });
    afterEach(() => db.dispose());

    it('goes from started to enrolled and places the device it links', async () => {
      const { pending: p, browserKey } = await pending.create({ mode: 'web', groupId: 'global', sourceAddress: '192.0.2.7', context: { hint: 'iPhone' } });
      expect(p).toMatchObject({ mode: 'web', state: 'started', sourceAddress: '192.0.2.7', context: { hint: 'iPhone' }, userId: null });
      expect(p.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(await pending.open(p.id, browserKey)).toMatchObject({ id: p.id });
      expect(await refusal(pending.open(p.id, 'another browser'))).toMatchObject({ code: 'refused' });
      expect(await refusal(pending.open(p.id, undefined))).toMatchObject({ code: 'refused' });

      clock += 10;
      const a = await pending.authenticate(p.id, { ...signedIn, groupId: 'global', registrationTokenId: 'tok-1', requiredPlatform: 'iOS', termsVersion: 3 });
      expect(a).toMatchObject({ state: 'authenticated', userId: 'u-1', registrationTokenId: 'tok-1', ownership: 'employee-owned', termsVersionRequired: 3 });
      expect(await refusal(pending.authenticate(p.id, signedIn))).toMatchObject({ code: 'conflict' });
      expect(await refusal(pending.profileIssued(p.id))).toMatchObject({ code: 'refused', message: 'accept the terms of use first' });
      expect(await refusal(pending.acceptTerms(p.id, 2))).toMatchObject({ code: 'conflict' });
      expect(await pending.acceptTerms(p.id, 3)).toMatchObject({ termsVersion: 3, termsAcceptedAt: clock });

      const { checkInKey, pending: issued } = await pending.profileIssued(p.id);
      expect(issued).toMatchObject({ state: 'profile-issued', profileIssuedAt: clock, expiresAt: clock + 600_000 });
      expect(await refusal(pending.profileIssued(p.id))).toMatchObject({ code: 'conflict' });
      expect(checkInUrl('https://mdm.example/mdm/checkin', checkInKey)).toBe(`https://mdm.example/mdm/checkin?pe=${checkInKey}`);

      expect(await refusal(pending.forCheckIn('not-a-key', { enrollmentId: 'E1' }))).toMatchObject({ code: 'refused' });
      expect((await refusal(pending.forCheckIn(checkInKey, { enrollmentId: 'E1', productName: 'Mac16,10' }))).message).toMatch(/token is for iOS; this device is macOS/);
      const target = await pending.forCheckIn(checkInKey, { enrollmentId: 'E1', productName: 'iPhone17,1' });
      await addDevice('dev-1');
      await pending.linkAtCheckIn(target, { enrollmentId: 'E1', deviceId: 'dev-1' });
      const device = await db.db.selectFrom('devices').selectAll().where('id', '=', 'dev-1').executeTakeFirstOrThrow();
      expect(device).toMatchObject({ organization_group_id: 'global', ownership: 'employee-owned', enrollment_method: 'web', enrolled_user_id: 'u-1', registration_token_id: 'tok-1' });
      expect(await pending.get(p.id)).toMatchObject({ state: 'enrolled', enrollmentId: 'E1', deviceId: 'dev-1', completedAt: clock });

      // The same enrollment retrying Authenticate passes; another device with the same key does not.
      await pending.linkAtCheckIn(await pending.forCheckIn(checkInKey, { enrollmentId: 'E1', productName: 'iPhone17,1' }), { enrollmentId: 'E1', deviceId: 'dev-1' });
      expect((await refusal(pending.forCheckIn(checkInKey, { enrollmentId: 'E2', productName: 'iPhone17,1' }))).message).toMatch(/already enrolled by another device/);
      await addDevice('dev-2');
      expect(await refusal(pending.linkAtCheckIn(target, { enrollmentId: 'E2', deviceId: 'dev-2' }))).toMatchObject({ code: 'refused' });
      expect((await db.db.selectFrom('devices').select('enrollment_method').where('id', '=', 'dev-2').executeTakeFirstOrThrow()).enrollment_method).toBeNull();
      // Enrolled: the browser pages have nothing more to do.
      expect(await refusal(pending.open(p.id, browserKey))).toMatchObject({ code: 'not_found' });
    });

    it('turns incomplete when abandoned, lists by state, mode and group, and purges old attempts', async () => {
      await insertGroup(db.db, { id: 'g-2', parentId: 'global' });
      const a = await pending.create({ mode: 'web' });
      const b = await pending.create({ mode: 'user-profile', groupId: 'g-2' });
      await pending.authenticate(b.pending.id, { ...signedIn, groupId: 'g-2' });
      expect((await pending.list({ state: 'started' })).map((p) => p.id)).toEqual([a.pending.id]);
      expect((await pending.list({ mode: 'user-profile' })).map((p) => p.id)).toEqual([b.pending.id]);
      expect((await pending.list({ groupId: 'g-2' })).map((p) => p.id)).toEqual([b.pending.id]);
      const byState = async (scopePrefix?: string) => Object.fromEntries((await pending.summary(scopePrefix)).map((x) => [`${x.groupId}:${x.state}`, x.count]));
      expect(await byState()).toEqual({ 'null:started': 1, 'g-2:authenticated': 1 });

      clock += 60_000;
      expect(await pending.get(a.pending.id)).toMatchObject({ state: 'incomplete' });
      expect(await refusal(pending.open(a.pending.id, a.browserKey))).toMatchObject({ code: 'not_found' });
      expect(await refusal(pending.authenticate(a.pending.id, signedIn))).toMatchObject({ code: 'not_found' });
      expect((await pending.list({ state: 'incomplete' })).map((p) => p.id).sort()).toEqual([a.pending.id, b.pending.id].sort());
      expect(await pending.list({ state: 'started' })).toEqual([]);
      // abandoned ones counted as such; a scope sees its own groups only
      expect(await byState()).toEqual({ 'null:incomplete': 1, 'g-2:incomplete': 1 });
      expect(await byState('/global/g-2/')).toEqual({ 'g-2:incomplete': 1 });
      expect(await byState('/global/elsewhere/')).toEqual({});

      const c = await pending.create({ mode: 'web' });
      clock += 2 * 86_400_000;
      expect(await pending.purgeIncomplete(1)).toBe(3);
      expect(await refusal(pending.get(c.pending.id))).toMatchObject({ code: 'not_found' });
      expect(await refusal(pending.get('../../etc'))).toMatchObject({ code: 'not_found' });
    });

    it('refuses an issued profile link after it expired', async () => {
      const { pending: p } = await pending.create({ mode: 'web' });
      await pending.authenticate(p.id, signedIn);
      const { checkInKey } = await pending.profileIssued(p.id);
      clock += 600_000;
      expect((await refusal(pending.forCheckIn(checkInKey, { enrollmentId: 'E1' }))).message).toMatch(/incomplete/);
    });

    it('keeps a Managed Apple ID for user enrollment', async () => {
      const { pending: p } = await pending.create({ mode: 'user-account' });
      expect(await pending.setManagedAppleId(p.id, ' ann@example.org ')).toMatchObject({ managedAppleId: 'ann@example.org' });
      expect(await refusal(pending.setManagedAppleId(p.id, 'nope'))).toMatchObject({ code: 'invalid' });
    });
  });
});

describe('platformOfProduct', () => {
  it('reads the platform from the ProductName', () => {
    expect(['iPhone17,1', 'iPad13,4', 'Mac16,10', 'MacBookPro18,1', 'AppleTV11,1', 'RealityDevice14,1', 'Watch7,1', undefined].map(platformOfProduct))
      .toEqual(['iOS', 'iPadOS', 'macOS', 'macOS', 'tvOS', 'visionOS', undefined, undefined]);
  });
});
