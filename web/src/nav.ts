/** The console's sections, in the order the navigation shows them (pages: routes.tsx). */
export const NAV: { path: string; label: string }[] = [
  { path: '/', label: 'Dashboard' },
  { path: '/abm-servers', label: 'ABM servers' },
  { path: '/profiles', label: 'Enrollment profiles' },
  { path: '/abm-devices', label: 'ABM devices' },
  { path: '/devices', label: 'Devices' },
  { path: '/enrollment-status', label: 'Enrollment status' },
  { path: '/organization', label: 'Organization' },
  { path: '/audit', label: 'Audit log' },
  { path: '/settings', label: 'Settings' },
];
