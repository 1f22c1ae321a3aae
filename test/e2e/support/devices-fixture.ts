/**
 * Devices for browser tests of the Devices and Enrollment status pages: simulated devices enrolled
 * through the real profile, SCEP and check-in (they answer their pushes, so a command sent from the
 * console gets its result), a Mac's managed administrator, and enrollment attempts left half-way
 * (staging records past their time).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ManagedAdminStore } from '../../../src/mdm/managed-admin-store.js';
import { SimulatedDevice, type SimulatedDeviceOptions } from '../../../src/sim/device.js';
import type { PendingMode } from '../../../src/enroll/pending-enrollment-service.js';
import type { TestServer } from '../../support/server.js';

/**
 * A device enrolled with the test server's profile that connects whenever it is pushed (with
 * `asleep`, only once the test calls `pomona.wake(device)`: what Pomona queues at enrollment waits).
 */
export async function enrolledDevice(pomona: TestServer, opts: SimulatedDeviceOptions & { asleep?: boolean } = {}): Promise<SimulatedDevice> {
  const device = new SimulatedDevice(opts);
  await device.enroll(await pomona.profile({ unsigned: opts.platform === 'macOS' }));
  if (!opts.asleep) pomona.wake(device);
  return device;
}

/** A configuration profile of the library attached to a group: a step of every setup plan there. */
export async function attachedProfile(pomona: TestServer, groupId: string): Promise<string> {
  const payload = readFileSync(new URL('../../fixtures/apple/mdm-samples/profiles/test.mobileconfig', import.meta.url)).toString('base64');
  const created = await pomona.api('/api/v1/configuration-profiles', { body: { payload } });
  if (created.status !== 201) throw new Error(`could not add the profile: ${JSON.stringify(created.json)}`);
  const attached = await pomona.api(`/api/v1/configuration-profiles/${created.json.id}/attachments`, { body: { organizationGroupId: groupId } });
  if (attached.status !== 201) throw new Error(`could not attach the profile: ${JSON.stringify(attached.json)}`);
  return created.json.id as string;
}

/**
 * An enrollment attempt abandoned `minutesAgo` minutes ago: started, never finished, its sign-in
 * time over (what the page calls abandoned). Its id.
 */
export async function abandonedAttempt(pomona: TestServer, o: { mode?: PendingMode; groupId?: string; minutesAgo?: number } = {}): Promise<string> {
  const { pending } = await pomona.ctx.pendingEnrollments.create({ mode: o.mode ?? 'web', groupId: o.groupId ?? 'global', sourceAddress: '192.0.2.10' });
  const at = Date.now() - (o.minutesAgo ?? 90) * 60_000;
  await pomona.ctx.database.db.updateTable('pending_enrollments').set({ created_at: at, updated_at: at, expires_at: at + 60 * 60_000 }).where('id', '=', pending.id).execute();
  return pending.id;
}

/**
 * A managed administrator account on an enrolled Mac whose password the Mac has acknowledged, as
 * after the AccountConfiguration of its setup plan (without running Setup Assistant).
 */
export async function managedAdminAccount(pomona: TestServer, mac: SimulatedDevice, shortName = 'itadmin'): Promise<void> {
  const device = (await pomona.api(`/api/v1/devices/${mac.udid}`)).json.device as { id: string };
  const commandUuid = randomUUID();
  await pomona.ctx.managedAdmin.prepareAccount({
    deviceId: device.id, enrollmentId: mac.udid, commandUuid,
    admin: { shortName, fullName: 'IT Administrator', hidden: true, password: { length: 16, rotateAfterViewingMinutes: 0 } },
  });
  if (!(await new ManagedAdminStore(pomona.ctx.database.db).promote(device.id, commandUuid, Date.now()))) throw new Error('the managed administrator was not set up');
}
