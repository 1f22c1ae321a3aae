/**
 * The configuration-profile library: admins upload .mobileconfig files (checked, kept as
 * uploaded), and attach them to DEP profiles or organization groups. An attachment to a group
 * applies to its whole subtree. The setup plan asks which profiles apply to an enrollment.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ConfigurationProfileError, readConfigurationProfile } from '../apple/configuration-profile.js';
import { ServiceError } from '../service-error.js';
import type { AttachmentKind, AttachmentRow, ConfigurationProfileRow, ConfigurationProfileStore } from './configuration-profile-store.js';

export class ConfigurationProfileServiceError extends ServiceError {
  constructor(code: 'not_found' | 'conflict' | 'invalid', message: string) {
    super(code, code, message);
  }
}

export interface ConfigurationProfileView {
  id: string;
  name: string;
  payloadIdentifier: string;
  payloadUuid: string;
  displayName: string | null;
  organization: string | null;
  payloadTypes: string[];
  signed: boolean;
  size: number;
  sha256: string;
  createdAt: number;
  createdBy: string | null;
  attachments: Array<{ kind: AttachmentKind; targetId: string; createdAt: number }>;
}

/** A profile that applies somewhere, and where from. */
export interface AppliedProfile {
  profileId: string;
  name: string;
  payloadIdentifier: string;
  attachedTo: { kind: AttachmentKind; targetId: string };
}

export interface ConfigurationProfileDeps {
  store: ConfigurationProfileStore;
  /** root-first ids of a group and its ancestors; undefined for an unknown group */
  groupLineage: (groupId: string) => Promise<string[] | undefined>;
  depProfileExists: (id: string) => Promise<boolean>;
  now?: () => number;
}

const NAME_MAX = 200;

export class ConfigurationProfileService {
  readonly #now: () => number;

  constructor(private readonly deps: ConfigurationProfileDeps) {
    this.#now = deps.now ?? Date.now;
  }

  /** Checks and stores an uploaded profile. The name defaults to its PayloadDisplayName. */
  async upload(input: { bytes: Buffer; name?: string; actor: string }): Promise<ConfigurationProfileView> {
    let info;
    try {
      info = readConfigurationProfile(input.bytes);
    } catch (err) {
      if (err instanceof ConfigurationProfileError) throw new ConfigurationProfileServiceError('invalid', err.message);
      throw err;
    }
    const name = (input.name?.trim() || info.displayName || info.identifier).slice(0, NAME_MAX);
    const now = this.#now();
    const id = randomUUID();
    const inserted = await this.deps.store.insert({
      id, name, payload_identifier: info.identifier, payload_uuid: info.uuid, display_name: info.displayName ?? null,
      organization: info.organization ?? null, payload_types_json: JSON.stringify(info.payloadTypes), signed: info.signed ? 1 : 0,
      payload: input.bytes, size: input.bytes.length, sha256: createHash('sha256').update(input.bytes).digest('hex'),
      created_by: input.actor, created_at: now, updated_at: now,
    });
    if (!inserted) {
      const other = await this.deps.store.byIdentifier(info.identifier);
      throw new ConfigurationProfileServiceError(
        'conflict',
        `the library already has a profile with PayloadIdentifier "${info.identifier}"${other ? ` ("${other.name}")` : ''}: a device would replace one with the other; delete it first or change the identifier`,
      );
    }
    return this.get(id);
  }

  async list(): Promise<ConfigurationProfileView[]> {
    const rows = await this.deps.store.list();
    const attachments = await this.deps.store.attachmentsOf();
    return rows.map((r) => view(r, attachments));
  }

  async get(id: string): Promise<ConfigurationProfileView> {
    const row = await this.#row(id);
    return view(row, await this.deps.store.attachmentsOf([id]));
  }

  async delete(id: string): Promise<void> {
    if (!(await this.deps.store.delete(id))) throw notFound();
  }

