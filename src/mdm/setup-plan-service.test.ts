/**
 * The setup plan's rules on both databases, with the command queue faked so each answer is
 * given by hand: what a plan holds and in which order, when DeviceConfigured goes, the time
 * limit, recovery after a stopped node, sessions, manual release. The end-to-end run with a
 * simulated device over HTTP is test/setup-plan.test.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DepProfileSettings } from '../abm/dep-profile.js';
import { parsePasswordHash, verifyPassword } from '../apple/password-hash.js';
import { buildPlist } from '../apple/plist.js';
import { OrgGroupService, ROOT_GROUP_ID } from '../org/org-group-service.js';
import { OrgGroupStore } from '../org/org-group-store.js';
import { SecretBox } from '../pki/secret-box.js';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { refusal } from '../../test/support/thrown.js';
import { AbmDeviceStore } from '../abm/abm-device-store.js';
import { abmDevice, abmServer, depProfile } from '../../test/support/setup-plan-fixture.js';
import { CheckinStore } from './checkin-store.js';
import { ConfigurationProfileService } from './configuration-profile-service.js';
import { ConfigurationProfileStore } from './configuration-profile-store.js';
import { ManagedAdminService } from './managed-admin-service.js';
import { ManagedAdminStore } from './managed-admin-store.js';
import { SetupPlanService } from './setup-plan-service.js';
import { SetupPlanStore } from './setup-plan-store.js';
import { resolveDepProfile } from '../abm/dep-profile.js';
import { DepProfileStore } from '../abm/dep-profile-store.js';
import type { SystemCommands } from './system-commands.js';

const MAC_PROFILE: DepProfileSettings = {
  apple: { profile_name: 'Staff Macs' },
  pomona: {
    macOSAccountSetup: {
      primaryAccount: 'standard',
      localAdmin: { shortName: '_pomona', fullName: 'Pomona Admin', hidden: true, password: { length: 16 } },
      prefill: { enabled: true, lock: true },
    },
    awaitConfiguration: { timeLimitMinutes: 4 },
  },
};

const mobileconfig = (identifier: string) =>
  Buffer.from(buildPlist({
    PayloadType: 'Configuration', PayloadIdentifier: identifier, PayloadUUID: `${identifier}-uuid`, PayloadVersion: 1,
    PayloadContent: [{ PayloadType: 'com.apple.dock', PayloadIdentifier: `${identifier}.1`, PayloadUUID: `${identifier}-1`, PayloadVersion: 1 }],
  }));

describe.each(testDatabaseKinds)('setup plans (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let clock: number;
    let checkins: CheckinStore;
    let library: ConfigurationProfileService;
    let plans: SetupPlanService;
    let planStore: SetupPlanStore;
    let managedAdmin: ManagedAdminService;
    let groups: OrgGroupService;
    let queued: Array<{ enrollmentId: string; command: Record<string, unknown>; uuid: string }>;
    let failQueue: boolean;
    const results = new Map<string, Record<string, unknown>>();
    const secrets = new SecretBox(randomBytes(32));

    beforeEach(async () => {
      db = await createTestDatabase(kind);
      clock = 1_700_000_000_000;
      const now = () => clock;
      queued = [];
      failQueue = false;
      checkins = new CheckinStore(db.db, now);
      groups = new OrgGroupService(new OrgGroupStore(db.db), { now });
      const depProfiles = new DepProfileStore(db.db);
      library = new ConfigurationProfileService({ store: new ConfigurationProfileStore(db.db), groupLineage: (id) => groups.lineage(id), depProfileExists: async (id) => Boolean(await depProfiles.get(id)), now });
      const commands: SystemCommands = {
        async queue(enrollmentId, command, opts = {}) {
          if (failQueue) throw new Error('database went away');
          const uuid = opts.uuid ?? randomUUID().toUpperCase();
          queued.push({ enrollmentId, command, uuid });
          return uuid;
        },
        async push() {},
        async result(uuid) {
          return results.get(uuid);
        },
      };
      managedAdmin = new ManagedAdminService({ store: new ManagedAdminStore(db.db), secrets, commands, hashIterations: 10, now });
      planStore = new SetupPlanStore(db.db);
      const asProfile = (row: { id: string; settings_json: string } | undefined) => (row ? { id: row.id, settings: resolveDepProfile(JSON.parse(row.settings_json) as DepProfileSettings) } : undefined);
      plans = new SetupPlanService({
        store: planStore, abmDevices: new AbmDeviceStore(db.db), profiles: library, managedAdmin, commands, log: pino({ level: 'silent' }), now,
        depProfiles: { get: async (id) => asProfile(await depProfiles.get(id)), defaultFor: async (id) => asProfile(await depProfiles.defaultFor(id)) },
      });
    });
    afterEach(() => db.dispose());

    /** A device that authenticated (binding a fresh identity certificate) and sent TokenUpdate. */
    async function enroll(o: { udid?: string; serial: string; product: string; awaiting?: boolean; groupId?: string; userId?: string }) {
      const udid = o.udid ?? randomUUID().toUpperCase();
      const sha256 = randomBytes(32).toString('hex');
      await db.db.insertInto('identity_certificates').values({ sha256, enrollment_id: null, serial: '01', subject: 'CN=x', issued_by_pomona: 1, not_before: 0, not_after: clock + 1e9, der: Buffer.from('x'), created_at: clock, bound_at: null }).execute();
      const { deviceId } = await checkins.authenticate({ enrollmentId: udid, type: 'Device', topic: 't', facts: { udid, serial_number: o.serial, product_name: o.product }, rawPlist: '', certSha256: sha256 });
      if (o.groupId || o.userId) await db.db.updateTable('devices').set({ ...(o.groupId && { organization_group_id: o.groupId }), ...(o.userId && { enrolled_user_id: o.userId }) }).where('id', '=', deviceId).execute();
      const awaiting = o.awaiting ?? true;
      const tally = await checkins.tokenUpdate({ enrollmentId: udid, parentId: null, channel: 'device', type: 'Device', topic: 't', pushMagic: 'm', tokenHex: 'aa', unlockTokenEnc: null, awaitingConfiguration: awaiting, rawPlist: '' }, deviceId);
      // The event emitter logs a listener's failure; here it is expected only while the queue is down.
      await plans.onTokenUpdate({ enrollmentId: udid, deviceId, type: 'Device', tally, awaitingConfiguration: awaiting }).catch((err) => {
        if (!failQueue) throw err;
      });
      return { udid, deviceId };
    }

    async function answer(d: { udid: string; deviceId: string }, uuid: string, status: string, result: Record<string, unknown> = {}) {
      const q = queued.find((c) => c.uuid === uuid)!;
      results.set(uuid, { Status: status, ...result });
      await plans.onCommandResult({ enrollmentId: d.udid, deviceId: d.deviceId, commandUuid: uuid, requestType: q.command.RequestType as string, status });
      await managedAdmin.onCommandResult({ enrollmentId: d.udid, deviceId: d.deviceId, commandUuid: uuid, requestType: q.command.RequestType as string, status });
    }
    const requestTypes = () => queued.map((q) => q.command.RequestType);
    const user = async (username: string, displayName: string) => {
      const id = randomUUID();
      await db.db.insertInto('users').values({ id, source: 'local', username, external_id: null, email: null, display_name: displayName, password_hash: null, pin_hash: null, default_group_id: ROOT_GROUP_ID, failed_sign_ins: 0, locked_until: null, disabled_at: null, last_sign_in_at: null, created_at: clock, updated_at: clock }).execute();
      return id;
    };

    it("runs a Mac's plan: group-chain and DEP-profile profiles, accounts with the enrolled user's prefill, then DeviceConfigured once all succeeded", async () => {
      const server = await abmServer(db.db);
      const profileId = await depProfile(db.db, server, MAC_PROFILE);
      const acme = await groups.create({ parentId: ROOT_GROUP_ID, name: 'Acme', groupId: 'ACME' });
      const wifi = (await library.upload({ bytes: mobileconfig('com.example.wifi'), actor: 'x' })).id;
      const ca = (await library.upload({ bytes: mobileconfig('com.example.ca'), actor: 'x' })).id;
      await library.attach(wifi, { depProfileId: profileId }, 'x');
      await library.attach(ca, { organizationGroupId: acme.id }, 'x');
      await abmDevice(db.db, { serial: 'MAC1', serverId: server, profileId, family: 'Mac' });
      const jane = await user('Jane.Appleseed@example.com', 'Jane Appleseed');

      const mac = await enroll({ serial: 'MAC1', product: 'Mac16,10', groupId: acme.id, userId: jane });
      expect(requestTypes()).toEqual(['InstallProfile', 'InstallProfile', 'AccountConfiguration']);
      expect((queued[0]!.command.Payload as Buffer).toString()).toContain('com.example.ca');
      expect((queued[1]!.command.Payload as Buffer).toString()).toContain('com.example.wifi');
      const account = queued[2]!.command;
      expect(account).toMatchObject({
        SkipPrimarySetupAccountCreation: false, SetPrimarySetupAccountAsRegularUser: true,
        PrimaryAccountFullName: 'Jane Appleseed', PrimaryAccountUserName: 'jane.appleseed', LockPrimaryAccountInfo: true, DontAutoPopulatePrimaryAccountInfo: false,
        AutoSetupAdminAccounts: [{ shortName: '_pomona', fullName: 'Pomona Admin', hidden: true }],
      });
      const hash = parsePasswordHash((account.AutoSetupAdminAccounts as Array<{ passwordHash: Buffer }>)[0]!.passwordHash);

      let view = await plans.view(mac.deviceId);
      expect(view).toMatchObject({ status: 'running', platform: 'macOS', depProfileId: profileId, organizationGroupId: acme.id, timeLimitMinutes: 4, deadlineAt: clock + 4 * 60_000 });
      expect(view.steps.map((s) => `${s.kind}:${s.status}`)).toEqual(['install-profile:queued', 'install-profile:queued', 'account-configuration:queued', 'device-configured:pending']);

      for (const q of queued.slice(0, 2)) await answer(mac, q.uuid, 'Acknowledged');
      expect(requestTypes()).not.toContain('DeviceConfigured');
      await answer(mac, queued[2]!.uuid, 'Acknowledged');
      expect(requestTypes().at(-1)).toBe('DeviceConfigured');
      view = await plans.view(mac.deviceId);
      expect(view).toMatchObject({ status: 'released', reason: 'completed', endedBy: null, endedAt: clock });
      await answer(mac, queued.at(-1)!.uuid, 'Acknowledged');
      expect((await plans.view(mac.deviceId)).steps.every((s) => s.status === 'acknowledged' && s.deviceStatus === 'Acknowledged')).toBe(true);

      // the managed admin's password: the one hashed, kept once the Mac acknowledged
      const { password, status } = await managedAdmin.reveal(mac.deviceId);
      expect(password).toHaveLength(16);
      expect(verifyPassword(password, hash)).toBe(true);
      expect(status).toMatchObject({ shortName: '_pomona', hasPassword: true, pendingChange: null });
    });

    it('starts one plan per enrollment session: not again on a repeated TokenUpdate, afresh after a new Authenticate', async () => {
      const first = await enroll({ udid: 'IPHONE-1', serial: 'PHONE1', product: 'iPhone17,1' });
      const plan = await plans.view(first.deviceId);
      // a plan of DeviceConfigured alone (no ABM record, nothing attached) is released at once
      expect(plan).toMatchObject({ status: 'released', reason: 'completed', depProfileId: null, platform: 'iOS', organizationGroupId: ROOT_GROUP_ID });
      expect(requestTypes()).toEqual(['DeviceConfigured']);
      await checkins.tokenUpdate({ enrollmentId: 'IPHONE-1', parentId: null, channel: 'device', type: 'Device', topic: 't', pushMagic: 'm', tokenHex: 'bb', unlockTokenEnc: null, awaitingConfiguration: true, rawPlist: '' }, first.deviceId);
      await plans.onTokenUpdate({ enrollmentId: 'IPHONE-1', deviceId: first.deviceId, type: 'Device', tally: 2, awaitingConfiguration: true });
      expect((await db.db.selectFrom('setup_plans').select('id').execute()).length).toBe(1);

      clock += 60_000; // erased and enrolled again: a new identity, a new session
      const again = await enroll({ udid: 'IPHONE-1', serial: 'PHONE1', product: 'iPhone17,1' });
      expect(again.deviceId).toBe(first.deviceId);
      const plans2 = await db.db.selectFrom('setup_plans').select(['id', 'status']).orderBy('started_at').execute();
      expect(plans2).toHaveLength(2);
      expect((await plans.view(first.deviceId)).id).toBe(plans2[1]!.id);
    });

    it('cancels a running plan when the device authenticates again or checks out', async () => {
      const server = await abmServer(db.db);
      await depProfile(db.db, server, { apple: { profile_name: 'Phones' }, pomona: { timeZone: 'Europe/Paris' } }); // the server's default
      await abmDevice(db.db, { serial: 'PHONE2', serverId: server, profileId: null, family: 'iPhone' });
      const d = await enroll({ udid: 'IPHONE-2', serial: 'PHONE2', product: 'iPhone17,1' });
      expect((await plans.view(d.deviceId)).status).toBe('running');
      clock += 1000;
      const sha256 = randomBytes(32).toString('hex');
      await db.db.insertInto('identity_certificates').values({ sha256, enrollment_id: null, serial: '02', subject: 'CN=x', issued_by_pomona: 1, not_before: 0, not_after: clock + 1e9, der: Buffer.from('x'), created_at: clock, bound_at: null }).execute();
      await checkins.authenticate({ enrollmentId: 'IPHONE-2', type: 'Device', topic: 't', facts: {}, rawPlist: '', certSha256: sha256 });
      await plans.onAuthenticate({ enrollmentId: 'IPHONE-2', deviceId: d.deviceId, type: 'Device', reEnrollment: true });
      expect(await plans.view(d.deviceId)).toMatchObject({ status: 'cancelled', reason: 're-enrolled' });

      const e = await enroll({ udid: 'IPHONE-3', serial: 'PHONE2', product: 'iPhone17,1' });
      await plans.onCheckOut({ enrollmentId: 'IPHONE-3', deviceId: e.deviceId });
      expect(await plans.view(e.deviceId)).toMatchObject({ status: 'cancelled', reason: 'checked-out' });
    });

    it("records a failed step with Apple's ErrorChain and releases at the time limit, timing out what was not answered", async () => {
      const server = await abmServer(db.db);
      const profileId = await depProfile(db.db, server, { apple: { profile_name: 'Phones' }, pomona: { timeZone: 'Europe/Berlin', awaitConfiguration: { timeLimitMinutes: 2 } } });
      const p1 = (await library.upload({ bytes: mobileconfig('one'), actor: 'x' })).id;
      const p2 = (await library.upload({ bytes: mobileconfig('two'), actor: 'x' })).id;
      await library.attach(p1, { depProfileId: profileId }, 'x');
      await library.attach(p2, { depProfileId: profileId }, 'x');
      await abmDevice(db.db, { serial: 'PHONE3', serverId: server, profileId, family: 'iPhone' });
      const d = await enroll({ serial: 'PHONE3', product: 'iPhone17,1' });
      expect(queued.map((q) => q.command)).toEqual([expect.objectContaining({ RequestType: 'InstallProfile' }), expect.objectContaining({ RequestType: 'InstallProfile' }), { RequestType: 'Settings', Settings: [{ Item: 'TimeZone', TimeZone: 'Europe/Berlin' }] }]);
      const chain = [{ ErrorCode: 4001, ErrorDomain: 'MCProfileErrorDomain', LocalizedDescription: 'The profile could not be installed.' }];
      await answer(d, queued[0]!.uuid, 'Error', { ErrorChain: chain });
      await answer(d, queued[2]!.uuid, 'Acknowledged', { Settings: [{ Item: 'TimeZone', Status: 'Acknowledged' }] });

      expect(await plans.tick(clock + 2 * 60_000 - 1)).toEqual({ released: 0 });
      expect(requestTypes()).not.toContain('DeviceConfigured');
      expect(await plans.tick(clock + 2 * 60_000)).toEqual({ released: 1 });
      expect(requestTypes().at(-1)).toBe('DeviceConfigured');
      let view = await plans.view(d.deviceId);
      expect(view).toMatchObject({ status: 'released', reason: 'time-limit' });
      expect(view.steps.map((s) => s.status)).toEqual(['error', 'timed-out', 'acknowledged', 'queued']);
      expect(view.steps[0]!.error).toEqual({ errorChain: chain });
      // a late answer is kept beside the outcome the time limit gave
      await answer(d, queued[1]!.uuid, 'Acknowledged');
      view = await plans.view(d.deviceId);
      expect(view.steps[1]).toMatchObject({ status: 'timed-out', deviceStatus: 'Acknowledged' });
      expect(await plans.tick(clock + 10 * 60_000)).toEqual({ released: 0 });
      expect(requestTypes().filter((t) => t === 'DeviceConfigured')).toHaveLength(1);
    });

    it("fails a Settings step when the device refused one of its items, and one whose profile was deleted before it was sent", async () => {
      const server = await abmServer(db.db);
      const profileId = await depProfile(db.db, server, {
        apple: { profile_name: 'Shared', is_multi_user: true },
        pomona: { timeZone: 'America/New_York', sharedIPad: { maximumResidentUsers: 5, temporarySessionOnly: true } },
      });
      const gone = (await library.upload({ bytes: mobileconfig('gone'), actor: 'x' })).id;
      await library.attach(gone, { depProfileId: profileId }, 'x');
      await abmDevice(db.db, { serial: 'IPAD1', serverId: server, profileId, family: 'iPad' });
      failQueue = true; // the node stops before sending anything: the steps stay pending
      const d = await enroll({ serial: 'IPAD1', product: 'iPad13,4' });
      failQueue = false;
      expect(queued).toEqual([]);
      await library.delete(gone);
      expect((await plans.view(d.deviceId)).steps.map((s) => s.status)).toEqual(['error', 'error', 'pending']);
      // the errors above are the failed sends; a node that stopped before even claiming a step leaves it pending
      await db.db.updateTable('setup_plan_steps').set({ status: 'pending', error_json: null, command_uuid: null, answered_at: null }).where('kind', '!=', 'device-configured').execute();
      await plans.tick(clock + 29_000);
      expect(queued).toEqual([]);
      await plans.tick(clock + 31_000); // recovery, a grace period after the start
      const view = await plans.view(d.deviceId);
      expect(view.steps[0]).toMatchObject({ status: 'error', error: { message: 'the configuration profile was deleted from the library before it could be sent' } });
      expect(queued.map((q) => q.command)).toEqual([{ RequestType: 'Settings', Settings: [{ Item: 'TimeZone', TimeZone: 'America/New_York' }, { Item: 'SharedDeviceConfiguration', ResidentUsers: 5, TemporarySessionOnly: true }] }]);
      const chain = [{ ErrorCode: 1, ErrorDomain: 'MCSettingsErrorDomain', LocalizedDescription: 'forceAutomaticDateAndTime is set' }];
      await answer(d, queued[0]!.uuid, 'Acknowledged', { Settings: [{ Status: 'Error', ErrorChain: chain }, { Status: 'Acknowledged' }] });
      expect((await plans.view(d.deviceId)).steps[1]).toMatchObject({ status: 'error', error: { settings: [{ index: 0, errorChain: chain }] } });
    });

    it('sends DeviceConfigured again when the node releasing a plan stopped before queuing it', async () => {
      const d = await enroll({ serial: 'NOABM', product: 'iPhone17,1', awaiting: false });
      expect(await refusal(plans.view(d.deviceId))).toMatch(/^not_found: the device has no setup plan/);
      failQueue = true;
      const e = await enroll({ serial: 'NOABM2', product: 'iPhone17,1' });
      failQueue = false;
      const plan = await plans.view(e.deviceId);
      expect(plan).toMatchObject({ status: 'released', reason: 'completed' });
      expect(plan.steps[0]).toMatchObject({ kind: 'device-configured', status: 'pending' });
      await plans.tick(clock + 31_000);
      expect(requestTypes()).toEqual(['DeviceConfigured']);
      expect((await plans.view(e.deviceId)).steps[0]!.status).toBe('queued');
    });

    it('releases by hand: a running plan, or an awaiting device without one; refuses the others', async () => {
      const server = await abmServer(db.db);
      await depProfile(db.db, server, { apple: { profile_name: 'Phones' }, pomona: { timeZone: 'Europe/Paris' } });
      await abmDevice(db.db, { serial: 'PHONE4', serverId: server, profileId: null, family: 'iPhone' });
      const d = await enroll({ serial: 'PHONE4', product: 'iPhone17,1' });
      const released = await plans.releaseByHand(d.deviceId, 'user:ops');
      expect(released).toMatchObject({ status: 'released', reason: 'manual', endedBy: 'user:ops' });
      expect(released.steps.map((s) => `${s.kind}:${s.status}`)).toEqual(['settings:queued', 'device-configured:queued']);
      expect(await refusal(plans.releaseByHand(d.deviceId, 'user:ops'))).toMatch(/^conflict: the device's setup plan was already released at .* \(manual\)/);

      const idle = await enroll({ serial: 'PHONE5', product: 'iPhone17,1', awaiting: false });
      expect(await refusal(plans.releaseByHand(idle.deviceId, 'user:ops'))).toBe('conflict: the device is not awaiting configuration (its last TokenUpdate said so)');

      // awaiting, but its plan never started (the listener failed): a plan of DeviceConfigured alone
      await db.db.updateTable('enrollments').set({ awaiting_configuration: 1 }).where('id', '=', idle.udid).execute();
      const manual = await plans.releaseByHand(idle.deviceId, 'user:ops');
      expect(manual).toMatchObject({ status: 'released', reason: 'manual', steps: [{ kind: 'device-configured', status: 'queued' }] });
    });

    it('rotates the managed admin password: GUID asked first, new password kept only once acknowledged, errors keep the old one', async () => {
      const server = await abmServer(db.db);
      const profileId = await depProfile(db.db, server, MAC_PROFILE);
      await abmDevice(db.db, { serial: 'MAC2', serverId: server, profileId, family: 'Mac' });
      const mac = await enroll({ serial: 'MAC2', product: 'Mac16,10' });
      expect(await refusal(managedAdmin.reveal(mac.deviceId))).toMatch(/^not_found: the Mac has not acknowledged the account "_pomona" yet/);
      expect(await refusal(managedAdmin.rotate(mac.deviceId, 'admin'))).toMatch(/^conflict: .*no acknowledged password yet/);
      await answer(mac, queued[0]!.uuid, 'Acknowledged');
      const { password: first } = await managedAdmin.reveal(mac.deviceId);
      expect((await managedAdmin.status(mac.deviceId)).rotateAt).toBe(clock + 60 * 60_000); // the profile's default: 60 minutes after a view

      await managedAdmin.rotate(mac.deviceId, 'admin');
      expect(await refusal(managedAdmin.rotate(mac.deviceId, 'admin'))).toMatch(/^conflict: a password change is already under way/);
      const ask = queued.at(-1)!;
      expect(ask.command).toEqual({ RequestType: 'DeviceInformation', Queries: ['AutoSetupAdminAccounts'] });
      await answer(mac, ask.uuid, 'Acknowledged', { QueryResponses: { AutoSetupAdminAccounts: [{ GUID: 'GUID-1', shortName: '_pomona' }] } });
      const set = queued.at(-1)!;
      expect(set.command).toMatchObject({ RequestType: 'SetAutoAdminPassword', GUID: 'GUID-1' });
      expect((await managedAdmin.reveal(mac.deviceId)).password).toBe(first); // not acknowledged yet
      await answer(mac, set.uuid, 'Acknowledged');
      const second = (await managedAdmin.reveal(mac.deviceId)).password;
      expect(second).not.toBe(first);
      expect(verifyPassword(second, parsePasswordHash(set.command.passwordHash as Buffer))).toBe(true);
      expect((await managedAdmin.status(mac.deviceId)).rotateAt).toBe(clock + 60 * 60_000); // rescheduled by the view just above

      await managedAdmin.rotate(mac.deviceId, 'admin'); // GUID known now: straight to SetAutoAdminPassword
      expect(queued.at(-1)!.command).toMatchObject({ RequestType: 'SetAutoAdminPassword', GUID: 'GUID-1' });
      await answer(mac, queued.at(-1)!.uuid, 'Error', { ErrorChain: [{ ErrorCode: 1, ErrorDomain: 'MCMDMErrorDomain', USEnglishDescription: 'No such account' }] });
      const status = await managedAdmin.status(mac.deviceId);
      expect(status).toMatchObject({ pendingChange: null, lastError: { message: 'SetAutoAdminPassword failed: MCMDMErrorDomain 1: No such account' } });
      expect((await managedAdmin.reveal(mac.deviceId)).password).toBe(second);
    });

    it('rotates a viewed password once the profile’s delay has passed, and abandons when the Mac has no such account', async () => {
      const server = await abmServer(db.db);
      const settings: DepProfileSettings = { ...MAC_PROFILE, pomona: { ...MAC_PROFILE.pomona, macOSAccountSetup: { primaryAccount: 'skip', localAdmin: { shortName: '_it', password: { length: 20, rotateAfterViewingMinutes: 30 } } } } };
      const profileId = await depProfile(db.db, server, settings);
      await abmDevice(db.db, { serial: 'MAC3', serverId: server, profileId, family: 'Mac' });
      const mac = await enroll({ serial: 'MAC3', product: 'Mac16,10' });
      expect(queued[0]!.command).toMatchObject({ SkipPrimarySetupAccountCreation: true, AutoSetupAdminAccounts: [{ shortName: '_it', fullName: '_it', hidden: true }] });
      expect(queued[0]!.command.PrimaryAccountFullName).toBeUndefined();
      await answer(mac, queued[0]!.uuid, 'Acknowledged');
      await managedAdmin.reveal(mac.deviceId);
      expect((await managedAdmin.status(mac.deviceId)).rotateAt).toBe(clock + 30 * 60_000);
      clock += 10 * 60_000;
      await managedAdmin.reveal(mac.deviceId); // a later view does not push the rotation back
      expect((await managedAdmin.status(mac.deviceId)).rotateAt).toBe(clock - 10 * 60_000 + 30 * 60_000);
      expect(await managedAdmin.rotateDue(clock)).toEqual([]);
      expect(await managedAdmin.rotateDue(clock + 20 * 60_000)).toEqual([mac.deviceId]);
      const ask = queued.at(-1)!;
      await answer(mac, ask.uuid, 'Acknowledged', { QueryResponses: { AutoSetupAdminAccounts: [] } });
      expect((await managedAdmin.status(mac.deviceId)).lastError?.message).toBe('the Mac reports no managed administrator named "_it" (AutoSetupAdminAccounts)');
    });
  });
});
