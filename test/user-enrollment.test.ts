/**
 * User enrollment (BYOD) end to end over HTTP, on SQLite and PostgreSQL: account-driven
 * (discovery → 401 challenge → web sign-in → access token → profile → a simulated device
 * checking in with an EnrollmentID) and profile-based, with the bad input each step must refuse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAttached } from '../src/apple/cms-sign.js';
import { parsePlist, type PlistDict } from '../src/apple/plist.js';
import { accessTokenFromResults, attemptEnrollment, discoverBaseUrl, enrollmentRequestBody, webAuthUrl, type BearerChallenge } from '../src/sim/account-driven.js';
import { SimulatedDevice } from '../src/sim/device.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, until, type TestServer } from './support/server.js';

/** A browser (or the device's web view): keeps cookies, follows nothing by itself. */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(private readonly origin: string) {}

  async get(path: string): Promise<Response> {
    return this.#send(path, { method: 'GET' });
  }

  async post(path: string, form: Record<string, string>): Promise<Response> {
    return this.#send(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  }

  async #send(path: string, init: RequestInit): Promise<Response> {
    const url = path.startsWith('http') ? path : this.origin + path;
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return res;
  }
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const mdmPayload = (profile: Buffer): PlistDict => {
  const xml = profile.subarray(0, 5).toString() === '<?xml' ? profile : verifyAttached(profile).content;
  return (parsePlist(xml).PayloadContent as PlistDict[]).find((p) => p.PayloadType === 'com.apple.mdm')!;
};

