import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { buildEnrollmentProfile } from '../apple/mobileconfig.js';
import { parsePlist, type PlistDict } from '../apple/plist.js';
import { OrgGroupService, ROOT_GROUP_ID } from '../org/org-group-service.js';
import { OrgGroupStore } from '../org/org-group-store.js';
import { UserService } from '../org/user-service.js';
import { UserStore } from '../org/user-store.js';
import { ServiceError } from '../service-error.js';
import { PendingEnrollmentService } from './pending-enrollment-service.js';
import { PendingEnrollmentStore } from './pending-enrollment-store.js';
import { EnrollmentProfileService } from './profile-service.js';
import { UserEnrollmentService } from './user-enrollment-service.js';
import { UserEnrollmentStore } from './user-enrollment-store.js';
import { UserEnrollmentTokenStore } from './user-enrollment-token-store.js';

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ServiceError) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error('expected a refusal');
}

const request = { product: 'iPhone17,2', version: '22B83', language: 'en-US', signed: false };
const mdmPayload = (body: Buffer) => (parsePlist(body).PayloadContent as PlistDict[]).find((p) => p.PayloadType === 'com.apple.mdm')!;
const tokenOf = (location: string) => new URL(location).searchParams.get('access-token')!;

describe.each(testDatabaseKinds)('user enrollment (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let clock = 1_700_000_000_000;
    const now = () => clock;
    let groups: OrgGroupService;
    let users: UserService;
    let pending: PendingEnrollmentService;
    let service: UserEnrollmentService;
    let byod: string;
    let closed: string;

    beforeEach(async () => {
      db = await createTestDatabase(kind);
      groups = new OrgGroupService(new OrgGroupStore(db.db));
      users = new UserService(new UserStore(db.db), groups, { now });
      const store = new PendingEnrollmentStore(db.db);
      pending = new PendingEnrollmentService(store, { now });
      const profiles = new EnrollmentProfileService({
        publicUrl: 'https://mdm.acme.example', createChallenge: async () => 'challenge', currentTopic: async () => 'com.apple.mgmt.External.t',
        render: (o) => buildEnrollmentProfile(o), sign: async (c) => c, // unsigned here: the HTTP test checks the signature
      });
      service = new UserEnrollmentService({
        pending, userLinkWindow: new PendingEnrollmentService(store, { now, linkTtlMs: 60 * 60_000 }), groups,
        store: new UserEnrollmentStore(db.db), tokens: new UserEnrollmentTokenStore(db.db), profiles,
        checkInUrl: 'https://mdm.acme.example/mdm/checkin', accessTokenTtlMs: 5 * 60_000, now,
      });
      byod = (await groups.create({ parentId: ROOT_GROUP_ID, name: 'Staff', groupId: 'STAFF' })).id;
      closed = (await groups.create({ parentId: ROOT_GROUP_ID, name: 'Kiosks', groupId: 'KIOSK' })).id;
      await groups.setSetting(byod, 'enrollment.userEnrollmentAllowed', true, 'test');
    });
    afterEach(() => db.dispose());

    /** What the sign-in pages do before the continuation: a user signed in and placed. */
    async function signedIn(mode: 'user-account' | 'user-profile', userId: string, groupId = byod, hint?: string) {
      const { pending: p, browserKey } = await pending.create({ mode });
      if (hint) await service.rememberHint(p.id, hint);
      await pending.authenticate(p.id, { userId, groupId, ownership: 'employee-owned', termsVersion: null });
      return { id: p.id, browserKey };
    }

    const directoryUser = (name: string) => users.fromIdentity({ provider: 'idp-1', subject: name, username: name, email: `${name}@acme.example`, groups: [] }, byod);

    it('account-driven: a single-use access token for the signed-in record, then the BYOD profile assigning the account', async () => {
      const ann = await directoryUser('ann');
      const { id } = await signedIn('user-account', ann.id, byod, 'Ann@Acme.example');
      const after = await service.afterSignIn(id);
      expect(after.mode).toBe('user-account');
      const location = (after as { location: string }).location;
      expect(location).toMatch(/^apple-remotemanagement-user-login:\/\/authentication-results\?access-token=[A-Za-z0-9_-]{43}$/);
      const token = tokenOf(location);
      const stored = await db.db.selectFrom('user_enrollment_tokens').selectAll().execute();
      expect(stored).toHaveLength(1);
      expect(stored[0]!.token_hash).not.toContain(token);

      const answer = await service.accountProfile(token, request);
      expect(answer.kind).toBe('profile');
      const mdm = mdmPayload((answer as { body: Buffer }).body);
      expect(mdm).toMatchObject({ AssignedManagedAppleID: 'ann@acme.example', EnrollmentMode: 'BYOD' });
      expect(String(mdm.CheckInURL)).toMatch(/^https:\/\/mdm\.acme\.example\/mdm\/checkin\?pe=/);
      expect(await pending.get(id)).toMatchObject({ state: 'profile-issued', managedAppleId: 'ann@acme.example', expiresAt: clock + 60 * 60_000 });

      expect(await service.accountProfile(token, request)).toMatchObject({ kind: 'challenge', reason: 'unknown, used or expired access token' });
      clock += 60 * 60_000;
      expect((await pending.get(id)).state).toBe('incomplete');
    });

    it('answers the challenge again to a missing, forged or expired token', async () => {
      expect(await service.accountProfile(undefined, request)).toMatchObject({ kind: 'challenge' });
      expect(await service.accountProfile('forged', request)).toMatchObject({ kind: 'challenge' });
      expect(await service.accountProfile('x'.repeat(5000), request)).toMatchObject({ kind: 'challenge', reason: 'malformed access token' });
      const bo = await directoryUser('bo');
      const { id } = await signedIn('user-account', bo.id);
      const token = tokenOf((await service.afterSignIn(id) as { location: string }).location);
      clock += 5 * 60_000;
      expect(await service.accountProfile(token, request)).toMatchObject({ kind: 'challenge' });
      expect((await pending.get(id)).state).toBe('authenticated');
    });

    it('refuses clearly where user enrollment is off, without an account, or with another account than the device\'s', async () => {
      const cy = await directoryUser('cy');
      expect(await refusal(service.afterSignIn((await signedIn('user-account', cy.id, closed)).id))).toBe(
        'refused: Enrolling your own device (user enrollment) is not allowed in "Kiosks". Ask your IT department.',
      );
      const local = await users.createLocal({ username: 'dee', password: 'a long passphrase', email: 'dee@gmail.example', defaultGroupId: byod });
      expect(await refusal(service.afterSignIn((await signedIn('user-profile', local.id)).id))).toMatch(/^refused: No work account \(Managed Apple Account\) is assigned to dee/);
      expect(await refusal(service.afterSignIn((await signedIn('user-account', cy.id, byod, 'boss@acme.example')).id))).toBe(
        'refused: This device is signing in with boss@acme.example, but the work account of cy is cy@acme.example. Sign in on the device with cy@acme.example, or sign in here as the person who owns boss@acme.example.',
      );
      expect(await db.db.selectFrom('user_enrollment_tokens').selectAll().execute()).toEqual([]);
    });

    it('profile-based: the download belongs to the browser that signed in, once', async () => {
      const local = await users.createLocal({ username: 'eve', password: 'a long passphrase', defaultGroupId: byod });
      expect((await service.setManagedAppleId(local.id, ' Eve@Acme.example ')).effective).toBe('eve@acme.example');
      const { id, browserKey } = await signedIn('user-profile', local.id);
      expect(await refusal(service.downloadProfile(id, browserKey))).toBe('conflict: sign in first');
      expect(await service.afterSignIn(id)).toEqual({ mode: 'user-profile', pendingId: id });
      expect(await refusal(service.downloadProfile(id, 'another browser'))).toMatch(/^refused: this enrollment was started in another browser/);
      const { body } = await service.downloadProfile(id, browserKey);
      expect(mdmPayload(body)).toMatchObject({ AssignedManagedAppleID: 'eve@acme.example', ManagedAppleID: 'eve@acme.example', EnrollmentMode: 'BYOD' });
      expect(await refusal(service.downloadProfile(id, browserKey))).toMatch(/^conflict: sign in first/);
      const web = await pending.create({ mode: 'web' });
      expect(await refusal(service.downloadProfile(web.pending.id, web.browserKey))).toMatch(/^not_found/);
    });

    it('keeps each user\'s Managed Apple Account: assigned, else a directory user\'s e-mail; one user per account', async () => {
      const fay = await directoryUser('fay');
      expect(await service.managedAppleId(fay.id)).toEqual({ userId: fay.id, assigned: null, effective: 'fay@acme.example', source: 'email' });
      expect(await service.setManagedAppleId(fay.id, 'fay@appleid.acme.example')).toMatchObject({ assigned: 'fay@appleid.acme.example', source: 'assigned' });
      const gus = await directoryUser('gus');
      expect(await refusal(service.setManagedAppleId(gus.id, 'FAY@appleid.acme.example'))).toBe('conflict: fay@appleid.acme.example is already assigned to another user');
      expect(await refusal(service.setManagedAppleId(gus.id, 'not an account'))).toMatch(/^invalid/);
      expect(await refusal(service.setManagedAppleId('nobody', 'x@acme.example'))).toMatch(/^not_found/);
      expect(await service.setManagedAppleId(fay.id, null)).toMatchObject({ assigned: null, source: 'email' });
    });
  });
});
