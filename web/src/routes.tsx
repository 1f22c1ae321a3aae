/** Every page of the console (the navigation that leads to them is nav.ts). */
import type { ComponentType } from 'react';
import { Dashboard } from './pages/dashboard';
import { AbmServers } from './pages/abm-servers';
import { EnrollmentProfiles } from './pages/enrollment-profiles';
import { ProfileEditor } from './pages/profile-editor';
import { AbmDevices } from './pages/abm-devices';
import { AbmDeviceTimeline } from './pages/abm-device-timeline';
import { Devices } from './pages/devices';
import { DeviceDetail } from './pages/device-detail';
import { EnrollmentStatus } from './pages/enrollment-status';
import { Organization } from './pages/organization';
import { AuditLog } from './pages/audit-log';
import { Settings } from './pages/settings';

export type Page = ComponentType<{ params: Record<string, string> }>;

export const ROUTES: { path: string; page: Page }[] = [
  { path: '/', page: Dashboard },
  { path: '/abm-servers', page: AbmServers },
  { path: '/profiles', page: EnrollmentProfiles },
  { path: '/profiles/new', page: ProfileEditor },
  { path: '/profiles/:id', page: ProfileEditor },
  { path: '/abm-devices', page: AbmDevices },
  { path: '/abm-devices/:serial', page: AbmDeviceTimeline },
  { path: '/devices', page: Devices },
  { path: '/devices/:id', page: DeviceDetail },
  { path: '/enrollment-status', page: EnrollmentStatus },
  { path: '/organization', page: Organization },
  { path: '/audit', page: AuditLog },
  { path: '/settings', page: Settings },
];
