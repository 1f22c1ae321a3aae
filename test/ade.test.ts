/**
 * Automated Device Enrollment end to end through a real server, on SQLite and PostgreSQL: devices
 * in the ABM simulator activate, present MachineInfo signed by the simulated device CA (trusted
 * in test mode), and enroll — with authentication off (POST to the profile's url) or on (the
 * web view and the shared sign-in pages) — subject to the profile's OS rule. Then each hostile
 * request is refused with a clear 4xx and nothing enrolled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAbmSimulator, type AbmSimulator } from '../src/sim/abm/server.js';
import { SimulatedDeviceCa, signMachineInfo, type DeviceIdentity } from '../src/sim/device-identity-ca.js';
import { AdeDevice, passwordSignIn } from '../src/sim/ade-device.js';
import { WebBrowser, errorText, inputValue, signInPathOf } from '../src/sim/web-browser.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, until, type TestServer } from './support/server.js';

const ALICE_PASSWORD = 'alice has a long passphrase';

describe.each(testDatabaseKinds)('ADE enrollment (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    let sim: AbmSimulator;
    let deviceCa: SimulatedDeviceCa;
    let identity: DeviceIdentity;
    let dir: string;
    let serverId: string;
    let otherServerProfile: string;
    const profiles = { open: '', signed: '', mac: '' };
    const groups = { sales: '' };
    let udids = 0;

    const deviceRow = (serial: string) => pomona.ctx.database.db.selectFrom('devices').selectAll().where('serial_number', '=', serial).executeTakeFirst();
    const deviceCount = async () => (await pomona.ctx.database.db.selectFrom('devices').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    const adeDevice = (serial: string, o: { product?: string; osVersion?: string; build?: string; canUpdate?: boolean } = {}) =>
      new AdeDevice({
        serial, udid: `00008130-00${String(++udids).padStart(14, '0')}`, product: o.product ?? 'iPhone16,1', osVersion: o.osVersion ?? '18.1', build: o.build ?? '22B83',
        canRequestSoftwareUpdate: o.canUpdate ?? true, identity, abmUrl: sim.url, signIn: passwordSignIn('alice', ALICE_PASSWORD),
      });
    const postMachineInfo = (body: Buffer | string, query = '') =>
      fetch(`${pomona.url}/enroll/ade${query}`, { method: 'POST', headers: { 'content-type': 'application/pkcs7-signature' }, body: typeof body === 'string' ? body : new Uint8Array(body) })
        .then(async (r) => ({ status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() }));
    const signed = (serial: string, extra: Record<string, unknown> = {}) =>
      signMachineInfo({ UDID: 'U-1', SERIAL: serial, PRODUCT: 'iPhone16,1', VERSION: '22B83', OS_VERSION: '18.1', ...extra }, identity);

    beforeAll(async () => {
      // The test server speaks plain HTTP on loopback; Apple would insist on https for the web view.
      sim = await startAbmSimulator({ seed: 11, profileValidation: { allowHttpWebUrl: true } });
      deviceCa = await SimulatedDeviceCa.create();
      identity = await deviceCa.issue('0B7C5A2E-7777-4B43-9C2E-4F0B2C3D8E11');
      dir = mkdtempSync(join(tmpdir(), 'pomona-ade-'));
      writeFileSync(join(dir, 'device-ca.pem'), deviceCa.rootPem);
      pomona = await startTestServer(kind, { adeTestRootFile: join(dir, 'device-ca.pem') });

      // Two ABM servers, each with its token; the devices live on the first.
      const apple = sim.createServer({ name: 'ADE Main' }).serverUuid;
      const appleOther = sim.createServer({ name: 'ADE Other' }).serverUuid;
      const connect = async (name: string, uuid: string) => {
        const created = await pomona.api('/api/v1/abm-servers', { body: { name, baseUrl: sim.url } });
        const pem = await (await fetch(`${pomona.url}/api/v1/abm-servers/${created.json.id}/public-key`, { headers: { authorization: `Bearer ${pomona.token}` } })).text();
        const up = await fetch(`${pomona.url}/api/v1/abm-servers/${created.json.id}/token`, {
          method: 'PUT', headers: { authorization: `Bearer ${pomona.token}`, 'content-type': 'application/pkcs7-mime' }, body: sim.issueToken(uuid, pem).smime,
        });
        expect(up.status).toBe(200);
        return created.json.id as string;
      };
      serverId = await connect('Main', apple);
      const otherId = await connect('Other', appleOther);

      const sales = await pomona.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Sales', groupId: 'SALES' } });
      groups.sales = sales.json.id;
      await pomona.api(`/api/v1/organization-groups/global/settings/enrollment.authenticationMethods`, { method: 'PUT', body: { value: ['local'] } });
      expect((await pomona.api('/api/v1/users', { body: { username: 'alice', password: ALICE_PASSWORD, defaultGroupId: groups.sales } })).status).toBe(201);

      const create = async (server: string, settings: Record<string, unknown>) => {
        const res = await pomona.api(`/api/v1/abm-servers/${server}/profiles`, { body: { settings } });
        expect(res.status).toBe(201);
        return res.json.id as string;
      };
      profiles.open = await create(serverId, {
        apple: { profile_name: 'Open', await_device_configured: false },
        pomona: { userAssignment: { mode: 'defined', username: 'alice' }, osRules: { iOS: { minimum: { version: '17.4' }, maximum: { version: '18.9' }, message: 'Update this iPhone to iOS 17.4 first.' } } },
      });
      profiles.signed = await create(serverId, { apple: { profile_name: 'Signed', await_device_configured: false }, pomona: { authentication: { enabled: true, methods: ['password'] } } });
      otherServerProfile = await create(otherId, { apple: { profile_name: 'Elsewhere' } });
      const stagingProfile = await create(serverId, { apple: { profile_name: 'Staging', await_device_configured: false }, pomona: { userAssignment: { mode: 'staging' } } });
      profiles.mac = await create(serverId, {
        apple: { profile_name: 'Mac signed', await_device_configured: true },
        pomona: { authentication: { enabled: true, methods: ['password'] }, macOSAccountSetup: { prefill: { enabled: true, lock: true } } },
      });

      sim.addDevices(apple, [
        { serial_number: 'ADEOPEN00001', device_family: 'iPhone', model: 'iPhone 15', os: 'iOS' },
        { serial_number: 'ADEOLD000002', device_family: 'iPhone', model: 'iPhone 15', os: 'iOS' },
        { serial_number: 'ADEOLD000003', device_family: 'iPhone', model: 'iPhone 15', os: 'iOS' },
        { serial_number: 'ADESIGN00004', device_family: 'iPhone', model: 'iPhone 15', os: 'iOS' },
        { serial_number: 'ADENEW000005', device_family: 'iPhone', model: 'iPhone 15', os: 'iOS' },
        { serial_number: 'ADESTAGE0007', device_family: 'iPad', model: 'iPad Air', os: 'iOS' },
        { serial_number: 'ADEMAC000008', device_family: 'Mac', model: 'MacBook Air', os: 'OSX' },
      ]);
      await pomona.ctx.scheduler.runNow('abm-sync');
      const moved = await pomona.api('/api/v1/abm-devices/assign', { body: { serverId, serials: ['ADESIGN00004'], profileId: profiles.signed } });
      expect(moved.status).toBe(200);
      expect((await pomona.api('/api/v1/abm-devices/assign', { body: { serverId, serials: ['ADESTAGE0007'], profileId: stagingProfile } })).status).toBe(200);
      expect((await pomona.api('/api/v1/abm-devices/assign', { body: { serverId, serials: ['ADEMAC000008'], profileId: profiles.mac } })).status).toBe(200);
    });
    afterAll(async () => {
      await pomona?.close();
      await sim?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('enrolls a device with authentication off: profile, SCEP, check-in; placed, owned and assigned as the profile says', async () => {
      const d = adeDevice('ADEOPEN00001');
      const outcome = await d.run();
      expect(outcome).toEqual({ kind: 'enrolled' });
      expect(d.configuration!.url).toBe(`${pomona.url}/enroll/ade?profile=${profiles.open}`);
      const row = (await deviceRow('ADEOPEN00001'))!;
      const alice = (await pomona.ctx.users.byUsername('alice'))!;
      expect(row).toMatchObject({ udid: d.device.udid, organization_group_id: 'global', ownership: 'corporate-dedicated', enrollment_method: 'ade', enrolled_user_id: alice.id });
      const [pending] = await pomona.ctx.pendingEnrollments.list({ mode: 'ade', state: 'enrolled' });
      expect(pending).toMatchObject({ groupId: 'global', userId: alice.id, deviceId: row.id, context: { serial: 'ADEOPEN00001', profileId: profiles.open } });
    });

    it('enrolls to the staging user when the profile says so', async () => {
      expect(await adeDevice('ADESTAGE0007', { product: 'iPad13,18' }).run()).toEqual({ kind: 'enrolled' });
      const staging = await pomona.ctx.users.stagingUser();
      expect(staging).toMatchObject({ id: 'staging-user', username: 'staging', source: 'system' });
      expect(await deviceRow('ADESTAGE0007')).toMatchObject({ enrolled_user_id: staging.id, enrollment_method: 'ade' });
      // Handed to its user later: reassigned, audited.
      const alice = (await pomona.ctx.users.byUsername('alice'))!;
      const device = (await deviceRow('ADESTAGE0007'))!;
      expect((await pomona.api(`/api/v1/devices/${device.id}/user`, { body: { userId: alice.id } })).status).toBe(200);
      expect((await deviceRow('ADESTAGE0007'))!.enrolled_user_id).toBe(alice.id);
      expect((await pomona.api(`/api/v1/devices/${device.id}`)).json.device).toMatchObject({ userId: alice.id, enrollmentMethod: 'ade' });
      const audit = (await pomona.api('/api/v1/audit-events?action=device.user.set')).json;
      expect(JSON.stringify(audit)).toContain(alice.id);
      expect((await pomona.api(`/api/v1/devices/${device.id}/user`, { body: { userId: 'no-such-user' } })).status).toBe(404);
    });

    it('reuses the device record when a wiped device enrolls again: old queue cleared, history kept', async () => {
      const first = (await deviceRow('ADEOPEN00001'))!;
      const before = await deviceCount();
      const queued = await pomona.api('/api/v1/commands', { body: { devices: ['ADEOPEN00001'], command: { RequestType: 'ProfileList' }, push: false } });
      expect(queued.status).toBe(201);
      const udid = first.udid!;
      // The same hardware after an erase: same UDID and serial, a new identity.
      const wiped = new AdeDevice({ serial: 'ADEOPEN00001', udid, product: 'iPhone16,1', osVersion: '18.1', build: '22B83', identity, abmUrl: sim.url });
      expect(await wiped.run()).toEqual({ kind: 'enrolled' });
      expect(await deviceCount()).toBe(before);
      expect((await deviceRow('ADEOPEN00001'))!.id).toBe(first.id);
      const queue = await pomona.ctx.database.db.selectFrom('command_queue').selectAll().where('enrollment_id', '=', udid).where('command_uuid', '=', queued.json.commandUuid).execute();
      expect(queue).toHaveLength(1);
      expect(queue[0]).toMatchObject({ active: 0 }); // kept as history, never sent to the new installation
      const enrolledTwice = (await pomona.ctx.pendingEnrollments.list({ mode: 'ade', state: 'enrolled' })).filter((p) => p.deviceId === first.id);
      expect(enrolledTwice).toHaveLength(2);
      const enrollment = await pomona.ctx.database.db.selectFrom('enrollments').selectAll().where('id', '=', udid).executeTakeFirstOrThrow();
      expect(enrollment).toMatchObject({ is_ade: 1, status: 'active' });

      expect(wiped.device.answered).toEqual([]);
    });

    it('asks a device below the minimum to update, then enrolls it; refuses one that cannot update, with the admin message', async () => {
      const old = adeDevice('ADEOLD000002', { osVersion: '17.2', build: '21C62' });
      expect(await old.run()).toEqual({ kind: 'enrolled', updatedTo: '17.4' });
      expect(old.steps).toContain('software update required: 17.4');

      const before = await deviceCount();
      const stuck = adeDevice('ADEOLD000003', { osVersion: '17.2', build: '21C62', canUpdate: false });
      expect(await stuck.run()).toEqual({ kind: 'refused', status: 403, message: 'Update this iPhone to iOS 17.4 first.' });
      expect(await deviceCount()).toBe(before);

      // Exactly Apple's body, straight from the endpoint.
      const raw = await postMachineInfo(signed('ADEOLD000003', { OS_VERSION: '17.1', MDM_CAN_REQUEST_SOFTWARE_UPDATE: true }), `?profile=${profiles.open}`);
      expect(raw.status).toBe(403);
      expect(raw.type).toMatch(/^application\/json/);
      expect(JSON.parse(raw.text)).toEqual({ code: 'com.apple.softwareupdate.required', message: 'Update this iPhone to iOS 17.4 first.', details: { OSVersion: '17.4' } });
      const tooNew = await postMachineInfo(signed('ADENEW000005', { OS_VERSION: '19.0' }), `?profile=${profiles.open}`);
      expect(tooNew.status).toBe(403);
      expect(JSON.parse(tooNew.text).message).toBe('Update this iPhone to iOS 17.4 first.');
    });

    it('signs the user in through the web view and places the device in the lower of the profile and user groups', async () => {
      const d = adeDevice('ADESIGN00004');
      expect(await d.run()).toEqual({ kind: 'enrolled' });
      expect(d.steps).toContain('web view opened');
      const row = (await deviceRow('ADESIGN00004'))!;
      const alice = (await pomona.ctx.users.byUsername('alice'))!;
      expect(row).toMatchObject({ organization_group_id: groups.sales, enrollment_method: 'ade-webview', enrolled_user_id: alice.id, ownership: 'corporate-dedicated' });
    });

    it("tells each device's ADE timeline, with the reason of every refusal", async () => {
      const steps = async (serial: string) => {
        const res = await pomona.api(`/api/v1/abm-devices/${serial}/timeline`);
        expect(res.status).toBe(200);
        return res.json.items as Array<{ at: number; step: string; outcome: string; detail?: string }>;
      };
      // Apple marks the profile pushed at activation; Pomona learns it at the next sync.
      await pomona.api(`/api/v1/abm-servers/${serverId}/sync`, { body: {} });
      await pomona.ctx.scheduler.runNow('abm-sync');
      const updated = await steps('ADEOLD000002');
      expect(updated.map((e) => e.step)).toEqual(expect.arrayContaining([
        'Added to Apple Business Manager', 'Enrollment profile assigned', 'Profile pushed to the device', 'Enrollment request: software update required',
        'Enrollment requested', 'Assigned', 'Enrollment profile delivered', 'Device identity issued (SCEP)', 'First check-in',
      ]));
      expect(updated.find((e) => e.step === 'Assigned')!.detail).toBe('to alice');
      expect(updated.map((e) => e.at)).toEqual([...updated.map((e) => e.at)].sort((a, b) => a - b));
      const update = updated.findIndex((e) => e.step === 'Enrollment request: software update required');
      expect(update).toBeLessThan(updated.findIndex((e) => e.step === 'First check-in'));

      const refused = await steps('ADEOLD000003');
      expect(refused).toContainEqual(expect.objectContaining({ step: 'Enrollment request refused', outcome: 'failed', detail: 'Update this iPhone to iOS 17.4 first.' }));
      expect(refused.some((e) => e.step === 'First check-in')).toBe(false);

      const signedIn = await steps('ADESIGN00004');
      expect(signedIn).toContainEqual(expect.objectContaining({ step: 'Web view opened' }));
      expect(signedIn).toContainEqual(expect.objectContaining({ step: 'Signed in', detail: 'alice (password)' }));

      expect((await pomona.api('/api/v1/abm-devices/NEVERSEEN001/timeline')).status).toBe(404);
    });

    it('serves an external custom enrollment page the profile for its device and user, to custom-enrollment tokens within scope only', async () => {
      const mint = async (role: string, scope?: string) => (await pomona.api('/api/v1/api-tokens', { body: { name: `custom ${role} ${scope ?? ''}`, role, ...(scope ? { scope } : {}) } })).json.secret as string;
      const custom = await mint('custom-enrollment');
      const ask = (token: string, serial: string, body?: unknown, extra: Record<string, string> = {}) =>
        fetch(`${pomona.url}/enroll/ade/custom-profile`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'x-apple-aspen-deviceinfo': signed(serial).toString('base64'), ...(body ? { 'content-type': 'application/json' } : {}), ...extra },
          body: body ? JSON.stringify(body) : undefined,
        });
      sim.addDevices(sim.servers().find((x) => x.name === 'ADE Main')!.serverUuid, [{ serial_number: 'ADECUSTOM006', device_family: 'iPhone', model: 'iPhone 15', os: 'iOS' }]);
      await pomona.api(`/api/v1/abm-servers/${serverId}/sync`, { body: {} });
      await pomona.ctx.scheduler.runNow('abm-sync');

      const res = await ask(custom, 'ADECUSTOM006', { user: 'alice' });
      if (res.status !== 200) throw new Error(await res.text());
      expect(res.headers.get('content-type')).toBe('application/x-apple-aspen-config');
      const d = new AdeDevice({ serial: 'ADECUSTOM006', udid: 'CUSTOM-UDID-6', product: 'iPhone16,1', osVersion: '18.1', build: '22B83', identity, abmUrl: sim.url });
      await d.device.enroll(Buffer.from(await res.arrayBuffer()));
      const alice = (await pomona.ctx.users.byUsername('alice'))!;
      expect(await deviceRow('ADECUSTOM006')).toMatchObject({ enrollment_method: 'ade-custom', enrolled_user_id: alice.id, organization_group_id: groups.sales });

      expect((await ask(custom, 'ADECUSTOM006')).status).toBe(200); // anonymous
      expect((await ask(custom, 'ADECUSTOM006', { user: 'nobody-such' })).status).toBe(403);
      expect((await ask(custom, 'ADECUSTOM006', { user: 42 })).status).toBe(400);
      expect((await ask(await mint('operator'), 'ADECUSTOM006')).status).toBe(403);
      const outside = await ask(await mint('custom-enrollment', groups.sales), 'ADECUSTOM006');
      expect(outside.status).toBe(403);
      expect(((await outside.json()) as { message: string }).message).toMatch(/outside this API token's scope/);
      const noHeader = await fetch(`${pomona.url}/enroll/ade/custom-profile`, { method: 'POST', headers: { authorization: `Bearer ${custom}` } });
      expect(noHeader.status).toBe(400);
      // The custom-enrollment role can do nothing else.
      expect((await fetch(`${pomona.url}/api/v1/devices`, { headers: { authorization: `Bearer ${custom}` } })).status).toBe(403);
    });

    it("lets a Mac's user choose the primary account in the web view, which the setup plan prefills (locked) before release", async () => {
      const mac = new AdeDevice({
        serial: 'ADEMAC000008', udid: 'MAC-UDID-0008', product: 'Mac14,2', osVersion: '15.1', build: '24B83', identity, abmUrl: sim.url,
        signIn: passwordSignIn('alice', ALICE_PASSWORD, { macAccount: { fullName: 'Alice Liddell' } }),
      });
      pomona.wake(mac.device);
      expect(await mac.run()).toEqual({ kind: 'enrolled' });
      await until(async () => (mac.device.setupAssistant.configured ? true : undefined));
      expect(mac.device.setupAssistant.accountConfiguration!.prefill).toEqual({ fullName: 'Alice Liddell', shortName: 'alice', locked: true });
      const plan = (await pomona.api(`/api/v1/devices/${(await deviceRow('ADEMAC000008'))!.id}/setup-plan`)).json;
      expect(plan).toMatchObject({ status: 'released' });

      // A name Setup Assistant would refuse is refused on the page, with the reason.
      const header = { 'x-apple-aspen-deviceinfo': mac.machineInfo().toString('base64') };
      const b = new WebBrowser(pomona.url);
      const page = await b.get(`/enroll/ade/webview?profile=${profiles.mac}`, { headers: header });
      const path = signInPathOf(page.text)!;
      const form = await b.post(`${path}/password`, { csrf: inputValue(page.text, 'csrf')!, username: 'alice', password: ALICE_PASSWORD });
      expect(new URL(form.url).pathname).toBe(path); // the flow's continuation comes from a GET of the record's page, after a 303
      // The form posted again (a reload) shows the record's page again and changes nothing.
      const id = path.split('/').pop()!;
      const signedIn = await pomona.ctx.pendingEnrollments.get(id);
      const reposted = await b.post(`${path}/password`, { csrf: inputValue(page.text, 'csrf')!, username: 'mallory', password: 'wrong' });
      expect(reposted.status).toBe(200);
      expect(reposted.text).toBe(form.text);
      expect(await pomona.ctx.pendingEnrollments.get(id)).toEqual(signedIn);
      const bad = await b.post(`/enroll/ade/webview/${path.split('/').pop()}/account`, { csrf: inputValue(form.text, 'csrf')!, fullName: 'Alice', shortName: 'Not Valid!' });
      expect(bad.status).toBe(400);
      expect(errorText(bad.text)).toMatch(/account name must start with a lower-case letter/);
    });

    it('gives each web-view load its own staging record, and a restarted one leaves no ghost device', async () => {
      const before = await deviceCount();
      const header = { 'x-apple-aspen-deviceinfo': signed('ADESIGN00004').toString('base64') };
      const first = await new WebBrowser(pomona.url).get(`/enroll/ade/webview?profile=${profiles.signed}`, { headers: header });
      const second = await new WebBrowser(pomona.url).get(`/enroll/ade/webview?profile=${profiles.signed}`, { headers: header });
      expect(first.status).toBe(200);
      expect(first.url).toBe(`${pomona.url}/enroll/ade/webview?profile=${profiles.signed}`); // the page itself, no redirect
      expect(signInPathOf(first.text)).toMatch(/^\/enroll\/sign-in\/[\w-]{22}$/);
      expect(signInPathOf(first.text)).not.toBe(signInPathOf(second.text));
      expect(await deviceCount()).toBe(before);
    });

    it('refuses forged, unsigned and tampered MachineInfo, unknown serials, other servers, and skipped sign-in — nothing enrolled', async () => {
      const before = await deviceCount();
      const other = await (await SimulatedDeviceCa.create()).issue('FORGED');
      const forged = await postMachineInfo(signMachineInfo({ UDID: 'U', SERIAL: 'ADEOPEN00001', PRODUCT: 'iPhone16,1', VERSION: '22B83' }, other));
      expect(forged.status).toBe(400);
      expect(JSON.parse(forged.text).message).toMatch(/does not chain to a trusted device CA/);
      expect((await postMachineInfo('<?xml version="1.0"?><plist><dict/></plist>')).status).toBe(400);
      const tampered = Buffer.from(signed('ADEOPEN00001'));
      tampered[tampered.indexOf(Buffer.from('ADEOPEN00001'))] = 0x42;
      expect(JSON.parse((await postMachineInfo(tampered)).text).message).toMatch(/message digest mismatch/);
      expect((await postMachineInfo(Buffer.alloc(0))).status).toBe(400);

      const unknown = await postMachineInfo(signed('NOTINABM0001'));
      expect(unknown.status).toBe(403);
      expect(JSON.parse(unknown.text)).toMatchObject({ code: 'com.pomona.enrollment.refused', message: expect.stringMatching(/not in any of this server's Apple Business Manager accounts/) });
      const elsewhere = await postMachineInfo(signed('ADEOLD000003'), `?profile=${otherServerProfile}`);
      expect(JSON.parse(elsewhere.text).message).toMatch(/belongs to another ABM server/);
      const skipped = await postMachineInfo(signed('ADESIGN00004'), `?profile=${profiles.signed}`);
      expect(skipped.status).toBe(403);
      expect(JSON.parse(skipped.text).message).toMatch(/signs the user in through the web view/);

      // The web view's staging record: no profile before sign-in, not from another browser, not
      // for a guessed id, not without the form's CSRF token.
      const viewer = new WebBrowser(pomona.url);
      const opened = await viewer.get(`/enroll/ade/webview?profile=${profiles.signed}`, { headers: { 'x-apple-aspen-deviceinfo': signed('ADESIGN00004').toString('base64') } });
      const signInPath = signInPathOf(opened.text)!;
      expect(opened.headers.get('content-type')).toMatch(/^text\/html/);
      const again = await viewer.get(signInPath);
      expect(again.headers.get('content-type')).toMatch(/^text\/html/); // still the sign-in page, never the profile
      expect((await new WebBrowser(pomona.url).get(signInPath)).status).toBe(403);
      expect((await viewer.get('/enroll/sign-in/AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
      expect((await viewer.post(`${signInPath}/password`, { username: 'alice', password: ALICE_PASSWORD })).status).toBe(403);
      const guessedAccount = await viewer.post(`/enroll/ade/webview/${signInPath.split('/').pop()}/account`, { csrf: inputValue(opened.text, 'csrf')!, fullName: 'X', shortName: 'x' });
      expect(guessedAccount.status).toBe(403); // nobody signed in: the record cannot change

      const noHeader = await new WebBrowser(pomona.url).get(`/enroll/ade/webview?profile=${profiles.signed}`);
      expect(noHeader.status).toBe(400);
      expect(noHeader.text).toContain('missing x-apple-aspen-deviceinfo header');
      expect(await deviceCount()).toBe(before);
    });

    it('never unenrolls a managed device when Apple removes it or the token stops working; a removed serial cannot enroll anew', async () => {
      const udid = (await deviceRow('ADEOPEN00001'))!.udid!;
      // Apple removes the device, then the token stops working: the managed device stays enrolled.
      sim.deleteDevices(['ADEOPEN00001']);
      expect((await pomona.api(`/api/v1/abm-servers/${serverId}/sync`, { body: {} })).status).toBe(202);
      await pomona.ctx.scheduler.runNow('abm-sync');
      expect((await pomona.api('/api/v1/abm-devices/ADEOPEN00001')).json.removedAt).not.toBeNull();
      sim.rejectToken(sim.servers().find((x) => x.name === 'ADE Main')!.serverUuid);
      await pomona.api(`/api/v1/abm-servers/${serverId}/sync`, { body: {} });
      await pomona.ctx.scheduler.runNow('abm-sync');
      expect((await pomona.api(`/api/v1/abm-servers/${serverId}`)).json.tokenState).toBe('rejected');
      const after = await pomona.ctx.database.db.selectFrom('enrollments').selectAll().where('id', '=', udid).executeTakeFirstOrThrow();
      expect(after.status).toBe('active');
      expect(JSON.parse((await postMachineInfo(signed('ADEOPEN00001'))).text).message).toMatch(/was removed from Apple Business Manager/);
    });
  });
});
