import { afterEach, describe, expect, it } from 'vitest';
import { validateProfile } from './profile-validate.js';
import type { AbmSimulator } from './server.js';
import { simWithClient } from './test-client.js';

let sim: AbmSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const good = { profile_name: 'Staff', url: 'https://mdm.example.org/enroll/ade', is_mdm_removable: true, org_magic: '1' };

describe('define profile validation (Apple’s codes and limits)', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['no name', { ...good, profile_name: undefined }, 'CONFIG_NAME_REQUIRED'],
    ['empty name', { ...good, profile_name: '' }, 'CONFIG_NAME_INVALID'],
    ['126-char name', { ...good, profile_name: 'n'.repeat(126) }, 'CONFIG_NAME_INVALID'],
    ['no url', { ...good, url: undefined }, 'CONFIG_URL_REQUIRED'],
    ['empty url', { ...good, url: '' }, 'CONFIG_URL_INVALID'],
    ['relative url', { ...good, url: '/enroll' }, 'CONFIG_URL_INVALID'],
    ['ftp url', { ...good, url: 'ftp://x.example/enroll' }, 'CONFIG_URL_INVALID'],
    ['2001-char url', { ...good, url: 'https://x.example/' + 'a'.repeat(1983) }, 'CONFIG_URL_INVALID'],
    ['http web view', { ...good, configuration_web_url: 'http://x.example/webview' }, 'CONFIG_URL_INVALID'],
    ['empty web view', { ...good, configuration_web_url: '' }, 'CONFIG_URL_INVALID'],
    ['unremovable but unsupervised', { ...good, is_mdm_removable: false }, 'FLAGS_INVALID'],
    ['flag as string', { ...good, is_supervised: 'true' }, 'FLAGS_INVALID'],
    ['no is_mdm_removable', { ...good, is_mdm_removable: undefined }, 'FLAGS_INVALID'],
    ['empty department', { ...good, department: '' }, 'DEPARTMENT_INVALID'],
    ['126-char department', { ...good, department: 'd'.repeat(126) }, 'DEPARTMENT_INVALID'],
    ['language "english"', { ...good, language: 'english' }, 'LOCALE_INVALID'],
    ['language "EN"', { ...good, language: 'EN' }, 'LOCALE_INVALID'],
    ['region "usa"', { ...good, region: 'usa' }, 'LOCALE_INVALID'],
    ['no org_magic', { ...good, org_magic: undefined }, 'MAGIC_INVALID'],
    ['empty org_magic', { ...good, org_magic: '' }, 'MAGIC_INVALID'],
    ['257-char org_magic', { ...good, org_magic: 'm'.repeat(257) }, 'MAGIC_INVALID'],
    ['not an e-mail', { ...good, support_email_address: 'help desk' }, 'SUPPORT_EMAIL_INVALID'],
    ['empty e-mail', { ...good, support_email_address: '' }, 'SUPPORT_EMAIL_INVALID'],
    ['51-char phone', { ...good, support_phone_number: '1'.repeat(51) }, 'SUPPORT_PHONE_INVALID'],
    ['empty phone', { ...good, support_phone_number: '' }, 'SUPPORT_PHONE_INVALID'],
    ['skip items not an array', { ...good, skip_setup_items: 'AppleID' }, 'MALFORMED_REQUEST_BODY'],
    ['anchor cert not base64', { ...good, anchor_certs: ['-----BEGIN CERTIFICATE-----'] }, 'MALFORMED_REQUEST_BODY'],
  ];
  it.each(cases)('%s → %s', (_name, body, code) => {
    const clean = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
    expect(validateProfile(clean)).toMatchObject({ ok: false, code });
  });

  it('accepts a full profile, counts characters not bytes, and warns about unknown skip keys', () => {
    const full = {
      ...good,
      profile_name: 'é'.repeat(125),
      configuration_web_url: 'https://mdm.example.org/enroll/ade/webview',
      is_supervised: true,
      is_mdm_removable: false,
      is_mandatory: true,
      await_device_configured: true,
      auto_advance_setup: false,
      department: 'IT',
      language: 'en',
      region: 'US',
      support_phone_number: '+1 408 555 1010',
      support_email_address: 'help@example.org',
      anchor_certs: ['MIIBszCCAVmgAwIBAgIU'],
      skip_setup_items: ['AppleID', 'Android', 'UnlockWithWatch', 'FutureKey'],
      devices: ['C02AAAAAAAAA'],
    };
    const v = validateProfile(full);
    expect(v).toMatchObject({ ok: true, devices: ['C02AAAAAAAAA'], warnings: ['unknown skip key "FutureKey"'] });
    expect(validateProfile(full, { strictSkipKeys: true })).toMatchObject({ ok: false, code: 'SKIP_SETUP_ITEMS_INVALID' });
    expect(validateProfile({ ...good, configuration_web_url: 'http://127.0.0.1:8080/webview' }, { allowHttpWebUrl: true }).ok).toBe(true);
  });
});

