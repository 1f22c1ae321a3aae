/**
 * The command protocol (`PUT /mdm/connect`) and the command queue's admin side: enqueue a
 * command for devices, push them, read results.
 */
import type { CheckinStore, DeviceFacts } from './checkin-store.js';
import type { Answer, CommandStore } from './command-store.js';
import type { DeviceStore } from './device-store.js';
import { refuse } from './device-refusal.js';
import type { DeviceMessage } from './checkin-service.js';
import type { IdentityAuth, PresentedCertificate } from './identity-auth.js';
import type { MdmEvents } from './mdm-events.js';
import { plistJson } from './plist-json.js';

export type ConnectReply = { kind: 'empty' } | { kind: 'command'; uuid: string; plist: string };

/** Builds a command envelope (validating typed RequestTypes); injected so this file stays format-free. */
export type CommandBuilder = (command: Record<string, unknown>) => { uuid: string; requestType: string; plist: string };

export interface PushPort {
  push(enrollmentIds: string[]): Promise<Array<{ enrollmentId: string; status: string; reason?: string }>>;
}

export interface EnqueueResult {
  commandUuid: string;
  requestType: string;
  targets: Array<{ target: string; status: 'queued' | 'not-found' | 'not-enrolled'; enrollmentId?: string; deviceId?: string }>;
  pushes?: Array<{ enrollmentId: string; status: string; reason?: string }>;
}

/** Don't write last_seen_at on every request of a busy session. */
const TOUCH_INTERVAL_MS = 60_000;

export class CommandService {
  constructor(
    private readonly deps: {
      commands: CommandStore;
      checkins: CheckinStore;
      devices: DeviceStore;
      auth: IdentityAuth;
      events: MdmEvents;
      build: CommandBuilder;
      push: PushPort;
      now?: () => number;
    },
  ) {}

  /**
   * One command report. On the hot path it costs one statement (store the answer, take the
   * next command: CommandStore.report), the identity check being answered from memory once
   * the certificate's binding is known. Only when that statement writes nothing is the channel
   * read, to tell a removed enrollment (refused) from one with nothing to do.
   */
  async connect(msg: DeviceMessage, cert: PresentedCertificate): Promise<ConnectReply> {
    const { commands, auth, events } = this.deps;
    const { identity } = msg;
    await auth.forMessage(cert, identity.deviceId);

    const status = msg.raw.Status as string;
    const answer: Answer | undefined =
      status === 'Idle'
        ? undefined
        : { commandUuid: msg.raw.CommandUUID as string, status, rawPlist: msg.rawPlist, json: plistJson(msg.raw) };
    const done = await commands.report({ enrollmentId: identity.enrollmentId, deviceChannelId: identity.deviceId, answer });
    if (!done) return this.reportNotWritten(identity);

    await this.touchIfStale(identity.enrollmentId, done.deviceId, done.lastSeenAt);
    // Set only for a new answer: a report sent again after a lost reply is not a second result.
    if (answer && done.answeredRequestType) {
      if (done.answeredRequestType === 'DeviceInformation' && status === 'Acknowledged') {
        await this.absorbDeviceInformation(done.deviceId, msg.raw.QueryResponses);
      }
      events.emit('commandResult', { enrollmentId: identity.enrollmentId, deviceId: done.deviceId, commandUuid: answer.commandUuid, requestType: done.answeredRequestType, status });
    }
    return done.next ? { kind: 'command', uuid: done.next.uuid, plist: done.next.plist } : { kind: 'empty' };
  }

  /**
   * A report that wrote nothing: refuse a removed channel; else answer empty — nothing queued,
   * or a channel that has not sent TokenUpdate since (re-)Authenticate and gets no commands yet.
   */
  private async reportNotWritten(identity: DeviceMessage['identity']): Promise<ConnectReply> {
    const states = await this.deps.checkins.channelStates(identity.enrollmentId, identity.deviceId);
    const enrollment = states.get(identity.enrollmentId);
    if (!enrollment || enrollment.status === 'removed') return refuse('unrecognized', 'enrollment was removed or never completed');
    if (identity.channel === 'user') {
      const parent = states.get(identity.deviceId);
      if (!parent || parent.status === 'removed') return refuse('unrecognized', 'device enrollment was removed');
    }
    await this.touchIfStale(enrollment.id, enrollment.device_id, enrollment.last_seen_at);
    return { kind: 'empty' };
  }

  /** Records that the channel was seen, at most once a minute (a busy session would write on every request). */
  private async touchIfStale(enrollmentId: string, deviceId: string, lastSeenAt: number | null): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    if (lastSeenAt === null || now - lastSeenAt > TOUCH_INTERVAL_MS) await this.deps.checkins.touch(enrollmentId, deviceId);
  }

  async enqueue(req: { targets: string[]; command: Record<string, unknown>; push?: boolean; actor?: string; priority?: number }): Promise<EnqueueResult> {
    const built = this.deps.build(req.command);
    const found = await this.deps.devices.resolveTargets(req.targets);
    const targets: EnqueueResult['targets'] = req.targets.map((target) => {
      const e = found.get(target);
      if (!e) return { target, status: 'not-found' };
      if (e.status === 'removed') return { target, status: 'not-enrolled', enrollmentId: e.id, deviceId: e.device_id };
      return { target, status: 'queued', enrollmentId: e.id, deviceId: e.device_id };
    });
    const ids = [...new Set(targets.filter((t) => t.status === 'queued').map((t) => t.enrollmentId!))];
    const result: EnqueueResult = { commandUuid: built.uuid, requestType: built.requestType, targets };
    if (ids.length === 0) return result;
    await this.deps.commands.enqueue({ ...built, createdBy: req.actor ?? null }, ids, req.priority ?? 0);
    if (req.push !== false) result.pushes = await this.deps.push.push(ids);
    return result;
  }

  async status(uuid: string) {
    const cmd = await this.deps.commands.getCommand(uuid);
    if (!cmd) return undefined;
    const rows = await this.deps.commands.results(uuid);
    return {
      commandUuid: cmd.uuid,
      requestType: cmd.request_type,
      createdAt: cmd.created_at,
      createdBy: cmd.created_by,
      results: rows.map((r) => ({
        enrollmentId: r.enrollment_id,
        deviceId: r.device_id,
        status: r.active || r.status !== 'Pending' ? r.status : 'Cleared',
        notNowCount: r.not_now_count,
        queuedAt: r.queued_at,
        sentAt: r.sent_at,
        answeredAt: r.answered_at,
        result: r.result_json ? (JSON.parse(r.result_json) as unknown) : null,
      })),
    };
  }

  private async absorbDeviceInformation(deviceId: string, q: unknown): Promise<void> {
    if (!q || typeof q !== 'object') return;
    const r = q as Record<string, unknown>;
    const s = (k: string) => (typeof r[k] === 'string' && r[k] ? (r[k] as string) : undefined);
    const facts: DeviceFacts = {
      serial_number: s('SerialNumber'), model: s('Model'), model_name: s('ModelName'), product_name: s('ProductName'),
      device_name: s('DeviceName'), os_version: s('OSVersion'), build_version: s('BuildVersion'), imei: s('IMEI'), meid: s('MEID'),
    };
    await this.deps.checkins.updateDeviceFacts(deviceId, facts, plistJson(r));
  }
}
