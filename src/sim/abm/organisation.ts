/**
 * The simulated ABM/ASM organisation: its virtual MDM servers (one per token), its devices
 * (each on at most one server), the per-server change logs that fetch and sync read, the
 * defined profiles and the assignment outcomes. Pure domain logic on an injectable clock —
 * no HTTP; `dep-routes.ts` translates Apple's wire format to these calls.
 *
 * Change log: every server has an append-only list of `added` / `modified` / `deleted` entries,
 * each pointing at the device revision it announced. `members` lists the log indices of the
 * entries that made a device a member (its `added`, or a move-in); a device's current
 * membership is the one whose index equals `device.memberIdx`, so a full fetch walks `members`
 * and skips stale entries — no per-cursor lists.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DeviceFactory, type GenerateOptions } from './device-factory.js';
import { DeviceRevision, deviceVariant, type DeviceChanges, type DeviceFields } from './device-record.js';
import { PROFILE_FLAG_DEFAULTS, PROFILE_FLAGS, type ProfileFields } from './profile-validate.js';
import { Rng } from './rng.js';
import { generateTokenSet, type DepTokenSet } from './token-set.js';

export type OpType = 'added' | 'modified' | 'deleted';
export type AssignStatus = 'SUCCESS' | 'NOT_ACCESSIBLE' | 'FAILED' | 'THROTTLED';
export type DeviceStatus = 'SUCCESS' | 'NOT_ACCESSIBLE' | 'FAILED';

export interface OrganisationInfo {
  org_name: string;
  org_email: string;
  org_phone: string;
  org_address: string;
  org_id: string;
  org_id_hash: string;
  org_type: 'edu' | 'org';
  org_version: 'v1' | 'v2';
  /** the Apple Account that creates servers and downloads tokens */
  admin_id: string;
}

export interface TokenRecord {
  tokens: DepTokenSet;
  issuedAt: number;
  expiresAt: number;
  rejected: boolean;
}

export interface LogEntry {
  op: OpType;
  at: number;
  rev: DeviceRevision;
  device: SimDevice;
  releasedByReplacement?: boolean;
}

export interface SimServer {
  readonly uuid: string;
  /** position in the organisation; cursors carry it */
  readonly index: number;
  name: string;
  adminId: string;
  createdAt: number;
  tokens: TokenRecord[];
  log: LogEntry[];
  members: number[];
  profiles: Map<string, StoredProfile>;
  /** answer 403 ACCESS_DENIED to everything */
  accessDenied: boolean;
  accountDrivenEnrollment?: { url: string; updatedAt: number };
  memberCount: number;
}

export interface SimDevice {
  readonly serial: string;
  rev: DeviceRevision;
  server?: SimServer;
  /** log index (on `server`) of the entry that made it a member; -1 when unassigned */
  memberIdx: number;
  inOrg: boolean;
  activationLock?: { escrowKey?: string; lostMessage?: string; at: number };
  /** recent profile-assignment times, for the throttling policy */
  assignTimes?: number[];
  replacement?: { original: string; date: number };
}

export interface StoredProfile {
  uuid: string;
  serverUuid: string;
  fields: ProfileFields;
  definedAt: number;
}

/** One line of the assignment journal a test can assert on. */
export interface AssignmentRecord {
  at: number;
  server: string;
  action: 'define' | 'assign' | 'remove' | 'disown' | 'activation_lock' | 'activate';
  serial: string;
  profile_uuid?: string;
  result: string;
}

export interface ThrottlePolicy {
  /** more assignments than this for one device within windowMs → THROTTLED */
  maxAssignmentsPerDevice: number;
  windowMs: number;
  retryAfterSeconds: number;
}

/** A device to add: any Apple field; the rest is generated. */
export type DeviceSpec = Partial<Omit<DeviceFields, 'profile_status' | 'profile_uuid' | 'profile_assign_time' | 'profile_push_time'>>;

