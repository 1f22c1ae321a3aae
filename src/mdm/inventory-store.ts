/**
 * The devices of the organization as one list: Pomona's device rows, and the ABM records of
 * devices that never reached Pomona (left as ABM records, not copied: an ABM server may hold
 * 100,000 of them). Both read with their lifecycle state as device-lifecycle.ts defines it.
 *
 * Paging follows one order that both tables can stream from an index, so a page costs its
 * size (after a cursor) or its offset plus its size, never a sort of every device: devices
 * without a serial number (user enrollments) first, by id; then by serial number, device rows
 * and ABM records merged.
 */
import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { OrganizationGroupTable } from '../db/schema.js';
import { ABM_FAMILIES, PLATFORMS, type Platform } from '../apple/platform.js';
import { ROOT_GROUP_ID } from '../org/org-group-service.js';
import type { LifecycleState, Ownership } from './device-lifecycle.js';

export interface InventoryFilter {
  /**
   * Materialized paths ('/global/…/id/') the device's group must lie under; every one must
   * hold (a requested group and an admin's scope, say). Empty: anywhere.
   */
  groupPaths: string[];
  states?: LifecycleState[];
  ownerships?: Ownership[];
  platforms?: Platform[];
  /** how the device enrolled (devices.enrollment_method: web, ade-webview…) */
  enrollmentMethods?: string[];
  /** the model, exactly but in any case: product name (iPhone17,1), model name (Mac mini) or model number */
  model?: string;
  /** part of the serial number, UDID or device name (ABM records: serial, description, asset tag) */
  q?: string;
  serial?: string;
  udid?: string;
}

export interface InventoryRow {
  /** Pomona's device id; null for a device known only from ABM */
  id: string | null;
  serial_number: string | null;
  udid: string | null;
  device_name: string | null;
  product_name: string | null;
  model_name: string | null;
  model: string | null;
  os_version: string | null;
  build_version: string | null;
  platform: string | null;
  group_id: string;
  ownership: string | null;
  lifecycle_state: LifecycleState;
  lifecycle_changed_at: number | null;
  abm_server_id: string | null;
  abm_removed_at: number | null;
  enrollment_method: string | null;
  registration_token_id: string | null;
  first_seen_at: number;
  last_seen_at: number | null;
}

export type GroupRow = Pick<Selectable<OrganizationGroupTable>, 'id' | 'parent_id' | 'name' | 'group_code' | 'path' | 'depth'>;

/** Where a page ended: the serial number and device id of its last row (either may be null). */
export interface ListPosition {
  serial: string | null;
  id: string | null;
}

export interface StateCount {
  groupId: string;
  state: LifecycleState;
  n: number;
}

/** An unenrolled device that is gone from ABM too is removed; read, not written (see device-lifecycle.ts). */
const GONE_FROM_ABM = sql`d.lifecycle_state = 'unenrolled' AND a.removed_at IS NOT NULL`;
export const MDM_STATE = sql`CASE WHEN ${GONE_FROM_ABM} THEN 'removed' ELSE d.lifecycle_state END`;
const MDM_CHANGED = sql`CASE WHEN ${GONE_FROM_ABM} AND a.removed_at > COALESCE(d.lifecycle_changed_at, 0) THEN a.removed_at ELSE d.lifecycle_changed_at END`;
export const ABM_STATE = sql`CASE WHEN a.removed_at IS NOT NULL THEN 'removed' WHEN a.profile_status = 'pushed' THEN 'enrolling' ELSE 'registered' END`;
const ABM_CHANGED = sql`CASE WHEN a.removed_at IS NOT NULL THEN a.removed_at WHEN a.profile_status = 'pushed' THEN COALESCE(a.profile_push_time, a.updated_at) ELSE a.first_seen_at END`;
const ABM_PLATFORM = sql`CASE a.device_family ${sql.join(
  PLATFORMS.flatMap((p) => ABM_FAMILIES[p].map((f) => sql`WHEN ${sql.lit(f)} THEN ${sql.lit(p)}`)),
  sql` `,
)} ELSE NULL END`;
/** An ABM record of a device that has a device row is shown through the row (the link: abm-device-store.ts, checkin-store.ts). */
const ABM_ONLY = sql`a.device_id IS NULL`;

/** An ABM server without a group serves the whole tree: its devices count at the root. */
const ABM_GROUP = sql`COALESCE(s.organization_group_id, ${sql.lit(ROOT_GROUP_ID)})`;

