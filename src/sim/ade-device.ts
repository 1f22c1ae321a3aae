/**
 * A device in Setup Assistant going through Automated Device Enrollment, over HTTP only:
 * activation asks the ABM simulator for its cloud configuration; the device then POSTs its
 * signed MachineInfo to the profile's `url`, or opens `configuration_web_url` in a web view
 * (with `x-apple-aspen-deviceinfo`) and signs in there; an answer of Apple's
 * `com.apple.softwareupdate.required` makes it "update" to the version asked and try again;
 * finally it installs the enrollment profile (SCEP, Authenticate, TokenUpdate — awaiting
 * configuration when the profile says so).
 */
import { parsePlist, type PlistDict } from '../apple/plist.js';
import { SimulatedDevice, type SimulatedDeviceOptions } from './device.js';
import { signMachineInfo, type DeviceIdentity } from './device-identity-ca.js';
import { WebBrowser, errorText, inputValue, signInPathOf, statusText, type Page } from './web-browser.js';

export interface AdeDeviceOptions extends Omit<SimulatedDeviceOptions, 'serialNumber' | 'udid' | 'osVersion' | 'buildVersion' | 'productName'> {
  serial: string;
  udid: string;
  /** e.g. iPhone15,2, iPad13,18, Mac14,7 */
  product: string;
  osVersion: string;
  build: string;
  /** MDM_CAN_REQUEST_SOFTWARE_UPDATE (iOS 17 / macOS 14 and later) */
  canRequestSoftwareUpdate?: boolean;
  identity: DeviceIdentity;
  /** the ABM simulator the device activates against */
  abmUrl: string;
  /** how the user gets through the web view's pages; required for profiles with authentication */
  signIn?: (browser: WebBrowser, page: Page) => Promise<Page>;
}

export type SetupOutcome =
  | { kind: 'enrolled'; updatedTo?: string }
  | { kind: 'refused'; status: number; message: string }
  | { kind: 'no-profile'; reason: string };

export interface CloudConfiguration {
  url: string;
  configuration_web_url?: string;
  await_device_configured?: boolean;
  profile_uuid: string;
  [key: string]: unknown;
}

export class AdeDevice {
  readonly device: SimulatedDevice;
  /** what happened, in order (for tests and the demo's log) */
  readonly steps: string[] = [];
  osVersion: string;
  build: string;
  configuration?: CloudConfiguration;

  constructor(private readonly o: AdeDeviceOptions) {
    this.osVersion = o.osVersion;
    this.build = o.build;
    this.device = new SimulatedDevice({ ...o, serialNumber: o.serial, udid: o.udid, osVersion: o.osVersion, buildVersion: o.build, productName: o.product, platform: o.product.includes('Mac') ? 'macOS' : 'iOS' });
  }

  #presigned?: { osVersion: string; build: string; der: Buffer };

  /**
   * Signs the MachineInfo ahead of time; it is sent as long as the OS stays the same (benchmarks
   * keep the device's own signing out of their measured window).
   */
  presignMachineInfo(): void {
    this.#presigned = undefined;
    this.#presigned = { osVersion: this.osVersion, build: this.build, der: this.machineInfo() };
  }

  /** The signed MachineInfo this device sends now (its OS changes after an update). */
  machineInfo(): Buffer {
    const presigned = this.#presigned;
    if (presigned && presigned.osVersion === this.osVersion && presigned.build === this.build) return presigned.der;
    return signMachineInfo({
      UDID: this.o.udid, SERIAL: this.o.serial, PRODUCT: this.o.product, VERSION: this.build, OS_VERSION: this.osVersion,
      LANGUAGE: 'en', MDM_CAN_REQUEST_SOFTWARE_UPDATE: this.o.canRequestSoftwareUpdate ?? true, SOFTWARE_UPDATE_DEVICE_ID: 'SIM1AP',
    }, this.o.identity);
  }

  async activate(): Promise<{ ok: true; configuration: CloudConfiguration } | { ok: false; reason: string }> {
    const res = await fetch(`${this.o.abmUrl}/_sim/devices/${encodeURIComponent(this.o.serial)}/activate`, { method: 'POST' });
    // 200: the cloud configuration itself; 404: {reason} (UNKNOWN_DEVICE, NO_PROFILE…)
    const json = (await res.json()) as CloudConfiguration & { reason?: string };
    if (res.status !== 200) return { ok: false, reason: json.reason ?? `activation answered ${res.status}` };
    this.configuration = json;
    this.steps.push(`activated: profile ${json.profile_uuid}`);
    return { ok: true, configuration: json };
  }

