/**
 * A simulated Apple device: installs an enrollment profile (verifying it when signed), gets
 * its identity over SCEP, checks in (Authenticate, TokenUpdate) with Mdm-Signature, wakes on
 * APNs-simulator pushes, and answers the commands of the core protocol — or NotNow on demand.
 * macOS devices can open a user channel. A user-enrolled device (BYOD) is known by a random
 * EnrollmentID only, sends no hardware identifier, and refuses a profile Apple's client would.
 * An ADE device may await configuration: its Setup Assistant (setup-assistant.ts) takes the
 * commands of that phase until DeviceConfigured, and a Mac then escrows its bootstrap token.
 * It speaks only HTTP, as a real device does.
 */
import { createPrivateKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { buildPlist, parsePlist, type PlistDict } from '../apple/plist.js';
import { signDetached, verifyAttached } from '../apple/cms-sign.js';
import { enrollScep } from './scep-client.js';
import { SetupAssistant } from './setup-assistant.js';

export interface SimulatedDeviceOptions {
  platform?: 'iOS' | 'macOS';
  udid?: string;
  serialNumber?: string;
  osVersion?: string;
  buildVersion?: string;
  productName?: string;
  /** a pre-generated RSA key for SCEP (benchmarks keep key generation out of the measured window) */
  keyPair?: { privateKey: KeyObject | string };
  fetch?: typeof fetch;
  /** user enrollment (BYOD): check in with an EnrollmentID instead of the UDID */
  userEnrollment?: boolean;
  /** a faulty user-enrolled device that sends its UDID, serial number and IMEI anyway (bad-input tests) */
  leakIdentifiers?: boolean;
  /** an ADE device whose profile awaits configuration: enrolls with AwaitingConfiguration true */
  awaitingConfiguration?: boolean;
}

interface MdmPayload {
  serverUrl: string;
  checkInUrl: string;
  topic: string;
  signMessage: boolean;
  capabilities: string[];
}

interface Channel {
  token: Buffer;
  pushMagic: string;
  ids: Record<string, string>; // identifiers every request of this channel carries
}

export interface CommandAnswer {
  requestType: string;
  commandUuid: string;
  status: string;
}

export class SimulatedDevice {
  readonly platform: 'iOS' | 'macOS';
  readonly udid: string;
  readonly serialNumber: string;
  /** the user enrollment's identity (user-enrolled devices only) */
  readonly enrollmentId?: string;
  /** commands the device answers, in order */
  readonly answered: CommandAnswer[] = [];
  /** answer NotNow to these RequestTypes (each entry consumed once) */
  notNow: string[] = [];
  /** answer Error (with an ErrorChain) to these RequestTypes (each entry consumed once) */
  failing: string[] = [];
  /** Setup Assistant's await-configuration state and what it received (accounts, settings, DeviceConfigured) */
  readonly setupAssistant: SetupAssistant;
  installedProfiles: Array<{ identifier: string; payload: Buffer }> = [];

  private mdm?: MdmPayload;
  private identity?: { certificate: Buffer; key: KeyObject };
  private readonly device: Channel;
  private user?: Channel;
  private readonly http: typeof fetch;

  constructor(private readonly opts: SimulatedDeviceOptions = {}) {
    this.platform = opts.platform ?? 'iOS';
    this.udid = opts.udid ?? randomUUID().toUpperCase();
    this.serialNumber = opts.serialNumber ?? randomBytes(6).toString('hex').toUpperCase();
    this.http = opts.fetch ?? fetch;
    if (opts.userEnrollment) this.enrollmentId = randomUUID().toUpperCase();
    const ids: Record<string, string> = this.enrollmentId ? { EnrollmentID: this.enrollmentId } : { UDID: this.udid };
    this.device = { token: randomBytes(32), pushMagic: randomUUID().toUpperCase(), ids };
    this.setupAssistant = new SetupAssistant({ platform: this.platform, productName: () => this.productName() });
  }

  private productName(): string {
    return this.opts.productName ?? (this.platform === 'macOS' ? 'Mac16,10' : 'iPhone17,1');
  }

  /** The serial number names a corporate device; a personal one has its owner's name for it. */
  private deviceName(): string {
    const kind = this.platform === 'macOS' ? 'Mac' : 'iPhone';
    return this.enrollmentId ? `My ${kind}` : `${this.serialNumber}'s ${kind}`;
  }

  /** Identifiers a user-enrolled device keeps to itself (sent only by a faulty one). */
  private hardwareIds(): Record<string, string> {
    if (!this.enrollmentId) return { UDID: this.udid, SerialNumber: this.serialNumber };
    return this.opts.leakIdentifiers ? { UDID: this.udid, SerialNumber: this.serialNumber, IMEI: '35 209900 176148 1' } : {};
  }

  get pushToken(): string {
    return this.device.token.toString('hex');
  }

  get userPushToken(): string | undefined {
    return this.user?.token.toString('hex');
  }

  get topic(): string | undefined {
    return this.mdm?.topic;
  }

  /** Installs an enrollment profile: SCEP, then Authenticate and TokenUpdate. */
  async enroll(profile: Buffer, opts: { awaitingConfiguration?: boolean } = {}): Promise<void> {
    const xml = profile.subarray(0, 5).toString() === '<?xml' ? profile : verifyAttached(profile).content;
    const dict = parsePlist(xml);
    const payloads = (dict.PayloadContent ?? []) as PlistDict[];
    const scep = payloads.find((p) => p.PayloadType === 'com.apple.security.scep');
    const mdm = payloads.find((p) => p.PayloadType === 'com.apple.mdm');
    if (!scep || !mdm) throw new Error('profile lacks a SCEP or an MDM payload');
    if (mdm.IdentityCertificateUUID !== scep.PayloadUUID) throw new Error('MDM payload does not use the SCEP identity');
    // Apple's client cancels a user enrollment whose profile lacks these or declares access rights.
    if (this.enrollmentId && (mdm.EnrollmentMode !== 'BYOD' || typeof mdm.AssignedManagedAppleID !== 'string' || 'AccessRights' in mdm)) {
      throw new Error('not a user enrollment profile: EnrollmentMode BYOD and AssignedManagedAppleID are required, AccessRights forbidden');
    }
    const sc = scep.PayloadContent as PlistDict;
    const subject = ((sc.Subject ?? []) as string[][][]).map((rdn) => [rdn[0][0], rdn[0][1].replace('%ComputerName%', `${this.serialNumber}`)] as [string, string]);
    const issued = await enrollScep({
      url: sc.URL as string,
      challenge: sc.Challenge as string | undefined,
      keySize: (sc.Keysize as number | undefined) ?? 1024,
      subject,
      keyPair: this.opts.keyPair,
      fetch: this.http,
    });
    this.identity = { certificate: issued.certificateDer, key: createPrivateKey(issued.privateKeyPem) };
    this.mdm = {
      serverUrl: mdm.ServerURL as string,
      checkInUrl: (mdm.CheckInURL as string | undefined) ?? (mdm.ServerURL as string),
      topic: mdm.Topic as string,
      signMessage: mdm.SignMessage === true,
      capabilities: Array.isArray(mdm.ServerCapabilities) ? (mdm.ServerCapabilities as string[]) : [],
    };
    // A fresh enrollment (after an erase) starts Setup Assistant over.
    const awaiting = opts.awaitingConfiguration ?? this.opts.awaitingConfiguration ?? false;
    this.setupAssistant.restart(awaiting);
    await this.authenticate();
    await this.tokenUpdate({ awaitingConfiguration: awaiting });
  }

  async authenticate(): Promise<void> {
    await this.checkin({
      MessageType: 'Authenticate', Topic: this.mdm!.topic, ...this.device.ids, ...this.hardwareIds(),
      OSVersion: this.opts.osVersion ?? (this.platform === 'macOS' ? '15.4' : '18.1'),
      BuildVersion: this.opts.buildVersion ?? (this.platform === 'macOS' ? '24E248' : '22B83'),
      ProductName: this.productName(),
      DeviceName: this.deviceName(),
      ...(this.platform === 'macOS' ? { Model: 'Mac16,10', ModelName: 'Mac mini' } : {}),
    });
  }

  async tokenUpdate(opts: { awaitingConfiguration?: boolean } = {}): Promise<void> {
    await this.checkin({
      MessageType: 'TokenUpdate', Topic: this.mdm!.topic, ...this.device.ids, Token: this.device.token, PushMagic: this.device.pushMagic,
      ...(this.platform === 'iOS' ? { UnlockToken: randomBytes(64) } : {}),
      AwaitingConfiguration: opts.awaitingConfiguration ?? this.setupAssistant.awaiting,
    });
  }

  /** SetBootstrapToken, as a Mac does once set up (a new token unless one is given); clears the escrow duty. */
  async escrowBootstrapToken(token?: Buffer): Promise<void> {
    const value = token ?? this.setupAssistant.bootstrapToken ?? randomBytes(48);
    this.setupAssistant.bootstrapToken = value;
    this.setupAssistant.escrowDue = false;
    await this.checkin({ MessageType: 'SetBootstrapToken', ...this.device.ids, BootstrapToken: value, AwaitingConfiguration: this.setupAssistant.awaiting });
  }

  /** GetBootstrapToken (a Mac asks at login): the escrowed token, or undefined when the server has none. */
  async fetchBootstrapToken(): Promise<Buffer | undefined> {
    const res = await this.checkin({ MessageType: 'GetBootstrapToken', ...this.device.ids, AwaitingConfiguration: this.setupAssistant.awaiting });
    return res.body.length ? (parsePlist(res.body).BootstrapToken as Buffer) : undefined;
  }

  /** macOS: the console user's channel (TokenUpdate with UserID/UserShortName). */
  async openUserChannel(user: { userId?: string; shortName: string; longName: string }): Promise<void> {
    if (this.platform !== 'macOS') throw new Error('user channels are simulated for macOS');
    const ids = { UDID: this.udid, UserID: user.userId ?? randomUUID().toUpperCase(), UserShortName: user.shortName, UserLongName: user.longName };
    this.user = { token: randomBytes(32), pushMagic: randomUUID().toUpperCase(), ids };
    await this.checkin({ MessageType: 'TokenUpdate', Topic: this.mdm!.topic, ...ids, Token: this.user.token, PushMagic: this.user.pushMagic });
  }

  get userId(): string | undefined {
    return this.user?.ids.UserID;
  }

  async checkOut(): Promise<void> {
    await this.checkin({ MessageType: 'CheckOut', Topic: this.mdm!.topic, ...this.device.ids });
  }

  /** Sends a check-in message; returns the HTTP status and body. Throws on a non-200 unless `allowError`. */
  async checkin(message: Record<string, unknown>, opts: { allowError?: boolean } = {}): Promise<{ status: number; body: Buffer }> {
    const res = await this.put(this.mdm!.checkInUrl, buildPlist(message), 'application/x-apple-aspen-mdm-checkin');
    if (res.status !== 200 && !opts.allowError) throw new Error(`check-in ${String(message.MessageType)} answered ${res.status}: ${res.body.toString()}`);
    return res;
  }

  /**
   * One command session as after a push: Idle, then answer each command until the server
   * sends an empty body. Returns the commands answered in this session.
   */
  async connect(channel: 'device' | 'user' = 'device'): Promise<CommandAnswer[]> {
    const ch = channel === 'user' ? this.user : this.device;
    if (!ch) throw new Error('no user channel');
    const session: CommandAnswer[] = [];
    let report: Record<string, unknown> = { Status: 'Idle', ...ch.ids };
    for (let i = 0; i < 1000; i++) {
      const res = await this.put(this.mdm!.serverUrl, buildPlist(report));
      if (res.status !== 200) throw new Error(`connect answered ${res.status}: ${res.body.toString()}`);
      if (res.body.length === 0) {
        // Set up, a Mac escrows its bootstrap token — when the server said it takes one.
        if (this.setupAssistant.escrowDue && this.mdm!.capabilities.includes('com.apple.mdm.bootstraptoken')) await this.escrowBootstrapToken();
        return session;
      }
      const cmd = parsePlist(res.body);
      const uuid = cmd.CommandUUID as string;
      const command = cmd.Command as PlistDict;
      const requestType = command.RequestType as string;
      const answer = this.answer(requestType, command);
      const entry = { requestType, commandUuid: uuid, status: answer.Status as string };
      session.push(entry);
      this.answered.push(entry);
      report = { ...answer, CommandUUID: uuid, ...ch.ids };
    }
    throw new Error('server kept sending commands');
  }

  private answer(requestType: string, command: PlistDict): Record<string, unknown> {
    const i = this.notNow.indexOf(requestType);
    if (i >= 0) {
      this.notNow.splice(i, 1);
      return { Status: 'NotNow' };
    }
    const f = this.failing.indexOf(requestType);
    if (f >= 0) {
      this.failing.splice(f, 1);
      const text = `The simulated device failed ${requestType} on request.`;
      return { Status: 'Error', ErrorChain: [{ ErrorCode: 4001, ErrorDomain: 'MCSimulatedErrorDomain', LocalizedDescription: text, USEnglishDescription: text }] };
    }
    const setup = this.setupAssistant.answer(requestType, command);
    if (setup) return setup;
    const ack = { Status: 'Acknowledged', RequestType: requestType };
    switch (requestType) {
      case 'DeviceInformation': {
        const facts: Record<string, unknown> = {
          ...this.hardwareIds(), DeviceName: this.deviceName(),
          OSVersion: this.opts.osVersion ?? (this.platform === 'macOS' ? '15.4' : '18.1'), BuildVersion: this.opts.buildVersion ?? '22B83',
          ProductName: this.productName(),
          ModelName: this.platform === 'macOS' ? 'Mac mini' : 'iPhone', IsSupervised: true, ...this.setupAssistant.facts(),
        };
        const queries = (command.Queries as string[] | undefined) ?? Object.keys(facts);
        return { ...ack, QueryResponses: Object.fromEntries(queries.filter((q) => q in facts).map((q) => [q, facts[q]])) };
      }
      case 'SecurityInfo':
        return { ...ack, SecurityInfo: { PasscodePresent: true, PasscodeCompliant: true, HardwareEncryptionCaps: 3, BootstrapTokenAllowedForAuthentication: 'allowed' } };
      case 'ProfileList':
        return { ...ack, ProfileList: this.installedProfiles.map((p) => ({ PayloadIdentifier: p.identifier, PayloadUUID: randomUUID(), PayloadVersion: 1, IsManaged: true })) };
      case 'InstallProfile': {
        const payload = command.Payload as Buffer;
        try {
          const xml = payload.subarray(0, 5).toString() === '<?xml' ? payload : verifyAttached(payload).content;
          const identifier = parsePlist(xml).PayloadIdentifier as string;
          this.installedProfiles = this.installedProfiles.filter((p) => p.identifier !== identifier).concat({ identifier, payload });
          return ack;
        } catch {
          return { Status: 'Error', ErrorChain: [{ ErrorCode: 1000, ErrorDomain: 'MCProfileErrorDomain', LocalizedDescription: 'The profile is malformed.', USEnglishDescription: 'The profile is malformed.' }] };
        }
      }
      case 'RemoveProfile':
        this.installedProfiles = this.installedProfiles.filter((p) => p.identifier !== command.Identifier);
        return ack;
      case 'InstalledApplicationList':
        return { ...ack, InstalledApplicationList: [{ Identifier: 'com.apple.Preferences', Name: 'Settings', ShortVersion: '1.0', Version: '1' }] };
      case 'DeviceLock':
      case 'EraseDevice':
      case 'RestartDevice':
      case 'ShutDownDevice':
        return ack;
      default:
        return { Status: 'Error', ErrorChain: [{ ErrorCode: 12021, ErrorDomain: 'MCMDMErrorDomain', LocalizedDescription: `Unknown command ${requestType}`, USEnglishDescription: `Unknown command ${requestType}` }] };
    }
  }

  private async put(url: string, body: string, contentType?: string): Promise<{ status: number; body: Buffer }> {
    const bytes = Buffer.from(body);
    const headers: Record<string, string> = { 'user-agent': 'MDM/1.0' };
    if (contentType) headers['content-type'] = contentType;
    if (this.mdm!.signMessage) {
      headers['mdm-signature'] = signDetached(bytes, { certificate: this.identity!.certificate, privateKey: this.identity!.key }).toString('base64');
    }
    const res = await this.http(url, { method: 'PUT', headers, body: bytes });
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  }
}
