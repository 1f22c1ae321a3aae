/**
 * Device list benchmark: the admin device list, the lifecycle summary, the ABM device list and the
 * console dashboard's counts over a large fleet —
 * by default 100,000 device rows and 100,000 ABM records (60,000 of them enrolled, so 40,000
 * ABM-only), spread over a tree of 31 organization groups. Times each query shape (median of
 * --runs, default 7) through the real store and service, on SQLite and on PostgreSQL (when
 * TEST_DATABASE_URL or --postgres is given). Options: --devices N --abm N --runs R --postgres URL.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { migrateToLatest, openDatabase, type Db } from '../src/db/database.js';
import { InventoryStore } from '../src/mdm/inventory-store.js';
import { InventoryService } from '../src/mdm/inventory-service.js';
import { AbmDeviceStore } from '../src/abm/abm-device-store.js';
import { DashboardService } from '../src/dashboard/dashboard-service.js';
import { DashboardStore } from '../src/dashboard/dashboard-store.js';
import { Scope } from '../src/org/scope.js';
import { arg, machine, withPostgresDatabase } from './support.js';

const DEVICES = Number(arg('devices', '100000'));
const ABM = Number(arg('abm', '100000'));
const RUNS = Number(arg('runs', '7'));
const postgresBase = arg('postgres', process.env.TEST_DATABASE_URL ?? '');

/** A small deterministic generator, so both databases hold the same fleet. */
function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

async function fill(db: Db): Promise<{ customer: string; site: string }> {
  const now = Date.now();
  const r = rng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const groups: { id: string; path: string }[] = [];
  for (let c = 0; c < 5; c++) {
    const id = `cust-${c}`;
    const path = `/global/${id}/`;
    groups.push({ id, path });
    await db.insertInto('organization_groups').values({ id, parent_id: 'global', name: `Customer ${c}`, group_code: `C${c}X`, path, depth: 1, created_at: now, updated_at: now }).execute();
    for (let s = 0; s < 5; s++) {
      const sid = `site-${c}-${s}`;
      groups.push({ id: sid, path: `${path}${sid}/` });
      await db.insertInto('organization_groups').values({ id: sid, parent_id: id, name: `Site ${c}.${s}`, group_code: `S${c}X${s}`, path: `${path}${sid}/`, depth: 2, created_at: now, updated_at: now }).execute();
    }
  }
  for (let i = 0; i < 3; i++) {
    await db.insertInto('abm_servers').values({
      id: `abm-${i}`, name: `ABM ${i}`, organization_group_id: `cust-${i}`, base_url: null, sync_interval_minutes: 30, cert_pem: '-', key_enc: Buffer.from('-'),
      staged_cert_pem: null, staged_key_enc: null, consumer_key: null, tokens_enc: null, token_expires_at: null, token_uploaded_at: null, session_enc: null,
      account_json: null, apple_server_uuid: null, apple_server_name: null, org_name: null, admin_id: null, page_limit: null, last_success_at: null,
      last_error_at: null, last_error_code: null, last_error_message: null, cursor: null, cursor_at: null, fetch_complete: 1, full_fetch_started_at: null,
      sync_started_at: null, sync_kind: null, sync_pages: 0, sync_devices: 0, last_sync_at: null, last_sync_json: null, last_sync_error: null,
      sync_requested: null, sync_requested_at: null, next_sync_at: null, created_at: now, updated_at: now,
    }).execute();
  }
  const families = ['iPhone', 'iPhone', 'iPad', 'Mac', 'AppleTV'] as const;
  const products: Record<string, string> = { iPhone: 'iPhone17,1', iPad: 'iPad13,4', Mac: 'Mac16,10', AppleTV: 'AppleTV14,1' };
  const platforms: Record<string, string> = { iPhone: 'iOS', iPad: 'iPadOS', Mac: 'macOS', AppleTV: 'tvOS' };
  const abmFamily = new Map<string, string>();
  const abmRows = [];
  for (let i = 0; i < ABM; i++) {
    const serial = `A${String(i).padStart(9, '0')}`;
    const family = pick(families);
    abmFamily.set(serial, family);
    const x = r();
    abmRows.push({
      serial_number: serial, abm_server_id: `abm-${i % 3}`, model: family === 'Mac' ? 'Mac mini' : `${family} 16`, description: `${family.toUpperCase()} ${i}`, color: null, asset_tag: null,
      os: null, device_family: family, profile_status: x < 0.1 ? 'pushed' : 'assigned', profile_uuid: null, profile_assign_time: null, profile_push_time: null,
      device_assigned_date: now, device_assigned_by: null, op_type: 'added', op_date: now, apple_json: '{}', first_seen_at: now - i, last_seen_at: now,
      removed_at: x > 0.98 ? now : null, profile_id: null, assign_mode: 'auto' as const, assign_started_at: null, assign_result: null, assign_error: null,
      assign_attempted_at: null, assign_retry_at: null, updated_at: now,
    });
  }
  for (let i = 0; i < abmRows.length; i += 500) await db.insertInto('abm_devices').values(abmRows.slice(i, i + 500)).execute();
  const enrolledFromAbm = Math.min(ABM, Math.round(DEVICES * 0.6));
  const deviceRows = [];
  for (let i = 0; i < DEVICES; i++) {
    const fromAbm = i < enrolledFromAbm;
    const serial = fromAbm ? `A${String(i).padStart(9, '0')}` : i % 50 === 0 ? null : `M${String(i).padStart(9, '0')}`;
    const family = (serial && abmFamily.get(serial)) ?? pick(families);
    const x = r();
    deviceRows.push({
      id: `dev-${String(i).padStart(9, '0')}`, udid: `UDID-${i}`, serial_number: serial, model: null, model_name: null, product_name: products[family], device_name: `Device ${i}`,
      os_version: '18.1', build_version: null, imei: null, meid: null, info_json: null, created_at: now - i, updated_at: now, last_seen_at: now,
      organization_group_id: pick(groups).id, ownership: pick(['corporate-dedicated', 'corporate-dedicated', 'corporate-shared', 'employee-owned']),
      platform: platforms[family], lifecycle_state: x < 0.85 ? 'enrolled' : x < 0.9 ? 'enrolling' : x < 0.97 ? 'unenrolled' : 'removed', lifecycle_changed_at: now,
    });
  }
  for (let i = 0; i < deviceRows.length; i += 500) await db.insertInto('devices').values(deviceRows.slice(i, i + 500)).execute();
  // Enrolled ABM devices point at their device row, as Authenticate leaves them.
  await sql`UPDATE abm_devices SET device_id = (SELECT d.id FROM devices d WHERE d.serial_number = abm_devices.serial_number)`.execute(db);
  return { customer: 'cust-1', site: 'site-1-2' };
}

