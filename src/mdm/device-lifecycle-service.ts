/**
 * What Pomona decides about a device beyond the check-in protocol: where a new enrollment is
 * placed and who owns it, Shared iPads, an admin changing the ownership, and an admin retiring
 * a device. The state transitions of the protocol itself ride on the check-in's own writes
 * (checkin-store.ts); the rules are written down in device-lifecycle.ts.
 */
import { ServiceError } from '../service-error.js';
import { ROOT_GROUP_ID } from '../org/org-group-service.js';
import type { CheckinStore } from './checkin-store.js';
import { OWNERSHIP, isOwnership, ownershipOfEnrollmentType, type Ownership } from './device-lifecycle.js';
import type { DeviceLifecycleStore } from './device-lifecycle-store.js';
import type { MdmEvents } from './mdm-events.js';

export class DeviceLifecycleError extends ServiceError {
  constructor(kind: 'not_found' | 'invalid', message: string) {
    super(kind, kind, message);
  }
}

export interface DeviceLifecycleDeps {
  store: DeviceLifecycleStore;
  checkins: Pick<CheckinStore, 'remove'>;
  /** the ownership setting that applies at a group (inherited or set there) */
  defaultOwnership: (groupId: string) => Promise<Ownership>;
  /** whether a Pomona user with this id exists */
  userExists?: (userId: string) => Promise<boolean>;
  now?: () => number;
}

export class DeviceLifecycleService {
  readonly #now: () => number;

  constructor(private readonly deps: DeviceLifecycleDeps) {
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Reacts to the check-in after it is committed, off the device's request: a listener's
   * failure is logged by MdmEvents, never the device's problem.
   */
  listen(events: MdmEvents): void {
    events.on('authenticate', (e) => this.placeEnrollment(e.deviceId, e.type));
    events.on('tokenUpdate', (e) => (e.type === 'Shared iPad' && e.tally === 1 ? this.deps.store.markShared(e.deviceId) : undefined));
  }

  /**
   * A device that Authenticated and that nothing placed yet: an ADE device goes to its ABM
   * server's group, and a device without an ownership gets the one its enrollment type implies
   * (user enrollment: employee-owned) or its group's default ownership.
   */
  async placeEnrollment(deviceId: string, type: string): Promise<void> {
    const facts = await this.deps.store.placementFacts(deviceId);
    if (!facts) return;
    const groupId = facts.abmGroupId && facts.groupId === ROOT_GROUP_ID ? facts.abmGroupId : facts.groupId;
    if (groupId === facts.groupId && facts.ownership !== null) return;
    const ownership = facts.ownership === null ? (ownershipOfEnrollmentType(type) ?? (await this.deps.defaultOwnership(groupId))) : null;
    await this.deps.store.place(deviceId, { groupId, ownership });
  }

  /**
   * An admin assigns the device to a user: typically one enrolled to the staging user (ADE with
   * authentication off) now handed to the person who uses it.
   */
  async assignUser(idOrSerial: string, userId: string): Promise<{ deviceId: string; from: string | null; to: string }> {
    const device = await this.#device(idOrSerial);
    if (!(await this.deps.userExists?.(userId))) throw new DeviceLifecycleError('not_found', `no user ${userId.slice(0, 64)}`);
    await this.deps.store.setUser(device.id, userId, this.#now());
    return { deviceId: device.id, from: device.userId, to: userId };
  }

  /** An admin sets the ownership; automatic rules leave it alone from then on. */
  async setOwnership(idOrSerial: string, value: string): Promise<{ deviceId: string; from: string | null; to: Ownership }> {
    if (!isOwnership(value)) throw new DeviceLifecycleError('invalid', `unknown ownership "${value.slice(0, 40)}"; use ${OWNERSHIP.join(', ')}`);
    const device = await this.#device(idOrSerial);
    await this.deps.store.setOwnership(device.id, value, this.#now());
    return { deviceId: device.id, from: device.ownership, to: value };
  }

  /**
   * Retires a device: Pomona stops managing it (its channels end as after a CheckOut: queued
   * commands dropped, its next request refused with com.apple.unrecognized.device) and it is
   * removed. A new enrollment brings it back. Send EraseDevice first to wipe a device in hand.
   */
  async retire(idOrSerial: string): Promise<{ deviceId: string; from: string; endedChannels: string[] }> {
    const device = await this.#device(idOrSerial);
    const channels = await this.deps.store.managedChannels(device.id);
    for (const id of channels) await this.deps.checkins.remove(id, 'removed');
    await this.deps.store.markRemoved(device.id, this.#now());
    return { deviceId: device.id, from: device.lifecycleState, endedChannels: channels };
  }

  async #device(idOrSerial: string) {
    const device = await this.deps.store.find(idOrSerial);
    if (!device) throw new DeviceLifecycleError('not_found', `no device ${idOrSerial.slice(0, 64)}`);
    return device;
  }
}