export interface AddDevicesOptions extends GenerateOptions {
  /** who assigned them (device_assigned_by); default the organisation's admin */
  assignedBy?: string;
  /**
   * spread device_assigned_date (and the `added` op_date) evenly over the last N days, oldest
   * first — for a seed fleet; never earlier than the server's latest change
   */
  spreadDays?: number;
  /** report the addition as `modified` instead of `added` (Apple's reassignment oddity) */
  as?: 'added' | 'modified';
}

export interface MoveOptions {
  /** `added` (default) or `modified` on the new server (Apple's reassignment oddity) */
  as?: 'added' | 'modified';
  assignedBy?: string;
}

export type CloudConfiguration = ProfileFields & {
  serial_number: string;
  profile_uuid: string;
  server_uuid: string;
  org_name: string;
  org_email: string;
  org_phone: string;
  org_address: string;
};

export type ActivationAnswer =
  | { ok: true; configuration: CloudConfiguration }
  | { ok: false; reason: 'UNKNOWN_DEVICE' | 'NOT_ASSIGNED_TO_SERVER' | 'NO_PROFILE'; serial_number: string };

export interface OrganisationOptions {
  now: () => number;
  seed?: number | string;
  info?: Partial<OrganisationInfo>;
  /** profile assignments / removals / pushes appear as `modified` in sync (default true) */
  profileChangesInSync?: boolean;
  throttle?: ThrottlePolicy;
  /** how many assignment records to keep (oldest dropped) */
  maxAssignmentRecords?: number;
  /** render each new device revision's JSON at once for this protocol version, so the first full fetch is as fast as later ones */
  prerenderProtocolVersion?: number;
}

const hex32 = () => randomBytes(16).toString('hex').toUpperCase();

export class Organisation {
  readonly info: OrganisationInfo;
  readonly servers: SimServer[] = [];
  readonly devices = new Map<string, SimDevice>();
  readonly assignments: AssignmentRecord[] = [];
  /** key for cursor MACs; a new organisation invalidates every old cursor */
  readonly secret: Buffer;
  termsNotSigned = false;
  seedTokensTurnedOff = false;
  accountDrivenEnrollmentSupported = true;
  /** false → activation lock answers ORG_NOT_SUPPORTED */
  activationLockSupported = true;
  throttle?: ThrottlePolicy;
  profileChangesInSync: boolean;
  /** serial → scripted assign outcome, used `remaining` more times */
  readonly scriptedAssign = new Map<string, { status: 'FAILED' | 'THROTTLED' | 'NOT_ACCESSIBLE'; remaining: number }>();
  private readonly rng: Rng;
  private readonly factory: DeviceFactory;
  private readonly maxRecords: number;

  constructor(private readonly opts: OrganisationOptions) {
    this.rng = new Rng(opts.seed ?? 1);
    this.factory = new DeviceFactory(this.rng, this.devices);
    const orgId = String(1_000_000 + this.rng.int(9_000_000));
    this.info = {
      org_name: 'Pomona Simulated Org',
      org_email: 'abm-admin@example.com',
      org_phone: '+1 408 555 0100',
      org_address: '1 Infinite Loop, Cupertino, CA 95014',
      org_id: orgId,
      org_id_hash: createHash('sha256').update(orgId).digest('hex'),
      org_type: 'org',
      org_version: 'v1',
      admin_id: 'abm-admin@example.com',
      ...opts.info,
    };
    this.secret = randomBytes(32);
    this.throttle = opts.throttle;
    this.profileChangesInSync = opts.profileChangesInSync ?? true;
    this.maxRecords = opts.maxAssignmentRecords ?? 100_000;
  }

  get now(): number {
    return this.opts.now();
  }

  // ── servers and tokens ────────────────────────────────────────────────────────────────