async function run(label: string, url: string) {
  const handle = openDatabase(url);
  await migrateToLatest(handle.db);
  const t0 = performance.now();
  const { customer, site } = await fill(handle.db);
  const fillSeconds = (performance.now() - t0) / 1000;
  // As autovacuum would have by the time an admin pages through a fleet this size.
  if (handle.dialect === 'postgres') await sql`VACUUM ANALYZE`.execute(handle.db);
  const inventory = new InventoryService(new InventoryStore(handle.db));
  const abm = new AbmDeviceStore(handle.db);
  const dashboard = new DashboardService(new DashboardStore(handle.db), { stuckAfterMinutes: 60 });
  const deep = (await inventory.list({ limit: 50, offset: 99_950 })).nextCursor ?? undefined;
  const shapes: Record<string, () => Promise<unknown>> = {
    'first page (50)': () => inventory.list({ limit: 50, offset: 0 }),
    'page at offset 100,000': () => inventory.list({ limit: 50, offset: 100_000 }),
    'page after cursor at 100,000': () => inventory.list({ limit: 50, offset: 0, cursor: deep }),
    'customer subtree': () => inventory.list({ group: customer, limit: 50, offset: 0 }),
    'site, enrolled': () => inventory.list({ group: site, lifecycle: ['enrolled'], limit: 50, offset: 0 }),
    'registered': () => inventory.list({ lifecycle: ['registered'], limit: 50, offset: 0 }),
    'removed': () => inventory.list({ lifecycle: ['removed'], limit: 50, offset: 0 }),
    'employee-owned iPadOS': () => inventory.list({ ownership: ['employee-owned'], platform: ['iPadOS'], limit: 50, offset: 0 }),
    'text search': () => inventory.list({ q: '12345', limit: 50, offset: 0 }),
    'lifecycle summary': () => inventory.summary({}),
    // What the console's ABM devices page and dashboard ask for.
    'ABM: first page by serial': () => abm.list({ state: 'active' }, { limit: 50, offset: 0, sort: 'serial_number', descending: false }),
    'ABM: page at offset 90,000': () => abm.list({ state: 'active' }, { limit: 50, offset: 90_000, sort: 'serial_number', descending: false }),
    'ABM: sorted by model, desc': () => abm.list({ state: 'active' }, { limit: 50, offset: 0, sort: 'model', descending: true }),
    'ABM: pushed, one server': () => abm.list({ state: 'active', serverId: 'abm-1', profileStatus: 'pushed' }, { limit: 50, offset: 0, sort: 'serial_number', descending: false }),
    'ABM: customer subtree, registered': () => abm.list({ state: 'active', scopePrefix: `/global/${customer}/`, lifecycle: 'registered' }, { limit: 50, offset: 0, sort: 'serial_number', descending: false }),
    'ABM: text search': () => abm.list({ search: '12345' }, { limit: 50, offset: 0, sort: 'serial_number', descending: false }),
    'dashboard (everything)': () => dashboard.summary(Scope.GLOBAL),
    'dashboard (customer)': () => dashboard.summary(new Scope(customer, `/global/${customer}/`)),
  };
  const timings: Record<string, number> = {};
  for (const [name, fn] of Object.entries(shapes)) {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const s = performance.now();
      await fn();
      ms.push(performance.now() - s);
    }
    timings[name] = +ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)].toFixed(1);
  }
  await handle.close();
  return { database: label, devices: DEVICES, abmRecords: ABM, fillSeconds: +fillSeconds.toFixed(1), medianMs: timings };
}

const machineInfo = machine();
const dir = mkdtempSync(join(tmpdir(), 'pomona-bench-list-'));
const results = [await run('sqlite', `sqlite:${join(dir, 'pomona.db')}`)];
rmSync(dir, { recursive: true, force: true });
if (postgresBase) results.push(await withPostgresDatabase(postgresBase, 'pomona_bench_list', (url) => run('postgres', url)));
else console.log('PostgreSQL skipped: give --postgres URL or TEST_DATABASE_URL');
console.table(Object.fromEntries(Object.keys(results[0].medianMs).map((k) => [k, Object.fromEntries(results.map((r) => [`${r.database} ms`, r.medianMs[k]]))])));
console.log(JSON.stringify({ machine: machineInfo }));
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/device-list-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ machine: machineInfo, at: new Date().toISOString(), results }, null, 2));
console.log(`wrote ${file}`);
