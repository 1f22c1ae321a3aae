/**
 * Queries for the devices Apple assigned to our ABM servers: a page of sync records stored in
 * one transaction together with the cursor that follows it, the list and export, and the
 * assigner's reads and writes.
 */
import { CompiledQuery, sql, type Selectable, type SelectQueryBuilder, type Transaction } from 'kysely';
import { prepared } from '../db/prepared.js';
import type { Db } from '../db/database.js';
import { isPostgres } from '../db/dialect.js';
import type { AbmDeviceTable, Database } from '../db/schema.js';
import { abmServersWithin } from '../org/scope-store.js';
import type { LifecycleState } from '../mdm/device-lifecycle.js';
import { ABM_STATE, MDM_STATE } from '../mdm/inventory-store.js';

export interface AbmEnrollmentFacts {
  abm_server_id: string;
  profile_id: string | null;
  removed_at: number | null;
  device_family: string | null;
  /** the group of the record's ABM server */
  server_group_id: string | null;
}

// Read on every ADE request (the profile's url and the web view) and for every setup plan, with its server's group.
const enrollmentFacts = prepared((db, serial: string) =>
  db.selectFrom('abm_devices as a')
    .innerJoin('abm_servers as s', 's.id', 'a.abm_server_id')
    .select(['a.abm_server_id', 'a.profile_id', 'a.removed_at', 'a.device_family', 's.organization_group_id as server_group_id'])
    .where('a.serial_number', '=', serial),
);

export type AbmDeviceRow = Selectable<AbmDeviceTable>;
/** A record as listed: with the lifecycle state of the device (device-lifecycle.ts). */
export type AbmDeviceListRow = AbmDeviceRow & { lifecycle_state: LifecycleState };

/** One device record as the sync stores it: Apple's fields mapped to their columns. */
export type AbmDeviceRecord = Pick<
  AbmDeviceTable,
  | 'serial_number' | 'model' | 'description' | 'color' | 'asset_tag' | 'os' | 'device_family' | 'profile_status' | 'profile_uuid'
  | 'profile_assign_time' | 'profile_push_time' | 'device_assigned_date' | 'device_assigned_by' | 'op_type' | 'op_date' | 'apple_json'
> & { deleted: boolean };

export interface PageCommit {
  serverId: string;
  now: number;
  devices: AbmDeviceRecord[];
  /** Apple profile UUID → Pomona profile id, so a device we meet for the first time keeps a profile of ours */
  adopt: Map<string, string>;
  cursor: string;
  fetchComplete: boolean;
  /** the last page of a full fetch started at this time: devices not seen since are no longer in ABM */
  markMissingBefore?: number;
}

export interface DeviceFilter {
  serverId?: string;
  profileId?: string;
  profileStatus?: string;
  /** active: in ABM now; removed: removed from ABM */
  state?: 'active' | 'removed';
  assignResult?: string;
  /** the device's lifecycle state: its device row's once it reached Pomona, else read from the record */
  lifecycle?: LifecycleState;
  search?: string;
  /** only devices of ABM servers whose organization group lies under this path (an admin's scope) */
  scopePrefix?: string;
}

export type DeviceSort = 'serial_number' | 'model' | 'os' | 'profile_status' | 'first_seen_at' | 'last_seen_at' | 'device_assigned_date';

export class AbmDeviceStore {
  constructor(private readonly db: Db) {}

  /**
   * Stores a page and advances the cursor in one transaction: a crash loses neither or both.
   * Returns how many of the page's live devices were new to this server.
   */
  async commitPage(p: PageCommit): Promise<{ added: number; missing: number }> {
    return this.db.transaction().execute(async (tx) => {
      const live = p.devices.filter((d) => !d.deleted);
      const gone = p.devices.filter((d) => d.deleted);
      const added = live.length ? await upsertPage(tx, p, live, false) : 0;
      if (gone.length) await upsertPage(tx, p, gone, true);
      await tx
        .updateTable('abm_servers')
        .set((eb) => ({
          cursor: p.cursor,
          cursor_at: p.now,
          fetch_complete: p.fetchComplete ? 1 : 0,
          sync_pages: eb('sync_pages', '+', 1),
          sync_devices: eb('sync_devices', '+', p.devices.length),
          updated_at: p.now,
        }))
        .where('id', '=', p.serverId)
        .execute();
      // In the same transaction, so a crash cannot leave a finished fetch whose stale devices were never marked.
      const missing = p.markMissingBefore === undefined ? 0 : await markMissing(tx, p.serverId, p.markMissingBefore, p.now);
      return { added, missing };
    });
  }