describe('profiles, assignment and device endpoints', () => {
  it('define → GET /profile echoes the profile with Apple’s defaults and profile_uuid', async () => {
    const s = await simWithClient();
    sim = s.sim;
    const d = await s.client.json('POST', '/profile', { ...good, skip_setup_items: ['AppleID'] });
    expect(d.profile_uuid).toMatch(/^[0-9A-F]{32}$/);
    expect(d.devices).toEqual({});
    const p = await s.client.json('GET', `/profile?profile_uuid=${d.profile_uuid}`);
    expect(p).toMatchObject({ ...good, profile_uuid: d.profile_uuid, allow_pairing: true, is_supervised: false, is_mandatory: false, await_device_configured: false, skip_setup_items: ['AppleID'] });
    expect(await s.client.api('GET', '/profile')).toMatchObject({ status: 400, text: 'PROFILE_UUID_REQUIRED' });
    expect(await s.client.api('GET', '/profile?profile_uuid=NOPE')).toMatchObject({ status: 404, text: 'NOT_FOUND' });
    expect(await s.client.api('POST', '/profile', { ...good, url: '' })).toMatchObject({ status: 400, text: 'CONFIG_URL_INVALID' });
  });

  it('define with devices assigns them: SUCCESS for ours, NOT_ACCESSIBLE for others', async () => {
    const s = await simWithClient({}, { devices: 2 });
    sim = s.sim;
    const other = sim.createServer({ name: 'other' });
    const [theirs] = sim.addDevices(other.serverUuid, 1);
    const [mine] = sim.devices(s.serverUuid).map((x) => x.serial_number);
    const d = await s.client.json('POST', '/profile', { ...good, devices: [mine, theirs, 'UNKNOWNSERIA'] });
    expect(d.devices).toEqual({ [mine]: 'SUCCESS', [theirs]: 'NOT_ACCESSIBLE', UNKNOWNSERIA: 'NOT_ACCESSIBLE' });
    expect(sim.device(mine)).toMatchObject({ profile_uuid: d.profile_uuid, profile_status: 'assigned' });
  });

  it('assign with POST and PUT, per-device results, 404 for an unknown profile, 400 for missing fields', async () => {
    const s = await simWithClient({}, { devices: 3 });
    sim = s.sim;
    const [a, b, c] = sim.devices(s.serverUuid).map((x) => x.serial_number);
    const { profile_uuid } = await s.client.json('POST', '/profile', good);
    const r1 = await s.client.json('POST', '/profile/devices', { profile_uuid, devices: [a, 'NOTMINE00000'] });
    expect(r1).toEqual({ profile_uuid, devices: { [a]: 'SUCCESS', NOTMINE00000: 'NOT_ACCESSIBLE' } });
    const r2 = await s.client.json('PUT', '/profile/devices', { profile_uuid, devices: [b, c] });
    expect(r2.devices).toEqual({ [b]: 'SUCCESS', [c]: 'SUCCESS' });
    expect(r2.retry_after_seconds).toBeUndefined();
    expect(await s.client.api('POST', '/profile/devices', { profile_uuid: 'NOPE', devices: [a] })).toMatchObject({ status: 404 });
    expect(await s.client.api('POST', '/profile/devices', { devices: [a] })).toMatchObject({ status: 400, text: 'PROFILE_UUID_REQUIRED' });
    expect(await s.client.api('POST', '/profile/devices', { profile_uuid, devices: [] })).toMatchObject({ status: 400, text: 'DEVICE_ID_REQUIRED' });
    expect(sim.assignments().filter((x) => x.action === 'assign').map((x) => [x.serial, x.result])).toEqual([
      [a, 'SUCCESS'],
      ['NOTMINE00000', 'NOT_ACCESSIBLE'],
      [b, 'SUCCESS'],
      [c, 'SUCCESS'],
    ]);
  });

  it('THROTTLED only from protocol 9, retry_after_seconds only from 10; FAILED below 9', async () => {
    const s = await simWithClient({ throttle: { maxAssignmentsPerDevice: 1, windowMs: 3600_000, retryAfterSeconds: 900 } }, { devices: 2 });
    sim = s.sim;
    const [a, b] = sim.devices(s.serverUuid).map((x) => x.serial_number);
    const { profile_uuid } = await s.client.json('POST', '/profile', good);
    expect((await s.client.json('POST', '/profile/devices', { profile_uuid, devices: [a] })).devices[a]).toBe('SUCCESS');
    const v10 = await s.client.json('POST', '/profile/devices', { profile_uuid, devices: [a, b] });
    expect(v10).toEqual({ profile_uuid, devices: { [a]: 'THROTTLED', [b]: 'SUCCESS' }, retry_after_seconds: 900 });
    s.client.protocol = 9;
    const v9 = await s.client.json('POST', '/profile/devices', { profile_uuid, devices: [a] });
    expect(v9).toEqual({ profile_uuid, devices: { [a]: 'THROTTLED' } });
    s.client.protocol = 8;
    expect((await s.client.json('POST', '/profile/devices', { profile_uuid, devices: [a] })).devices[a]).toBe('FAILED');
    sim.clock.advance(3600_000);
    s.client.protocol = 10;
    expect((await s.client.json('POST', '/profile/devices', { profile_uuid, devices: [a] })).devices[a]).toBe('SUCCESS');
  });

  it('scripted outcomes: FAILED / THROTTLED / NOT_ACCESSIBLE for given serials, N times', async () => {
    const s = await simWithClient({}, { devices: 3 });
    sim = s.sim;
    const [a, b, c] = sim.devices(s.serverUuid).map((x) => x.serial_number);
    const { profile_uuid } = await s.client.json('POST', '/profile', good);
    sim.scriptAssignResult([a], 'FAILED', 2);
    sim.scriptAssignResult([b], 'THROTTLED');
    sim.scriptAssignResult([c], 'NOT_ACCESSIBLE');
    const r = await s.client.json('POST', '/profile/devices', { profile_uuid, devices: [a, b, c] });
    expect(r).toEqual({ profile_uuid, devices: { [a]: 'FAILED', [b]: 'THROTTLED', [c]: 'NOT_ACCESSIBLE' }, retry_after_seconds: 3600 });
    const r2 = await s.client.json('POST', '/profile/devices', { profile_uuid, devices: [a, b, c] });
    expect(r2.devices).toEqual({ [a]: 'FAILED', [b]: 'SUCCESS', [c]: 'SUCCESS' });
    expect((await s.client.json('POST', '/profile/devices', { profile_uuid, devices: [a] })).devices[a]).toBe('SUCCESS');
  });

  it('remove (DELETE with a JSON body) and the modified records assignment leaves in sync', async () => {
    const s = await simWithClient({}, { devices: 2 });
    sim = s.sim;
    const [a] = sim.devices(s.serverUuid).map((x) => x.serial_number);
    let cursor = (await s.client.json('POST', '/server/devices', {})).cursor;
    const { profile_uuid } = await s.client.json('POST', '/profile', good);
    await s.client.json('POST', '/profile/devices', { profile_uuid, devices: [a] });
    const removed = await s.client.json('DELETE', '/profile/devices', { devices: [a, 'NOTMINE00000'], profile_uuid: 'ignored' });
    expect(removed).toEqual({ devices: { [a]: 'SUCCESS', NOTMINE00000: 'NOT_ACCESSIBLE' } });
    expect(await s.client.api('DELETE', '/profile/devices', {})).toMatchObject({ status: 400, text: 'DEVICE_ID_REQUIRED' });
    const sync = await s.client.json('POST', '/devices/sync', { cursor });
    expect(sync.devices.map((d: any) => [d.op_type, d.profile_status, d.profile_uuid])).toEqual([
      ['modified', 'assigned', profile_uuid],
      ['modified', 'removed', undefined],
    ]);
    cursor = sync.cursor;
  });

  it('device details, disown and activation lock', async () => {
    const s = await simWithClient({}, {});
    sim = s.sim;
    const [mac, tv] = sim.addDevices(s.serverUuid, [{ device_family: 'Mac', os: 'OSX', model: 'Mac mini' }, { device_family: 'AppleTV', os: 'tvOS', model: 'Apple TV 4K' }]);
    const det = await s.client.json('POST', '/devices', { devices: [mac, 'NOTMINE00000'] });
    expect(det.devices[mac]).toMatchObject({ serial_number: mac, model: 'Mac mini', response_status: 'SUCCESS' });
    expect(det.devices.NOTMINE00000).toEqual({ serial_number: 'NOTMINE00000', response_status: 'NOT_ACCESSIBLE' });
    expect(await s.client.api('POST', '/devices', { devices: [] })).toMatchObject({ status: 400, text: 'DEVICE_ID_REQUIRED' });

    const lock = (body: unknown) => s.client.api('POST', '/device/activationlock', body);
    expect(JSON.parse((await lock({ device: mac, escrow_key: 'a'.repeat(64), lost_message: 'call IT' })).text)).toEqual({ serial_number: mac, response_status: 'SUCCESS' });
    expect(JSON.parse((await lock({ device: mac })).text).response_status).toBe('DEVICE_ALREADY_LOCKED');
    expect(JSON.parse((await lock({ device: tv })).text).response_status).toBe('DEVICE_NOT_SUPPORTED');
    expect(JSON.parse((await lock({ device: 'NOTMINE00000' })).text).response_status).toBe('NOT_ACCESSIBLE');
    expect(await lock({ escrow_key: 'abc' })).toMatchObject({ status: 400, text: 'MALFORMED_REQUEST_BODY' });
    expect(await lock({ device: mac, escrow_key: 'xyz' })).toMatchObject({ status: 400, text: 'MALFORMED_REQUEST_BODY' });
    sim.setActivationLockSupported(false);
    expect(JSON.parse((await lock({ device: tv })).text).response_status).toBe('ORG_NOT_SUPPORTED');

    const cursor = (await s.client.json('POST', '/server/devices', {})).cursor;
    expect(await s.client.json('POST', '/devices/disown', { devices: [tv, 'NOTMINE00000'] })).toEqual({ devices: { [tv]: 'SUCCESS', NOTMINE00000: 'NOT_ACCESSIBLE' } });
    expect(sim.device(tv)).toBeUndefined();
    expect((await s.client.json('POST', '/devices/sync', { cursor })).devices.map((d: any) => [d.serial_number, d.op_type])).toEqual([[tv, 'deleted']]);
    expect((await s.client.json('POST', '/devices/disown', { devices: [tv] })).devices[tv]).toBe('NOT_ACCESSIBLE');
  });

  it('activation answers the assigned profile’s cloud configuration, marks it pushed, and shows up in sync', async () => {
    const s = await simWithClient({}, { devices: 2 });
    sim = s.sim;
    const [a, b] = sim.devices(s.serverUuid).map((x) => x.serial_number);
    expect(sim.activate('UNKNOWN00000')).toEqual({ ok: false, reason: 'UNKNOWN_DEVICE', serial_number: 'UNKNOWN00000' });
    expect(sim.activate(a)).toMatchObject({ ok: false, reason: 'NO_PROFILE' });
    const profile = { ...good, configuration_web_url: 'https://mdm.example.org/webview', is_supervised: true, await_device_configured: true, skip_setup_items: ['Siri'], language: 'en', region: 'US', department: 'IT' };
    const { profile_uuid } = await s.client.json('POST', '/profile', { ...profile, devices: [a] });
    const cursor = (await s.client.json('POST', '/server/devices', {})).cursor;
    const act = sim.activate(a);
    expect(act.ok).toBe(true);
    if (!act.ok) return;
    expect(act.configuration).toMatchObject({
      serial_number: a,
      profile_uuid,
      server_uuid: s.serverUuid,
      url: good.url,
      configuration_web_url: 'https://mdm.example.org/webview',
      is_supervised: true,
      is_mandatory: false,
      is_mdm_removable: true,
      await_device_configured: true,
      auto_advance_setup: false,
      skip_setup_items: ['Siri'],
      anchor_certs: [],
      language: 'en',
      region: 'US',
      department: 'IT',
      org_magic: '1',
      org_name: 'Pomona Simulated Org',
    });
    expect(sim.device(a)).toMatchObject({ profile_status: 'pushed' });
    expect(sim.device(a)!.profile_push_time).toMatch(/Z$/);
    const sync = await s.client.json('POST', '/devices/sync', { cursor });
    expect(sync.devices.map((d: any) => [d.serial_number, d.op_type, d.profile_status])).toEqual([[a, 'modified', 'pushed']]);
    sim.moveDevices([b], sim.createServer({ name: 'x' }).serverUuid);
    sim.deleteDevices([b]);
    expect(sim.activate(b)).toMatchObject({ ok: false, reason: 'NOT_ASSIGNED_TO_SERVER' });
  });

  it('replacement details (v10), OS beta tokens, account-driven enrollment profile', async () => {
    const s = await simWithClient({}, { devices: 1 });
    sim = s.sim;
    const [a] = sim.devices(s.serverUuid).map((x) => x.serial_number);
    expect(await s.client.api('GET', `/device/replacementDetails?device=${a}`)).toMatchObject({ status: 404, text: 'DEVICE_NOT_FOUND' });
    sim.markReplacement(a, 'C02OLDOLDOLD');
    const rep = await s.client.json('GET', `/device/replacementDetails?device=${a}`);
    expect(rep).toMatchObject({ serial_number: a, original_device_serial_number: 'C02OLDOLDOLD' });
    expect(rep.replacement_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    s.client.protocol = 9;
    expect((await s.client.api('GET', `/device/replacementDetails?device=${a}`)).status).toBe(404);

    expect((await s.client.json('GET', '/os-beta-enrollment/tokens')).betaEnrollmentTokens[0]).toMatchObject({ os: 'iOS' });
    sim.setSeedTokensTurnedOff(true);
    expect(await s.client.api('GET', '/os-beta-enrollment/tokens')).toMatchObject({ status: 403, text: 'APPLE_SEED_FOR_IT_TURNED_OFF' });

    expect(await s.client.api('GET', '/account-driven-enrollment/profile')).toMatchObject({ status: 404 });
    expect(await s.client.api('POST', '/account-driven-enrollment/profile', {})).toMatchObject({ status: 400, text: 'MDM_SERVICE_DISCOVERY_URL_REQUIRED' });
    expect(await s.client.api('POST', '/account-driven-enrollment/profile', { mdm_service_discovery_url: 'http://x.example/' })).toMatchObject({ status: 400, text: 'MDM_SERVICE_DISCOVERY_URL_NOT_VALID' });
    expect((await s.client.api('POST', '/account-driven-enrollment/profile', { mdm_service_discovery_url: 'https://mdm.example.org/.well-known/com.apple.remotemanagement' })).status).toBe(200);
    expect((await s.client.json('GET', '/account-driven-enrollment/profile')).mdm_service_discovery_url).toBe('https://mdm.example.org/.well-known/com.apple.remotemanagement');
    expect((await s.client.api('DELETE', '/account-driven-enrollment/profile')).status).toBe(200);
    sim.setAccountDrivenEnrollmentSupported(false);
    expect(await s.client.api('GET', '/account-driven-enrollment/profile')).toMatchObject({ status: 400, text: 'ORG_NOT_SUPPORTED' });
  });
});
