/**
 * The device list and the lifecycle summary: filters checked and explained in the admin's
 * words, a group filter widened to its subtree, and counts rolled up the organization tree.
 */
import { PLATFORMS, type Platform } from '../apple/platform.js';
import { ServiceError } from '../service-error.js';
import { PENDING_MODES } from '../enroll/pending-enrollment-service.js';
import { ROOT_GROUP_ID } from '../org/org-group-service.js';
import { LIFECYCLE_STATES, OWNERSHIP, type AbmPresence, type LifecycleState, type Ownership } from './device-lifecycle.js';
import type { GroupRow, InventoryFilter, InventoryRow, InventoryStore, ListPosition } from './inventory-store.js';

export class InventoryError extends ServiceError {
  constructor(message: string) {
    super('invalid_filter', 'invalid', message);
  }
}

export interface InventoryQuery {
  /** an organization group (its id or the Group ID users type): the devices of its subtree */
  group?: string;
  /** further subtrees every device must lie in, as materialized paths (an admin's scope) */
  withinPaths?: string[];
  /** each entry one value or several separated by commas */
  lifecycle?: string[];
  ownership?: string[];
  platform?: string[];
  /** how the device enrolled: a staging record's mode (web, user-profile, ade-webview…) */
  enrollmentMethod?: string[];
  /** the enrollment status filter the list had before lifecycle states (kept for callers of the API) */
  status?: 'enrolled' | 'pending' | 'removed';
  model?: string;
  q?: string;
  serial?: string;
  udid?: string;
  limit: number;
  offset: number;
  /** `nextCursor` of the previous page: the page after it (instead of an offset) */
  cursor?: string;
}

export interface DeviceListItem {
  id: string | null;
  serialNumber: string | null;
  udid: string | null;
  deviceName: string | null;
  productName: string | null;
  modelName: string | null;
  model: string | null;
  osVersion: string | null;
  buildVersion: string | null;
  platform: string | null;
  organizationGroupId: string;
  ownership: string | null;
  lifecycleState: LifecycleState;
  lifecycleChangedAt: number | null;
  abmServerId: string | null;
  abmStatus: AbmPresence;
  /** the device channel's enrollment status (pending, active, removed); null without one */
  enrollmentStatus: string | null;
  /** how it enrolled (web, user-profile, ade-webview…); null when not recorded */
  enrollmentMethod: string | null;
  /** the registration token it enrolled with: registration active, used, expired, revoked; not applicable without one */
  registrationTokenStatus: string;
  /** when Pomona first met the device: its first Authenticate, or its first ABM sync */
  createdAt: number;
  lastSeenAt: number | null;
}

export type StateCounts = Record<LifecycleState, number> & { total: number };

export interface GroupSummary {
  id: string;
  parentId: string | null;
  name: string;
  groupId: string;
  depth: number;
  /** devices placed in this group itself */
  here: StateCounts;
  /** devices in this group and every group below it */
  subtree: StateCounts;
}

const STATUS_STATES: Record<NonNullable<InventoryQuery['status']>, LifecycleState[]> = {
  enrolled: ['enrolled'],
  pending: ['enrolling'],
  removed: ['unenrolled', 'removed'],
};

export class InventoryService {
  constructor(
    private readonly store: InventoryStore,
    /** the status of the registration token a device enrolled with (registration-token-service.ts) */
    private readonly tokenStatus: (tokenId: string) => Promise<string> = async () => 'not applicable',
  ) {}