  /** What enrolling a device needs of its record (the ADE answer, the setup plan): one indexed read. */
  async enrollmentFacts(serial: string): Promise<AbmEnrollmentFacts | undefined> {
    return (await enrollmentFacts(this.db, serial)).rows[0];
  }

  async get(serial: string): Promise<AbmDeviceRow | undefined> {
    return this.db.selectFrom('abm_devices').selectAll().where('serial_number', '=', serial).executeTakeFirst();
  }

  /** One record with its lifecycle state. */
  async getListed(serial: string): Promise<AbmDeviceListRow | undefined> {
    return withLifecycle(this.db, this.db.selectFrom('abm_devices as a').selectAll('a').where('a.serial_number', '=', serial)).executeTakeFirst();
  }

  async getMany(serials: string[]): Promise<AbmDeviceRow[]> {
    if (serials.length === 0) return [];
    return this.db.selectFrom('abm_devices').selectAll().where('serial_number', 'in', serials).execute();
  }

  async list(f: DeviceFilter, page: { limit: number; offset: number; sort: DeviceSort; descending: boolean }): Promise<{ total: number; rows: AbmDeviceListRow[] }> {
    const base = filtered(this.db, f);
    const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    // Ties broken by serial; the serial itself needs none (a second term costs SQLite a sort).
    const order = <DB, TB extends keyof DB, O>(q: SelectQueryBuilder<DB, TB, O>) =>
      q.orderBy(sql.ref(`a.${page.sort}`), page.descending ? 'desc' : 'asc').$if(page.sort !== 'serial_number', (o) => o.orderBy(sql.ref('a.serial_number')));
    const rows = await order(withLifecycle(this.db, order(base.selectAll('a')).limit(page.limit).offset(page.offset))).execute();
    return { total: Number(total), rows };
  }

  /** The filtered devices in serial order, a chunk at a time, so an export never holds them all. */
  async *iterate(f: DeviceFilter, chunk = 1000): AsyncGenerator<AbmDeviceListRow> {
    let after = '';
    for (;;) {
      const chunkRows = filtered(this.db, f).selectAll('a').where('a.serial_number', '>', after).orderBy('a.serial_number').limit(chunk);
      const rows = await withLifecycle(this.db, chunkRows).orderBy('a.serial_number').execute();
      yield* rows;
      if (rows.length < chunk) return;
      after = rows[rows.length - 1].serial_number;
    }
  }

  async countsByServer(): Promise<Map<string, { devices: number; removed: number }>> {
    const rows = await this.db
      .selectFrom('abm_devices')
      .select((eb) => [
        'abm_server_id',
        eb.fn.countAll<number>().as('devices'),
        eb.fn.count<number>('removed_at').as('removed'),
      ])
      .groupBy('abm_server_id')
      .execute();
    return new Map(rows.map((r) => [r.abm_server_id, { devices: Number(r.devices), removed: Number(r.removed) }]));
  }

  async countsByProfile(serverId: string): Promise<Map<string | null, number>> {
    const rows = await this.db
      .selectFrom('abm_devices')
      .select((eb) => ['profile_id', eb.fn.countAll<number>().as('n')])
      .where('abm_server_id', '=', serverId)
      .where('removed_at', 'is', null)
      .groupBy('profile_id')
      .execute();
    return new Map(rows.map((r) => [r.profile_id, Number(r.n)]));
  }

  /**
   * Devices that should carry `appleUuid` and do not, are not cooling down and are not being
   * assigned right now (a claim older than `staleBefore` is taken to be from a dead node).
   */
  async needingAssignment(q: { serverId: string; profileId: string | null; isDefault: boolean; appleUuid: string; now: number; staleBefore: number; limit: number }): Promise<string[]> {
    const rows = await this.db
      .selectFrom('abm_devices')
      .select('serial_number')
      .where('abm_server_id', '=', q.serverId)
      .where((eb) =>
        q.isDefault ? eb.or([eb('profile_id', 'is', null), eb('profile_id', '=', q.profileId)]) : eb('profile_id', '=', q.profileId),
      )
      .where('removed_at', 'is', null)
      .where('assign_mode', '=', 'auto')
      .where((eb) => eb.or([eb('profile_uuid', 'is', null), eb('profile_uuid', '!=', q.appleUuid)]))
      .where((eb) => eb.or([eb('assign_retry_at', 'is', null), eb('assign_retry_at', '<=', q.now)]))
      .where((eb) => eb.or([eb('assign_started_at', 'is', null), eb('assign_started_at', '<', q.staleBefore)]))
      .orderBy('serial_number')
      .limit(q.limit)
      .execute();
    return rows.map((r) => r.serial_number);
  }

