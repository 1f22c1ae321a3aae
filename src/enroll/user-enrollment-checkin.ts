/**
 * The device endpoints' services, wrapped for user enrollment (as NanoMDM wraps services): a
 * message carrying an EnrollmentID is a user enrollment's, so before the MDM service sees it
 * every persistent identifier is dropped (with a log line naming the keys, never the values)
 * and the EnrollmentID is its identity; after its Authenticate the device is flagged
 * user-enrolled and employee-owned. Messages of other enrollments pass through untouched.
 */
import type { Logger } from 'pino';
import { buildPlist } from '../apple/plist.js';
import type { CheckinReply, CheckinService, DeviceMessage } from '../mdm/checkin-service.js';
import type { CommandService } from '../mdm/command-service.js';
import type { PresentedCertificate } from '../mdm/identity-auth.js';
import { isUserEnrollmentMessage, withoutPersistentIdentifiers } from './user-enrollment-privacy.js';
import type { UserEnrollmentStore } from './user-enrollment-store.js';

type Checkins = Pick<CheckinService, 'handle'>;
type Commands = Pick<CommandService, 'connect'>;

function sanitized(msg: DeviceMessage, log: Logger, endpoint: string): DeviceMessage {
  const { raw, dropped, identity } = withoutPersistentIdentifiers(msg.raw);
  if (dropped.length === 0) return msg;
  log.warn({ endpoint, messageType: msg.messageType, enrollmentId: identity.enrollmentId, dropped }, 'user enrollment sent persistent identifiers; dropped, not stored');
  return { ...msg, identity, raw, rawPlist: buildPlist(raw) };
}

export class UserEnrollmentCheckins implements Checkins {
  constructor(
    private readonly inner: Checkins,
    private readonly deps: { store: UserEnrollmentStore; log: Logger; now?: () => number },
  ) {}

  async handle(msg: DeviceMessage, cert: PresentedCertificate): Promise<CheckinReply> {
    if (!isUserEnrollmentMessage(msg.raw)) return this.inner.handle(msg, cert);
    const clean = sanitized(msg, this.deps.log, 'checkin');
    const reply = await this.inner.handle(clean, cert);
    if (clean.messageType === 'Authenticate') {
      const deviceId = await this.deps.store.deviceOf(clean.identity.deviceId);
      if (deviceId) await this.deps.store.markUserEnrolled(deviceId, (this.deps.now ?? Date.now)());
    }
    return reply;
  }
}

export class UserEnrollmentCommands implements Commands {
  constructor(
    private readonly inner: Commands,
    private readonly log: Logger,
  ) {}

  connect(msg: DeviceMessage, cert: PresentedCertificate): ReturnType<CommandService['connect']> {
    return this.inner.connect(isUserEnrollmentMessage(msg.raw) ? sanitized(msg, this.log, 'connect') : msg, cert);
  }
}
