/**
 * What an admin would set up before devices arrive, done through the admin API: an ABM server
 * connected to the ABM simulator with the token file it issues, a group "Sales" whose user signs
 * in on the web view, terms of use, and three DEP profiles — phones and iPads without sign-in and
 * with a minimum iOS (the default), phones and iPads signing in through Pomona's web view, and
 * Macs awaiting configuration with a managed local administrator.
 */
import type { DepProfileSettings } from '../abm/dep-profile.js';
import type { AbmSimulator } from '../sim/abm/server.js';
import type { AdminApi } from './admin-api.js';
import { DEMO_MINIMUM_IOS, DEMO_OS_MESSAGE, type DemoProfileKey } from './demo-fleet.js';

export const DEMO_USER = 'demo';
/** A demo's end user, printed on screen; the demo runs on loopback with throwaway data. */
export const DEMO_USER_PASSWORD = 'demo-enrollment-passphrase';
export const DEMO_LOCAL_ADMIN = '_pomonaadmin';

const iosRule = { minimum: { version: DEMO_MINIMUM_IOS }, message: DEMO_OS_MESSAGE };

export const DEMO_PROFILES: Record<DemoProfileKey, DepProfileSettings> = {
  phones: {
    apple: { profile_name: 'Phones and iPads', await_device_configured: false, department: 'Pomona demo' },
    pomona: { platforms: ['iOS', 'iPadOS'], osRules: { iOS: iosRule, iPadOS: iosRule } },
  },
  signIn: {
    apple: { profile_name: 'Phones and iPads with sign-in', await_device_configured: false, department: 'Pomona demo' },
    pomona: { platforms: ['iOS', 'iPadOS'], authentication: { enabled: true, methods: ['password'] }, osRules: { iOS: iosRule, iPadOS: iosRule } },
  },
  macs: {
    apple: { profile_name: 'Macs', await_device_configured: true, department: 'Pomona demo' },
    pomona: {
      platforms: ['macOS'],
      macOSAccountSetup: { primaryAccount: 'standard', localAdmin: { shortName: DEMO_LOCAL_ADMIN, fullName: 'Pomona Admin', hidden: true } },
      awaitConfiguration: { timeLimitMinutes: 3 },
    },
  },
};

/** Creates an ABM server pointed at the simulator and uploads the token file Apple (the simulator) issues for its key. */
export async function connectAbmServer(api: AdminApi, sim: AbmSimulator, appleServerUuid: string, name: string): Promise<string> {
  const server = await api<{ id: string }>('/api/v1/abm-servers', { body: { name, baseUrl: sim.url } });
  const publicKey = await api<string>(`/api/v1/abm-servers/${server.id}/public-key`);
  await api(`/api/v1/abm-servers/${server.id}/token`, { method: 'PUT', raw: { type: 'application/pkcs7-mime', data: sim.issueToken(appleServerUuid, publicKey).smime } });
  return server.id;
}

/** Creates a DEP profile on the server (the first one becomes the server's default). */
export async function createDepProfile(api: AdminApi, serverId: string, settings: DepProfileSettings): Promise<string> {
  return (await api<{ id: string }>(`/api/v1/abm-servers/${serverId}/profiles`, { body: { settings } })).id;
}

export async function setGroupSetting(api: AdminApi, groupId: string, key: string, value: unknown): Promise<void> {
  await api(`/api/v1/organization-groups/${groupId}/settings/${key}`, { method: 'PUT', body: { value } });
}

export interface DemoOrganization {
  serverId: string;
  salesGroupId: string;
  profiles: Record<DemoProfileKey, string>;
}

export async function provisionDemo(api: AdminApi, sim: AbmSimulator, appleServerUuid: string): Promise<DemoOrganization> {
  const serverId = await connectAbmServer(api, sim, appleServerUuid, 'Demo ABM');
  const sales = await api<{ id: string }>('/api/v1/organization-groups', { body: { parentId: 'global', name: 'Sales', groupId: 'SALES' } });
  await setGroupSetting(api, 'global', 'enrollment.authenticationMethods', ['local']);
  await setGroupSetting(api, 'global', 'enrollment.termsOfUse', { version: 1, text: 'This device belongs to the Pomona demo organization. It is managed: its administrators can see its settings and apps, not your data.' });
  await api('/api/v1/users', { body: { username: DEMO_USER, password: DEMO_USER_PASSWORD, displayName: 'Demo User', defaultGroupId: sales.id } });
  // The phone profile first: it becomes the default, which the sync assigns to every new device.
  const profiles = {} as Record<DemoProfileKey, string>;
  for (const key of ['phones', 'signIn', 'macs'] as const) profiles[key] = await createDepProfile(api, serverId, DEMO_PROFILES[key]);
  return { serverId, salesGroupId: sales.id, profiles };
}

/** Moves devices to a profile now (Pomona tells Apple — the simulator — at once). */
export async function assignProfile(api: AdminApi, serverId: string, serials: string[], profileId: string): Promise<void> {
  for (let i = 0; i < serials.length; i += 1000) {
    const { results } = await api<{ results: Array<{ serial: string; result: string }> }>('/api/v1/abm-devices/assign', { body: { serverId, serials: serials.slice(i, i + 1000), profileId } });
    const failed = results.filter((r) => r.result !== 'SUCCESS');
    if (failed.length) throw new Error(`assigning ${failed.length} devices failed: ${failed.slice(0, 3).map((r) => `${r.serial} ${r.result}`).join(', ')}`);
  }
}
