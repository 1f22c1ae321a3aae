/**
 * The organization tree: a global root, then customers, sites, departments… Each group has a
 * name and a short Group ID users can type. Settings set at a group apply to its subtree unless a
 * lower group sets them too; reading a setting says which group its value comes from.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError } from '../service-error.js';
import { GROUP_SETTING_KEYS, GROUP_SETTINGS, isGroupSettingKey, settingProblems, type GroupSettingKey } from './group-settings.js';
import type { GroupUsage, OrgGroupRow, OrgGroupStore } from './org-group-store.js';
import { RecentReads } from '../db/recent-reads.js';
import { ROOT_GROUP_ID, Scope } from './scope.js';

/** How the refusal to delete a group names what still uses it, in this order. */
const USAGE_NAMES: ReadonlyArray<[keyof GroupUsage, string]> = [
  ['children', 'child group(s)'],
  ['devices', 'device(s)'],
  ['abmServers', 'ABM server(s)'],
  ['admins', 'admin(s) scoped to it'],
  ['apiTokens', 'API token(s) scoped to it'],
  ['users', 'user(s) whose default group it is'],
  ['userGroupMappings', 'directory group mapping(s) to it'],
  ['registrationTokens', 'active registration token(s) for it'],
  ['identityProviders', 'identity provider(s)'],
  ['attachedProfiles', 'configuration profile(s) attached to it'],
  ['depProfiles', 'DEP profile(s) whose devices join it'],
];

export { ROOT_GROUP_ID };

export class OrgGroupError extends ServiceError {
  constructor(code: 'not_found' | 'conflict' | 'invalid', message: string) {
    super(code, code, message);
  }
}

export interface OrgGroupView {
  id: string;
  parentId: string | null;
  name: string;
  groupId: string;
  depth: number;
  /** names from the root down to this group */
  breadcrumb: string[];
}

export interface ResolvedSetting {
  key: GroupSettingKey;
  value: unknown;
  /** where the value comes from: this group, an ancestor, or Pomona's default */
  source: { kind: 'here' } | { kind: 'inherited'; groupId: string; groupName: string } | { kind: 'default' };
  description: string;
}

const CODE = /^[A-Z0-9][A-Z0-9_-]{1,31}$/;

export class OrgGroupService {
  readonly #now: () => number;
  /** group rows and settings on a group's path: read by every enrollment request, changed rarely */
  readonly #recent: RecentReads;

  /** `recentReadsMs`: how long a node keeps a group or its settings as read (another node's change shows within it; 0: never) */
  constructor(private readonly store: OrgGroupStore, opts: { now?: () => number; recentReadsMs?: number } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#recent = new RecentReads(opts.recentReadsMs ?? 1000);
  }

  /** Every group, root first; with `within`, only that scope's subtree (breadcrumbs still name the ancestors). */
  async tree(within?: Scope): Promise<OrgGroupView[]> {
    const rows = await this.store.all();
    const byId = new Map(rows.map((r) => [r.id, r]));
    return rows.filter((r) => !within || within.covers(r.path)).map((r) => view(r, byId));
  }

  /** The scope of a group named by its id or its Group ID (for admins and API tokens). */
  async scopeOf(ref: string): Promise<Scope> {
    const row = (await this.store.get(ref)) ?? (await this.store.byCode(ref.trim().toUpperCase()));
    if (!row) throw new OrgGroupError('not_found', `no organization group with the id or Group ID "${ref.slice(0, 64)}"`);
    return new Scope(row.id, row.path);
  }

  async get(id: string): Promise<OrgGroupView> {
    const row = await this.#row(id);
    const chain = await this.#chain(row);
    return view(row, new Map(chain.map((r) => [r.id, r])));
  }

  /** The group a user's typed Group ID names (case-insensitive), or undefined. */
  async byGroupId(code: string): Promise<OrgGroupView | undefined> {
    const row = await this.store.byCode(code.trim().toUpperCase());
    return row ? this.get(row.id) : undefined;
  }

