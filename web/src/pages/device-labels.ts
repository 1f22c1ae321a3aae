/** How the console names a device's lifecycle state, platform, ownership and way of enrolling. */
import type { Status } from '../components/status-badge';
import type { Tone } from '../components/ui';

export const LIFECYCLE: Record<string, { label: string; tone: Tone }> = {
  registered: { label: 'Registered', tone: 'neutral' },
  enrolling: { label: 'Enrolling', tone: 'info' },
  enrolled: { label: 'Enrolled', tone: 'good' },
  unenrolled: { label: 'Unenrolled', tone: 'warn' },
  removed: { label: 'Removed', tone: 'bad' },
};

export const PLATFORMS = ['iOS', 'iPadOS', 'macOS', 'tvOS', 'watchOS', 'visionOS'] as const;

/** What each lifecycle state means, for the enrollment status page. */
export const LIFECYCLE_HINT: Record<string, string> = {
  registered: 'in Apple Business Manager, never enrolled with Pomona',
  enrolling: 'profile fetched or installed; the first check-in has not finished',
  enrolled: 'managed: checks in and takes commands',
  unenrolled: 'removed its MDM profile (CheckOut) but is still in ABM',
  removed: 'retired by an admin, or unenrolled and gone from ABM',
};

/** A lifecycle state as a badge: its name and colour, what it means on hover. */
export function lifecycleStatus(state: string): Status {
  const l = LIFECYCLE[state];
  return { tone: l?.tone ?? 'neutral', label: l?.label ?? state, hint: LIFECYCLE_HINT[state] };
}

/** Where an ABM device's enrollment profile stands at Apple. */
export const PROFILE_STATUS: Record<string, Status & { hint: string }> = {
  empty: { label: 'No profile', tone: 'neutral', hint: 'Apple has no enrollment profile for it' },
  assigned: { label: 'Assigned', tone: 'info', hint: 'Apple holds a profile; the device has not fetched it yet' },
  pushed: { label: 'Pushed', tone: 'good', hint: 'the device fetched its profile in Setup Assistant' },
  removed: { label: 'Removed', tone: 'warn', hint: 'the profile was removed at Apple' },
};

/** An ABM device's profile status at Apple as a badge (no status: no profile). */
export const profileStatus = (status: string | null | undefined): Status => PROFILE_STATUS[status ?? 'empty'] ?? { label: status!, tone: 'neutral' };

export const OWNERSHIP: Record<string, string> = {
  'corporate-dedicated': 'Corporate (dedicated)',
  'corporate-shared': 'Corporate (shared)',
  'employee-owned': 'Employee-owned',
};

/** A staging record's mode, which a device keeps as the way it enrolled. */
export const ENROLLMENT_METHOD: Record<string, string> = {
  'ade-webview': 'Automated (ADE) with sign-in',
  ade: 'Automated (ADE)',
  'ade-custom': 'Automated (ADE), custom page',
  web: 'Web enrollment',
  'user-profile': 'User enrollment (profile)',
  'user-account': 'User enrollment (account-driven)',
};

export const label = (names: Record<string, string>, value: string | null | undefined, empty = '—') => (value ? (names[value] ?? value) : empty);
