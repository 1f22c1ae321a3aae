import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001-core.js';
import * as m0002 from './0002-abm.js';
import * as m0003 from './0003-org.js';
import * as m0004 from './0004-users.js';
import * as m0005 from './0005-sign-in-failures.js';
import * as m0006 from './0006-admin-scope.js';
import * as m0007 from './0007-pending-enrollments.js';
import * as m0008 from './0008-user-enrollment.js';
import * as m0009 from './0009-device-lifecycle.js';
import * as m0010 from './0010-setup-plan.js';
import * as m0011 from './0011-ade-timeline.js';
import * as m0012 from './0012-alerts.js';
import * as m0013 from './0013-job-runs.js';
import * as m0014 from './0014-group-references.js';

/** Migrations are listed here (not read from disk) so they run the same from source and tests. */
const migrations: Record<string, Migration> = {
  '0001-core': m0001,
  '0002-abm': m0002,
  '0003-org': m0003,
  '0004-users': m0004,
  '0005-sign-in-failures': m0005,
  '0006-admin-scope': m0006,
  '0007-pending-enrollments': m0007,
  '0008-user-enrollment': m0008,
  '0009-device-lifecycle': m0009,
  '0010-setup-plan': m0010,
  '0011-ade-timeline': m0011,
  '0012-alerts': m0012,
  '0013-job-runs': m0013,
  '0014-group-references': m0014,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
