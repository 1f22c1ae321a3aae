/**
 * Where things belong in the organization tree, for scope checks: for each kind of object a route
 * can name, the path of the organization group it belongs to. Also the prefix filter stores use
 * to leave out what lies outside a scope. Queries only.
 */
import type { Db } from '../db/database.js';
import { ROOT_GROUP_ID } from './scope.js';

/** The kinds of object a route can name that belong to an organization group. */
export type ScopedKind =
  | 'group'
  | 'device'
  | 'command'
  | 'abm-server'
  | 'abm-device'
  | 'dep-profile'
  | 'identity-provider'
  | 'user'
  | 'user-group'
  | 'registration-token'
  | 'admin'
  | 'api-token';

/**
 * id → the group path it belongs to, or null for an object that belongs to no group (a user group
 * not mapped anywhere). Ids that name nothing are absent. An id may name several rows (an API
 * token prefix, a command sent to many devices): every path is listed.
 */
export type Placement = Map<string, (string | null)[]>;

const ROOT_PATH = `/${ROOT_GROUP_ID}/`;
/** Where something whose group id names no group belongs: under the root, reachable by global actors only. */
const NOWHERE = `${ROOT_PATH}(no such group)/`;

/** The ids of the groups under a path prefix (a subquery for `where(column, 'in', …)`). */
export function groupsWithin(db: Db, prefix: string) {
  return db.selectFrom('organization_groups').select('organization_groups.id').where('organization_groups.path', 'like', `${prefix}%`);
}

/** The ids of the ABM servers placed under a path prefix (their devices belong where they are). */
export function abmServersWithin(db: Db, prefix: string) {
  return db.selectFrom('abm_servers').select('abm_servers.id').where('abm_servers.organization_group_id', 'in', groupsWithin(db, prefix));
}

export class ScopeStore {
  constructor(private readonly db: Db) {}

  async place(kind: ScopedKind, ids: string[]): Promise<Placement> {
    const unique = [...new Set(ids)].filter((id) => id.length > 0 && id.length <= 256);
    if (unique.length === 0) return new Map();
    const rows = await this.#rows(kind, unique);
    const out: Placement = new Map();
    for (const r of rows) out.set(r.key, [...(out.get(r.key) ?? []), r.path]);
    return out;
  }

