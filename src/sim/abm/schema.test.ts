/**
 * Every answer the simulator gives must fit Apple's JSON Schemas (micromdm/apple-device-services),
 * so it cannot drift from Apple's shapes. Ajv is a transitive dependency (Fastify's); see the
 * simulator's notes on making it a devDependency.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AbmSimulator } from './server.js';
import { simWithClient, type TestDepClient } from './test-client.js';

const dir = new URL('../../../test/fixtures/abm-sim/dep-schemas/', import.meta.url);
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
// Apple's own /account sample lists relative URIs ("/session") under a `format: uri` key.
ajv.addFormat('uri', true);
for (const f of readdirSync(dir)) ajv.addSchema(JSON.parse(readFileSync(new URL(f, dir), 'utf8')), f);

function check(schema: string, value: unknown): void {
  const validate = ajv.getSchema(schema)!;
  const ok = validate(value);
  expect(ok, `${schema}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

const samples = (name: string) => JSON.parse(readFileSync(new URL(`../../../test/fixtures/abm-sim/samples/${name}`, import.meta.url), 'utf8'));

let sim: AbmSimulator;
let client: TestDepClient;
let serverUuid: string;
beforeAll(async () => {
  ({ sim, client, serverUuid } = await simWithClient({}, { devices: 300 }));
  sim.addDevices(serverUuid, [{ mdm_migration_deadline: Date.UTC(2027, 0, 1) }]);
});
afterAll(() => sim.close());

describe('answers validate against Apple’s schemas', () => {
  it('the fixtures themselves validate (sanity check of the validator)', () => {
    check('AccountDetail.json', samples('account_response.json'));
    check('FetchDeviceResponse.json', samples('device_response.json'));
    // the sample keeps NanoDEP's placeholder text in its e-mail field
    check('Profile.json', { ...samples('fetch_profile_response.json'), support_email_address: 'support@example.com' });
  });

  it('account (v2 and v10) with the same keys as the real sample', async () => {
    for (const protocol of [2, 10]) {
      client.protocol = protocol;
      const acc = await client.json('GET', '/account');
      check('AccountDetail.json', acc);
      if (protocol >= 3) expect(Object.keys(acc).sort()).toEqual(Object.keys(samples('account_response.json')).sort());
    }
  });

  it('fetch and sync pages at every protocol bucket, and the keys of the fetch sample', async () => {
    const sampleKeys = Object.keys(samples('device_response.json').devices[0]).sort();
    for (const protocol of [1, 2, 7, 8, 10]) {
      client.protocol = protocol;
      const page = await client.json('POST', '/server/devices', { limit: 1000 });
      check('FetchDeviceResponse.json', page);
      expect(page.devices).toHaveLength(301);
      if (protocol === 7) {
        const mac = page.devices.find((d: any) => d.device_family === 'Mac' && d.asset_tag === undefined);
        expect(Object.keys(mac).filter((k) => !k.startsWith('profile_')).sort()).toEqual(sampleKeys.filter((k) => !k.startsWith('profile_')));
      }
    }
    client.protocol = 10;
    const { cursor } = await client.json('POST', '/server/devices', { limit: 1000 });
    const serials = sim.devices(serverUuid).map((d) => d.serial_number);
    sim.modifyDevices(serials.slice(0, 3), { asset_tag: 'X' });
    sim.deleteDevices(serials.slice(3, 5), { releasedByReplacement: false });
    check('FetchDeviceResponse.json', await client.json('POST', '/devices/sync', { cursor }));
  });

  it('profile define / get / assign / remove, device details, disown, activation lock, seed tokens', async () => {
    const serials = sim.devices(serverUuid).map((d) => d.serial_number);
    const def = await client.json('POST', '/profile', { profile_name: 'p', url: 'https://mdm.example.org/x', is_mdm_removable: true, org_magic: 'm', devices: serials.slice(10, 12) });
    check('DefineProfileResponse.json', def);
    check('Profile.json', await client.json('GET', `/profile?profile_uuid=${def.profile_uuid}`));
    sim.scriptAssignResult([serials[13]], 'THROTTLED');
    const assigned = await client.json('POST', '/profile/devices', { profile_uuid: def.profile_uuid, devices: serials.slice(12, 15) });
    check('AssignProfileResponse.json', assigned);
    expect(assigned.retry_after_seconds).toBeTypeOf('number');
    check('ClearProfileResponse.json', await client.json('DELETE', '/profile/devices', { devices: serials.slice(12, 14) }));
    check('DeviceListResponse.json', await client.json('POST', '/devices', { devices: serials.slice(20, 25) }));
    check('DeviceStatusResponse.json', await client.json('POST', '/devices/disown', { devices: serials.slice(25, 27) }));
    check('ActivationLockStatusResponse.json', await client.json('POST', '/device/activationlock', { device: serials[30] }));
    check('GetSeedBuildTokenResponse.json', await client.json('GET', '/os-beta-enrollment/tokens'));
    await client.json('POST', '/account-driven-enrollment/profile', { mdm_service_discovery_url: 'https://mdm.example.org/.well-known/com.apple.remotemanagement' }).catch(() => undefined);
    check('GetAccountDrivenEnrollmentProfileResponse.json', await client.json('GET', '/account-driven-enrollment/profile'));
  });
});