  async create(input: { parentId: string; name: string; groupId: string }): Promise<OrgGroupView> {
    const parent = await this.#row(input.parentId, { fresh: true });
    const name = checkName(input.name);
    const code = await this.#freeCode(input.groupId);
    const id = randomUUID();
    const now = this.#now();
    await this.store.insert({ id, parent_id: parent.id, name, group_code: code, path: `${parent.path}${id}/`, depth: parent.depth + 1, created_at: now, updated_at: now });
    this.#recent.clear();
    return this.get(id);
  }

  async update(id: string, input: { name?: string; groupId?: string }): Promise<OrgGroupView> {
    const row = await this.#row(id);
    const set: { name?: string; group_code?: string; updated_at: number } = { updated_at: this.#now() };
    if (input.name !== undefined) set.name = checkName(input.name);
    if (input.groupId !== undefined && input.groupId.trim().toUpperCase() !== row.group_code) set.group_code = await this.#freeCode(input.groupId);
    await this.store.rename(id, set);
    this.#recent.clear();
    return this.get(id);
  }

  /** Moves a group (with its subtree) under another group; never under itself or its own subtree. */
  async move(id: string, newParentId: string): Promise<OrgGroupView> {
    const row = await this.#row(id);
    if (!row.parent_id) throw new OrgGroupError('invalid', 'the root group cannot be moved');
    const parent = await this.#row(newParentId, { fresh: true });
    if (parent.path.startsWith(row.path)) throw new OrgGroupError('invalid', `"${row.name}" cannot be moved into its own subtree`);
    await this.store.moveSubtree(id, parent.id, row.path, `${parent.path}${id}/`, parent.depth + 1 - row.depth, this.#now());
    this.#recent.clear();
    return this.get(id);
  }

  /** Deletes a group nothing uses (USAGE_NAMES lists what counts, as the refusal names it). */
  async delete(id: string): Promise<void> {
    const row = await this.#row(id);
    if (!row.parent_id) throw new OrgGroupError('invalid', 'the root group cannot be deleted');
    const used = await this.store.deleteUnlessUsed(id, this.#now());
    const left = USAGE_NAMES.filter(([key]) => used[key] > 0).map(([key, name]) => `${used[key]} ${name}`);
    if (left.length) throw new OrgGroupError('conflict', `"${row.name}" still holds ${left.join(', ')}; move them first`);
    this.#recent.clear();
  }

  /** Every setting as it applies at this group, with where its value comes from. */
  async settings(id: string): Promise<ResolvedSetting[]> {
    const row = await this.#row(id);
    const chain = await this.#chain(row); // this group first, then up to the root
    const set = await this.store.settingsOf(chain.map((g) => g.id));
    return GROUP_SETTING_KEYS.map((key) => {
      for (const g of chain) {
        const s = set.find((x) => x.group_id === g.id && x.key === key);
        if (s) {
          return {
            key, value: JSON.parse(s.value_json) as unknown, description: GROUP_SETTINGS[key].describe,
            source: g.id === id ? { kind: 'here' as const } : { kind: 'inherited' as const, groupId: g.id, groupName: g.name },
          };
        }
      }
      return { key, value: GROUP_SETTINGS[key].default, source: { kind: 'default' as const }, description: GROUP_SETTINGS[key].describe };
    });
  }

  /** The value of one setting at a group (inherited or set there). */
  async setting<T = unknown>(id: string, key: GroupSettingKey): Promise<T> {
    return (await this.values(id, [key]))[key] as T;
  }

  /** The values of a few settings at a group (inherited or set there), in one query — for hot paths such as enrollment. */
  async values<K extends GroupSettingKey>(id: string, keys: readonly K[]): Promise<Record<K, unknown>> {
    const rows = await this.#recent.read(`settings\n${id}\n${keys.join('\n')}`, () => this.store.settingsOnPath(id, keys));
    if (!rows.length) throw new OrgGroupError('not_found', 'no such organization group');
    const out = {} as Record<K, unknown>;
    for (const key of keys) {
      const nearest = rows.find((r) => r.key === key); // nearest first
      out[key] = nearest ? (JSON.parse(nearest.value_json!) as unknown) : GROUP_SETTINGS[key].default;
    }
    return out;
  }

  async setSetting(id: string, key: string, value: unknown, actor: string): Promise<ResolvedSetting> {
    await this.#row(id);
    if (!isGroupSettingKey(key)) throw new OrgGroupError('invalid', `unknown setting "${key}"; settings are: ${GROUP_SETTING_KEYS.join(', ')}`);
    const problems = settingProblems(key, value);
    if (problems.length) throw new OrgGroupError('invalid', problems.join('; '));
    await this.store.setSetting({ group_id: id, key, value_json: JSON.stringify(value), updated_at: this.#now(), updated_by: actor });
    this.#recent.clear();
    return (await this.settings(id)).find((s) => s.key === key)!;
  }

  /** Removes the override here, so the group inherits again. */
  async clearSetting(id: string, key: string): Promise<ResolvedSetting> {
    await this.#row(id);
    if (!isGroupSettingKey(key)) throw new OrgGroupError('invalid', `unknown setting "${key}"`);
    await this.store.clearSetting(id, key);
    this.#recent.clear();
    return (await this.settings(id)).find((s) => s.key === key)!;
  }

  /** Whether `groupId` is `ancestorId` or lies below it (role scopes, ABM servers serving a subtree). */
  async isWithin(groupId: string, ancestorId: string): Promise<boolean> {
    const [g, a] = await Promise.all([this.#get(groupId), this.#get(ancestorId)]);
    return !!g && !!a && g.path.startsWith(a.path);
  }

  /**
   * The ids from the root down to the group (inclusive), for whatever a subtree inherits
   * (settings, attached configuration profiles). Undefined for an unknown group.
   */
  async lineage(id: string): Promise<string[] | undefined> {
    const row = await this.#get(id);
    return row?.path.split('/').filter(Boolean);
  }

  /** Places a device in a group; returns the group it left, for the audit event the caller records. */
  async moveDevice(deviceId: string, groupId: string): Promise<{ from: string }> {
    await this.#row(groupId, { fresh: true });
    const from = await this.store.moveDevice(deviceId, groupId);
    if (from === undefined) throw new OrgGroupError('not_found', 'no such device');
    return { from };
  }

  #get(id: string): Promise<OrgGroupRow | undefined> {
    return this.#recent.read(`group\n${id}`, () => this.store.get(id));
  }

  /**
   * For a write that is about to name a group (a device, user, token or child group put in it):
   * not_found unless the group exists now. Read from the database, not from the recent reads,
   * which another node's delete may not have reached yet. (A delete between this and the write
   * is caught by the database: src/db/group-references.ts.)
   */
  async mustExist(id: string): Promise<void> {
    await this.#row(id, { fresh: true });
  }

  async #row(id: string, o: { fresh?: boolean } = {}): Promise<OrgGroupRow> {
    const row = await (o.fresh ? this.store.get(id) : this.#get(id));
    if (!row) throw new OrgGroupError('not_found', 'no such organization group');
    return row;
  }

  /** The group and its ancestors, nearest first. */
  async #chain(row: OrgGroupRow): Promise<OrgGroupRow[]> {
    const ids = row.path.split('/').filter(Boolean);
    if (ids.length === 1 && ids[0] === row.id) return [row]; // the root: nothing more to read
    const rows = new Map((await this.#recent.read(`chain\n${row.path}`, () => this.store.many(ids))).map((r) => [r.id, r]));
    return ids.reverse().map((i) => rows.get(i)!).filter(Boolean);
  }

  async #freeCode(input: string): Promise<string> {
    const code = input.trim().toUpperCase();
    if (!CODE.test(code)) throw new OrgGroupError('invalid', 'the Group ID must be 2 to 32 letters, digits, - or _, starting with a letter or digit');
    if (await this.store.byCode(code)) throw new OrgGroupError('conflict', `the Group ID "${code}" is taken`);
    return code;
  }
}

function checkName(name: string): string {
  const n = name.trim();
  if (!n || n.length > 100) throw new OrgGroupError('invalid', 'the name must be 1 to 100 characters');
  return n;
}

function view(r: OrgGroupRow, byId: Map<string, OrgGroupRow>): OrgGroupView {
  const breadcrumb = r.path.split('/').filter(Boolean).map((id) => byId.get(id)?.name ?? '?');
  return { id: r.id, parentId: r.parent_id, name: r.name, groupId: r.group_code, depth: r.depth, breadcrumb };
}
