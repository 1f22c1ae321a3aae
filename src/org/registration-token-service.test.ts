import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { OrgGroupService, ROOT_GROUP_ID } from './org-group-service.js';
import { OrgGroupStore } from './org-group-store.js';
import { RegistrationTokenError, RegistrationTokenPlatformNeeded, RegistrationTokenService } from './registration-token-service.js';
import { RegistrationTokenStore } from './registration-token-store.js';
import { UserService } from './user-service.js';
import { UserStore } from './user-store.js';

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RegistrationTokenError) return err.message;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe.each(testDatabaseKinds)('registration tokens (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let tokens: RegistrationTokenService;
    let users: UserService;
    let clock = 5_000_000;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      const groups = new OrgGroupService(new OrgGroupStore(db.db));
      users = new UserService(new UserStore(db.db), groups, { now: () => clock });
      tokens = new RegistrationTokenService(new RegistrationTokenStore(db.db), groups, users, { now: () => clock });
    });
    afterEach(() => db.dispose());

    it('is spent once, refuses reuse, expiry, revocation and the wrong platform', async () => {
      const { token, view } = await tokens.create({ groupId: ROOT_GROUP_ID, platform: 'iOS', expiresInHours: 1, createdBy: 'user:admin' });
      expect(token).toMatch(/^[A-Z2-9]{10}$/);
      expect(view).toMatchObject({ status: 'registration active', maxUses: 1, uses: 0, prefix: token.slice(0, 3) });
      expect(await refusal(tokens.redeem({ token, platform: 'macOS' }))).toBe('this registration token is for iOS devices only');
      expect(await tokens.redeem({ token: token.toLowerCase(), platform: 'iOS' })).toMatchObject({ groupId: ROOT_GROUP_ID, userId: null });
      expect(await refusal(tokens.redeem({ token, platform: 'iOS' }))).toBe('this registration token has already been used');
      expect(await tokens.statusFor(view.id)).toBe('used');
      expect(await tokens.statusFor(null)).toBe('not applicable');

      const multi = await tokens.create({ groupId: ROOT_GROUP_ID, maxUses: null, expiresInHours: 1, createdBy: 'user:admin' });
      await tokens.redeem({ token: multi.token, platform: 'macOS' });
      await tokens.redeem({ token: multi.token, platform: 'iPadOS' });
      clock += 2 * 3_600_000;
      expect(await refusal(tokens.redeem({ token: multi.token, platform: 'iOS' }))).toMatch(/^this registration token expired on/);

      const revoked = await tokens.create({ groupId: ROOT_GROUP_ID, createdBy: 'user:admin' });
      await tokens.revoke(revoked.view.id);
      expect(await refusal(tokens.redeem({ token: revoked.token, platform: 'iOS' }))).toBe('this registration token was revoked');
      expect(await refusal(tokens.redeem({ token: 'NOTATOKEN1', platform: 'iOS' }))).toBe('this registration token is not valid');
    });

    it('gives the last use to exactly one of many parallel redemptions', async () => {
      const { token } = await tokens.create({ groupId: ROOT_GROUP_ID, maxUses: 3, createdBy: 'user:admin' });
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => tokens.redeem({ token, platform: 'iOS' })));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
    });

    it('checks without spending: another user\'s token is refused, an unknown platform is asked for', async () => {
      const ann = await users.createLocal({ username: 'ann', password: 'ann has a passphrase', defaultGroupId: ROOT_GROUP_ID });
      const bob = await users.createLocal({ username: 'bob', password: 'bob has a passphrase', defaultGroupId: ROOT_GROUP_ID });
      const { token, view } = await tokens.create({ groupId: ROOT_GROUP_ID, userId: ann.id, platform: 'macOS', createdBy: 'x' });
      expect(await refusal(tokens.check({ token, platform: 'macOS', userId: bob.id }))).toBe('this registration token was issued to another user');
      const needed = await tokens.check({ token, userId: ann.id }).catch((e: unknown) => e);
      expect(needed).toBeInstanceOf(RegistrationTokenPlatformNeeded);
      expect((needed as RegistrationTokenPlatformNeeded).platform).toBe('macOS');
      const grant = await tokens.check({ token, platform: 'macOS', userId: ann.id });
      expect(grant).toEqual({ tokenId: view.id, groupId: ROOT_GROUP_ID, userId: ann.id, platform: 'macOS', twoFactor: false });
      expect(await tokens.statusFor(view.id)).toBe('registration active');
      await tokens.claim(grant);
      expect(await refusal(tokens.claim(grant))).toBe('this registration token has already been used');
    });

    it('needs the bound user\'s password in the two-factor variant', async () => {
      const u = await users.createLocal({ username: 'cy', password: 'cy has a passphrase', defaultGroupId: ROOT_GROUP_ID });
      expect(await refusal(tokens.create({ groupId: ROOT_GROUP_ID, twoFactor: true, createdBy: 'x' }))).toMatch(/bound to a user/);
      const { token } = await tokens.create({ groupId: ROOT_GROUP_ID, userId: u.id, twoFactor: true, createdBy: 'x' });
      expect(await refusal(tokens.redeem({ token, platform: 'iOS' }))).toBe('this registration token also needs your password');
      expect(await refusal(tokens.redeem({ token, platform: 'iOS', password: 'not it at all' }))).toBe('wrong password for this registration token');
      expect(await tokens.redeem({ token, platform: 'iOS', password: 'cy has a passphrase' })).toMatchObject({ userId: u.id });
    });
  });
});