  /** Marks the serials as being assigned; returns those this caller claimed. */
  async claimForAssignment(serials: string[], now: number, staleBefore: number): Promise<string[]> {
    if (serials.length === 0) return [];
    const rows = await this.db
      .updateTable('abm_devices')
      .set({ assign_started_at: now })
      .where('serial_number', 'in', serials)
      .where((eb) => eb.or([eb('assign_started_at', 'is', null), eb('assign_started_at', '<', staleBefore)]))
      .returning('serial_number')
      .execute();
    return rows.map((r) => r.serial_number);
  }

  /** Stores one outcome for a group of serials (an assign/remove answer has at most four). */
  async recordAssignment(serials: string[], o: { result: string; error: string | null; retryAt: number | null; now: number; appleUuid?: string | null; profileStatus?: string }): Promise<void> {
    if (serials.length === 0) return;
    await this.db
      .updateTable('abm_devices')
      .set({
        assign_started_at: null,
        assign_result: o.result,
        assign_error: o.error,
        assign_attempted_at: o.now,
        assign_retry_at: o.retryAt,
        updated_at: o.now,
        ...(o.appleUuid !== undefined ? { profile_uuid: o.appleUuid, profile_status: o.profileStatus ?? 'assigned', profile_assign_time: o.now } : {}),
      })
      .where('serial_number', 'in', serials)
      .execute();
  }

  /** Sets which Pomona profile the devices should have (null = default) and resumes automatic assignment. */
  async setProfile(serverId: string, serials: string[], profileId: string | null, mode: 'auto' | 'none', now: number): Promise<string[]> {
    if (serials.length === 0) return [];
    const rows = await this.db
      .updateTable('abm_devices')
      .set({ profile_id: profileId, assign_mode: mode, assign_retry_at: null, updated_at: now })
      .where('abm_server_id', '=', serverId)
      .where('serial_number', 'in', serials)
      .returning('serial_number')
      .execute();
    return rows.map((r) => r.serial_number);
  }

  /** Devices on a deleted profile go back to their server's default. */
  async moveProfileDevicesToDefault(profileId: string, now: number): Promise<number> {
    const res = await this.db.updateTable('abm_devices').set({ profile_id: null, updated_at: now }).where('profile_id', '=', profileId).executeTakeFirst();
    return Number(res.numUpdatedRows);
  }
}

