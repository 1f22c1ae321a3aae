/**
 * Automated Device Enrollment for browser tests: the ABM simulator, the simulated device CA that
 * Pomona trusts in test mode (config adeTestRootFile), then — once Pomona runs — an ABM server
 * connected through the admin API with the token file the simulator issues, its profiles (the
 * first is the default), its devices synced, and simulated devices going through Setup Assistant.
 *
 * Two steps, because the device CA must be in Pomona's configuration before it starts:
 *
 *   const ade = await prepareAde();
 *   const s = await startConsole('sqlite', ade.config);
 *   const org = await ade.connect(s.pomona, { devices: [{ serial_number: 'E2E0001', device_family: 'iPhone' }] });
 *   await ade.enroll(['E2E0001']);     // activation, profile, SCEP, check-in
 *   await ade.sync();                  // Apple's side of it (profile pushed) reaches Pomona
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DepProfileSettings } from '../../../src/abm/dep-profile.js';
import { adminApi, type AdminApi } from '../../../src/demo/admin-api.js';
import { connectAbmServer, createDepProfile, setGroupSetting } from '../../../src/demo/demo-setup.js';
import { AdeDevice, passwordSignIn, type SetupOutcome } from '../../../src/sim/ade-device.js';
import { startAbmSimulator, type AbmSimulator } from '../../../src/sim/abm/server.js';
import type { DeviceSpec } from '../../../src/sim/abm/organisation.js';
import { SimulatedDeviceCa, type DeviceIdentity } from '../../../src/sim/device-identity-ca.js';
import type { TestServer } from '../../support/server.js';

export interface AdeConnectOptions {
  /** the Pomona ABM server's name */
  name?: string;
  /** devices Apple assigns to it (serial_number at least; device_family iPhone/iPad/Mac picks the simulated hardware) */
  devices: DeviceSpec[];
  /** profiles by name, created in order: the first becomes the default. Default: one profile without sign-in. */
  profiles?: Record<string, DepProfileSettings>;
  /** a local user who signs in on the web view of profiles with authentication */
  user?: { username: string; password: string };
  /** terms of use shown at sign-in */
  termsOfUse?: string;
}

export interface AdeOrganization {
  serverId: string;
  appleServerUuid: string;
  /** Pomona profile ids by the names given */
  profiles: Record<string, string>;
  api: AdminApi;
}

export interface AdeFixture {
  sim: AbmSimulator;
  /** Pomona configuration for the device CA: pass to startConsole / startTestServer */
  config: { adeTestRootFile: string };
  connect(pomona: TestServer, o: AdeConnectOptions): Promise<AdeOrganization>;
  /** syncs the ABM server now (and runs the assignments it leads to) */
  sync(): Promise<void>;
  /**
   * Each device through Setup Assistant, one after another, signing in as `user` where the profile
   * asks, then answering its pushes; a device's OS can be given (iOS 18.1 / macOS 15.1 otherwise).
   */
  enroll(devices: (string | EnrollingDevice)[]): Promise<{ serial: string; outcome: SetupOutcome; device: AdeDevice }[]>;
  close(): Promise<void>;
}

export interface EnrollingDevice {
  serial: string;
  osVersion?: string;
  build?: string;
  /** MDM_CAN_REQUEST_SOFTWARE_UPDATE: false makes an OS below the profile's minimum a refusal */
  canRequestSoftwareUpdate?: boolean;
}

const DEFAULT_PROFILES: Record<string, DepProfileSettings> = {
  'E2E devices': { apple: { profile_name: 'E2E devices', await_device_configured: false } },
};

/** Simulated hardware for a device family. */
const PRODUCT: Record<string, string> = { iPhone: 'iPhone16,1', iPad: 'iPad13,18', Mac: 'Mac14,7' };

export async function prepareAde(o: { seed?: number } = {}): Promise<AdeFixture> {
  // Pomona on loopback speaks plain HTTP; Apple would insist on https for the web view.
  const sim = await startAbmSimulator({ seed: o.seed ?? 7, profileValidation: { allowHttpWebUrl: true } });
  const ca = await SimulatedDeviceCa.create();
  const identity: DeviceIdentity = await ca.issue('0B7C5A2E-E2E0-4B43-9C2E-4F0B2C3D8E11');
  const dir = mkdtempSync(join(tmpdir(), 'pomona-e2e-ade-'));
  const rootFile = join(dir, 'device-ca.pem');
  writeFileSync(rootFile, ca.rootPem);
  let user: AdeConnectOptions['user'];
  const families = new Map<string, string>();
  let udids = 0;

  let connected: { pomona: TestServer; api: AdminApi; serverId: string } | undefined;
  // As an admin would: ask for a sync, which the scheduler's job then runs (now, not at its next tick).
  const sync = async () => {
    if (!connected) throw new Error('connect first');
    await connected.api(`/api/v1/abm-servers/${connected.serverId}/sync`, { body: {} });
    await connected.pomona.ctx.scheduler.runNow('abm-sync');
  };

  return {
    sim,
    config: { adeTestRootFile: rootFile },
    sync,
    async connect(server, c) {
      user = c.user;
      const api = adminApi(server.url, server.token);
      const appleServerUuid = sim.createServer({ name: c.name ?? 'E2E ABM' }).serverUuid;
      const serverId = await connectAbmServer(api, sim, appleServerUuid, c.name ?? 'E2E ABM');
      if (c.user) {
        await setGroupSetting(api, 'global', 'enrollment.authenticationMethods', ['local']);
        await api('/api/v1/users', { body: { username: c.user.username, password: c.user.password, defaultGroupId: 'global' } });
      }
      if (c.termsOfUse) await setGroupSetting(api, 'global', 'enrollment.termsOfUse', { version: 1, text: c.termsOfUse });
      const profiles: Record<string, string> = {};
      for (const [name, settings] of Object.entries(c.profiles ?? DEFAULT_PROFILES)) profiles[name] = await createDepProfile(api, serverId, settings);
      for (const d of c.devices) families.set(d.serial_number!, d.device_family ?? 'iPhone');
      sim.addDevices(appleServerUuid, c.devices);
      connected = { pomona: server, api, serverId };
      await sync();
      return { serverId, appleServerUuid, profiles, api };
    },
    async enroll(devices) {
      const out = [];
      for (const spec of devices) {
        const { serial, ...os } = typeof spec === 'string' ? { serial: spec } : spec;
        const product = PRODUCT[families.get(serial) ?? 'iPhone'] ?? PRODUCT.iPhone!;
        const mac = product.startsWith('Mac');
        const device = new AdeDevice({
          serial, udid: `00008130-E2E0${String(++udids).padStart(12, '0')}`, product, osVersion: os.osVersion ?? (mac ? '15.1' : '18.1'), build: os.build ?? (mac ? '24B83' : '22B83'),
          canRequestSoftwareUpdate: os.canRequestSoftwareUpdate, identity, abmUrl: sim.url, signIn: user && passwordSignIn(user.username, user.password),
        });
        // Like a real device it answers its pushes (commands, await-configuration steps).
        connected?.pomona.wake(device.device);
        out.push({ serial, outcome: await device.run(), device });
      }
      return out;
    },
    async close() {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
