/**
 * A device's lifecycle in the organization, and its ownership: one vocabulary for the
 * database, the API and the rules below.
 *
 * - registered: Apple assigned it to one of our ABM servers and it never reached Pomona (an
 *   abm_devices record with no device row of that serial).
 * - enrolling: Authenticate seen, no TokenUpdate yet on the device channel; or, for a device
 *   only ABM knows, Apple reports its ADE profile "pushed" (Setup Assistant fetched it).
 * - enrolled: the device channel's TokenUpdate arrived (AwaitingConfiguration devices too: the
 *   channel works, the device waits for DeviceConfigured).
 * - unenrolled: CheckOut, or APNs answered 410 Unregistered for the device channel's token —
 *   the MDM profile was removed without a CheckOut. A TokenUpdate makes it enrolled again, an
 *   Authenticate (re-enrollment) enrolling.
 * - removed: an admin retired it; or it is gone from ABM (deleted, or missing from a full fetch)
 *   and not managed either (never enrolled, or unenrolled). An enrolled or enrolling device
 *   deleted from ABM keeps its state; its ABM status says it is no longer in ABM.
 *
 * Device rows store the MDM side (enrolling, enrolled, unenrolled, removed) and the time it last
 * changed, written by the statements the check-in already runs. The ABM side is read from
 * abm_devices when listing, so a 100,000-device sync writes nothing to devices.
 */
import { OWNERSHIP, type Ownership } from '../org/group-settings.js';

export const LIFECYCLE_STATES = ['registered', 'enrolling', 'enrolled', 'unenrolled', 'removed'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];
/** What a device row holds: `registered` only exists for devices Pomona has no row for. */
export type StoredLifecycleState = Exclude<LifecycleState, 'registered'>;

export { OWNERSHIP, type Ownership };

/** Where a device stands in ABM: assigned to one of our servers now, removed from ABM, or never seen there. */
export type AbmPresence = 'in-abm' | 'removed-from-abm' | null;

export function isLifecycleState(v: string): v is LifecycleState {
  return (LIFECYCLE_STATES as readonly string[]).includes(v);
}

export function isOwnership(v: string): v is Ownership {
  return (OWNERSHIP as readonly string[]).includes(v);
}

/** Ownership a new device gets from its enrollment type, before the group's default applies. */
export function ownershipOfEnrollmentType(type: string): Ownership | null {
  if (type === 'User Enrollment (Device)' || type === 'User Enrollment') return 'employee-owned';
  if (type === 'Shared iPad') return 'corporate-shared';
  return null;
}
