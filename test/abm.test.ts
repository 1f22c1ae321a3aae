/**
 * Apple Business Manager end to end through the admin API, against the ABM simulator on
 * loopback: create a server, upload its token, sync, define profiles, assign, edit, remove,
 * export — on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAbmSimulator, type AbmSimulator } from '../src/sim/abm/server.js';
import { abmLeaseName } from '../src/abm/abm-sync-job.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

const settings = (name: string, extra: Record<string, unknown> = {}) => ({ apple: { profile_name: name, ...extra } });

describe.each(testDatabaseKinds)('ABM servers, sync and assignment (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    let sim: AbmSimulator;
    let appleServer: string;
    let id: string;
    let defaultProfile: { id: string; apple: { profileUuid: string } };

    const uploadToken = (body: string, query = '') =>
      fetch(`${pomona.url}/api/v1/abm-servers/${id}/token${query}`, {
        method: 'PUT', headers: { authorization: `Bearer ${pomona.token}`, 'content-type': 'application/pkcs7-mime' }, body,
      }).then(async (r) => ({ status: r.status, json: await r.json() }));
    const runJob = () => pomona.ctx.scheduler.runNow('abm-sync');
    const device = async (serial: string) => (await pomona.api(`/api/v1/abm-devices/${serial}`)).json;
    const server = async () => (await pomona.api(`/api/v1/abm-servers/${id}`)).json;

    beforeAll(async () => {
      sim = await startAbmSimulator({ seed: 3, fetchLimit: { default: 100, maximum: 100 }, syncLimit: { default: 100, maximum: 100 } });
      appleServer = sim.createServer({ name: 'Pomona Main' }).serverUuid;
      pomona = await startTestServer(kind);
    });
    afterAll(async () => {
      await pomona?.close();
      await sim?.close();
    });

    it('creates an ABM server whose public key the admin uploads to Apple', async () => {
      const created = await pomona.api('/api/v1/abm-servers', { body: { name: 'Main', baseUrl: sim.url } });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ name: 'Main', tokenState: 'no-token', stagedKey: false });
      id = created.json.id;
      const res = await fetch(`${pomona.url}/api/v1/abm-servers/${id}/public-key`, { headers: { authorization: `Bearer ${pomona.token}` } });
      expect(res.headers.get('content-type')).toMatch(/application\/x-pem-file/);
      expect(await res.text()).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect((await pomona.api('/api/v1/abm-servers', { body: { name: 'Main' } })).status).toBe(409);
      expect((await pomona.api(`/api/v1/abm-servers/${id}/sync`, { body: {} })).status).toBe(409);
    });

    it('refuses a token encrypted to another key, and takes the one Apple issued for ours', async () => {
      const other = await pomona.api('/api/v1/abm-servers', { body: { name: 'Other', baseUrl: sim.url } });
      const otherPem = await (await fetch(`${pomona.url}/api/v1/abm-servers/${other.json.id}/public-key`, { headers: { authorization: `Bearer ${pomona.token}` } })).text();
      const wrong = await uploadToken(sim.issueToken(appleServer, otherPem, { keepPrevious: true }).smime);
      expect(wrong.status).toBe(400);
      expect(wrong.json.message).toMatch(/different public key/);
      await pomona.api(`/api/v1/abm-servers/${other.json.id}`, { method: 'DELETE' });

      const pem = await (await fetch(`${pomona.url}/api/v1/abm-servers/${id}/public-key`, { headers: { authorization: `Bearer ${pomona.token}` } })).text();
      const ok = await uploadToken(sim.issueToken(appleServer, pem).smime);
      expect(ok.status).toBe(200);
      expect(ok.json.server).toMatchObject({ tokenState: 'ok', sync: { requested: 'sync' } });
      const test = await pomona.api(`/api/v1/abm-servers/${id}/test`, { body: {} });
      expect(test.status).toBe(200);
      expect(test.json.account.server_name).toBe('Pomona Main');
      expect(test.json.server.apple).toMatchObject({ serverName: 'Pomona Main', pageLimit: 100 });
    });

    it('fetches every device, then assigns the default profile to them', async () => {
      sim.addDevices(appleServer, 250);
      const created = await pomona.api(`/api/v1/abm-servers/${id}/profiles`, { body: { settings: settings('Corporate', { skip_setup_items: ['Siri', 'AppleID'] }) } });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ isDefault: true, version: 1, apple: { upToDate: true } });
      defaultProfile = created.json;
      const defined = sim.profiles(appleServer).find((p) => p.profile_uuid === defaultProfile.apple.profileUuid)!;
      expect(defined).toMatchObject({ profile_name: 'Corporate', url: `${pomona.url}/enroll/ade?profile=${created.json.id}`, skip_setup_items: ['Siri', 'AppleID'] });

      await runJob();
      const s = await server();
      expect(s.sync).toMatchObject({ running: false, requested: null, fetchComplete: true, lastError: null });
      expect(s.sync.lastResult).toMatchObject({ kind: 'full', added: 250, pages: 4 }); // 3 fetch pages, then one sync page
      const list = await pomona.api(`/api/v1/abm-devices?server=${id}&limit=1000`);
      expect(list.json.total).toBe(250);
      for (const d of list.json.items) {
        expect(d).toMatchObject({ appleProfileUuid: defaultProfile.apple.profileUuid, profileStatus: 'assigned', assignment: { lastResult: 'SUCCESS', inProgress: false } });
      }
      expect(sim.devices(appleServer).every((d) => d.profile_uuid === defaultProfile.apple.profileUuid)).toBe(true);
      // Nothing is re-sent once Apple reports the right profile.
      const before = sim.assignments().length;
      await pomona.api(`/api/v1/abm-servers/${id}/sync`, { body: {} });
      await runJob();
      expect(sim.assignments().length).toBe(before);
    });

    it('applies additions, changes, deletions and moves from an incremental sync', async () => {
      const all = sim.devices(appleServer).map((d) => d.serial_number);
      const elsewhere = sim.createServer({ name: 'Elsewhere' }).serverUuid;
      const added = sim.addDevices(appleServer, 5);
      sim.modifyDevices([all[0]], { asset_tag: 'TAG-0001', color: 'Midnight' });
      sim.deleteDevices([all[1]]);
      sim.moveDevices([all[2]], elsewhere);
      await pomona.api(`/api/v1/abm-servers/${id}/sync`, { body: {} });
      await runJob();
      const s = await server();
      expect(s.sync.lastResult).toMatchObject({ kind: 'incremental' });
      expect(s.sync.lastResult.added).toBe(5);
      expect(await device(all[0])).toMatchObject({ assetTag: 'TAG-0001', color: 'Midnight', removedAt: null });
      expect((await device(all[1])).removedAt).not.toBeNull();
      expect((await device(all[2])).removedAt).not.toBeNull();
      for (const serial of added) expect(await device(serial)).toMatchObject({ appleProfileUuid: defaultProfile.apple.profileUuid, assignment: { lastResult: 'SUCCESS' } });
      const active = await pomona.api(`/api/v1/abm-devices?server=${id}&state=active`);
      expect(active.json.total).toBe(253);
    });

    it('moves devices between profiles, removes profiles, and keeps devices on an edited profile', async () => {
      const second = await pomona.api(`/api/v1/abm-servers/${id}/profiles`, { body: { settings: settings('Kiosk') } });
      expect(second.json.isDefault).toBe(false);
      const serials = sim.devices(appleServer).slice(0, 3).map((d) => d.serial_number);
      const moved = await pomona.api('/api/v1/abm-devices/assign', { body: { serverId: id, serials: [...serials, 'NOSUCHSERIAL'], profileId: second.json.id } });
      expect(moved.status).toBe(200);
      expect(moved.json.results.filter((r: { result: string }) => r.result === 'SUCCESS')).toHaveLength(3);
      expect(moved.json.results.find((r: { serial: string }) => r.serial === 'NOSUCHSERIAL')).toMatchObject({ result: 'NOT_FOUND' });
      for (const s of serials) expect(sim.device(s)!.profile_uuid).toBe(second.json.apple.profileUuid);
      // A serial an automatic assignment holds at that moment is answered BUSY, not left out.
      const held = pomona.ctx.database.db.updateTable('abm_devices').where('serial_number', '=', serials[2]);
      await held.set({ assign_started_at: Date.now() }).execute();
      const busy = await pomona.api('/api/v1/abm-devices/assign', { body: { serverId: id, serials: serials.slice(1), profileId: second.json.id } });
      expect(busy.json.results).toEqual([
        { serial: serials[1], result: 'SUCCESS' },
        { serial: serials[2], result: 'BUSY', error: 'an assignment of this device is under way; try again in a moment' },
      ]);
      await held.set({ assign_started_at: null }).execute();

      // An edit Apple sees defines a new Apple profile; the job moves the devices to it.
      const edited = await pomona.api(`/api/v1/dep-profiles/${second.json.id}`, { method: 'PUT', body: { settings: settings('Kiosk', { department: 'Front desk' }) } });
      expect(edited.json).toMatchObject({ version: 2, apple: { upToDate: true } });
      expect(edited.json.apple.profileUuid).not.toBe(second.json.apple.profileUuid);
      // A Pomona-only change does not.
      const pomonaOnly = await pomona.api(`/api/v1/dep-profiles/${second.json.id}`, {
        method: 'PUT', body: { settings: { ...settings('Kiosk', { department: 'Front desk' }), pomona: { awaitConfiguration: { timeLimitMinutes: 5 } } } },
      });
      expect(pomonaOnly.status).toBe(200);
      expect(pomonaOnly.json.version).toBe(2);
      // A save that names the revision it edited is refused once another save landed on top of it.
      const staleEdit = await pomona.api(`/api/v1/dep-profiles/${second.json.id}`, {
        method: 'PUT', body: { settings: settings('Kiosk', { department: 'Lobby' }), revision: edited.json.revision },
      });
      expect(staleEdit.status).toBe(409);
      expect(staleEdit.json.message).toMatch(/changed by someone else/);
      const currentEdit = await pomona.api(`/api/v1/dep-profiles/${second.json.id}`, {
        method: 'PUT', body: { settings: { ...settings('Kiosk', { department: 'Front desk' }), pomona: { awaitConfiguration: { timeLimitMinutes: 5 } } }, revision: pomonaOnly.json.revision },
      });
      expect(currentEdit.status).toBe(200);
      expect(currentEdit.json.revision).toBe(pomonaOnly.json.revision + 1);
      expect((await pomona.api(`/api/v1/dep-profiles/${second.json.id}`, { method: 'PUT', body: { settings: settings('Kiosk'), revision: 'x' } })).status).toBe(400);
      await runJob();
      for (const s of serials) expect(sim.device(s)!.profile_uuid).toBe(edited.json.apple.profileUuid);
      expect((await pomona.api(`/api/v1/dep-profiles/${second.json.id}/history`)).json.items).toHaveLength(2);

      // Removed devices stay without a profile.
      const removed = await pomona.api('/api/v1/abm-devices/remove', { body: { serverId: id, serials: [serials[0]] } });
      expect(removed.json.results).toEqual([{ serial: serials[0], result: 'SUCCESS' }]);
      await pomona.api(`/api/v1/abm-servers/${id}/sync`, { body: {} });
      await runJob();
      expect(await device(serials[0])).toMatchObject({ profileStatus: 'removed', automaticAssignment: false });
      expect(sim.device(serials[0])!.profile_uuid ?? null).toBeNull();

      // The default cannot be deleted; deleting another moves its devices to the default.
      expect((await pomona.api(`/api/v1/dep-profiles/${defaultProfile.id}`, { method: 'DELETE' })).status).toBe(409);
      const del = await pomona.api(`/api/v1/dep-profiles/${second.json.id}`, { method: 'DELETE' });
      expect(del.json.movedDevices).toBe(2);
      await runJob();
      expect(sim.device(serials[1])!.profile_uuid).toBe(defaultProfile.apple.profileUuid);
    });

    it('validates profiles with every problem named', async () => {
      const bad = await pomona.api(`/api/v1/abm-servers/${id}/profiles`, {
        body: { settings: settings('', { is_mdm_removable: false, is_supervised: false, skip_setup_items: ['appleid'], support_email_address: 'nope' }) },
      });
      expect(bad.status).toBe(400);
      const paths = bad.json.problems.map((p: { path: string }) => p.path);
      expect(paths).toEqual(expect.arrayContaining(['apple.profile_name', 'apple.is_mdm_removable', 'apple.skip_setup_items[0]', 'apple.support_email_address']));
    });

    it('honours THROTTLED with retry_after_seconds and cools failed serials down', async () => {
      const fresh = sim.addDevices(appleServer, 2);
      sim.scriptAssignResult([fresh[0]], 'THROTTLED');
      sim.scriptAssignResult([fresh[1]], 'FAILED');
      await pomona.api(`/api/v1/abm-servers/${id}/sync`, { body: {} });
      await runJob();
      const throttled = await device(fresh[0]);
      const failed = await device(fresh[1]);
      expect(throttled.assignment.lastResult).toBe('THROTTLED');
      expect(failed.assignment).toMatchObject({ lastResult: 'FAILED' });
      expect(failed.assignment.retryAt - failed.assignment.attemptedAt).toBe(24 * 3_600_000);
      expect(throttled.assignment.retryAt).toBeGreaterThan(throttled.assignment.attemptedAt);
      // Not re-sent on the next tick.
      const before = sim.assignments().length;
      await pomona.api(`/api/v1/abm-servers/${id}/sync`, { body: {} });
      await runJob();
      expect(sim.assignments().length).toBe(before);
    });

    it('exports the filtered devices as CSV', async () => {
      const res = await fetch(`${pomona.url}/api/v1/abm-devices.csv?server=${id}&state=removed`, { headers: { authorization: `Bearer ${pomona.token}` } });
      expect(res.headers.get('content-type')).toMatch(/text\/csv/);
      const lines = (await res.text()).trim().split('\r\n');
      expect(lines[0]).toMatch(/^serial_number,model,description,/);
      expect(lines).toHaveLength(1 + 2);
    });

    it('shows terms not accepted until a call succeeds again', async () => {
      sim.setTermsNotSigned(true);
      sim.expireSessions();
      const test = await pomona.api(`/api/v1/abm-servers/${id}/test`, { body: {} });
      expect(test.status).toBe(502);
      expect(test.json).toMatchObject({ error: 'apple_terms_not_signed' });
      expect((await server()).tokenState).toBe('terms-not-accepted');
      sim.setTermsNotSigned(false);
      expect((await pomona.api(`/api/v1/abm-servers/${id}/test`, { body: {} })).status).toBe(200);
      expect((await server()).tokenState).toBe('ok');
    });

    it('shows a token revoked in ABM as rejected, and a reset cursor refetches everything', async () => {
      sim.rejectToken(appleServer);
      sim.expireSessions();
      const test = await pomona.api(`/api/v1/abm-servers/${id}/test`, { body: {} });
      expect(test.status).toBe(502);
      expect((await server())).toMatchObject({ tokenState: 'rejected', lastError: { code: expect.stringMatching(/token_rejected|auth/) } });
      const pem = await (await fetch(`${pomona.url}/api/v1/abm-servers/${id}/public-key`, { headers: { authorization: `Bearer ${pomona.token}` } })).text();
      expect((await uploadToken(sim.issueToken(appleServer, pem).smime)).json.server.tokenState).toBe('ok');

      expect((await pomona.api(`/api/v1/abm-servers/${id}/reset-cursor`, { body: {} })).status).toBe(204);
      expect((await server()).sync).toMatchObject({ requested: 'full', fetchComplete: false, cursorAt: null });
      await runJob();
      const s = await server();
      expect(s.sync.lastResult).toMatchObject({ kind: 'full', added: 0, missing: 0 });
      expect(s.sync.lastResult.modified).toBe((await pomona.api(`/api/v1/abm-devices?server=${id}&state=active`)).json.total);
    });

    it('refuses a full sync while one runs, and a token for another MDM server unless forced', async () => {
      await pomona.ctx.leases.acquire(abmLeaseName(id), 'another-node', 60_000, Date.now());
      await pomona.ctx.database.db.updateTable('abm_servers').set({ sync_started_at: Date.now() }).where('id', '=', id).execute();
      const full = await pomona.api(`/api/v1/abm-servers/${id}/sync`, { body: { full: true } });
      expect(full.status).toBe(409);
      expect(full.json.message).toMatch(/is running/);
      await pomona.ctx.leases.release(abmLeaseName(id), 'another-node');
      expect((await pomona.api(`/api/v1/abm-servers/${id}/sync`, { body: { full: true } })).status).toBe(202);

      const pem = await (await fetch(`${pomona.url}/api/v1/abm-servers/${id}/public-key`, { headers: { authorization: `Bearer ${pomona.token}` } })).text();
      const otherServer = sim.createServer({ name: 'Second site' }).serverUuid;
      const file = sim.issueToken(otherServer, pem).smime;
      const refused = await uploadToken(file);
      expect(refused.status).toBe(409);
      expect(refused.json.error).toBe('consumer_key_mismatch');
      const forced = await uploadToken(file, '?force=true');
      expect(forced.status).toBe(200);
      expect(forced.json).toMatchObject({ replacedServer: true, server: { sync: { requested: 'full', fetchComplete: false } } });
    });
  });
});
