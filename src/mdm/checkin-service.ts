/**
 * The check-in protocol (`PUT /mdm/checkin`): Authenticate, TokenUpdate, CheckOut and the
 * token messages. Input is an already-parsed, type-checked message and the identity
 * certificate that authenticated the request; output is what to answer.
 */
import type { SecretBox } from '../pki/secret-box.js';
import { platformOfProduct } from '../apple/platform.js';
import type { CheckinStore, DeviceFacts } from './checkin-store.js';
import { refuse } from './device-refusal.js';
import type { IdentityAuth, PresentedCertificate } from './identity-auth.js';
import type { MdmEvents } from './mdm-events.js';

/** What the route needs from a parsed message: its type, who it names, and its raw keys. */
export interface DeviceMessage {
  messageType: string;
  identity: {
    deviceId: string; // UDID or EnrollmentID: the device channel's enrollment id
    enrollmentId: string;
    channel: 'device' | 'user';
    type: string;
    userId?: string;
    userShortName?: string;
    userLongName?: string;
  };
  raw: Record<string, unknown>;
  rawPlist: string;
  /** the `pe` parameter of the check-in URL: names an enrollment staging record (src/enroll/pending-enrollment-checkins.ts) */
  enrollmentKey?: string;
}

export type CheckinReply = { kind: 'empty' } | { kind: 'plist'; value: Record<string, unknown> };

export class CheckinService {
  constructor(
    private readonly store: CheckinStore,
    private readonly auth: IdentityAuth,
    private readonly secrets: SecretBox,
    private readonly events: MdmEvents,
  ) {}

  async handle(msg: DeviceMessage, cert: PresentedCertificate): Promise<CheckinReply> {
    const { identity } = msg;
    if (msg.messageType === 'Authenticate') return this.authenticate(msg, cert);

    await this.auth.forMessage(cert, identity.deviceId);
    const device = await this.store.getEnrollment(identity.deviceId);
    if (!device || device.status === 'removed') {
      if (msg.messageType === 'CheckOut') return { kind: 'empty' };
      return refuse('unrecognized', 'enrollment was removed');
    }

    switch (msg.messageType) {
      case 'TokenUpdate': {
        const token = msg.raw.Token as Buffer;
        const unlock = msg.raw.UnlockToken as Buffer | undefined;
        const tally = await this.store.tokenUpdate(
          {
            enrollmentId: identity.enrollmentId,
            parentId: identity.channel === 'user' ? identity.deviceId : null,
            channel: identity.channel,
            type: identity.type,
            userId: identity.userId,
            userShortName: identity.userShortName,
            userLongName: identity.userLongName,
            topic: str(msg.raw.Topic) ?? device.topic,
            pushMagic: msg.raw.PushMagic as string,
            tokenHex: token.toString('hex'),
            unlockTokenEnc: unlock && unlock.length ? this.secrets.seal(unlock) : null,
            awaitingConfiguration: msg.raw.AwaitingConfiguration === true,
            rawPlist: msg.rawPlist,
          },
          device.device_id,
        );
        this.events.emit('tokenUpdate', { enrollmentId: identity.enrollmentId, deviceId: device.device_id, type: identity.type, tally, awaitingConfiguration: msg.raw.AwaitingConfiguration === true });
        return { kind: 'empty' };
      }
      case 'CheckOut':
        await this.store.remove(identity.enrollmentId);
        this.events.emit('checkOut', { enrollmentId: identity.enrollmentId, deviceId: device.device_id });
        return { kind: 'empty' };
      case 'SetBootstrapToken': {
        const token = msg.raw.BootstrapToken as Buffer | undefined;
        await this.store.setBootstrapToken(identity.deviceId, token && token.length ? this.secrets.seal(token) : null);
        return { kind: 'empty' };
      }
      case 'GetBootstrapToken': {
        const sealed = await this.store.getBootstrapToken(identity.deviceId);
        // No token escrowed: an empty body, as Apple's clients expect.
        return sealed ? { kind: 'plist', value: { BootstrapToken: this.secrets.open(sealed) } } : { kind: 'empty' };
      }
      case 'UserAuthenticate':
        return refuse('gone', 'user channel authentication is declined (not offered by this server yet)');
      case 'DeclarativeManagement':
        return refuse('not-supported', 'declarative management is not supported by this server yet');
      case 'GetToken':
        return refuse('bad-request', `no token service for TokenServiceType ${String(msg.raw.TokenServiceType)}`);
      case 'ReturnToService':
        return { kind: 'plist', value: { ReturnToService: { Enabled: false } } };
      default:
        return refuse('bad-request', `unknown MessageType ${msg.messageType}`);
    }
  }

  private async authenticate(msg: DeviceMessage, cert: PresentedCertificate): Promise<CheckinReply> {
    if (msg.identity.channel !== 'device') refuse('bad-request', 'Authenticate is only valid on the device channel');
    await this.auth.forAuthenticate(cert, msg.identity.deviceId);
    const r = msg.raw;
    const facts: DeviceFacts = {
      udid: str(r.UDID), serial_number: str(r.SerialNumber), model: str(r.Model), model_name: str(r.ModelName),
      product_name: str(r.ProductName), device_name: str(r.DeviceName), os_version: str(r.OSVersion),
      build_version: str(r.BuildVersion), imei: str(r.IMEI), meid: str(r.MEID), platform: platformOfProduct(str(r.ProductName)),
    };
    const { deviceId, reEnrollment } = await this.store.authenticate({
      enrollmentId: msg.identity.enrollmentId,
      type: msg.identity.type,
      topic: str(r.Topic) ?? null,
      facts,
      rawPlist: msg.rawPlist,
      certSha256: cert.sha256,
    });
    this.events.emit('authenticate', { enrollmentId: msg.identity.enrollmentId, deviceId, type: msg.identity.type, reEnrollment });
    return { kind: 'empty' };
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