// Both halves of the union list the same columns, with typed NULLs so PostgreSQL can merge them.
const TEXT_NULL = sql`CAST(NULL AS TEXT)`;
const MDM_COLUMNS = sql`d.id AS id, d.serial_number AS serial_number, d.udid AS udid, d.device_name AS device_name,
  d.product_name AS product_name, d.model_name AS model_name, d.model AS model, d.os_version AS os_version, d.build_version AS build_version, d.platform AS platform,
  d.organization_group_id AS group_id, d.ownership AS ownership, ${MDM_STATE} AS lifecycle_state, ${MDM_CHANGED} AS lifecycle_changed_at,
  a.abm_server_id AS abm_server_id, a.removed_at AS abm_removed_at, d.enrollment_method AS enrollment_method,
  d.registration_token_id AS registration_token_id, d.created_at AS first_seen_at, d.last_seen_at AS last_seen_at`;
const ABM_COLUMNS = sql`${TEXT_NULL} AS id, a.serial_number AS serial_number, ${TEXT_NULL} AS udid, ${TEXT_NULL} AS device_name,
  ${TEXT_NULL} AS product_name, a.model AS model_name, ${TEXT_NULL} AS model, ${TEXT_NULL} AS os_version, ${TEXT_NULL} AS build_version, ${ABM_PLATFORM} AS platform,
  ${ABM_GROUP} AS group_id, ${TEXT_NULL} AS ownership, ${ABM_STATE} AS lifecycle_state, ${ABM_CHANGED} AS lifecycle_changed_at,
  a.abm_server_id AS abm_server_id, a.removed_at AS abm_removed_at, ${TEXT_NULL} AS enrollment_method,
  ${TEXT_NULL} AS registration_token_id, a.first_seen_at AS first_seen_at, CAST(NULL AS BIGINT) AS last_seen_at`;
const MDM_FROM = sql`FROM devices d LEFT JOIN abm_devices a ON a.serial_number = d.serial_number`;
const ABM_FROM = sql`FROM abm_devices a JOIN abm_servers s ON s.id = a.abm_server_id`;
/** The same join for rows from `serial` on: said twice so PostgreSQL starts both sides of a merge join there. */
const mdmFromSerial = (serial: string) => sql`FROM devices d LEFT JOIN abm_devices a ON a.serial_number = d.serial_number AND a.serial_number >= ${serial}`;

export class InventoryStore {
  constructor(private readonly db: Db) {}

