import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { SignInError } from './idp/identity.js';
import { OrgGroupService, ROOT_GROUP_ID } from './org-group-service.js';
import { OrgGroupStore } from './org-group-store.js';
import { UserError, UserService } from './user-service.js';
import { UserStore } from './user-store.js';

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SignInError) return `${err.message} [${err.reason}]`;
    if (err instanceof UserError) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error('expected a failure');
}

describe.each(testDatabaseKinds)('users (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let groups: OrgGroupService;
    let users: UserService;
    let clock = 1_000_000;
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      groups = new OrgGroupService(new OrgGroupStore(db.db));
      users = new UserService(new UserStore(db.db), groups, { now: () => clock, lockAfterFailures: 3, lockMinutes: 10 });
    });
    afterEach(() => db.dispose());

    it('signs local users in with argon2 passwords and locks them out after repeated failures', async () => {
      const u = await users.createLocal({ username: 'ana', password: 'a long passphrase', pin: '1234', defaultGroupId: ROOT_GROUP_ID });
      expect(u).toMatchObject({ source: 'local', hasPin: true, locked: false });
      expect((await users.signInLocal('ana', 'a long passphrase')).username).toBe('ana');
      expect(await failure(users.signInLocal('nobody', 'a long passphrase'))).toBe('wrong user name or password [unknown user]');
      expect(await failure(users.signInLocal('ana', 'wrong one'))).toMatch(/^wrong user name or password \[wrong password \(1 in a row\)\]/);
      await failure(users.signInLocal('ana', 'wrong two'));
      await failure(users.signInLocal('ana', 'wrong three'));
      expect(await failure(users.signInLocal('ana', 'a long passphrase'))).toMatch(/too many failed sign-ins.*\[locked\]/);
      clock += 11 * 60_000;
      expect((await users.signInLocal('ana', 'a long passphrase')).username).toBe('ana');
      expect(await failure(users.createLocal({ username: 'ana', password: 'another passphrase', defaultGroupId: ROOT_GROUP_ID }))).toMatch(/^conflict/);
      expect(await failure(users.createLocal({ username: 'b', password: 'another passphrase', pin: '12', defaultGroupId: ROOT_GROUP_ID }))).toMatch(/PIN/);
    });

    it('places enrollments by group mapping, then typed Group ID, then default group — where enrollment is allowed', async () => {
      const acme = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'ACME' });
      const sales = await groups.create({ parentId: acme.id, name: 'Sales', groupId: 'SALES' });
      const closed = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Closed', groupId: 'CLOSED' });
      await groups.setSetting(acme.id, 'enrollment.userEnrollmentAllowed', true, 'test');
      const dir = await users.fromIdentity({ provider: 'ldap-1', subject: 'uid=bo', username: 'bo', groups: ['sales-team', 'everyone'] }, acme.id);
      expect(await failure(users.place(dir.id, 'user-enrollment', 'closed'))).toMatch(/^refused: user enrollment is not allowed in "Closed"/);
      expect(await failure(users.place(dir.id, 'user-enrollment', 'NOPE'))).toMatch(/^refused: there is no group with the Group ID "NOPE"/);
      expect(await users.place(dir.id, 'user-enrollment', 'sales')).toEqual({ groupId: sales.id, reason: 'typed' });
      expect(await users.place(dir.id, 'user-enrollment')).toEqual({ groupId: acme.id, reason: 'default' });
      expect(await failure(users.place(dir.id, 'web-enrollment'))).toMatch(/web enrollment is not allowed in "Acme"/);

      const salesTeam = (await users.listGroups()).find((g) => g.name === 'sales-team' && g.source === 'ldap-1')!;
      await users.mapGroup(salesTeam.id, sales.id);
      expect(await users.place(dir.id, 'user-enrollment', 'CLOSED')).toEqual({ groupId: sales.id, reason: 'mapping' });

      // Memberships follow what the directory says at the next sign-in.
      await users.fromIdentity({ provider: 'ldap-1', subject: 'uid=bo', username: 'bo', groups: ['everyone'] }, acme.id);
      expect(await users.place(dir.id, 'user-enrollment')).toEqual({ groupId: acme.id, reason: 'default' });
    });
  });
});
