/**
 * Web enrollment end to end through a real server, on SQLite and PostgreSQL: a browser starts,
 * signs in, accepts the terms and downloads the profile; a simulated device installs it and
 * lands in the right group with the right ownership, user and token. Then every way in that
 * must be refused, each with the message the user sees.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyAttached } from '../src/apple/cms-sign.js';
import { parsePlist, type PlistDict } from '../src/apple/plist.js';
import { SimulatedDevice } from '../src/sim/device.js';
import { Scope } from '../src/org/scope.js';
import { TestBrowser, errorText, inputValue, linkHref, statusText, type Page } from './support/browser.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { LDAP_SUFFIX, TestLdapServer } from './support/ldap-server.js';
import { freePort, startTestServer, type TestServer } from './support/server.js';

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
const MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
const ANN_PASSWORD = 'ann has a long passphrase';
const BOB_PASSWORD = 'bob has a long passphrase';
const CY_PASSWORD = 'cy has a long passphrase';

function checkInUrlOf(profile: Buffer): string {
  const xml = profile.subarray(0, 5).toString() === '<?xml' ? profile : verifyAttached(profile).content;
  const mdm = (parsePlist(xml).PayloadContent as PlistDict[]).find((p) => p.PayloadType === 'com.apple.mdm')!;
  return mdm.CheckInURL as string;
}

describe.each(testDatabaseKinds)('web enrollment (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    let ldap: TestLdapServer;
    const g = { acme: '', lab: '', dir: '' };
    const u = { ann: '', bob: '', cy: '' };

    const setting = async (groupId: string, key: string, value: unknown) => {
      const res = await pomona.api(`/api/v1/organization-groups/${groupId}/settings/${key}`, { method: 'PUT', body: { value } });
      expect(res.status).toBe(200);
    };
    const token = async (body: Record<string, unknown>) => {
      const res = await pomona.api('/api/v1/registration-tokens', { body: { groupId: g.acme, ...body } });
      expect(res.status).toBe(201);
      return { token: res.json.token as string, id: res.json.registrationToken.id as string };
    };
    /** A browser at the sign-in page of a new web enrollment. */
    const begin = async (ua = IPHONE, group = 'ACME') => {
      const b = new TestBrowser(pomona.url, ua);
      const page = await b.get(`/enroll/web?group=${group}`);
      expect(page.status).toBe(200);
      const id = new URL(page.url).pathname.split('/').pop()!;
      return { b, id, page, csrf: inputValue(page.text, 'csrf')! };
    };
    const signIn = (s: { b: TestBrowser; id: string; csrf: string }, fields: Record<string, string>) =>
      s.b.post(`/enroll/sign-in/${s.id}/password`, { csrf: s.csrf, groupId: '', ...fields });
    const withToken = (s: { b: TestBrowser; id: string; csrf: string }, fields: Record<string, string>) => s.b.post(`/enroll/sign-in/${s.id}/token`, { csrf: s.csrf, ...fields });
    const acceptTerms = (s: { b: TestBrowser; id: string; csrf: string }, page: Page) =>
      s.b.post(`/enroll/sign-in/${s.id}/terms`, { csrf: s.csrf, version: inputValue(page.text, 'version')!, decision: 'accept' });
    const deviceRow = (udid: string) => pomona.ctx.database.db.selectFrom('devices').selectAll().where('udid', '=', udid).executeTakeFirst();

    beforeAll(async () => {
      pomona = await startTestServer(kind);
      ldap = await new TestLdapServer([{ uid: 'carol', password: 'carol-Secret-1', mail: 'carol@example.org' }]).start();
      const acme = await pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Acme', groupId: 'ACME' } });
      const lab = await pomona.api('/api/v1/organization-groups', { body: { parentId: acme.json.id, name: 'Lab', groupId: 'ACME-LAB' } });
      const dir = await pomona.api('/api/v1/organization-groups', { body: { parentId: acme.json.id, name: 'Directory people', groupId: 'ACME-DIR' } });
      Object.assign(g, { acme: acme.json.id, lab: lab.json.id, dir: dir.json.id });
      await setting(g.acme, 'enrollment.webEnrollmentAllowed', true);
      await setting(g.acme, 'enrollment.defaultOwnership', 'corporate-shared');
      await setting(g.acme, 'enrollment.termsOfUse', { version: 2, text: 'Be nice to <your> device.' });
      await setting(g.acme, 'enrollment.authenticationMethods', ['local', 'registration-token']);
      await setting(g.lab, 'enrollment.webEnrollmentAllowed', false);
      await setting(g.dir, 'enrollment.authenticationMethods', ['ldap']);
      const created = await pomona.api('/api/v1/identity-providers', { body: { groupId: g.dir, kind: 'ldap', name: 'Corp directory', config: ldap.config() } });
      expect(created.status).toBe(201);
      u.ann = (await pomona.api('/api/v1/users', { body: { username: 'ann', password: ANN_PASSWORD, defaultGroupId: g.acme } })).json.id;
      u.bob = (await pomona.api('/api/v1/users', { body: { username: 'bob', password: BOB_PASSWORD, defaultGroupId: g.acme } })).json.id;
      u.cy = (await pomona.api('/api/v1/users', { body: { username: 'cy', password: CY_PASSWORD, defaultGroupId: g.acme } })).json.id;
    });
    afterAll(async () => {
      await pomona?.close();
      await ldap?.stop();
    });
    beforeEach(async () => {
      // Every test comes from 127.0.0.1: each starts with a fresh failure budget.
      await pomona.ctx.database.db.deleteFrom('sign_in_failures').execute();
    });

    it('enrolls a device: start → sign in → terms → download → first check-in places it', async () => {
      const s = await begin();
      expect(s.page.text).toContain('<header><p>Acme</p>');
      expect(s.page.text).toMatch(/<label for="username">User name<\/label>/);
      expect(s.page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(s.b.cookies.get(`pomona_enroll_${s.id}`)?.path).toBe('/enroll/');

      const terms = await signIn(s, { username: 'ann', password: ANN_PASSWORD });
      expect(terms.status).toBe(200);
      expect(terms.text).toContain('Be nice to &lt;your&gt; device.');
      const declined = await s.b.post(`/enroll/sign-in/${s.id}/terms`, { csrf: s.csrf, version: '2', decision: 'decline' });
      expect(declined.status).toBe(403);
      expect(errorText(declined.text)).toMatch(/must accept the terms/);
      const download = await acceptTerms(s, terms);
      expect(download.status).toBe(200);
      expect(download.text).toContain('Your device will join Acme');
      const link = linkHref(download.text, 'Download profile')!;
      // A reload of either answer posts its form again: the record's page, nothing changed.
      const accepted = await pomona.ctx.pendingEnrollments.get(s.id);
      const resignedIn = await signIn(s, { username: 'bob', password: 'not-his-password' });
      expect(resignedIn.status).toBe(200);
      expect(linkHref(resignedIn.text, 'Download profile')).toBe(link);
      expect((await acceptTerms(s, terms)).text).toContain('Your device will join Acme');
      expect(await pomona.ctx.pendingEnrollments.get(s.id)).toEqual(accepted);

      const res = await s.b.get(link);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-apple-aspen-config');
      expect(checkInUrlOf(res.body)).toMatch(new RegExp(`^${pomona.url}/mdm/checkin\\?pe=[A-Za-z0-9_-]{43}$`));
      expect((await pomona.ctx.pendingEnrollments.get(s.id)).state).toBe('profile-issued');

      const device = new SimulatedDevice({ platform: 'iOS' });
      await device.enroll(res.body);
      expect(await deviceRow(device.udid)).toMatchObject({ organization_group_id: g.acme, ownership: 'corporate-shared', enrolled_user_id: u.ann, enrollment_method: 'web', registration_token_id: null });
      const api = await pomona.api(`/api/v1/devices/${device.udid}`);
      expect(api.json.device).toMatchObject({ enrollmentMethod: 'web', registrationTokenStatus: 'not applicable' });
      const listed = await pomona.api(`/api/v1/pending-enrollments?state=enrolled&mode=web&group=${g.acme}`);
      expect(listed.status).toBe(200);
      expect(listed.json.items).toEqual([expect.objectContaining({ id: s.id, userId: u.ann, termsVersion: 2, ownership: 'corporate-shared', platform: 'iOS', deviceId: (await deviceRow(device.udid))!.id })]);
      expect(listed.json.items[0].termsAcceptedAt).toBeGreaterThan(0);
      // Admins scoped to a branch see the attempts placed inside it only.
      const readerOf = async (groupId: string) => {
        const { path } = await pomona.ctx.database.db.selectFrom('organization_groups').select('path').where('id', '=', groupId).executeTakeFirstOrThrow();
        const { secret } = await pomona.ctx.tokens.create({ name: `reader ${groupId}`, role: 'read-only', scope: new Scope(groupId, path) });
        const res = await fetch(`${pomona.url}/api/v1/pending-enrollments?state=enrolled`, { headers: { authorization: `Bearer ${secret}` } });
        return ((await res.json()) as { items: Array<{ id: string }> }).items.map((p) => p.id);
      };
      expect(await readerOf(g.acme)).toContain(s.id);
      expect(await readerOf(g.lab)).toEqual([]);

      // The page now says it is done; the link gives nothing a second time.
      const again = await s.b.get(link);
      expect(again.status).toBe(404);
      const events = await pomona.ctx.audit.list({ action: 'enrollment-profile.download' });
      expect(events.events[0]).toMatchObject({ actor: `enrollee:${u.ann}`, target: s.id });
    });

    it('enrolls with a multi-use registration token; the device shows it as registration active', async () => {
      const t = await token({ maxUses: null, platform: 'iOS' });
      const s = await begin();
      const terms = await withToken(s, { token: t.token.toLowerCase() });
      expect(terms.status).toBe(200);
      const download = await acceptTerms(s, terms);
      const profile = await s.b.get(linkHref(download.text, 'Download profile')!);
      const device = new SimulatedDevice({ platform: 'iOS' });
      await device.enroll(profile.body);
      expect(await deviceRow(device.udid)).toMatchObject({ organization_group_id: g.acme, enrolled_user_id: null, registration_token_id: t.id, enrollment_method: 'web' });
      expect((await pomona.api(`/api/v1/devices/${device.udid}`)).json.device.registrationTokenStatus).toBe('registration active');
      const list = (await pomona.api('/api/v1/devices')).json.devices as Array<{ udid: string; registrationTokenStatus: string }>;
      expect(list.find((d) => d.udid === device.udid)?.registrationTokenStatus).toBe('registration active');
    });

    it('refuses the profile link a second time, for another record, or without its token', async () => {
      const one = await begin();
      const terms = await signIn(one, { username: 'ann', password: ANN_PASSWORD });
      const download = await acceptTerms(one, terms);
      const link = linkHref(download.text, 'Download profile')!;
      const other = await begin();
      // Another browser's record, with this browser's cookie and token: no cookie for it → 403.
      expect((await one.b.get(`/enroll/web/${other.id}/profile?t=${encodeURIComponent(new URL(link, pomona.url).searchParams.get('t')!)}`)).status).toBe(403);
      // The right cookie without the right link token → 403; nothing spent.
      expect((await one.b.get(`/enroll/web/${one.id}/profile`)).status).toBe(403);
      expect((await one.b.get(`/enroll/web/${one.id}/profile?t=forged`)).status).toBe(403);
      // The link in another browser (no cookie) → 403.
      expect((await new TestBrowser(pomona.url).get(link)).status).toBe(403);
      // A record still signing in has no profile to give.
      const notYet = await other.b.get(`/enroll/web/${other.id}/profile?t=${encodeURIComponent(other.csrf)}`);
      expect(new URL(notYet.url).pathname).toBe(`/enroll/sign-in/${other.id}`);
      expect((await pomona.ctx.pendingEnrollments.get(other.id)).state).toBe('started');

      expect((await one.b.get(link)).status).toBe(200);
      const twice = await one.b.get(link);
      expect(twice.status).toBe(409);
      expect(statusText(twice.text)).toMatch(/already downloaded/);
    });

    it('links nothing for a replayed or tampered check-in key, and enforces a token\'s platform at check-in', async () => {
      const s = await begin();
      const download = await acceptTerms(s, await signIn(s, { username: 'ann', password: ANN_PASSWORD }));
      const profile = (await s.b.get(linkHref(download.text, 'Download profile')!)).body;
      const first = new SimulatedDevice({ platform: 'iOS' });
      await first.enroll(profile);
      // The same profile on a second device: its SCEP challenge is spent.
      await expect(new SimulatedDevice({ platform: 'iOS' }).enroll(profile)).rejects.toThrow();
      // A device with an identity of its own, pointed at the spent key, or at a made-up one.
      for (const key of [new URL(checkInUrlOf(profile)).searchParams.get('pe')!, 'made-up-key']) {
        const xml = (await pomona.profile({ unsigned: true })).toString('utf8').replace(`${pomona.url}/mdm/checkin</string>`, `${pomona.url}/mdm/checkin?pe=${key}</string>`);
        const replay = new SimulatedDevice({ platform: 'iOS' });
        await expect(replay.enroll(Buffer.from(xml))).rejects.toThrow(/Authenticate answered 400/);
        expect(await deviceRow(replay.udid)).toBeUndefined();
      }
      expect(await deviceRow(first.udid)).toMatchObject({ enrolled_user_id: u.ann });

      // A macOS token: a Mac browser cannot tell, so the user is asked; an iPhone then installing the profile is refused.
      const t = await token({ platform: 'macOS' });
      const mac = await begin(MAC);
      const asked = await withToken(mac, { token: t.token });
      expect(asked.status).toBe(400);
      expect(asked.text).toContain('<select id="platform" name="platform" required>');
      expect(inputValue(asked.text, 'token')).toBe(t.token);
      const terms = await withToken(mac, { token: t.token, platform: 'macOS' });
      expect(terms.status).toBe(200);
      const macProfile = (await mac.b.get(linkHref((await acceptTerms(mac, terms)).text, 'Download profile')!)).body;
      const iphone = new SimulatedDevice({ platform: 'iOS' });
      await expect(iphone.enroll(macProfile)).rejects.toThrow(/Authenticate answered 400/);
      expect(await deviceRow(iphone.udid)).toBeUndefined();
      expect((await pomona.ctx.pendingEnrollments.get(mac.id)).state).toBe('profile-issued');
    });

    it('throttles repeated wrong passwords with a clear message', async () => {
      const s = await begin();
      for (let i = 0; i < 5; i++) {
        const page = await signIn(s, { username: 'bob', password: 'not the password' });
        expect(page.status).toBe(400);
        expect(errorText(page.text)).toBe('wrong user name or password');
        expect(inputValue(page.text, 'username')).toBe('bob');
      }
      const blocked = await signIn(s, { username: 'bob', password: BOB_PASSWORD });
      expect(blocked.status).toBe(429);
      expect(errorText(blocked.text)).toMatch(/^too many failed attempts; try again in \d+ minute\(s\)$/);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await pomona.ctx.pendingEnrollments.get(s.id)).state).toBe('started');
      const keys = await pomona.ctx.database.db.selectFrom('sign_in_failures').select('key').distinct().execute();
      expect(keys.map((k) => k.key).sort()).toEqual(['enroll-addr:127.0.0.1', 'enroll-user:bob']);
    });

    it('signs directory users in through LDAP, and an injected filter matches nobody', async () => {
      const s = await begin(IPHONE, 'ACME-DIR');
      const injected = await signIn(s, { username: '*)(uid=*', password: 'anything at all' });
      expect(injected.status).toBe(400);
      expect(errorText(injected.text)).toBe('wrong user name or password');
      const filter = ldap.filters.at(-1)!;
      expect(filter.toString()).toBe('(&(objectClass=person)(uid=\\2a\\29\\28uid=\\2a))');
      expect(filter.filters?.map((f) => [f.type, f.attribute, f.value])).toEqual([
        ['EqualityFilter', 'objectClass', 'person'],
        ['EqualityFilter', 'uid', '*)(uid=*'],
      ]);
      const wildcard = await signIn(s, { username: '*', password: 'anything at all' });
      expect(errorText(wildcard.text)).toBe('wrong user name or password');

      const terms = await signIn(s, { username: 'carol', password: 'carol-Secret-1' });
      expect(terms.status).toBe(200);
      const p = await pomona.ctx.pendingEnrollments.get(s.id);
      const carol = await pomona.ctx.database.db.selectFrom('users').selectAll().where('username', '=', 'carol').executeTakeFirstOrThrow();
      expect(p).toMatchObject({ state: 'authenticated', userId: carol.id, groupId: g.dir, ownership: 'corporate-shared' });
      expect(carol.email).toBe('carol@example.org');
      expect(LDAP_SUFFIX).toBe('dc=example,dc=org');
    });

    it('says so when the directory cannot be reached', async () => {
      const down = await pomona.api('/api/v1/organization-groups', { body: { parentId: g.acme, name: 'Down', groupId: 'ACME-DOWN' } });
      await setting(down.json.id, 'enrollment.authenticationMethods', ['ldap']);
      const closed = await freePort();
      const created = await pomona.api('/api/v1/identity-providers', { body: { groupId: down.json.id, kind: 'ldap', name: 'Down', config: { ...ldap.config(), urls: [`ldap://127.0.0.1:${closed}`] } } });
      expect(created.status).toBe(201);
      const s = await begin(IPHONE, 'ACME-DOWN');
      const page = await signIn(s, { username: 'carol', password: 'carol-Secret-1' });
      expect(page.status).toBe(503);
      expect(errorText(page.text)).toBe('the directory cannot be reached right now; try again in a few minutes');
      expect((await pomona.ctx.pendingEnrollments.get(s.id)).state).toBe('started');
    });

    it('refuses expired, used, revoked, another user\'s and another platform\'s tokens, each saying why', async () => {
      const expired = await token({});
      await pomona.ctx.database.db.updateTable('registration_tokens').set({ expires_at: 86_400_000 }).where('id', '=', expired.id).execute();
      const used = await token({});
      await pomona.ctx.registrationTokens.redeem({ token: used.token, platform: 'iOS' });
      const revoked = await token({});
      expect((await pomona.api(`/api/v1/registration-tokens/${revoked.id}`, { method: 'DELETE' })).status).toBe(204);
      const anns = await token({ userId: u.ann, twoFactor: true });
      const forMacs = await token({ platform: 'macOS' });
      const cases: Array<[Record<string, string>, number, string]> = [
        [{ token: expired.token }, 403, 'this registration token expired on 1970-01-02'],
        [{ token: used.token }, 403, 'this registration token has already been used'],
        [{ token: revoked.token }, 403, 'this registration token was revoked'],
        [{ token: 'NOTATOKEN1' }, 403, 'this registration token is not valid'],
        [{ token: anns.token }, 400, 'this registration token also needs your password'],
        [{ token: anns.token, username: 'cy', password: CY_PASSWORD }, 403, 'this registration token was issued to another user'],
        [{ token: anns.token, username: 'cy' }, 400, 'this registration token also needs your password'],
        [{ token: anns.token, password: 'not the password' }, 400, 'wrong user name or password'],
        [{ token: forMacs.token }, 403, 'this registration token is for macOS devices only'],
      ];
      for (const [fields, status, message] of cases) {
        await pomona.ctx.database.db.deleteFrom('sign_in_failures').execute();
        const s = await begin();
        const page = await withToken(s, fields);
        expect([page.status, errorText(page.text)]).toEqual([status, message]);
        expect((await pomona.ctx.pendingEnrollments.get(s.id)).state).toBe('started');
      }
      expect((await pomona.api('/api/v1/registration-tokens')).json.items.find((x: { id: string }) => x.id === anns.id).uses).toBe(0);

      // The two-factor token with its user's password goes through, as that user.
      const s = await begin();
      expect((await withToken(s, { token: anns.token, password: ANN_PASSWORD })).status).toBe(200);
      expect(await pomona.ctx.pendingEnrollments.get(s.id)).toMatchObject({ userId: u.ann, registrationTokenId: anns.id, state: 'authenticated' });
    });

    it('refuses a Group ID where web enrollment is off, and one that does not exist', async () => {
      const s = await begin();
      const off = await signIn(s, { username: 'ann', password: ANN_PASSWORD, groupId: 'acme-lab' });
      expect(off.status).toBe(403);
      expect(errorText(off.text)).toBe('web enrollment is not allowed in "Lab"; ask your IT department');
      expect(inputValue(off.text, 'groupId')).toBe('acme-lab');
      const unknown = await signIn(s, { username: 'ann', password: ANN_PASSWORD, groupId: 'NOPE' });
      expect(errorText(unknown.text)).toBe('there is no group with the Group ID "NOPE"');
      expect((await pomona.ctx.pendingEnrollments.get(s.id)).state).toBe('started');
      // Without one, Ann's default group (Acme) allows it.
      expect((await signIn(s, { username: 'ann', password: ANN_PASSWORD })).status).toBe(200);
      expect((await pomona.ctx.pendingEnrollments.get(s.id)).groupId).toBe(g.acme);

      const start = await new TestBrowser(pomona.url).get('/enroll/web?group=NOPE');
      expect(start.status).toBe(404);
    });

    it('answers 403 to a form without the right CSRF token or from another browser, 404 to unknown or expired records', async () => {
      const s = await begin();
      for (const csrf of [undefined, '', 'forged', inputValue((await begin()).page.text, 'csrf')!]) {
        const fields: Record<string, string> = { username: 'ann', password: ANN_PASSWORD };
        if (csrf !== undefined) fields.csrf = csrf;
        const page = await s.b.post(`/enroll/sign-in/${s.id}/password`, fields);
        expect(page.status).toBe(403);
        expect(statusText(page.text)).toMatch(/no longer valid/);
      }
      const elsewhere = new TestBrowser(pomona.url);
      expect((await elsewhere.get(`/enroll/sign-in/${s.id}`)).status).toBe(403);
      expect((await elsewhere.post(`/enroll/sign-in/${s.id}/password`, { csrf: s.csrf, username: 'ann', password: ANN_PASSWORD })).status).toBe(403);
      expect((await pomona.ctx.pendingEnrollments.get(s.id)).state).toBe('started');

      for (const id of ['AAAAAAAAAAAAAAAAAAAAAA', '..%2F..%2Fetc', 'x'.repeat(64)]) {
        const page = await s.b.get(`/enroll/sign-in/${id}`);
        expect(page.status).toBe(404);
        expect(statusText(page.text)).toMatch(/start again/);
      }
      await pomona.ctx.database.db.updateTable('pending_enrollments').set({ expires_at: 1 }).where('id', '=', s.id).execute();
      const expired = await s.b.get(`/enroll/sign-in/${s.id}`);
      expect(expired.status).toBe(404);
      expect(linkHref(expired.text, 'Start again')).toBe('/enroll/web');
      expect((await s.b.post(`/enroll/sign-in/${s.id}/password`, { csrf: s.csrf, username: 'ann', password: ANN_PASSWORD })).status).toBe(404);
      expect((await pomona.api('/api/v1/pending-enrollments?state=incomplete')).json.items.map((p: { id: string }) => p.id)).toContain(s.id);
    });

    it('sends an SSO answer nobody waits for to a page of ours, never elsewhere', async () => {
      const res = await fetch(`${pomona.url}/sso/saml/nope/acs`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'SAMLResponse=x&RelayState=https%3A%2F%2Fevil.example%2F' });
      expect(res.status).toBe(404);
      expect(res.headers.get('location')).toBeNull();
    });
  });
});