  createServer(opts: { name: string; adminId?: string; uuid?: string }): SimServer {
    // Derived from the seed and the creation order, so a scripted setup gets the same UUIDs every run.
    const uuid = opts.uuid ?? createHash('sha256').update(`${this.opts.seed ?? 1}/server/${this.servers.length}`).digest('hex').slice(0, 32).toUpperCase();
    if (this.servers.some((s) => s.uuid === uuid)) throw new Error(`server ${uuid} exists`);
    const server: SimServer = {
      uuid,
      index: this.servers.length,
      name: opts.name,
      adminId: opts.adminId ?? this.info.admin_id,
      createdAt: this.now,
      tokens: [],
      log: [],
      members: [],
      profiles: new Map(),
      accessDenied: false,
      memberCount: 0,
    };
    this.servers.push(server);
    return server;
  }

  server(uuid: string): SimServer {
    const s = this.servers.find((x) => x.uuid === uuid || x.name === uuid);
    if (!s) throw new Error(`no server ${uuid}`);
    return s;
  }

  /**
   * New OAuth credentials for a server (what "Download Token" does). Earlier tokens of that
   * server stop working (`token_rejected`) unless keepPrevious. The consumer key and secret
   * belong to the MDM server, so a renewal keeps them and only the access token changes.
   */
  newToken(server: SimServer, opts: { expiresAt?: number; keepPrevious?: boolean; tokens?: DepTokenSet } = {}): TokenRecord {
    if (!opts.keepPrevious) for (const t of server.tokens) t.rejected = true;
    const now = this.now;
    const first = server.tokens[0]?.tokens;
    const fresh = generateTokenSet(now, opts.expiresAt);
    const tokens = opts.tokens ?? (first ? { ...fresh, consumer_key: first.consumer_key, consumer_secret: first.consumer_secret } : fresh);
    const rec: TokenRecord = { tokens, issuedAt: now, expiresAt: Date.parse(tokens.access_token_expiry), rejected: false };
    server.tokens.push(rec);
    return rec;
  }

  /** The server and token record a consumer key / access token pair belongs to. */
  findToken(consumerKey: string, accessToken?: string): { server: SimServer; token: TokenRecord } | undefined {
    for (const server of this.servers) {
      for (const token of server.tokens) {
        if (token.tokens.consumer_key === consumerKey && (accessToken === undefined || token.tokens.access_token === accessToken)) return { server, token };
      }
    }
    return undefined;
  }

  // ── devices ──────────────────────────────────────────────────────────────────────────