  #rows(kind: ScopedKind, ids: string[]): Promise<{ key: string; path: string | null }[]> {
    const db = this.db;
    switch (kind) {
      case 'group': {
        // by id, or by the Group ID users type (stored upper-case)
        const codes = ids.map((i) => i.trim().toUpperCase());
        return db
          .selectFrom('organization_groups')
          .select(['id', 'group_code', 'path'])
          .where((eb) => eb.or([eb('id', 'in', ids), eb('group_code', 'in', codes)]))
          .execute()
          .then((rows) => ids.flatMap((i) => rows.filter((r) => r.id === i || r.group_code === i.trim().toUpperCase()).map((r) => ({ key: i, path: r.path }))));
      }
      case 'device':
        // a device id, UDID or serial number, or an enrollment id (the ways commands name targets)
        return db
          .selectFrom('devices as d')
          .innerJoin('organization_groups as g', 'g.id', 'd.organization_group_id')
          .leftJoin('enrollments as e', 'e.device_id', 'd.id')
          .select(['d.id', 'd.udid', 'd.serial_number', 'e.id as enrollment_id', 'g.path'])
          .where((eb) => eb.or([eb('d.id', 'in', ids), eb('d.udid', 'in', ids), eb('d.serial_number', 'in', ids), eb('e.id', 'in', ids)]))
          .execute()
          .then((rows) => ids.flatMap((i) => rows.filter((r) => [r.id, r.udid, r.serial_number, r.enrollment_id].includes(i)).map((r) => ({ key: i, path: r.path }))));
      case 'command':
        return db
          .selectFrom('command_queue as q')
          .innerJoin('enrollments as e', 'e.id', 'q.enrollment_id')
          .innerJoin('devices as d', 'd.id', 'e.device_id')
          .innerJoin('organization_groups as g', 'g.id', 'd.organization_group_id')
          .select(['q.command_uuid as key', 'g.path'])
          .where('q.command_uuid', 'in', ids)
          .execute();
      case 'abm-server':
        // a server without a group serves the whole tree
        return db
          .selectFrom('abm_servers as s')
          .leftJoin('organization_groups as g', 'g.id', 's.organization_group_id')
          .select(['s.id as key', 'g.path', 's.organization_group_id'])
          .where('s.id', 'in', ids)
          .execute()
          .then((rows) => rows.map((r) => ({ key: r.key, path: r.organization_group_id === null ? ROOT_PATH : (r.path ?? NOWHERE) })));
      case 'abm-device':
        return db
          .selectFrom('abm_devices as a')
          .innerJoin('abm_servers as s', 's.id', 'a.abm_server_id')
          .leftJoin('organization_groups as g', 'g.id', 's.organization_group_id')
          .select(['a.serial_number as key', 'g.path', 's.organization_group_id'])
          .where('a.serial_number', 'in', ids)
          .execute()
          .then((rows) => rows.map((r) => ({ key: r.key, path: r.organization_group_id === null ? ROOT_PATH : (r.path ?? NOWHERE) })));
      case 'dep-profile':
        return db
          .selectFrom('dep_profiles as p')
          .innerJoin('abm_servers as s', 's.id', 'p.abm_server_id')
          .leftJoin('organization_groups as g', 'g.id', 's.organization_group_id')
          .select(['p.id as key', 'g.path', 's.organization_group_id'])
          .where('p.id', 'in', ids)
          .execute()
          .then((rows) => rows.map((r) => ({ key: r.key, path: r.organization_group_id === null ? ROOT_PATH : (r.path ?? NOWHERE) })));
      case 'identity-provider':
        return db
          .selectFrom('identity_providers as p')
          .innerJoin('organization_groups as g', 'g.id', 'p.organization_group_id')
          .select(['p.id as key', 'g.path'])
          .where('p.id', 'in', ids)
          .execute();
      case 'user':
        // a user belongs where they enroll by default
        return db
          .selectFrom('users as u')
          .innerJoin('organization_groups as g', 'g.id', 'u.default_group_id')
          .select(['u.id as key', 'g.path'])
          .where('u.id', 'in', ids)
          .execute();
      case 'user-group':
        // a user group belongs where it is mapped; an unmapped one belongs to no group
        return db
          .selectFrom('user_groups as ug')
          .leftJoin('user_group_mappings as m', 'm.user_group_id', 'ug.id')
          .leftJoin('organization_groups as g', 'g.id', 'm.organization_group_id')
          .select(['ug.id as key', 'g.path', 'm.organization_group_id'])
          .where('ug.id', 'in', ids)
          .execute()
          .then((rows) => rows.map((r) => ({ key: r.key, path: r.organization_group_id === null ? null : (r.path ?? NOWHERE) })));
      case 'registration-token':
        return db
          .selectFrom('registration_tokens as t')
          .innerJoin('organization_groups as g', 'g.id', 't.organization_group_id')
          .select(['t.id as key', 'g.path'])
          .where('t.id', 'in', ids)
          .execute();
      case 'admin':
        return db
          .selectFrom('admin_users as a')
          .innerJoin('organization_groups as g', 'g.id', 'a.scope_group_id')
          .select(['a.id as key', 'g.path'])
          .where('a.id', 'in', ids)
          .execute();
      case 'api-token': {
        // by id or by display prefix, with or without "pom_" (as revocation accepts them)
        const bare = ids.map((i) => (i.startsWith('pom_') ? i.slice(4) : i));
        return db
          .selectFrom('api_tokens as t')
          .innerJoin('organization_groups as g', 'g.id', 't.scope_group_id')
          .select(['t.id', 't.prefix', 'g.path'])
          .where((eb) => eb.or([eb('t.id', 'in', bare), eb('t.prefix', 'in', bare)]))
          .execute()
          .then((rows) => ids.flatMap((i, n) => rows.filter((r) => r.id === bare[n] || r.prefix === bare[n]).map((r) => ({ key: i, path: r.path }))));
      }
    }
  }
}