  /** Attaches a profile to a DEP profile or an organization group (once; attaching again changes nothing). */
  async attach(id: string, target: { depProfileId?: string; organizationGroupId?: string }, actor: string): Promise<ConfigurationProfileView> {
    await this.#row(id);
    const { kind, targetId } = await this.#target(target);
    await this.deps.store.attach({ profile_id: id, target_kind: kind, target_id: targetId, created_by: actor, created_at: this.#now() });
    return this.get(id);
  }

  async detach(id: string, kind: AttachmentKind, targetId: string): Promise<ConfigurationProfileView> {
    await this.#row(id);
    if (!(await this.deps.store.detach(id, kind, targetId))) {
      throw new ConfigurationProfileServiceError('not_found', `the profile is not attached to ${kind} "${targetId}"`);
    }
    return this.get(id);
  }

  /**
   * The profiles that apply to a device: those attached to the groups from the root down to its
   * group, then those attached to its DEP profile — general before particular, so that (say) a
   * certificate attached high up is installed before the Wi-Fi profile of a site that uses it.
   * A profile attached in several places appears once, where it applies first.
   */
  async applicable(target: { depProfileId?: string | null; organizationGroupId: string }): Promise<AppliedProfile[]> {
    const lineage = (await this.deps.groupLineage(target.organizationGroupId)) ?? [];
    const rows = await this.deps.store.attachedTo({ depProfileId: target.depProfileId, groupIds: lineage });
    const rank = (r: { target_kind: AttachmentKind; target_id: string }) => (r.target_kind === 'dep-profile' ? lineage.length : lineage.indexOf(r.target_id));
    const ordered = [...rows].sort((a, b) => rank(a) - rank(b) || a.created_at - b.created_at);
    const seen = new Set<string>();
    return ordered
      .filter((r) => !seen.has(r.profile_id) && seen.add(r.profile_id))
      .map((r) => ({ profileId: r.profile_id, name: r.name, payloadIdentifier: r.payload_identifier, attachedTo: { kind: r.target_kind, targetId: r.target_id } }));
  }

  /** The profiles that apply at a group (attached there or above), for the admin. */
  async forGroup(groupId: string): Promise<AppliedProfile[]> {
    if (!(await this.deps.groupLineage(groupId))) throw new ConfigurationProfileServiceError('not_found', `no organization group "${groupId}"`);
    return this.applicable({ organizationGroupId: groupId });
  }

  /** The file to send with InstallProfile; undefined when the profile was deleted meanwhile. */
  payload(id: string): Promise<Buffer | undefined> {
    return this.deps.store.payload(id);
  }

  async #target(t: { depProfileId?: string; organizationGroupId?: string }): Promise<{ kind: AttachmentKind; targetId: string }> {
    if (Boolean(t.depProfileId) === Boolean(t.organizationGroupId)) {
      throw new ConfigurationProfileServiceError('invalid', 'name exactly one of depProfileId or organizationGroupId');
    }
    if (t.depProfileId) {
      if (!(await this.deps.depProfileExists(t.depProfileId))) throw new ConfigurationProfileServiceError('not_found', `no enrollment (DEP) profile "${t.depProfileId}"`);
      return { kind: 'dep-profile', targetId: t.depProfileId };
    }
    if (!(await this.deps.groupLineage(t.organizationGroupId!))) throw new ConfigurationProfileServiceError('not_found', `no organization group "${t.organizationGroupId}"`);
    return { kind: 'organization-group', targetId: t.organizationGroupId! };
  }

  async #row(id: string): Promise<ConfigurationProfileRow> {
    const row = await this.deps.store.get(id);
    if (!row) throw notFound();
    return row;
  }
}

const notFound = () => new ConfigurationProfileServiceError('not_found', 'no such configuration profile');

function view(r: ConfigurationProfileRow, attachments: AttachmentRow[]): ConfigurationProfileView {
  return {
    id: r.id, name: r.name, payloadIdentifier: r.payload_identifier, payloadUuid: r.payload_uuid, displayName: r.display_name,
    organization: r.organization, payloadTypes: JSON.parse(r.payload_types_json) as string[], signed: r.signed === 1, size: r.size,
    sha256: r.sha256, createdAt: r.created_at, createdBy: r.created_by,
    attachments: attachments.filter((a) => a.profile_id === r.id).map((a) => ({ kind: a.target_kind, targetId: a.target_id, createdAt: a.created_at })),
  };
}
