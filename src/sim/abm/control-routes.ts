/**
 * The simulator's own control API, JSON under `/_sim/`, mirroring the in-process API so a CLI
 * or another process can script the organisation. Bodies and answers use the in-process names
 * (camelCase); errors are `{"error": "..."}` with 400 (bad input) or 404 (unknown thing).
 *
 *   GET    /_sim/state                              summary: clock, servers, device count, faults
 *   GET    /_sim/servers                            servers with their tokens' public facts
 *   POST   /_sim/servers                            {name, adminId?} → server
 *   POST   /_sim/servers/{uuid}/token               {certificate: PEM, format?: smime|der|json|all, cipher?, ber?, expiresAt?, keepPrevious?}
 *                                                   → smime: the .p7m (application/pkcs7-mime), der: binary CMS, json: the token JSON, all: {fileName, smime, derBase64, tokens}
 *   GET    /_sim/servers/{uuid}/tokens              the current token JSON (what the .p7m decrypts to)
 *   POST   /_sim/servers/{uuid}/reject-token        token_rejected from now on
 *   POST   /_sim/servers/{uuid}/access-denied       {denied: bool} → 403 ACCESS_DENIED
 *   POST   /_sim/servers/{uuid}/devices             {count? | devices?: specs[], families?, spreadDays?, as?, assignedBy?} → {serials}
 *   GET    /_sim/servers/{uuid}/devices             ?offset&limit → devices on that server
 *   GET    /_sim/servers/{uuid}/log                 ?from&limit → change-log entries
 *   POST   /_sim/devices                            {count | devices, …} → unassigned devices in the organisation
 *   GET    /_sim/devices/{serial}                   one device (v10 fields, server_uuid, activation_locked)
 *   POST   /_sim/devices/modify                     {serials, changes}
 *   POST   /_sim/devices/delete                     {serials, fromOrg?, releasedByReplacement?}
 *   POST   /_sim/devices/move                       {serials, to: uuid, as?: added|modified}
 *   POST   /_sim/devices/{serial}/replacement       {original}
 *   POST   /_sim/devices/{serial}/activate          → 200 cloud configuration, or 404 {reason}
 *   GET    /_sim/profiles                           ?server=uuid
 *   GET    /_sim/assignments
 *   POST   /_sim/assign-results                     {serials, status: FAILED|THROTTLED|NOT_ACCESSIBLE, times?}
 *   PUT    /_sim/throttle                           {maxAssignmentsPerDevice, windowMs, retryAfterSeconds} (DELETE: off)
 *   POST   /_sim/org                                {termsNotSigned?, seedTokensTurnedOff?, activationLockSupported?, accountDrivenEnrollmentSupported?}
 *   POST   /_sim/sessions/expire                    {serverUuid?}
 *   POST   /_sim/sessions/forget
 *   PUT    /_sim/sessions                           {ttlMs?, rotateEveryRequests?, rotateAfterMs?, rotationGraceMs?, maxPerToken?}
 *   GET    /_sim/faults | POST /_sim/faults (rule; times: null = forever) | DELETE /_sim/faults | DELETE /_sim/faults/{id}
 *   GET    /_sim/clock | POST /_sim/clock           {advanceMs}
 *   GET    /_sim/requests                           ?limit | DELETE /_sim/requests
 *   GET    /_sim/save                               the state as JSON (what --state-file holds)
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { DeviceFamily } from './device-record.js';
import type { FaultRule } from './faults.js';
import type { AddDevicesOptions, DeviceSpec } from './organisation.js';
import type { AbmSimulator } from './server.js';

interface Out {
  status: number;
  body: string | Buffer;
  headers: Record<string, string>;
}

class BadRequest extends Error {}

const json = (status: number, v: unknown): Out => ({ status, body: JSON.stringify(v), headers: { 'Content-Type': 'application/json' } });

export class ControlRoutes {
  constructor(
    private readonly sim: AbmSimulator,
    private readonly token?: string,
  ) {}

  async handle(method: string, path: string, query: URLSearchParams, headers: IncomingHttpHeaders, raw: Buffer): Promise<Out> {
    if (this.token && headers['x-sim-control-token'] !== this.token) return json(403, { error: 'X-Sim-Control-Token required' });
    let body: Record<string, unknown> = {};
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return json(400, { error: 'body is not JSON' });
      }
    }
    try {
      return this.route(method, path.replace(/^\/_sim/, '').replace(/\/$/, ''), query, body);
    } catch (e) {
      const msg = (e as Error).message;
      return json(e instanceof BadRequest ? 400 : /^no (server|device)/.test(msg) ? 404 : 400, { error: msg });
    }
  }

  private route(method: string, p: string, q: URLSearchParams, b: Record<string, unknown>): Out {
    const sim = this.sim;
    const seg = p.split('/').filter(Boolean).map(decodeURIComponent);
    const key = `${method} /${seg.map((s, i) => (i === 1 && (seg[0] === 'servers' || seg[0] === 'devices' || seg[0] === 'faults') && !['modify', 'delete', 'move'].includes(s) ? ':id' : s)).join('/')}`;
    const id = seg[1];
    switch (key) {
      case 'GET /state':
        return json(200, { now: new Date(sim.clock.now()).toISOString(), url: sim.url, servers: sim.servers(), devices: sim.org.devices.size, termsNotSigned: sim.org.termsNotSigned, faults: sim.faults.list() });
      case 'GET /servers':
        return json(200, sim.servers());
      case 'POST /servers':
        return json(200, sim.createServer({ name: str(b.name, 'name'), adminId: optStr(b.adminId) }));
      case 'POST /servers/:id/token': {
        const issued = sim.issueToken(id, str(b.certificate, 'certificate'), {
          cipher: optStr(b.cipher) as never,
          ber: b.ber === undefined ? undefined : !!b.ber,
          expiresAt: typeof b.expiresAt === 'string' ? Date.parse(b.expiresAt) : (b.expiresAt as number | undefined),
          keepPrevious: !!b.keepPrevious,
        });
        const format = optStr(b.format) ?? 'smime';
        const disposition = { 'Content-Disposition': `attachment; filename="${issued.fileName}"` };
        if (format === 'smime') return { status: 200, body: issued.smime, headers: { 'Content-Type': 'application/pkcs7-mime; smime-type=enveloped-data', ...disposition } };
        if (format === 'der') return { status: 200, body: issued.der, headers: { 'Content-Type': 'application/pkcs7-mime', ...disposition } };
        if (format === 'json') return { status: 200, body: issued.json, headers: { 'Content-Type': 'application/json' } };
        return json(200, { fileName: issued.fileName, smime: issued.smime, derBase64: issued.der.toString('base64'), tokens: issued.tokens });
      }
      case 'GET /servers/:id/tokens': {
        const t = sim.currentTokens(id);
        return t ? json(200, t) : json(404, { error: 'no valid token for this server' });
      }
      case 'POST /servers/:id/reject-token':
        sim.rejectToken(id);
        return json(200, { ok: true });
      case 'POST /servers/:id/access-denied':
        sim.setAccessDenied(id, !!b.denied);
        return json(200, { ok: true });
      case 'POST /servers/:id/devices':
        return json(200, { serials: sim.addDevices(id, devicesArg(b), addOpts(b)) });
      case 'POST /devices':
        return json(200, { serials: sim.addDevices(null, devicesArg(b), addOpts(b)) });
      case 'GET /servers/:id/devices': {
        const offset = Number(q.get('offset') ?? 0);
        const limit = Number(q.get('limit') ?? 1000);
        const all = sim.devices(id);
        return json(200, { total: all.length, devices: all.slice(offset, offset + limit) });
      }
      case 'GET /servers/:id/log':
        return json(200, sim.changeLog(id, Number(q.get('from') ?? 0), Number(q.get('limit') ?? 1000)));
      case 'GET /devices/:id': {
        const d = sim.device(id);
        return d ? json(200, d) : json(404, { error: `no device ${id}` });
      }
      case 'POST /devices/modify':
        sim.modifyDevices(serials(b.serials), (b.changes ?? {}) as never);
        return json(200, { ok: true });
      case 'POST /devices/delete':
        sim.deleteDevices(serials(b.serials), { fromOrg: !!b.fromOrg, releasedByReplacement: b.releasedByReplacement as boolean | undefined });
        return json(200, { ok: true });
      case 'POST /devices/move':
        sim.moveDevices(serials(b.serials), str(b.to, 'to'), { as: b.as === 'modified' ? 'modified' : 'added', assignedBy: optStr(b.assignedBy) });
        return json(200, { ok: true });
      case 'POST /devices/:id/replacement':
        sim.markReplacement(id, str(b.original, 'original'));
        return json(200, { ok: true });
      case 'POST /devices/:id/activate': {
        const a = sim.activate(id);
        return a.ok ? json(200, a.configuration) : json(404, a);
      }
      case 'GET /profiles':
        return json(200, sim.profiles(q.get('server') ?? undefined));
      case 'GET /assignments':
        return json(200, sim.assignments());
      case 'POST /assign-results': {
        const status = str(b.status, 'status');
        if (!['FAILED', 'THROTTLED', 'NOT_ACCESSIBLE'].includes(status)) throw new BadRequest('status must be FAILED, THROTTLED or NOT_ACCESSIBLE');
        sim.scriptAssignResult(serials(b.serials), status as 'FAILED', typeof b.times === 'number' ? b.times : b.times === null ? Infinity : 1);
        return json(200, { ok: true });
      }
      case 'PUT /throttle':
        sim.setThrottle({ maxAssignmentsPerDevice: num(b.maxAssignmentsPerDevice, 'maxAssignmentsPerDevice'), windowMs: num(b.windowMs, 'windowMs'), retryAfterSeconds: num(b.retryAfterSeconds, 'retryAfterSeconds') });
        return json(200, { ok: true });
      case 'DELETE /throttle':
        sim.setThrottle(undefined);
        return json(200, { ok: true });
      case 'POST /org':
        if (b.termsNotSigned !== undefined) sim.setTermsNotSigned(!!b.termsNotSigned);
        if (b.seedTokensTurnedOff !== undefined) sim.setSeedTokensTurnedOff(!!b.seedTokensTurnedOff);
        if (b.activationLockSupported !== undefined) sim.setActivationLockSupported(!!b.activationLockSupported);
        if (b.accountDrivenEnrollmentSupported !== undefined) sim.setAccountDrivenEnrollmentSupported(!!b.accountDrivenEnrollmentSupported);
        return json(200, { ok: true });
      case 'POST /sessions/expire':
        return json(200, { expired: sim.expireSessions({ serverUuid: optStr(b.serverUuid) }) });
      case 'POST /sessions/forget':
        sim.forgetSessions();
        return json(200, { ok: true });
      case 'PUT /sessions':
        sim.configureSessions(b as never);
        return json(200, { ok: true });
      case 'GET /faults':
        return json(200, sim.faults.list());
      case 'POST /faults': {
        const rule = b as unknown as FaultRule;
        if (!rule.action || typeof rule.action !== 'object') throw new BadRequest('a fault rule needs an action');
        if ((b.times as unknown) === null || b.times === 'Infinity') rule.times = Infinity;
        return json(200, { id: sim.faults.add(rule) });
      }
      case 'DELETE /faults':
        sim.faults.clear();
        return json(200, { ok: true });
      case 'DELETE /faults/:id':
        return sim.faults.remove(id) ? json(200, { ok: true }) : json(404, { error: `no fault ${id}` });
      case 'GET /clock':
        return json(200, { now: new Date(sim.clock.now()).toISOString(), ms: sim.clock.now() });
      case 'POST /clock':
        sim.clock.advance(num(b.advanceMs, 'advanceMs'));
        return json(200, { now: new Date(sim.clock.now()).toISOString(), ms: sim.clock.now() });
      case 'GET /requests': {
        const all = sim.requests();
        return json(200, all.slice(-Number(q.get('limit') ?? all.length)));
      }
      case 'DELETE /requests':
        sim.clearRequests();
        return json(200, { ok: true });
      case 'GET /save':
        return json(200, sim.saveState());
    }
    return json(404, { error: `no control endpoint ${method} /_sim${p}` });
  }
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '') throw new BadRequest(`${name} is required`);
  return v;
}
function optStr(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
function num(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadRequest(`${name} must be a number`);
  return v;
}
function serials(v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new BadRequest('serials must be an array of strings');
  return v as string[];
}
function devicesArg(b: Record<string, unknown>): number | DeviceSpec[] {
  if (Array.isArray(b.devices)) return b.devices as DeviceSpec[];
  if (typeof b.count === 'number' && Number.isInteger(b.count) && b.count >= 0 && b.count <= 1_000_000) return b.count;
  throw new BadRequest('give count (0–1000000) or devices');
}
function addOpts(b: Record<string, unknown>): AddDevicesOptions {
  return {
    families: Array.isArray(b.families) ? (b.families as DeviceFamily[]) : undefined,
    spreadDays: typeof b.spreadDays === 'number' ? b.spreadDays : undefined,
    as: b.as === 'modified' ? 'modified' : undefined,
    assignedBy: optStr(b.assignedBy),
  };
}