  /** Activation to enrolled. At most one software update, as a device would do before giving up. */
  async run(): Promise<SetupOutcome> {
    const activation = await this.activate();
    if (!activation.ok) return { kind: 'no-profile', reason: activation.reason };
    const config = activation.configuration;
    let updatedTo: string | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = config.configuration_web_url ? await this.#webView(config.configuration_web_url) : await this.#post(config.url);
      if (answer.kind === 'profile') {
        this.steps.push('profile received');
        await this.device.enroll(answer.body, { awaitingConfiguration: config.await_device_configured === true });
        this.steps.push(config.await_device_configured ? 'enrolled, awaiting configuration' : 'enrolled');
        return { kind: 'enrolled', updatedTo };
      }
      if (answer.kind === 'update' && attempt === 0) {
        this.steps.push(`software update required: ${answer.osVersion}${answer.buildVersion ? ` (${answer.buildVersion})` : ''}`);
        this.osVersion = answer.osVersion;
        if (answer.buildVersion) this.build = answer.buildVersion;
        updatedTo = answer.osVersion;
        continue;
      }
      const message = answer.kind === 'refused' ? answer.message : 'asked to update again after updating';
      this.steps.push(`refused: ${message}`);
      return { kind: 'refused', status: answer.kind === 'refused' ? answer.status : 403, message };
    }
    return { kind: 'refused', status: 403, message: 'gave up' };
  }

  async #post(url: string): Promise<Answer> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/pkcs7-signature' }, body: new Uint8Array(this.machineInfo()) });
    return answerOf(res.status, res.headers, Buffer.from(await res.arrayBuffer()));
  }

  async #webView(url: string): Promise<Answer> {
    const browser = new WebBrowser(new URL(url).origin, 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148');
    let page = await browser.get(url, { headers: { 'x-apple-aspen-deviceinfo': this.machineInfo().toString('base64') } });
    this.steps.push('web view opened');
    if (page.status === 200 && isHtml(page) && this.o.signIn) page = await this.o.signIn(browser, page);
    return answerOf(page.status, page.headers, page.body);
  }
}

type Answer =
  | { kind: 'profile'; body: Buffer }
  | { kind: 'update'; osVersion: string; buildVersion?: string }
  | { kind: 'refused'; status: number; message: string };

const isHtml = (p: { headers: Headers }) => (p.headers.get('content-type') ?? '').startsWith('text/html');

function answerOf(status: number, headers: Headers, body: Buffer): Answer {
  const type = headers.get('content-type') ?? '';
  if (status === 200 && type.startsWith('application/x-apple-aspen-config')) return { kind: 'profile', body };
  if (type.startsWith('application/json')) {
    const json = JSON.parse(body.toString('utf8')) as { code?: string; message?: string; details?: { OSVersion?: string; BuildVersion?: string } };
    if (status === 403 && json.code === 'com.apple.softwareupdate.required' && json.details?.OSVersion) {
      return { kind: 'update', osVersion: json.details.OSVersion, buildVersion: json.details.BuildVersion };
    }
    return { kind: 'refused', status, message: json.message ?? `answered ${status}` };
  }
  if (type.startsWith('text/html')) {
    const html = body.toString('utf8');
    return { kind: 'refused', status, message: errorText(html) ?? statusText(html) ?? `page answered ${status}` };
  }
  return { kind: 'refused', status, message: `answered ${status} (${type || 'no content type'})` };
}

/**
 * The usual way through Pomona's sign-in pages: user name and password, then the terms of use
 * when the group has them (and a Mac's primary account). Returns the last page (the profile, or
 * where it stopped).
 */
export function passwordSignIn(username: string, password: string, o: { macAccount?: { fullName?: string; shortName?: string } } = {}): (browser: WebBrowser, page: Page) => Promise<Page> {
  return formSignIn('password', { username, password }, o);
}

/** The same with a registration token (single-factor: the token alone). */
export function tokenSignIn(token: string, o: { macAccount?: { fullName?: string; shortName?: string } } = {}): (browser: WebBrowser, page: Page) => Promise<Page> {
  return formSignIn('token', { token }, o);
}

function formSignIn(form: 'password' | 'token', fields: Record<string, string>, o: { macAccount?: { fullName?: string; shortName?: string } }): (browser: WebBrowser, page: Page) => Promise<Page> {
  return async (browser, page) => {
    const path = signInPathOf(page.text) ?? new URL(page.url).pathname;
    const csrf = inputValue(page.text, 'csrf') ?? '';
    let next = await browser.post(`${path}/${form}`, { csrf, ...fields });
    if (isHtml(next) && next.text.includes('name="decision"')) {
      next = await browser.post(`${path}/terms`, { csrf: inputValue(next.text, 'csrf') ?? csrf, version: inputValue(next.text, 'version') ?? '', decision: 'accept' });
    }
    // A Mac: the primary account Pomona proposes, taken as is unless the user types another.
    const account = isHtml(next) ? /<form method="post" action="([^"]*\/account)"/.exec(next.text) : null;
    if (account) {
      next = await browser.post(account[1]!, {
        csrf: inputValue(next.text, 'csrf') ?? csrf,
        fullName: o.macAccount?.fullName ?? inputValue(next.text, 'fullName') ?? '',
        shortName: o.macAccount?.shortName ?? inputValue(next.text, 'shortName') ?? '',
      });
    }
    return next;
  };
}

/** The enrollment profile's MDM payload, for checks. */
export function mdmPayloadOf(profileXml: Buffer): PlistDict | undefined {
  return ((parsePlist(profileXml).PayloadContent ?? []) as PlistDict[]).find((p) => p.PayloadType === 'com.apple.mdm');
}