  /**
   * One page in list order, and how many devices match in all. A page starts at an offset, or
   * just after a row of the previous page (`after`): the latter stays as cheap however deep it is.
   */
  async page(f: InventoryFilter, limit: number, from: { offset: number } | { after: ListPosition }): Promise<{ rows: InventoryRow[]; total: number; more: boolean }> {
    const after = 'after' in from ? from.after : undefined;
    let offset = 'offset' in from ? from.offset : 0;
    const noSerial = mdmWhere(f, sql`d.serial_number IS NULL`);
    const mdm = mdmWhere(f, sql`d.serial_number IS NOT NULL`);
    const abm = abmWhere(f);
    // Counting needs the ABM side only when a condition reads it (SQLite would look each device up).
    const countFrom = needsAbm(f) ? MDM_FROM : sql`FROM devices d`;
    const [first, second, third] = await Promise.all([
      noSerial ? this.#count(sql`SELECT count(*) AS n ${countFrom} WHERE ${noSerial}`) : 0,
      mdm ? this.#count(sql`SELECT count(*) AS n ${countFrom} WHERE ${mdm}`) : 0,
      abm ? this.#count(sql`SELECT count(*) AS n ${ABM_FROM} WHERE ${abm}`) : 0,
    ]);
    // One row more than asked tells whether another page follows.
    const rows: InventoryRow[] = [];
    const inFirst = after ? after.serial === null : offset < first;
    if (noSerial && inFirst) {
      const past = after ? sql` AND d.id > ${after.id}` : sql``;
      rows.push(...(await this.#rows(sql`SELECT ${MDM_COLUMNS} ${MDM_FROM} WHERE ${noSerial}${past} ORDER BY d.id LIMIT ${limit + 1} OFFSET ${after ? 0 : offset}`)));
    }
    const want = limit + 1 - rows.length;
    if (want > 0 && second + third > 0) {
      const serial = after?.serial ?? null;
      const mdmPast = serial === null ? sql`` : after!.id === null ? sql` AND d.serial_number > ${serial}` : sql` AND (d.serial_number > ${serial} OR (d.serial_number = ${serial} AND d.id > ${after!.id}))`;
      const abmPast = serial === null ? sql`` : sql` AND a.serial_number > ${serial}`;
      offset = after ? 0 : Math.max(0, offset - first);
      // Each half is ordered and limited on its own, so each streams from its index (PostgreSQL
      // would otherwise join and sort both halves whole); the merge then sorts a page or two.
      const enough = offset + want;
      const arms = [
        mdm && sql`SELECT * FROM (SELECT ${MDM_COLUMNS} ${serial === null ? MDM_FROM : mdmFromSerial(serial)} WHERE ${mdm}${mdmPast} ORDER BY d.serial_number, d.id LIMIT ${enough}) AS m`,
        abm && sql`SELECT * FROM (SELECT ${ABM_COLUMNS} ${ABM_FROM} WHERE ${abm}${abmPast} ORDER BY a.serial_number LIMIT ${enough}) AS o`,
      ].filter((a): a is RawBuilder<unknown> => !!a);
      rows.push(...(await this.#rows(sql`${sql.join(arms, sql` UNION ALL `)} ORDER BY serial_number, id LIMIT ${want} OFFSET ${offset}`)));
    }
    return { rows: rows.slice(0, limit), total: first + second + third, more: rows.length > limit };
  }

  /** One device row, read as the list reads it. */
  async one(deviceId: string): Promise<InventoryRow | undefined> {
    return (await this.#rows(sql`SELECT ${MDM_COLUMNS} ${MDM_FROM} WHERE d.id = ${deviceId}`))[0];
  }

  /** The status of each device's device channel (pending, active, removed), for a page of devices. */
  async channelStatuses(deviceIds: string[]): Promise<Map<string, string>> {
    if (deviceIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('enrollments')
      .select(['device_id', 'status'])
      .where('device_id', 'in', deviceIds)
      .where('parent_id', 'is', null)
      .orderBy('updated_at')
      .execute();
    return new Map(rows.map((r) => [r.device_id, r.status])); // the latest channel wins
  }

  /** The organization tree with its paths, root first. */
  groups(): Promise<GroupRow[]> {
    return this.db.selectFrom('organization_groups').select(['id', 'parent_id', 'name', 'group_code', 'path', 'depth']).orderBy('depth').orderBy('name').execute();
  }

  /** A group by its id or by the Group ID users type (any case). */
  group(idOrCode: string): Promise<GroupRow | undefined> {
    return this.db
      .selectFrom('organization_groups')
      .select(['id', 'parent_id', 'name', 'group_code', 'path', 'depth'])
      .where((eb) => eb.or([eb('id', '=', idOrCode), eb('group_code', '=', idOrCode.toUpperCase())]))
      .orderBy('depth')
      .executeTakeFirst();
  }

  /**
   * Devices per group and lifecycle state, ABM-only devices counted in their server's group.
   * Each part reads an index or groups a small set: device rows by (group, state) from their
   * index; the unenrolled ones gone from ABM; ABM records without a device row, per server.
   */
  async countsByGroup(): Promise<StateCount[]> {
    const [rows, gone, abm] = await Promise.all([
      this.#all<{ group_id: string; state: string; n: number | string }>(
        sql`SELECT organization_group_id AS group_id, lifecycle_state AS state, count(*) AS n FROM devices GROUP BY organization_group_id, lifecycle_state`,
      ),
      this.#all<{ group_id: string; n: number | string }>(
        sql`SELECT d.organization_group_id AS group_id, count(*) AS n FROM devices d JOIN abm_devices a ON a.serial_number = d.serial_number
            WHERE ${GONE_FROM_ABM} GROUP BY d.organization_group_id`,
      ),
      this.#all<{ group_id: string; state: string; n: number | string }>(
        sql`SELECT ${ABM_GROUP} AS group_id, x.state AS state, sum(x.n) AS n
            FROM (SELECT a.abm_server_id AS server_id, ${ABM_STATE} AS state, count(*) AS n FROM abm_devices a WHERE ${ABM_ONLY} GROUP BY a.abm_server_id, ${ABM_STATE}) x
            JOIN abm_servers s ON s.id = x.server_id GROUP BY ${ABM_GROUP}, x.state`,
      ),
    ]);
    const out: StateCount[] = [];
    const add = (groupId: string, state: string, n: number) => {
      if (n !== 0) out.push({ groupId, state: state as LifecycleState, n });
    };
    for (const r of rows) add(r.group_id, r.state, Number(r.n));
    for (const r of gone) {
      add(r.group_id, 'unenrolled', -Number(r.n));
      add(r.group_id, 'removed', Number(r.n));
    }
    for (const r of abm) add(r.group_id, r.state, Number(r.n));
    return out;
  }

  async #count(query: RawBuilder<unknown>): Promise<number> {
    const { rows } = await (query as RawBuilder<{ n: number | string }>).execute(this.db);
    return Number(rows[0]?.n ?? 0);
  }

  async #rows(query: RawBuilder<unknown>): Promise<InventoryRow[]> {
    return (await (query as RawBuilder<InventoryRow>).execute(this.db)).rows;
  }

  async #all<T>(query: RawBuilder<unknown>): Promise<T[]> {
    return (await (query as RawBuilder<T>).execute(this.db)).rows;
  }
}