describe.each(testDatabaseKinds)('user enrollment over HTTP (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    let staff: string;
    let kiosks: string;
    const password = 'a long enough passphrase';
    const users: Record<string, string> = {};

    beforeAll(async () => {
      pomona = await startTestServer(kind);
      staff = (await pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Staff', groupId: 'STAFF' } })).json.id;
      kiosks = (await pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Kiosks', groupId: 'KIOSK' } })).json.id;
      expect((await pomona.api(`/api/v1/organization-groups/${staff}/settings/enrollment.userEnrollmentAllowed`, { method: 'PUT', body: { value: true } })).status).toBe(200);
      for (const [name, group] of [['ann', staff], ['bob', kiosks], ['cy', staff], ['dee', staff], ['eve', staff]] as const) {
        users[name] = (await pomona.api('/api/v1/users', { body: { username: name, password, defaultGroupId: group } })).json.id;
      }
      for (const name of ['ann', 'bob', 'dee', 'eve']) {
        const set = await pomona.api(`/api/v1/users/${users[name]}/managed-apple-id`, { method: 'PUT', body: { managedAppleId: `${name}@acme.example` } });
        expect(set.json).toMatchObject({ assigned: `${name}@acme.example`, effective: `${name}@acme.example`, source: 'assigned' });
      }
    }, 60_000);
    afterAll(() => pomona?.close());

    /** The device's web view: the web-auth URL, the sign-in form, then the authentication result. */
    async function webSignIn(challenge: BearerChallenge, account: string, username: string): Promise<{ location: string | null; status: number; html: string }> {
      const view = new Browser(pomona.url);
      const start = await view.get(webAuthUrl(challenge, account));
      expect(start.status).toBe(303);
      const page = start.headers.get('location')!;
      const form = await (await view.get(page)).text();
      const signedIn = await view.post(`${page}/password`, { csrf: csrfOf(form), username, password });
      if (signedIn.status !== 303) return { status: signedIn.status, location: null, html: await signedIn.text() };
      const after = await view.get(signedIn.headers.get('location')!);
      return { status: after.status, location: after.headers.get('location'), html: await after.text() };
    }

    async function accountDrivenProfile(account: string, username: string): Promise<{ baseUrl: string; token: string; profile: Buffer }> {
      const baseUrl = await discoverBaseUrl(pomona.url, account);
      const first = await attemptEnrollment(baseUrl, enrollmentRequestBody());
      if (first.kind !== 'challenge') throw new Error(`expected the challenge, got ${first.status}`);
      const result = await webSignIn(first.challenge, account, username);
      expect(result.status).toBe(308);
      const token = accessTokenFromResults(result.location!)!;
      const second = await attemptEnrollment(baseUrl, enrollmentRequestBody(), token);
      if (second.kind !== 'profile') throw new Error(`expected the profile, got ${second.status}`);
      return { baseUrl, token, profile: second.profile };
    }

    it('account-driven: discovery, challenge, sign-in, token, profile, then an EnrollmentID check-in with no hardware identifier', async () => {
      const discovery = await fetch(`${pomona.url}/.well-known/com.apple.remotemanagement?user-identifier=ann%40acme.example&model-family=iPhone`);
      expect(discovery.status).toBe(200);
      expect(discovery.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await discovery.json()).toEqual({ Servers: [{ Version: 'mdm-byod', BaseURL: `${pomona.url}/enroll/user/account` }] });

      const baseUrl = `${pomona.url}/enroll/user/account`;
      const first = await fetch(baseUrl, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: enrollmentRequestBody() });
      expect(first.status).toBe(401);
      expect(first.headers.get('www-authenticate')).toBe(`Bearer method="apple-as-web", url="${pomona.url}/enroll/user/account/sign-in"`);

      const result = await webSignIn({ method: 'apple-as-web', url: `${pomona.url}/enroll/user/account/sign-in` }, 'ann@acme.example', 'ann');
      expect(result.status).toBe(308);
      expect(result.location).toMatch(/^apple-remotemanagement-user-login:\/\/authentication-results\?access-token=/);
      const token = accessTokenFromResults(result.location!)!;

      const second = await attemptEnrollment(baseUrl, enrollmentRequestBody(), token);
      expect(second.status).toBe(200);
      if (second.kind !== 'profile') return;
      expect(second.contentType).toBe('application/x-apple-aspen-config');
      const mdm = mdmPayload(second.profile);
      expect(mdm).toMatchObject({ AssignedManagedAppleID: 'ann@acme.example', EnrollmentMode: 'BYOD' });
      expect(mdm).not.toHaveProperty('AccessRights');
      expect(parsePlist(verifyAttached(second.profile).content)).toMatchObject({ PayloadDisplayName: 'Staff Work Account' });

      // The token was single-use: the device would be sent back to sign in.
      expect(await attemptEnrollment(baseUrl, enrollmentRequestBody(), token)).toMatchObject({ status: 401 });

      const device = new SimulatedDevice({ userEnrollment: true });
      await device.enroll(second.profile);
      const db = pomona.ctx.database.db;
      const enrollment = await db.selectFrom('enrollments').selectAll().where('id', '=', device.enrollmentId!).executeTakeFirstOrThrow();
      expect(enrollment).toMatchObject({ type: 'User Enrollment (Device)', channel: 'device', status: 'active' });
      const row = await db.selectFrom('devices').selectAll().where('id', '=', enrollment.device_id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ udid: null, serial_number: null, imei: null, meid: null, user_enrolled: 1, ownership: 'employee-owned', organization_group_id: staff, enrolled_user_id: users.ann, enrollment_method: 'user-account' });
      expect(JSON.stringify(await db.selectFrom('devices').selectAll().execute())).not.toContain(device.udid);
      const staged = await pomona.api('/api/v1/pending-enrollments?mode=user-account&state=enrolled');
      expect(staged.json.items).toContainEqual(expect.objectContaining({ mode: 'user-account', state: 'enrolled', userId: users.ann, managedAppleId: 'ann@acme.example', enrollmentId: device.enrollmentId, deviceId: row.id, groupId: staff }));
    }, 60_000);

    it('profile-based: sign in on a web page, download the work profile once, enroll', async () => {
      const browser = new Browser(pomona.url);
      const start = await browser.get('/enroll/user-profile');
      expect(start.status).toBe(303);
      const page = start.headers.get('location')!;
      const form = await (await browser.get(page)).text();
      expect(form).toContain('Group ID');
      const signedIn = await browser.post(`${page}/password`, { csrf: csrfOf(form), username: 'dee', password, groupId: '' });
      expect(signedIn.status).toBe(303);
      const download = await browser.get(page);
      const html = await download.text();
      expect(download.status).toBe(200);
      expect(html).toContain('dee@acme.example');
      const href = /href="(\/enroll\/user-profile\/[^"]+\/profile\?t=[^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
      expect((await new Browser(pomona.url).get(href)).status).toBe(403); // another browser
      const res = await browser.get(href);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-apple-aspen-config');
      const profile = Buffer.from(await res.arrayBuffer());
      expect(mdmPayload(profile)).toMatchObject({ AssignedManagedAppleID: 'dee@acme.example', ManagedAppleID: 'dee@acme.example', EnrollmentMode: 'BYOD' });
      expect((await browser.get(href)).status).toBe(409);
      expect(await (await browser.get(page)).text()).toContain('Profile downloaded');

      const device = new SimulatedDevice({ userEnrollment: true });
      await device.enroll(profile);
      const db = pomona.ctx.database.db;
      const enrollment = await db.selectFrom('enrollments').select('device_id').where('id', '=', device.enrollmentId!).executeTakeFirstOrThrow();
      const row = await db.selectFrom('devices').selectAll().where('id', '=', enrollment.device_id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ udid: null, serial_number: null, user_enrolled: 1, ownership: 'employee-owned', organization_group_id: staff, enrolled_user_id: users.dee, enrollment_method: 'user-profile' });
    }, 60_000);

    it('drops the UDID, serial number and IMEI a faulty user-enrolled device sends, at check-in and in command results', async () => {
      const { profile } = await accountDrivenProfile('eve@acme.example', 'eve');
      const device = new SimulatedDevice({ userEnrollment: true, leakIdentifiers: true });
      pomona.wake(device);
      await device.enroll(profile);
      const db = pomona.ctx.database.db;
      const enrollment = await db.selectFrom('enrollments').selectAll().where('id', '=', device.enrollmentId!).executeTakeFirstOrThrow();
      const cmd = await pomona.api('/api/v1/commands', { body: { devices: [device.enrollmentId!], command: { RequestType: 'DeviceInformation', Queries: ['UDID', 'SerialNumber', 'IMEI', 'DeviceName', 'OSVersion'] } } });
      expect(cmd.status).toBe(201);
      await pomona.commandSettled(cmd.json.commandUuid, 'Acknowledged');
      const row = await db.selectFrom('devices').selectAll().where('id', '=', enrollment.device_id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ udid: null, serial_number: null, imei: null, user_enrolled: 1 });
      const everything = JSON.stringify([row, enrollment, await db.selectFrom('command_queue').selectAll().execute()]);
      expect(everything).not.toContain(device.udid);
      expect(everything).not.toContain(device.serialNumber);
      expect(everything).not.toContain('35 209900 176148 1');
      expect(everything).toContain(device.enrollmentId);
    }, 60_000);

    it('answers the challenge again to a reused, expired or forged token, and to none', async () => {
      const { baseUrl, token } = await accountDrivenProfile('ann@acme.example', 'ann');
      const challenge = `Bearer method="apple-as-web", url="${pomona.url}/enroll/user/account/sign-in"`;
      for (const bearer of [token, 'forged-token', 'x'.repeat(300)]) {
        const res = await fetch(baseUrl, { method: 'POST', headers: { authorization: `Bearer ${bearer}` }, body: enrollmentRequestBody() });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe(challenge);
      }
      const basic = await fetch(baseUrl, { method: 'POST', headers: { authorization: 'Basic YTpi' }, body: enrollmentRequestBody() });
      expect(basic.status).toBe(401);

      // An access token that outlived its few minutes.
      const first = await attemptEnrollment(baseUrl, enrollmentRequestBody());
      const result = await webSignIn((first as { challenge: BearerChallenge }).challenge, 'ann@acme.example', 'ann');
      const late = accessTokenFromResults(result.location!)!;
      await pomona.ctx.database.db.updateTable('user_enrollment_tokens').set({ expires_at: Date.now() - 1 }).where('used_at', 'is', null).execute();
      expect(await attemptEnrollment(baseUrl, enrollmentRequestBody(), late)).toMatchObject({ status: 401 });
    }, 60_000);

    it('refuses clearly where user enrollment is off, without a Managed Apple Account, or with another account than the device\'s', async () => {
      const challenge = { method: 'apple-as-web', url: `${pomona.url}/enroll/user/account/sign-in` };
      const off = await webSignIn(challenge, 'bob@acme.example', 'bob');
      expect(off.status).toBe(403);
      expect(off.html).toContain('user enrollment is not allowed in &quot;Kiosks&quot;');
      const none = await webSignIn(challenge, 'cy@acme.example', 'cy');
      expect(none.status).toBe(403);
      expect(none.html).toContain('No work account (Managed Apple Account) is assigned to cy');
      const other = await webSignIn(challenge, 'boss@acme.example', 'ann');
      expect(other.status).toBe(403);
      expect(other.html).toContain('This device is signing in with boss@acme.example, but the work account of ann is ann@acme.example');
      const malformed = await new Browser(pomona.url).get(`${challenge.url}?user-identifier=%3Cscript%3E`);
      expect(malformed.status).toBe(400);
    }, 60_000);

    it('refuses malformed discovery queries and enrollment requests with 4xx, never 500', async () => {
      const wk = `${pomona.url}/.well-known/com.apple.remotemanagement`;
      for (const q of ['', '?model-family=iPhone', '?user-identifier=ann', '?user-identifier=ann%40acme.example&model-family=Toaster', '?user-identifier=a%40b.example&user-identifier=c%40d.example']) {
        expect((await fetch(wk + q)).status, q).toBe(400);
      }
      const watch = await fetch(`${wk}?user-identifier=ann%40acme.example&model-family=Watch`);
      expect(watch.status).toBe(403);
      expect(await watch.json()).toMatchObject({ code: 'com.apple.well-known.failed' });

      const baseUrl = `${pomona.url}/enroll/user/account`;
      const post = (body: string | Buffer, type = 'application/xml') => fetch(baseUrl, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : new Uint8Array(body) });
      expect((await post(Buffer.alloc(70 * 1024, 0x41))).status).toBe(413);
      expect((await post('not a plist')).status).toBe(400);
      expect((await post('')).status).toBe(400);
      expect((await post('{"PRODUCT":"iPhone"}', 'application/json')).status).toBe(400);
      expect((await post('<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY x "y">]><plist><dict><key>PRODUCT</key><string>&x;</string></dict></plist>')).status).toBe(400);
      expect((await post(Buffer.from([0x30, 0x82, 0xff, 0xff, 0x06]), 'application/pkcs7-signature')).status).toBe(400);
    });

    it('lets an administrator of a branch assign the accounts of that branch\'s users only', async () => {
      const { ctx } = pomona;
      const scoped = (await ctx.tokens.create({ name: 'staff-admin', role: 'administrator', scope: await ctx.groups.scopeOf(staff) })).secret;
      const put = (userId: string, managedAppleId: string | null) =>
        fetch(`${pomona.url}/api/v1/users/${userId}/managed-apple-id`, { method: 'PUT', headers: { authorization: `Bearer ${scoped}`, 'content-type': 'application/json' }, body: JSON.stringify({ managedAppleId }) });
      expect((await put(users.cy!, 'cy@acme.example')).status).toBe(200);
      expect((await put(users.bob!, 'bob2@acme.example')).status).toBe(403);
      expect((await put(users.cy!, 'ann@acme.example')).status).toBe(409);
      expect((await put(users.cy!, null)).status).toBe(200);
      const audit = await ctx.audit.list({ action: 'user.managed-apple-id.set' });
      expect(audit.events.some((e: { target: string | null }) => e.target === users.cy)).toBe(true);
    });

    it('lists abandoned user enrollments as incomplete', async () => {
      const browser = new Browser(pomona.url);
      const started = await browser.get('/enroll/user-profile');
      const id = started.headers.get('location')!.split('/').pop()!;
      await pomona.ctx.database.db.updateTable('pending_enrollments').set({ expires_at: Date.now() - 1 }).where('id', '=', id).execute();
      const listed = await until(async () => {
        const items = (await pomona.api('/api/v1/pending-enrollments?mode=user-profile&state=incomplete')).json.items as Array<{ id: string }>;
        return items.some((i) => i.id === id) ? items : undefined;
      });
      expect(listed.find((i) => i.id === id)).toMatchObject({ mode: 'user-profile', state: 'incomplete' });
    });
  });
});
