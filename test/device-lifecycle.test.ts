/**
 * Devices in the organization, end to end on each database: ABM devices synced from the ABM
 * simulator, simulated devices enrolling over real HTTP, and the admin API listing, filtering,
 * paging and counting them by lifecycle state, ownership and organization group — with every
 * admin decision (ownership, retirement, a move between groups) in the audit log.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_IPAD_USER_ID } from '../src/apple/checkin-message.js';
import { startAbmSimulator, type AbmSimulator } from '../src/sim/abm/server.js';
import { SimulatedDevice } from '../src/sim/device.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, until, type TestServer } from './support/server.js';

interface Listed {
  id: string | null;
  serialNumber: string | null;
  lifecycleState: string;
  lifecycleChangedAt: number | null;
  organizationGroupId: string;
  ownership: string | null;
  platform: string | null;
  abmStatus: string | null;
}

describe.each(testDatabaseKinds)('devices in the organization (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let s: TestServer;
    let sim: AbmSimulator;
    let appleServer: string;
    let acme: string;
    let lab: string;
    let abmServerId: string;
    let phone: SimulatedDevice;
    let mac: SimulatedDevice;

    const list = async (query = ''): Promise<{ devices: Listed[]; total: number; nextCursor: string | null }> => {
      const res = await s.api(`/api/v1/devices${query}`);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      return res.json;
    };
    const serials = async (query: string) => (await list(query)).devices.map((d) => d.serialNumber);
    const one = async (serial: string) => (await list(`?serial=${serial}`)).devices[0];
    /** waits for what the check-in's listeners settle after the device's request */
    const settled = (serial: string, check: (d: Listed) => boolean) => until(async () => ((d) => (d && check(d) ? d : undefined))(await one(serial)));
    const sync = async () => {
      await s.api(`/api/v1/abm-servers/${abmServerId}/sync`, { body: {} });
      await s.ctx.scheduler.runNow('abm-sync');
    };
    const auditOf = async (action: string, target: string) => (await s.ctx.audit.list({ action, target })).events;

    beforeAll(async () => {
      sim = await startAbmSimulator({ seed: 11 });
      appleServer = sim.createServer({ name: 'Acme ABM' }).serverUuid;
      s = await startTestServer(kind);
      acme = (await s.api('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Acme', groupId: 'ACME' } })).json.id;
      lab = (await s.api('/api/v1/organization-groups', { body: { parentId: acme, name: 'Acme Lab', groupId: 'ACME-LAB' } })).json.id;
      await s.api(`/api/v1/organization-groups/${acme}/settings/enrollment.defaultOwnership`, { method: 'PUT', body: { value: 'corporate-shared' } });

      const created = await s.api('/api/v1/abm-servers', { body: { name: 'Acme', baseUrl: sim.url, organizationGroupId: acme } });
      abmServerId = created.json.id;
      const pem = await (await fetch(`${s.url}/api/v1/abm-servers/${abmServerId}/public-key`, { headers: { authorization: `Bearer ${s.token}` } })).text();
      const upload = await fetch(`${s.url}/api/v1/abm-servers/${abmServerId}/token`, {
        method: 'PUT', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/pkcs7-mime' }, body: sim.issueToken(appleServer, pem).smime,
      });
      expect(upload.status).toBe(200);
      sim.addDevices(appleServer, [
        { serial_number: 'ADEPHONE01', device_family: 'iPhone', model: 'iPhone 16', os: 'iOS' },
        { serial_number: 'ADEMAC0001', device_family: 'Mac', model: 'Mac mini', os: 'OSX' },
        { serial_number: 'ADEPAD0001', device_family: 'iPad', model: 'iPad (10th generation)', os: 'iPadOS' },
        { serial_number: 'ADEGONE001', device_family: 'iPhone', model: 'iPhone 15', os: 'iOS' },
      ]);
      expect((await s.api(`/api/v1/abm-servers/${abmServerId}/profiles`, { body: { settings: { apple: { profile_name: 'Acme' } } } })).status).toBe(201);
      await sync();
      // Setup Assistant on the iPad fetches its profile; another device leaves the organization.
      sim.activate('ADEPAD0001');
      sim.deleteDevices(['ADEGONE001']);
      await sync();
    }, 60_000);
    afterAll(async () => {
      await s?.close();
      await sim?.close();
    });

    it('lists ABM devices that never enrolled in their ABM server\'s group: registered, enrolling once the profile is pushed, removed once gone', async () => {
      expect(await serials('?lifecycle=registered')).toEqual(['ADEMAC0001', 'ADEPHONE01']);
      const pad = await one('ADEPAD0001');
      expect(pad).toMatchObject({ id: null, lifecycleState: 'enrolling', organizationGroupId: acme, platform: 'iPadOS', abmStatus: 'in-abm', ownership: null });
      expect(await one('ADEGONE001')).toMatchObject({ lifecycleState: 'removed', abmStatus: 'removed-from-abm' });
      expect((await list('?group=ACME')).total).toBe(4);
      expect((await list('?group=global')).total).toBe(4);
      expect((await list('?group=ACME-LAB')).total).toBe(0);
    });

    it('takes an ADE device through registered → enrolling → enrolled on the real check-in, into its server\'s group with that group\'s ownership', async () => {
      let duringEnrollment: Listed | undefined;
      phone = new SimulatedDevice({
        platform: 'iOS', serialNumber: 'ADEPHONE01',
        // Looks at the device list between Authenticate and TokenUpdate, as an admin could.
        fetch: async (url, init) => {
          if (!duringEnrollment && String(init?.body ?? '').includes('<string>TokenUpdate</string>')) duringEnrollment = await one('ADEPHONE01');
          return fetch(url, init);
        },
      });
      const before = Date.now();
      await phone.enroll(await s.profile());
      expect(duringEnrollment).toMatchObject({ lifecycleState: 'enrolling', abmStatus: 'in-abm' });
      expect(duringEnrollment!.id).not.toBeNull();
      const enrolled = await settled('ADEPHONE01', (d) => d.organizationGroupId === acme && d.ownership !== null);
      expect(enrolled).toMatchObject({ id: duringEnrollment!.id, lifecycleState: 'enrolled', ownership: 'corporate-shared', platform: 'iOS', abmStatus: 'in-abm' });
      expect(enrolled.lifecycleChangedAt).toBeGreaterThanOrEqual(before);
      // Known as a device now, no longer as an ABM-only record.
      expect(await serials('?lifecycle=registered')).toEqual(['ADEMAC0001']);
      expect((await list('?group=ACME')).total).toBe(4);
      const detail = (await s.api(`/api/v1/devices/${phone.udid}`)).json.device;
      expect(detail).toMatchObject({ serialNumber: 'ADEPHONE01', lifecycleState: 'enrolled', organizationGroupId: acme, ownership: 'corporate-shared', enrollmentStatus: 'active' });
    });

    it('keeps an enrolled device enrolled when ABM deletes it, and removes it when it then checks out', async () => {
      sim.deleteDevices(['ADEPHONE01']);
      await sync();
      expect(await one('ADEPHONE01')).toMatchObject({ lifecycleState: 'enrolled', abmStatus: 'removed-from-abm' });
      await phone.checkOut();
      expect(await one('ADEPHONE01')).toMatchObject({ lifecycleState: 'removed', abmStatus: 'removed-from-abm' });
    });

    it('follows a device outside ABM through re-enrollment, an APNs Unregistered answer, a new token and CheckOut', async () => {
      mac = new SimulatedDevice({ platform: 'macOS' });
      await mac.enroll(await s.profile());
      s.wake(mac);
      const placed = await settled(mac.serialNumber, (d) => d.ownership !== null);
      expect(placed).toMatchObject({ lifecycleState: 'enrolled', organizationGroupId: 'global', ownership: 'corporate-dedicated', platform: 'macOS', abmStatus: null });

      await mac.authenticate();
      expect((await one(mac.serialNumber)).lifecycleState).toBe('enrolling');
      await mac.tokenUpdate();
      expect((await one(mac.serialNumber)).lifecycleState).toBe('enrolled');

      s.apns.markUnregistered(mac.pushToken);
      const pushed = await s.api(`/api/v1/devices/${mac.udid}/push`, { method: 'POST' });
      expect(pushed.json.pushes[0]).toMatchObject({ status: 'invalid-token', reason: 'Unregistered' });
      expect((await one(mac.serialNumber)).lifecycleState).toBe('unenrolled');
      await mac.tokenUpdate();
      expect((await one(mac.serialNumber)).lifecycleState).toBe('enrolled');

      // A second device checks out for good.
      const other = new SimulatedDevice({ platform: 'iOS' });
      await other.enroll(await s.profile());
      await other.checkOut();
      expect(await one(other.serialNumber)).toMatchObject({ lifecycleState: 'unenrolled', abmStatus: null });
    });

    it('makes a Shared iPad corporate-shared when its first user signs in', async () => {
      const ipad = new SimulatedDevice({ platform: 'iOS', productName: 'iPad13,4' });
      await ipad.enroll(await s.profile());
      expect(await settled(ipad.serialNumber, (d) => d.ownership !== null)).toMatchObject({ ownership: 'corporate-dedicated', platform: 'iPadOS' });
      await ipad.checkin({
        MessageType: 'TokenUpdate', Topic: ipad.topic, UDID: ipad.udid, UserID: SHARED_IPAD_USER_ID, UserShortName: 'alice', UserLongName: 'Alice',
        Token: randomBytes(32), PushMagic: 'shared-magic',
      });
      expect(await settled(ipad.serialNumber, (d) => d.ownership === 'corporate-shared')).toMatchObject({ lifecycleState: 'enrolled' });
    });

    it('lets an operator set the ownership, audited, and refuses an unknown value or device', async () => {
      const id = (await one(mac.serialNumber)).id!;
      const set = await s.api(`/api/v1/devices/${mac.udid}`, { method: 'PATCH', body: { ownership: 'employee-owned' } });
      expect(set.status).toBe(200);
      expect(set.json.device).toMatchObject({ id, ownership: 'employee-owned', lifecycleState: 'enrolled' });
      expect((await auditOf('device.ownership.set', id))[0]).toMatchObject({ outcome: 'success', details: { from: 'corporate-dedicated', to: 'employee-owned' } });
      expect(await serials('?ownership=employee-owned')).toEqual([mac.serialNumber]);

      const bad = await s.api(`/api/v1/devices/${id}`, { method: 'PATCH', body: { ownership: 'personal' } });
      expect(bad).toMatchObject({ status: 400, json: { message: 'unknown ownership "personal"; use corporate-dedicated, corporate-shared, employee-owned' } });
      expect((await s.api(`/api/v1/devices/${id}`, { method: 'PATCH', body: {} })).status).toBe(400);
      expect((await s.api('/api/v1/devices/no-such-device', { method: 'PATCH', body: { ownership: 'employee-owned' } })).status).toBe(404);
    });

    it('moves a device between groups with both groups in the audit event; the subtree filter follows it', async () => {
      const id = (await one(mac.serialNumber)).id!;
      expect((await s.api(`/api/v1/devices/${id}/organization-group`, { body: { groupId: lab } })).status).toBe(204);
      expect((await auditOf('device.move_group', id))[0]).toMatchObject({ outcome: 'success', details: { fromGroupId: 'global', groupId: lab } });
      expect(await serials('?group=ACME-LAB')).toEqual([mac.serialNumber]);
      expect(await serials(`?group=${acme}&platform=macOS`)).toEqual(['ADEMAC0001', mac.serialNumber].sort());
    });

    it('retires a device: removed, audited, refused on its next request, and back once it enrolls again', async () => {
      const tablet = new SimulatedDevice({ platform: 'iOS', productName: 'iPad8,1' });
      await tablet.enroll(await s.profile());
      const id = (await one(tablet.serialNumber)).id!;
      const retired = await s.api(`/api/v1/devices/${tablet.serialNumber}/retire`, { method: 'POST', body: {} });
      expect(retired.status).toBe(200);
      expect(retired.json.device).toMatchObject({ id, lifecycleState: 'removed', enrollmentStatus: 'removed' });
      expect((await auditOf('device.retire', id))[0]).toMatchObject({ details: { from: 'enrolled', endedChannels: [tablet.udid] } });
      await expect(tablet.connect()).rejects.toThrow(/403/);
      expect((await s.api('/api/v1/devices/no-such-device/retire', { method: 'POST', body: {} })).status).toBe(404);

      await tablet.authenticate();
      expect((await one(tablet.serialNumber)).lifecycleState).toBe('enrolling');
      await tablet.tokenUpdate();
      expect((await one(tablet.serialNumber)).lifecycleState).toBe('enrolled');
    });

    it('pages the whole list by cursor and by offset alike', async () => {
      const all = await list('?limit=1000');
      const byCursor: (string | null)[] = [];
      let page = await list('?limit=2');
      for (;;) {
        byCursor.push(...page.devices.map((d) => d.serialNumber));
        if (!page.nextCursor) break;
        page = await list(`?limit=2&cursor=${page.nextCursor}`);
      }
      expect(byCursor).toEqual(all.devices.map((d) => d.serialNumber));
      expect((await list(`?limit=2&offset=2`)).devices.map((d) => d.serialNumber)).toEqual(byCursor.slice(2, 4));
      expect(all.total).toBe(all.devices.length);
    });

    it('counts each lifecycle state per group subtree as the filtered list does', async () => {
      const { groups } = (await s.api('/api/v1/lifecycle/summary')).json;
      expect(groups.map((g: { groupId: string }) => g.groupId)).toEqual(['GLOBAL', 'ACME', 'ACME-LAB']);
      for (const g of groups) {
        for (const state of ['registered', 'enrolling', 'enrolled', 'unenrolled', 'removed']) {
          expect(g.subtree[state], `${g.groupId} ${state}`).toBe((await list(`?group=${g.id}&lifecycle=${state}&limit=1`)).total);
        }
      }
      const acmeSummary = groups.find((g: { id: string }) => g.id === acme);
      expect(acmeSummary.subtree).toMatchObject({ registered: 1, enrolling: 1, removed: 2 });
      expect(acmeSummary.subtree.total).toBe(acmeSummary.here.total + groups.find((g: { id: string }) => g.id === lab).subtree.total);
      const only = (await s.api('/api/v1/lifecycle/summary?group=ACME-LAB')).json.groups;
      expect(only).toHaveLength(1);
      expect(only[0]).toMatchObject({ id: lab, subtree: { enrolled: 1, total: 1 } });
    });

    it('refuses bad filters and paging with a clear message', async () => {
      const refused = async (query: string) => {
        const res = await s.api(`/api/v1/devices${query}`);
        expect(res.status, query).toBe(400);
        return res.json.message as string;
      };
      expect(await refused('?lifecycle=enrolled,bogus')).toBe('unknown lifecycle state "bogus"; use registered, enrolling, enrolled, unenrolled, removed');
      expect(await refused('?ownership=mine')).toMatch(/^unknown ownership "mine"; use corporate-dedicated/);
      expect(await refused('?platform=Android')).toMatch(/^unknown platform "Android"/);
      expect(await refused('?group=NOWHERE')).toMatch(/^unknown organization group "NOWHERE"/);
      expect(await refused('?cursor=garbage')).toMatch(/cursor/);
      expect(await refused('?limit=5000')).toMatch(/limit/);
      expect(await refused('?limit=0')).toMatch(/limit/);
      expect(await refused('?offset=-1')).toMatch(/offset/);
      expect((await s.api('/api/v1/lifecycle/summary?group=NOWHERE')).status).toBe(400);
    });
  });
});