/**
 * Asking for unenrolled or for removed devices, but not both, needs the ABM side: an unenrolled
 * device gone from ABM is removed (device-lifecycle.ts).
 */
function splitsUnenrolled(states: LifecycleState[]): boolean {
  return states.includes('unenrolled') !== states.includes('removed');
}

/** Whether the conditions on device rows read their ABM record (`a`). */
function needsAbm(f: InventoryFilter): boolean {
  return Boolean(f.model) || Boolean(f.states && splitsUnenrolled(f.states));
}

/** The conditions on device rows, or null when no device row can match (a registered-only filter). */
function mdmWhere(f: InventoryFilter, base: RawBuilder<unknown>): RawBuilder<unknown> | null {
  const c: RawBuilder<unknown>[] = [base];
  if (f.states) {
    const wanted = f.states.filter((s) => s !== 'registered');
    if (wanted.length === 0) return null;
    // The stored state narrows first (an index); the ABM side then settles unenrolled/removed.
    const stored = new Set<string>(wanted);
    if (stored.has('removed')) stored.add('unenrolled');
    c.push(sql`d.lifecycle_state IN (${sql.join([...stored])})`);
    if (splitsUnenrolled(wanted)) c.push(sql`${MDM_STATE} IN (${sql.join(wanted)})`);
  }
  if (f.ownerships) c.push(sql`d.ownership IN (${sql.join(f.ownerships)})`);
  if (f.platforms) c.push(sql`d.platform IN (${sql.join(f.platforms)})`);
  if (f.enrollmentMethods) c.push(sql`d.enrollment_method IN (${sql.join(f.enrollmentMethods)})`);
  if (f.model) {
    const m = f.model.toLowerCase();
    c.push(sql`(lower(d.product_name) = ${m} OR lower(d.model_name) = ${m} OR lower(d.model) = ${m} OR lower(a.model) = ${m})`);
  }
  if (f.q) c.push(contains(f.q, [sql`d.serial_number`, sql`d.udid`, sql`d.device_name`]));
  if (f.serial) c.push(sql`d.serial_number = ${f.serial}`);
  if (f.udid) c.push(sql`d.udid = ${f.udid}`);
  for (const path of f.groupPaths) c.push(sql`d.organization_group_id IN (${groupsUnder(path)})`);
  return sql.join(c, sql` AND `);
}

/** The conditions on ABM records without a device row, or null when none can match. */
function abmWhere(f: InventoryFilter): RawBuilder<unknown> | null {
  const c: RawBuilder<unknown>[] = [ABM_ONLY];
  if (f.states) {
    const wanted = f.states.filter((s) => s === 'registered' || s === 'enrolling' || s === 'removed');
    if (wanted.length === 0) return null;
    if (wanted.length < 3) c.push(sql`${ABM_STATE} IN (${sql.join(wanted)})`);
  }
  // Ownership and the way in are decided at enrollment, a UDID is learned there: an ABM record has none.
  if (f.ownerships || f.enrollmentMethods || f.udid) return null;
  if (f.platforms) c.push(sql`a.device_family IN (${sql.join(f.platforms.flatMap((p) => [...ABM_FAMILIES[p]]))})`);
  if (f.model) c.push(sql`lower(a.model) = ${f.model.toLowerCase()}`);
  if (f.q) c.push(contains(f.q, [sql`a.serial_number`, sql`a.description`, sql`a.asset_tag`]));
  if (f.serial) c.push(sql`a.serial_number = ${f.serial}`);
  for (const path of f.groupPaths) c.push(sql`${ABM_GROUP} IN (${groupsUnder(path)})`);
  return sql.join(c, sql` AND `);
}

/** The ids of the groups in the subtree at `path` (a prefix match on the materialized path). */
function groupsUnder(path: string): RawBuilder<unknown> {
  return sql`SELECT id FROM organization_groups WHERE substr(path, 1, ${path.length}) = ${path}`;
}

function contains(text: string, columns: RawBuilder<unknown>[]): RawBuilder<unknown> {
  const like = `%${text.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  return sql`(${sql.join(columns.map((col) => sql`lower(${col}) LIKE ${like} ESCAPE '\\'`), sql` OR `)})`;
}