  /** A page of devices; `nextCursor` (null on the last page) asks for the next one at the same cost. */
  async list(query: InventoryQuery): Promise<{ devices: DeviceListItem[]; total: number; nextCursor: string | null }> {
    const filter = await this.#filter(query);
    if (query.cursor !== undefined && query.offset > 0) throw new InventoryError('give either a cursor or an offset, not both');
    const from = query.cursor !== undefined ? { after: decodeCursor(query.cursor) } : { offset: query.offset };
    const { rows, total, more } = await this.store.page(filter, query.limit, from);
    const statuses = await this.store.channelStatuses(rows.flatMap((r) => (r.id ? [r.id] : [])));
    const last = rows[rows.length - 1];
    return {
      devices: await Promise.all(rows.map(async (r) => listItem(r, r.id ? (statuses.get(r.id) ?? null) : null, await this.#tokenStatus(r.registration_token_id)))),
      total,
      nextCursor: more && last ? encodeCursor({ serial: last.serial_number, id: last.id }) : null,
    };
  }

  /** One device row as the list shows it (the detail view uses the same reading). */
  async one(deviceId: string): Promise<DeviceListItem | undefined> {
    const row = await this.store.one(deviceId);
    return row && listItem(row, (await this.store.channelStatuses([deviceId])).get(deviceId) ?? null, await this.#tokenStatus(row.registration_token_id));
  }

  #tokenStatus(id: string | null): Promise<string> {
    return id ? this.tokenStatus(id) : Promise.resolve('not applicable');
  }

  /**
   * Devices per lifecycle state for every group of the subtree at `group` (default: the root),
   * root first: in the group itself and in its whole subtree. Devices known only from ABM count
   * in their ABM server's group.
   */
  async summary(query: { group?: string; withinPaths?: string[] }): Promise<GroupSummary[]> {
    const top = query.group ? await this.#group(query.group) : undefined;
    const tree = await this.store.groups();
    const prefixes = [...(top ? [top.path] : []), ...(query.withinPaths ?? [])];
    const shown = tree.filter((g) => prefixes.every((p) => g.path.startsWith(p)));
    const here = new Map(tree.map((g) => [g.id, zero()]));
    for (const c of await this.store.countsByGroup()) {
      const counts = here.get(c.groupId) ?? here.get(ROOT_GROUP_ID)!; // a group deleted under a device: counted at the root
      counts[c.state] += c.n;
      counts.total += c.n;
    }
    // Each group's own counts go to every group on its path (itself and its ancestors).
    const subtree = new Map(tree.map((g) => [g.id, zero()]));
    for (const g of tree) {
      const own = here.get(g.id)!;
      for (const id of g.path.split('/').filter(Boolean)) {
        const sum = subtree.get(id);
        if (sum) for (const k of [...LIFECYCLE_STATES, 'total'] as const) sum[k] += own[k];
      }
    }
    return shown.map((g) => ({ id: g.id, parentId: g.parent_id, name: g.name, groupId: g.group_code, depth: g.depth, here: here.get(g.id)!, subtree: subtree.get(g.id)! }));
  }

  async #filter(q: InventoryQuery): Promise<InventoryFilter> {
    const f: InventoryFilter = { groupPaths: [...(q.withinPaths ?? [])] };
    if (q.group) f.groupPaths.push((await this.#group(q.group)).path);
    let states = values(q.lifecycle, LIFECYCLE_STATES, 'lifecycle state');
    if (q.status) states = (states ?? STATUS_STATES[q.status]).filter((s) => STATUS_STATES[q.status!].includes(s));
    if (states) f.states = states;
    const ownerships = values(q.ownership, OWNERSHIP, 'ownership');
    if (ownerships) f.ownerships = ownerships;
    const platforms = values(q.platform, PLATFORMS, 'platform');
    if (platforms) f.platforms = platforms as Platform[];
    const methods = values(q.enrollmentMethod, PENDING_MODES, 'enrollment method');
    if (methods) f.enrollmentMethods = methods;
    for (const k of ['model', 'q', 'serial', 'udid'] as const) {
      const v = q[k]?.trim();
      if (v) f[k] = v;
    }
    return f;
  }

  async #group(idOrCode: string): Promise<GroupRow> {
    const g = await this.store.group(idOrCode.trim());
    if (!g) throw new InventoryError(`unknown organization group "${idOrCode.slice(0, 64)}" (give its id or its Group ID)`);
    return g;
  }
}

/**
 * The values of a list filter: each entry may hold several, comma-separated. Undefined when the
 * filter is absent; an unknown value is refused with the values that exist.
 */
function values<T extends string>(raw: string[] | undefined, allowed: readonly T[], what: string): T[] | undefined {
  if (!raw) return undefined;
  const out = raw.flatMap((r) => r.split(',')).map((v) => v.trim()).filter(Boolean);
  if (out.length === 0) return undefined;
  for (const v of out) {
    if (!(allowed as readonly string[]).includes(v)) throw new InventoryError(`unknown ${what} "${v.slice(0, 40)}"; use ${allowed.join(', ')}`);
  }
  return [...new Set(out)] as T[];
}

function encodeCursor(p: ListPosition): string {
  return Buffer.from(JSON.stringify([p.serial, p.id])).toString('base64url');
}

function decodeCursor(cursor: string): ListPosition {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  const ok = (x: unknown) => x === null || (typeof x === 'string' && x.length <= 200);
  if (!Array.isArray(v) || v.length !== 2 || !ok(v[0]) || !ok(v[1]) || (v[0] === null && v[1] === null)) {
    throw new InventoryError('the cursor is not one this list returned (use nextCursor from the previous page)');
  }
  return { serial: v[0] as string | null, id: v[1] as string | null };
}

function zero(): StateCounts {
  return { registered: 0, enrolling: 0, enrolled: 0, unenrolled: 0, removed: 0, total: 0 };
}

function listItem(r: InventoryRow, enrollmentStatus: string | null, registrationTokenStatus: string): DeviceListItem {
  return {
    enrollmentMethod: r.enrollment_method, registrationTokenStatus,
    id: r.id, serialNumber: r.serial_number, udid: r.udid, deviceName: r.device_name, productName: r.product_name, modelName: r.model_name,
    model: r.model, osVersion: r.os_version, buildVersion: r.build_version, platform: r.platform, enrollmentStatus, organizationGroupId: r.group_id, ownership: r.ownership,
    lifecycleState: r.lifecycle_state, lifecycleChangedAt: r.lifecycle_changed_at === null ? null : Number(r.lifecycle_changed_at),
    abmServerId: r.abm_server_id, abmStatus: r.abm_server_id === null ? null : r.abm_removed_at === null ? 'in-abm' : 'removed-from-abm',
    createdAt: Number(r.first_seen_at), lastSeenAt: r.last_seen_at === null ? null : Number(r.last_seen_at),
  };
}