  /** Adds new devices to the organisation, assigned to `server` (or unassigned when null). */
  addDevices(server: SimServer | null, what: number | DeviceSpec[], opts: AddDevicesOptions = {}): SimDevice[] {
    const specs: DeviceSpec[] = typeof what === 'number' ? Array.from({ length: what }, () => ({})) : what;
    const now = this.now;
    const by = opts.assignedBy ?? server?.adminId ?? this.info.admin_id;
    let t0 = now;
    let step = 0;
    if (opts.spreadDays && specs.length > 1) {
      const last = server?.log.length ? server.log[server.log.length - 1].at : 0;
      t0 = Math.max(now - opts.spreadDays * 86_400_000, last);
      step = (now - t0) / (specs.length - 1);
    }
    const out: SimDevice[] = [];
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i];
      if (spec.serial_number !== undefined && this.devices.has(spec.serial_number)) throw new Error(`device ${spec.serial_number} already exists`);
      const base = this.factory.device(opts, spec.serial_number ?? this.factory.serial());
      const fields: DeviceFields = { ...base, ...(spec as Partial<DeviceFields>), profile_status: 'empty' };
      const at = opts.spreadDays ? Math.round(t0 + step * i) : now;
      if (server) {
        fields.device_assigned_date = spec.device_assigned_date ?? at;
        fields.device_assigned_by = spec.device_assigned_by ?? by;
      }
      const device: SimDevice = { serial: fields.serial_number, rev: this.fresh(new DeviceRevision(fields)), memberIdx: -1, inOrg: true };
      this.devices.set(device.serial, device);
      if (server) this.join(server, device, opts.as ?? 'added', fields.device_assigned_date!);
      out.push(device);
    }
    return out;
  }

  device(serial: string): SimDevice | undefined {
    const d = this.devices.get(serial);
    return d?.inOrg ? d : undefined;
  }

  /** Changes device attributes; a device on a server reports `modified`. */
  modifyDevices(serials: string[], changes: DeviceChanges | ((d: Readonly<DeviceFields>) => DeviceChanges)): SimDevice[] {
    const out: SimDevice[] = [];
    for (const serial of serials) {
      const d = this.mustDevice(serial);
      const c: Partial<DeviceFields> = { ...(typeof changes === 'function' ? changes(d.rev.f) : changes) };
      // the profile bookkeeping is Apple's, not a script's (the control API passes JSON through)
      for (const k of ['serial_number', 'profile_status', 'profile_uuid', 'profile_assign_time', 'profile_push_time'] as const) delete c[k];
      this.update(d, c, 'modified');
      out.push(d);
    }
    return out;
  }

  /**
   * Unassigns devices from their server (`deleted` there; the profile assignment is lost).
   * fromOrg also removes them from the organisation (released / disowned).
   */
  deleteDevices(serials: string[], opts: { fromOrg?: boolean; releasedByReplacement?: boolean } = {}): void {
    for (const serial of serials) {
      const d = this.mustDevice(serial);
      this.leave(d, opts.releasedByReplacement);
      if (opts.fromOrg) {
        d.inOrg = false;
        this.devices.delete(serial);
      }
    }
  }

  /** Moves devices to another server (or assigns unassigned ones): `deleted` on the old, `added` (or `modified`) on the new. */
  moveDevices(serials: string[], to: SimServer, opts: MoveOptions = {}): void {
    const now = this.now;
    for (const serial of serials) {
      const d = this.mustDevice(serial);
      if (d.server === to) continue;
      this.leave(d);
      d.rev = this.fresh(d.rev.with({ device_assigned_date: now, device_assigned_by: opts.assignedBy ?? to.adminId }));
      this.join(to, d, opts.as ?? 'added', now);
    }
  }

  /** Marks a device as the replacement of another (v10 is_replacement_device + replacementDetails). */
  markReplacement(serial: string, original: string): void {
    const d = this.mustDevice(serial);
    d.replacement = { original, date: this.now };
    this.update(d, { is_replacement_device: true }, 'modified');
  }

  private mustDevice(serial: string): SimDevice {
    const d = this.device(serial);
    if (!d) throw new Error(`no device ${serial}`);
    return d;
  }

  private fresh(rev: DeviceRevision): DeviceRevision {
    if (this.opts.prerenderProtocolVersion !== undefined) rev.json(deviceVariant(this.opts.prerenderProtocolVersion));
    return rev;
  }

  private join(server: SimServer, d: SimDevice, op: OpType, at: number): void {
    d.server = server;
    d.memberIdx = server.log.length;
    server.log.push({ op, at, rev: d.rev, device: d });
    server.members.push(d.memberIdx);
    server.memberCount++;
  }

  private leave(d: SimDevice, releasedByReplacement?: boolean): void {
    const server = d.server;
    if (!server) return;
    server.log.push({ op: 'deleted', at: this.now, rev: d.rev, device: d, releasedByReplacement });
    server.memberCount--;
    d.server = undefined;
    d.memberIdx = -1;
    d.rev = this.fresh(d.rev.with({
      profile_status: 'empty',
      profile_uuid: undefined,
      profile_assign_time: undefined,
      profile_push_time: undefined,
      device_assigned_date: undefined,
      device_assigned_by: undefined,
    }));
  }

  private update(d: SimDevice, changes: Partial<DeviceFields>, op: OpType, inSync = true): void {
    d.rev = this.fresh(d.rev.with(changes));
    if (d.server && inSync) d.server.log.push({ op, at: this.now, rev: d.rev, device: d });
  }

  // ── profiles ─────────────────────────────────────────────────────────────────────────

  defineProfile(server: SimServer, fields: ProfileFields, devices: string[]): { profile_uuid: string; devices: Record<string, DeviceStatus> } {
    const uuid = hex32();
    server.profiles.set(uuid, { uuid, serverUuid: server.uuid, fields, definedAt: this.now });
    const statuses: Record<string, DeviceStatus> = {};
    for (const serial of devices) {
      const s = this.assignOne(server, uuid, serial, 99);
      statuses[serial] = s === 'THROTTLED' ? 'FAILED' : s;
      this.record(server, 'define', serial, statuses[serial], uuid);
    }
    return { profile_uuid: uuid, devices: statuses };
  }

  /** The profile as `GET /profile` returns it: flags with their defaults, plus profile_uuid. */
  profileView(p: StoredProfile): Record<string, unknown> {
    const out: Record<string, unknown> = { ...PROFILE_FLAG_DEFAULTS, ...p.fields, profile_uuid: p.uuid };
    return out;
  }

  /**
   * Assigns a profile. THROTTLED exists from protocol 9 (below it a throttled device is
   * FAILED); retry_after_seconds from protocol 10, only when something was throttled.
   */
  assignProfile(server: SimServer, profileUuid: string, serials: string[], protocol: number): { devices: Record<string, AssignStatus>; retry_after_seconds?: number } {
    const out: Record<string, AssignStatus> = {};
    let throttled = false;
    for (const serial of serials) {
      let s = this.assignOne(server, profileUuid, serial, protocol);
      if (s === 'THROTTLED') {
        if (protocol < 9) s = 'FAILED';
        else throttled = true;
      }
      out[serial] = s;
      this.record(server, 'assign', serial, s, profileUuid);
    }
    const res: { devices: Record<string, AssignStatus>; retry_after_seconds?: number } = { devices: out };
    if (throttled && protocol >= 10) res.retry_after_seconds = this.throttle?.retryAfterSeconds ?? 3600;
    return res;
  }

  private assignOne(server: SimServer, profileUuid: string, serial: string, _protocol: number): AssignStatus {
    const d = this.device(serial);
    const scripted = this.scriptedAssign.get(serial);
    if (scripted) {
      if (--scripted.remaining <= 0) this.scriptedAssign.delete(serial);
      return scripted.status;
    }
    if (!d || d.server !== server) return 'NOT_ACCESSIBLE';
    const now = this.now;
    if (this.throttle) {
      const recent = (d.assignTimes ?? []).filter((t) => now - t < this.throttle!.windowMs);
      if (recent.length >= this.throttle.maxAssignmentsPerDevice) {
        d.assignTimes = recent;
        return 'THROTTLED';
      }
      recent.push(now);
      d.assignTimes = recent;
    }
    this.update(d, { profile_uuid: profileUuid, profile_status: 'assigned', profile_assign_time: now, profile_push_time: undefined }, 'modified', this.profileChangesInSync);
    return 'SUCCESS';
  }

  removeProfile(server: SimServer, serials: string[]): Record<string, DeviceStatus> {
    const out: Record<string, DeviceStatus> = {};
    for (const serial of serials) {
      const d = this.device(serial);
      if (!d || d.server !== server) out[serial] = 'NOT_ACCESSIBLE';
      else {
        const had = d.rev.f.profile_uuid;
        this.update(d, { profile_status: 'removed', profile_uuid: undefined, profile_assign_time: undefined, profile_push_time: undefined }, 'modified', this.profileChangesInSync);
        out[serial] = 'SUCCESS';
        this.record(server, 'remove', serial, 'SUCCESS', had);
        continue;
      }
      this.record(server, 'remove', serial, out[serial]);
    }
    return out;
  }

  /** Removes devices from the organisation for good (`deleted` on their server). */
  disown(server: SimServer, serials: string[]): Record<string, DeviceStatus> {
    const out: Record<string, DeviceStatus> = {};
    for (const serial of serials) {
      const d = this.device(serial);
      if (!d || d.server !== server) out[serial] = 'NOT_ACCESSIBLE';
      else {
        this.deleteDevices([serial], { fromOrg: true });
        out[serial] = 'SUCCESS';
      }
      this.record(server, 'disown', serial, out[serial]);
    }
    return out;
  }

  activationLock(server: SimServer, serial: string, escrowKey?: string, lostMessage?: string): string {
    const d = this.device(serial);
    let status: string;
    if (!d || d.server !== server) status = 'NOT_ACCESSIBLE';
    else if (!this.activationLockSupported) status = 'ORG_NOT_SUPPORTED';
    else if (!['iPhone', 'iPad', 'Mac', 'iPod'].includes(d.rev.f.device_family ?? '')) status = 'DEVICE_NOT_SUPPORTED';
    else if (d.activationLock) status = 'DEVICE_ALREADY_LOCKED';
    else {
      d.activationLock = { escrowKey, lostMessage, at: this.now };
      status = 'SUCCESS';
    }
    this.record(server, 'activation_lock', serial, status);
    return status;
  }

  /**
   * What a device gets from Apple at activation: the cloud configuration of its assigned
   * profile. Marks the profile `pushed` (a `modified` entry in sync).
   */
  activate(serial: string): ActivationAnswer {
    const d = this.device(serial);
    if (!d) return { ok: false, reason: 'UNKNOWN_DEVICE', serial_number: serial };
    const server = d.server;
    if (!server) return { ok: false, reason: 'NOT_ASSIGNED_TO_SERVER', serial_number: serial };
    const uuid = d.rev.f.profile_uuid;
    const profile = uuid ? server.profiles.get(uuid) : undefined;
    if (!profile || (d.rev.f.profile_status !== 'assigned' && d.rev.f.profile_status !== 'pushed')) {
      return { ok: false, reason: 'NO_PROFILE', serial_number: serial };
    }
    this.update(d, { profile_status: 'pushed', profile_push_time: this.now }, 'modified', this.profileChangesInSync);
    this.record(server, 'activate', serial, 'pushed', uuid);
    const flags: Record<string, boolean> = {};
    for (const f of PROFILE_FLAGS) flags[f] = profile.fields[f] ?? PROFILE_FLAG_DEFAULTS[f];
    return {
      ok: true,
      configuration: {
        ...profile.fields,
        ...flags,
        skip_setup_items: profile.fields.skip_setup_items ?? [],
        anchor_certs: profile.fields.anchor_certs ?? [],
        supervising_host_certs: profile.fields.supervising_host_certs ?? [],
        serial_number: serial,
        profile_uuid: profile.uuid,
        server_uuid: server.uuid,
        org_name: this.info.org_name,
        org_email: this.info.org_email,
        org_phone: this.info.org_phone,
        org_address: this.info.org_address,
      },
    };
  }

  /** Script the next assign outcomes for serials (FAILED / THROTTLED / NOT_ACCESSIBLE), `times` each. */
  scriptAssignResult(serials: string[], status: 'FAILED' | 'THROTTLED' | 'NOT_ACCESSIBLE', times = 1): void {
    for (const s of serials) this.scriptedAssign.set(s, { status, remaining: times });
  }

  private record(server: SimServer, action: AssignmentRecord['action'], serial: string, result: string, profile_uuid?: string): void {
    this.assignments.push({ at: this.now, server: server.uuid, action, serial, profile_uuid, result });
    if (this.assignments.length > this.maxRecords * 1.1) this.assignments.splice(0, this.assignments.length - this.maxRecords);
  }
}