/** After a complete full fetch: devices of the server that it did not return are no longer in ABM. */
async function markMissing(tx: Transaction<Database>, serverId: string, seenSince: number, now: number): Promise<number> {
  const res = await tx
    .updateTable('abm_devices')
    .set({ removed_at: now, updated_at: now })
    .where('abm_server_id', '=', serverId)
    .where('removed_at', 'is', null)
    .where('last_seen_at', '<', seenSince)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Apple's fields as columns, named as in Apple's records. */
const TEXT = ['model', 'description', 'color', 'asset_tag', 'os', 'device_family', 'profile_status', 'profile_uuid', 'device_assigned_by', 'op_type', 'apple_json'] as const;
const TIMES = ['profile_assign_time', 'profile_push_time', 'device_assigned_date', 'op_date'] as const;
const APPLE_COLUMNS = [...TEXT, ...TIMES];
const RECORD_COLUMNS = ['serial_number', ...APPLE_COLUMNS, 'profile_id'] as const;
const INSERT_COLUMNS = [...RECORD_COLUMNS, 'abm_server_id', 'first_seen_at', 'last_seen_at', 'removed_at', 'assign_mode', 'updated_at', 'device_id'].join(', ');
/**
 * The device row of the record's serial, if Pomona already has one (a device enrolled before ABM
 * listed it): the record is then not "known only from ABM" (src/mdm/inventory-store.ts). One
 * index probe per record, no sort: where a serial has several rows, its next Authenticate links
 * the one that enrolled.
 */
const deviceOf = (serial: string) => `(SELECT d.id FROM devices d WHERE d.serial_number = ${serial} LIMIT 1)`;

/**
 * Added or modified: Apple's fields win; a device that moved here from another of our servers
 * starts over on this server's profiles; one that was removed from ABM and came back is live again.
 */
const MOVED = 'abm_devices.abm_server_id <> excluded.abm_server_id';
const ON_LIVE = [
  ...APPLE_COLUMNS.map((c) => `${c} = excluded.${c}`),
  'abm_server_id = excluded.abm_server_id',
  'last_seen_at = excluded.last_seen_at',
  'removed_at = NULL',
  `profile_id = CASE WHEN ${MOVED} THEN excluded.profile_id ELSE abm_devices.profile_id END`,
  `assign_mode = CASE WHEN ${MOVED} THEN 'auto' ELSE abm_devices.assign_mode END`,
  `assign_retry_at = CASE WHEN ${MOVED} THEN NULL ELSE abm_devices.assign_retry_at END`,
  'updated_at = excluded.updated_at',
  'device_id = COALESCE(abm_devices.device_id, excluded.device_id)',
].join(', ');

/** Deleted: kept and marked; a delete from a server the device has already left changes nothing. */
const ON_DELETED = [
  'op_type = excluded.op_type', 'op_date = excluded.op_date', 'apple_json = excluded.apple_json', 'last_seen_at = excluded.last_seen_at',
  'removed_at = COALESCE(abm_devices.removed_at, excluded.removed_at)', 'updated_at = excluded.updated_at',
  'device_id = COALESCE(abm_devices.device_id, excluded.device_id)',
].join(', ') + ' WHERE abm_devices.abm_server_id = excluded.abm_server_id';

/**
 * A page is written without building a query per row: on PostgreSQL the records travel as one
 * JSON parameter unpacked by json_to_recordset (one statement, one round trip); on SQLite a
 * multi-row INSERT whose text depends only on its row count, so it is prepared once.
 */
async function upsertPage(tx: Transaction<Database>, p: PageCommit, devices: AbmDeviceRecord[], removed: boolean): Promise<number> {
  const onConflict = removed ? ON_DELETED : ON_LIVE;
  const profileOf = (d: AbmDeviceRecord) => (d.profile_uuid && p.adopt.get(d.profile_uuid)) || null;
  if (isPostgres(tx as never)) {
    const types = RECORD_COLUMNS.map((c) => `${c} ${(TIMES as readonly string[]).includes(c) ? 'bigint' : 'text'}`).join(', ');
    // json_to_recordset reads a missing profile_id as NULL, so a page adopting no profile is
    // written as it is: per-record copies are garbage that raises the peak RSS of a big sync.
    const adopts = p.adopt.size > 0 && devices.some((d) => d.profile_uuid && p.adopt.has(d.profile_uuid));
    const json = JSON.stringify(adopts ? devices.map((d) => ({ ...d, profile_id: profileOf(d) })) : devices);
    // xmax = 0 marks a row this statement inserted rather than updated.
    const res = await tx.executeQuery<{ n: string }>(
      CompiledQuery.raw(
        `WITH up AS (
           INSERT INTO abm_devices (${INSERT_COLUMNS}) SELECT ${RECORD_COLUMNS.map((c) => `x.${c}`).join(', ')}, $2, $3, $3, $4, 'auto', $3, ${deviceOf('x.serial_number')}
           FROM json_to_recordset($1::json) AS x(${types})
           ON CONFLICT (serial_number) DO UPDATE SET ${onConflict}
           RETURNING (xmax = 0) AS inserted)
         SELECT count(*) FILTER (WHERE inserted) AS n FROM up`,
        [json, p.serverId, p.now, removed ? p.now : null],
      ),
    );
    return Number(res.rows[0].n);
  }
  const known = await tx.executeQuery<{ n: number }>(
    // CROSS JOIN keeps the page's serials as the outer loop (a primary-key probe each), not a scan of the server's devices.
    CompiledQuery.raw('SELECT count(*) AS n FROM json_each(?) AS page CROSS JOIN abm_devices ON abm_devices.serial_number = page.value WHERE abm_devices.abm_server_id = ?', [
      JSON.stringify(devices.map((d) => d.serial_number)), p.serverId,
    ]),
  );
  const fixed = [p.serverId, p.now, p.now, removed ? p.now : null, 'auto', p.now];
  for (let i = 0; i < devices.length; i += SQLITE_ROWS) {
    const chunk = devices.slice(i, i + SQLITE_ROWS);
    const params: unknown[] = [];
    for (const d of chunk) {
      for (const c of RECORD_COLUMNS) params.push(c === 'profile_id' ? profileOf(d) : d[c]);
      params.push(...fixed, d.serial_number);
    }
    await tx.executeQuery(CompiledQuery.raw(sqliteInsert(chunk.length, onConflict), params));
  }
  return devices.length - Number(known.rows[0].n);
}

/** Rows per SQLite INSERT: 500 × 24 parameters stays well under SQLite's 32,766. */
const SQLITE_ROWS = 500;
const sqliteInserts = new Map<string, string>();
function sqliteInsert(rows: number, onConflict: string): string {
  const key = `${rows}:${onConflict === ON_LIVE ? 'live' : 'deleted'}`;
  let text = sqliteInserts.get(key);
  if (!text) {
    const row = `(${INSERT_COLUMNS.split(', ').map((c) => (c === 'device_id' ? deviceOf('?') : '?')).join(', ')})`;
    text = `INSERT INTO abm_devices (${INSERT_COLUMNS}) VALUES ${Array(rows).fill(row).join(', ')} ON CONFLICT (serial_number) DO UPDATE SET ${onConflict}`;
    if (sqliteInserts.size > 100) sqliteInserts.clear();
    sqliteInserts.set(key, text);
  }
  return text;
}

/** The lifecycle state as the device list reads it (inventory-store.ts): the linked device row's once the device reached Pomona (the link: migration 0009), else the record's own. */
const LIFECYCLE = sql<LifecycleState>`CASE WHEN a.device_id IS NULL THEN ${ABM_STATE} ELSE ${MDM_STATE} END`;

/**
 * A page of records (`a`) with their lifecycle state, looked up for the page's rows only: a
 * count or a deep offset reads no device row unless it filters by state.
 */
function withLifecycle(db: Db, page: SelectQueryBuilder<Database & { a: AbmDeviceTable }, 'a', AbmDeviceRow>) {
  return db.selectFrom(page.as('a')).leftJoin('devices as d', 'd.id', 'a.device_id').selectAll('a').select(LIFECYCLE.as('lifecycle_state'));
}

function filtered(db: Db, f: DeviceFilter) {
  let q = db.selectFrom('abm_devices as a');
  if (f.serverId) q = q.where('a.abm_server_id', '=', f.serverId);
  if (f.scopePrefix) q = q.where('a.abm_server_id', 'in', abmServersWithin(db, f.scopePrefix));
  if (f.profileId) q = q.where('a.profile_id', '=', f.profileId);
  if (f.profileStatus) q = q.where('a.profile_status', '=', f.profileStatus);
  if (f.assignResult) q = q.where('a.assign_result', '=', f.assignResult);
  if (f.state === 'active') q = q.where('a.removed_at', 'is', null);
  if (f.state === 'removed') q = q.where('a.removed_at', 'is not', null);
  // Registered is the record's alone (no device row): no join. Other states join the device rows
  // (a hash join on PostgreSQL, a key probe per record on SQLite); enrolled and unenrolled exist
  // only on a device row, so records without one are passed over first.
  if (f.lifecycle === 'registered') q = q.where('a.device_id', 'is', null).where(ABM_STATE, '=', 'registered');
  else if (f.lifecycle) {
    if (f.lifecycle === 'enrolled' || f.lifecycle === 'unenrolled') q = q.where('a.device_id', 'is not', null);
    q = q.leftJoin('devices as d', 'd.id', 'a.device_id').where(LIFECYCLE, '=', f.lifecycle) as unknown as typeof q;
  }
  if (f.search) {
    const like = `%${f.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) =>
      eb.or(['a.serial_number', 'a.model', 'a.description', 'a.asset_tag'].map((c) => eb(sql`lower(${sql.ref(c)})`, 'like', sql`${like} ESCAPE '\\'`))),
    );
  }
  return q;
}
