/**
 * The check-in service, wrapped so that a device's first Authenticate is linked to the
 * enrollment staging record its CheckInURL names (`?pe=`, see EnrollmentProfileService.build).
 * Messages without a key, and every message but Authenticate, pass straight through: the
 * check-in path pays one indexed read only when a key is present, and the link itself is
 * written without further reads.
 *
 * The record is checked before the wrapped service writes anything, so a device refused here
 * (unknown, expired or already claimed key; a platform a registration token excludes) leaves
 * nothing behind.
 */
import type { Logger } from 'pino';
import type { CheckinReply, CheckinService, DeviceMessage } from '../mdm/checkin-service.js';
import { DeviceRefusal } from '../mdm/device-refusal.js';
import type { PresentedCertificate } from '../mdm/identity-auth.js';
import { PendingEnrollmentError, type PendingEnrollmentService } from './pending-enrollment-service.js';

type Checkins = Pick<CheckinService, 'handle'>;

export class PendingEnrollmentCheckins implements Checkins {
  constructor(
    private readonly inner: Checkins,
    private readonly deps: { pending: Pick<PendingEnrollmentService, 'forCheckIn' | 'linkAtCheckIn'>; log: Logger },
  ) {}

  async handle(msg: DeviceMessage, cert: PresentedCertificate): Promise<CheckinReply> {
    const key = msg.enrollmentKey;
    if (!key || msg.messageType !== 'Authenticate') return this.inner.handle(msg, cert);
    const enrollmentId = msg.identity.enrollmentId;
    const pending = await this.#refusing(() =>
      this.deps.pending.forCheckIn(key, { enrollmentId, productName: typeof msg.raw.ProductName === 'string' ? msg.raw.ProductName : undefined }),
    );
    const reply = await this.inner.handle(msg, cert);
    await this.#refusing(() => this.deps.pending.linkAtCheckIn(pending, { enrollmentId }));
    this.deps.log.info({ pendingId: pending.id, enrollmentId, mode: pending.mode, groupId: pending.groupId }, 'enrollment linked to its staging record');
    return reply;
  }

  async #refusing<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof PendingEnrollmentError) throw new DeviceRefusal('bad-request', err.message);
      throw err;
    }
  }
}
