/**
 * Saving and restoring an organisation (the CLI's --state-file): servers, tokens, devices with
 * every revision the change logs point at, profiles, and the cursor key, so cursors and
 * tokens issued before a restart stay valid. Sessions and nonces are not saved: after a
 * restart every session is unknown (401, or 403 FORBIDDEN in the depsim dialect).
 */
import { DeviceRevision, type DeviceFields } from './device-record.js';
import type { Organisation, SimDevice, SimServer, StoredProfile, TokenRecord } from './organisation.js';

export interface SavedState {
  format: 'pomona-abm-sim/1';
  savedAt: number;
  secret: string;
  info: Organisation['info'];
  flags: { termsNotSigned: boolean; seedTokensTurnedOff: boolean; accountDrivenEnrollmentSupported: boolean; activationLockSupported: boolean };
  revisions: DeviceFields[];
  devices: { serial: string; rev: number; server?: string; memberIdx: number; inOrg: boolean; activationLock?: SimDevice['activationLock']; replacement?: SimDevice['replacement'] }[];
  servers: {
    uuid: string;
    name: string;
    adminId: string;
    createdAt: number;
    accessDenied: boolean;
    tokens: TokenRecord[];
    profiles: StoredProfile[];
    accountDrivenEnrollment?: SimServer['accountDrivenEnrollment'];
    /** [op, at, revision index, device index, releasedByReplacement?] */
    log: [string, number, number, number, boolean?][];
    members: number[];
  }[];
}

export function saveOrganisation(org: Organisation): SavedState {
  const revIds = new Map<DeviceRevision, number>();
  const revisions: DeviceFields[] = [];
  const revId = (r: DeviceRevision) => {
    let id = revIds.get(r);
    if (id === undefined) {
      id = revisions.length;
      revIds.set(r, id);
      revisions.push(r.f as DeviceFields);
    }
    return id;
  };
  const devIds = new Map<SimDevice, number>();
  const devices: SavedState['devices'] = [];
  const devId = (d: SimDevice) => {
    let id = devIds.get(d);
    if (id === undefined) {
      id = devices.length;
      devIds.set(d, id);
      devices.push({ serial: d.serial, rev: revId(d.rev), server: d.server?.uuid, memberIdx: d.memberIdx, inOrg: d.inOrg, activationLock: d.activationLock, replacement: d.replacement });
    }
    return id;
  };
  for (const d of org.devices.values()) devId(d);
  const servers = org.servers.map((s) => ({
    uuid: s.uuid,
    name: s.name,
    adminId: s.adminId,
    createdAt: s.createdAt,
    accessDenied: s.accessDenied,
    tokens: s.tokens,
    profiles: [...s.profiles.values()],
    accountDrivenEnrollment: s.accountDrivenEnrollment,
    log: s.log.map((e) => [e.op, e.at, revId(e.rev), devId(e.device), ...(e.releasedByReplacement === undefined ? [] : [e.releasedByReplacement])] as [string, number, number, number, boolean?]),
    members: s.members,
  }));
  return {
    format: 'pomona-abm-sim/1',
    savedAt: org.now,
    secret: org.secret.toString('hex'),
    info: org.info,
    flags: { termsNotSigned: org.termsNotSigned, seedTokensTurnedOff: org.seedTokensTurnedOff, accountDrivenEnrollmentSupported: org.accountDrivenEnrollmentSupported, activationLockSupported: org.activationLockSupported },
    revisions,
    devices,
    servers,
  };
}

/** Loads a saved state into a fresh organisation (one without servers or devices). */
export function restoreOrganisation(org: Organisation, st: SavedState): void {
  if (st.format !== 'pomona-abm-sim/1') throw new Error('not a saved ABM simulator state');
  if (org.servers.length || org.devices.size) throw new Error('restore needs an empty organisation');
  Buffer.from(st.secret, 'hex').copy(org.secret);
  Object.assign(org.info, st.info);
  Object.assign(org, st.flags);
  const revs = st.revisions.map((f) => new DeviceRevision(f));
  const servers = st.servers.map((s) => {
    const srv = org.createServer({ name: s.name, adminId: s.adminId, uuid: s.uuid });
    srv.createdAt = s.createdAt;
    srv.accessDenied = s.accessDenied;
    srv.tokens = s.tokens;
    for (const p of s.profiles) srv.profiles.set(p.uuid, p);
    srv.accountDrivenEnrollment = s.accountDrivenEnrollment;
    srv.members = s.members;
    return srv;
  });
  const byUuid = new Map(servers.map((s) => [s.uuid, s]));
  const devices: SimDevice[] = st.devices.map((d) => ({
    serial: d.serial,
    rev: revs[d.rev],
    server: d.server ? byUuid.get(d.server) : undefined,
    memberIdx: d.memberIdx,
    inOrg: d.inOrg,
    activationLock: d.activationLock,
    replacement: d.replacement,
  }));
  for (const d of devices) if (d.inOrg) org.devices.set(d.serial, d);
  st.servers.forEach((s, i) => {
    const srv = servers[i];
    srv.log = s.log.map(([op, at, rev, dev, released]) => ({ op: op as 'added', at, rev: revs[rev], device: devices[dev], releasedByReplacement: released }));
    srv.memberCount = devices.filter((d) => d.server === srv).length;
  });
}
