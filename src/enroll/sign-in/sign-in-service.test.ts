import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../../test/support/db.js';
import { SecretBox } from '../../pki/secret-box.js';
import { OrgGroupService, ROOT_GROUP_ID } from '../../org/org-group-service.js';
import { OrgGroupStore } from '../../org/org-group-store.js';
import { UserService } from '../../org/user-service.js';
import { UserStore } from '../../org/user-store.js';
import { RegistrationTokenService } from '../../org/registration-token-service.js';
import { RegistrationTokenStore } from '../../org/registration-token-store.js';
import { IdentityProviderService } from '../../org/identity-provider-service.js';
import { IdentityProviderStore } from '../../org/identity-provider-store.js';
import { DbSignInThrottle } from '../../org/sign-in-throttle.js';
import { PendingEnrollmentService } from '../pending-enrollment-service.js';
import { PendingEnrollmentStore } from '../pending-enrollment-store.js';
import { SignInRefusal, SignInService, platformHint } from './sign-in-service.js';

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error) return `${err instanceof SignInRefusal ? err.kind : (err as { code?: string }).code}: ${err.message}`;
  }
  throw new Error('expected a refusal');
}

describe.each(testDatabaseKinds)('enrollment sign-in service (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let groups: OrgGroupService;
    let users: UserService;
    let tokens: RegistrationTokenService;
    let pending: PendingEnrollmentService;
    let signIn: SignInService;
    let acme: string;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      groups = new OrgGroupService(new OrgGroupStore(db.db));
      users = new UserService(new UserStore(db.db), groups);
      tokens = new RegistrationTokenService(new RegistrationTokenStore(db.db), groups, users);
      const idps = new IdentityProviderService(new IdentityProviderStore(db.db), groups, new SecretBox(Buffer.alloc(32, 1)), { publicUrl: 'https://mdm.example' });
      pending = new PendingEnrollmentService(new PendingEnrollmentStore(db.db));
      signIn = new SignInService({ pending, users, groups, tokens, idps, handoffs: new IdentityProviderStore(db.db), throttle: new DbSignInThrottle(db.db), organization: 'Example Corp' });
      acme = (await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'ACME' })).id;
      await groups.setSetting(acme, 'enrollment.webEnrollmentAllowed', true, 't');
      await groups.setSetting(acme, 'enrollment.userEnrollmentAllowed', true, 't');
      await users.createLocal({ username: 'ann', password: 'ann has a passphrase', defaultGroupId: acme });
    });
    afterEach(() => db.dispose());

    const started = async (mode: 'web' | 'user-profile' | 'ade-webview' = 'web') => (await pending.create({ mode, groupId: acme })).pending;

    it('offers what the group allows: tokens required leave only the token form', async () => {
      expect(await signIn.offer(await started())).toEqual({ brand: 'Acme', groupName: 'Acme', password: true, token: null, sso: [], groupIdField: true });
      expect((await signIn.offer((await pending.create({ mode: 'web' })).pending)).brand).toBe('Example Corp');
      await groups.setSetting(acme, 'enrollment.authenticationMethods', ['local', 'registration-token'], 't');
      expect(await signIn.offer(await started())).toMatchObject({ password: true, token: { required: false } });
      await groups.setSetting(acme, 'enrollment.registrationTokenRequired', true, 't');
      const p = await started();
      expect(await signIn.offer(p)).toMatchObject({ password: false, token: { required: true }, sso: [] });
      expect(await refusal(signIn.withPassword(p, { username: 'ann', password: 'ann has a passphrase', source: '192.0.2.1' }))).toBe('invalid: signing in with a password is not offered here');
      // LDAP as the only method, with no directory configured: nothing to sign in with.
      await groups.setSetting(acme, 'enrollment.registrationTokenRequired', false, 't');
      await groups.setSetting(acme, 'enrollment.authenticationMethods', ['ldap'], 't');
      expect(await signIn.offer(await started())).toMatchObject({ password: false, token: null, sso: [] });
    });

    it('shows the current terms, accepts a newer version than required, refuses one that changed since shown', async () => {
      await groups.setSetting(acme, 'enrollment.termsOfUse', { version: 2, text: 'v2' }, 't');
      const p = await signIn.withPassword(await started(), { username: 'ann', password: 'ann has a passphrase', source: '192.0.2.1' });
      expect(await signIn.termsToAccept(p)).toEqual({ version: 2, text: 'v2' });
      await groups.setSetting(acme, 'enrollment.termsOfUse', { version: 3, text: 'v3' }, 't');
      expect(await refusal(signIn.acceptTerms(p, 2))).toBe('refused: the terms of use have changed; read them again');
      const accepted = await signIn.acceptTerms(p, 3);
      expect(accepted).toMatchObject({ termsVersionRequired: 2, termsVersion: 3 });
      expect(await signIn.termsToAccept(accepted)).toBeNull();
      expect(await refusal(signIn.withPassword(accepted, { username: 'ann', password: 'ann has a passphrase', source: '192.0.2.1' }))).toBe('invalid: you have already signed in for this enrollment');
    });

    it('uses each mode\'s rules: fixed ownership for user enrollment, a flow\'s own placement, none for an unregistered mode', async () => {
      await groups.setSetting(acme, 'enrollment.defaultOwnership', 'corporate-shared', 't');
      const web = await signIn.withPassword(await started('web'), { username: 'ann', password: 'ann has a passphrase', source: '192.0.2.1' });
      expect(web.ownership).toBe('corporate-shared');
      const byod = await signIn.withPassword(await started('user-profile'), { username: 'ann', password: 'ann has a passphrase', source: '192.0.2.1' });
      expect(byod.ownership).toBe('employee-owned');

      expect(await refusal(signIn.withPassword(await started('ade-webview'), { username: 'ann', password: 'ann has a passphrase', source: '192.0.2.1' }))).toBe('unavailable: this kind of enrollment cannot continue on this server');
      expect(() => signIn.configure('ade-webview', { groupIdField: false })).toThrow(/need an enrollment kind or a placement/);
      const lab = (await groups.create({ parentId: acme, name: 'Lab', groupId: 'LAB' })).id;
      signIn.configure('ade-webview', { groupIdField: false, ownership: 'corporate-dedicated', place: async ({ pending: rec }) => ({ groupId: rec.groupId === acme ? lab : acme }) });
      const ade = await signIn.withPassword(await started('ade-webview'), { username: 'ann', password: 'ann has a passphrase', typedGroupId: 'ignored', source: '192.0.2.1' });
      expect(ade).toMatchObject({ groupId: lab, ownership: 'corporate-dedicated' });
    });

    it('checks credentials typed with a single-factor token and keeps a token bound to its user', async () => {
      await groups.setSetting(acme, 'enrollment.authenticationMethods', ['registration-token'], 't');
      const bob = await users.createLocal({ username: 'bob', password: 'bob has a passphrase', defaultGroupId: acme });
      const forBob = await tokens.create({ groupId: acme, userId: bob.id, createdBy: 't' });
      expect(await refusal(signIn.withToken(await started(), { token: forBob.token, username: 'ann', source: '192.0.2.2' }))).toBe('refused: this registration token was issued to another user');
      expect(await refusal(signIn.withToken(await started(), { token: forBob.token, username: 'bob', password: 'wrong password here', source: '192.0.2.2' }))).toBe('invalid: wrong user name or password');
      expect(await refusal(signIn.withToken(await started(), { token: '   ', source: '192.0.2.2' }))).toBe('invalid: enter your registration token');
      expect(await refusal(signIn.withToken(await started(), { token: forBob.token, platform: 'Windows', source: '192.0.2.2' }))).toMatch(/^invalid: choose one of iOS/);
      const p = await signIn.withToken(await started(), { token: forBob.token, source: '192.0.2.2' });
      expect(p).toMatchObject({ userId: bob.id, registrationTokenId: forBob.view.id, groupId: acme });
      expect(await tokens.statusFor(forBob.view.id)).toBe('used');
    });

    it('spends no token when the group refuses the enrollment', async () => {
      await groups.setSetting(acme, 'enrollment.authenticationMethods', ['registration-token'], 't');
      const closed = (await groups.create({ parentId: acme, name: 'Closed', groupId: 'CLOSED' })).id;
      await groups.setSetting(closed, 'enrollment.webEnrollmentAllowed', false, 't');
      const t = await tokens.create({ groupId: closed, createdBy: 't' });
      expect(await refusal(signIn.withToken(await started(), { token: t.token, source: '192.0.2.3' }))).toBe('refused: web enrollment is not allowed in "Closed"; ask your IT department');
      expect(await tokens.statusFor(t.view.id)).toBe('registration active');
    });
  });
});

describe('platformHint', () => {
  it('trusts only what iPhone and iPad browsers say', () => {
    expect(platformHint('Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)')).toBe('iOS');
    expect(platformHint('Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X)')).toBe('iPadOS');
    expect(platformHint('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)')).toBeUndefined();
    expect(platformHint(undefined)).toBeUndefined();
  });
});
