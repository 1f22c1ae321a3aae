/**
 * The demo's devices going through Setup Assistant at a gentle pace, each on its own once
 * started: activation, MachineInfo or the web view (signing in as the demo user), a software
 * update when asked, the profile, SCEP and check-in; Macs then wait for their setup commands,
 * which arrive through APNs-simulator pushes. One line per device as it gets its outcome.
 */
import type { ApnsSimulator } from '../sim/apns.js';
import { AdeDevice, passwordSignIn, type SetupOutcome } from '../sim/ade-device.js';
import type { DeviceIdentity } from '../sim/device-identity-ca.js';
import type { SimulatedDevice } from '../sim/device.js';
import type { DemoDeviceSpec } from './demo-fleet.js';
import { DEMO_USER, DEMO_USER_PASSWORD } from './demo-setup.js';
import { PushWake } from './push-wake.js';

export type DemoOutcome = SetupOutcome | { kind: 'failed'; message: string };

export interface DemoResult {
  spec: DemoDeviceSpec;
  outcome: DemoOutcome;
  /** the outcome is the one the fleet plan expects */
  asExpected: boolean;
  /** a Mac awaiting configuration: released from Setup Assistant, its bootstrap token escrowed */
  released?: boolean;
  seconds: number;
}

export interface DemoDevicesOptions {
  fleet: DemoDeviceSpec[];
  abmUrl: string;
  apns: ApnsSimulator;
  issueIdentity(): Promise<DeviceIdentity>;
  paceMs: number;
  print(line: string): void;
}

export class DemoDevices {
  readonly #wake: PushWake;
  readonly #awaiting = new Map<SimulatedDevice, () => void>();
  #stopped = false;
  #pause?: { timer: NodeJS.Timeout; done: () => void };

  constructor(private readonly o: DemoDevicesOptions) {
    this.#wake = new PushWake(o.apns, (device, err) => {
      if (this.#stopped) return;
      if (err) this.o.print(`          ${device.serialNumber}  a command session failed: ${err instanceof Error ? err.message : String(err)}`);
      const released = this.#awaiting.get(device);
      // Released once Setup Assistant got DeviceConfigured and the Mac escrowed its bootstrap token.
      if (released && device.setupAssistant.configured && !device.setupAssistant.escrowDue) {
        this.#awaiting.delete(device);
        released();
      }
    });
  }

  /** Starts the devices one by one; resolves with every result once each is done. */
  async run(): Promise<DemoResult[]> {
    const runs: Promise<DemoResult>[] = [];
    for (let i = 0; i < this.o.fleet.length && !this.#stopped; i++) {
      if (i > 0) await this.#sleep(this.o.paceMs);
      if (!this.#stopped) runs.push(this.#one(this.o.fleet[i]!, i));
    }
    return Promise.all(runs);
  }

  stop(): void {
    this.#stopped = true;
    this.#wake.close();
    if (this.#pause) {
      clearTimeout(this.#pause.timer);
      this.#pause.done();
    }
  }

  summary(results: DemoResult[]): string {
    const enrolled = results.filter((r) => r.outcome.kind === 'enrolled');
    const updated = enrolled.filter((r) => r.outcome.kind === 'enrolled' && r.outcome.updatedTo).length;
    const refused = results.filter((r) => r.outcome.kind === 'refused').length;
    const released = results.filter((r) => r.released).length;
    const unexpected = results.filter((r) => !r.asExpected).length;
    return [
      `All ${results.length} devices done: ${enrolled.length} enrolled (${updated} after a software update), ${refused} refused`,
      released ? `, ${released} Mac${released === 1 ? '' : 's'} configured and released` : '',
      unexpected ? `; ${unexpected} did not do what the demo expected` : '',
      '.',
    ].join('');
  }

  async #one(spec: DemoDeviceSpec, index: number): Promise<DemoResult> {
    const t0 = performance.now();
    const ade = new AdeDevice({
      serial: spec.serial, udid: spec.udid, product: spec.product, osVersion: spec.osVersion, build: spec.build,
      canRequestSoftwareUpdate: spec.canUpdate, identity: await this.o.issueIdentity(), abmUrl: this.o.abmUrl,
      signIn: passwordSignIn(DEMO_USER, DEMO_USER_PASSWORD),
    });
    const awaitsConfiguration = spec.profile === 'macs';
    const released = awaitsConfiguration ? new Promise<void>((resolve) => this.#awaiting.set(ade.device, resolve)) : undefined;
    this.#wake.add(ade.device);
    let outcome: DemoOutcome;
    try {
      outcome = await ade.run();
    } catch (err) {
      outcome = { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
    }
    const asExpected = spec.expect === 'refused'
      ? outcome.kind === 'refused'
      : outcome.kind === 'enrolled' && Boolean(outcome.updatedTo) === (spec.expect === 'updated');
    const result: DemoResult = { spec, outcome, asExpected, seconds: (performance.now() - t0) / 1000 };
    if (this.#stopped) return result;
    const prefix = `  [${String(index + 1).padStart(String(this.o.fleet.length).length)}/${this.o.fleet.length}] ${spec.serial}`;
    this.o.print(`${prefix}  ${`${spec.model}, ${osName(spec)} ${spec.osVersion}`.padEnd(38)} ${describe(spec, outcome)}${asExpected ? '' : ` — UNEXPECTED (the demo expected: ${spec.expect})`}  ${result.seconds.toFixed(1)} s`);
    if (outcome.kind === 'enrolled' && released) {
      await released;
      result.released = true;
      const admin = ade.device.setupAssistant.accountConfiguration?.managedAdmin?.shortName;
      if (!this.#stopped) this.o.print(`${prefix}  ${''.padEnd(38)} configured${admin ? ` (managed admin ${admin})` : ''}, released from Setup Assistant, bootstrap token escrowed  ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } else {
      this.#awaiting.delete(ade.device);
    }
    return result;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#pause = undefined;
        resolve();
      };
      this.#pause = { timer: setTimeout(done, ms), done };
    });
  }
}

const osName = (spec: DemoDeviceSpec) => (spec.family === 'Mac' ? 'macOS' : spec.family === 'iPad' ? 'iPadOS' : 'iOS');

function describe(spec: DemoDeviceSpec, outcome: DemoOutcome): string {
  switch (outcome.kind) {
    case 'enrolled': {
      const how = spec.profile === 'signIn' ? `signed in as ${DEMO_USER} in the web view, accepted the terms, enrolled` : spec.profile === 'macs' ? 'enrolled, awaiting configuration' : 'enrolled (no sign-in)';
      return outcome.updatedTo ? `asked to update to ${osName(spec)} ${outcome.updatedTo}: updated, then ${how}` : how;
    }
    case 'refused':
      return `refused (${outcome.status}): ${outcome.message}`;
    case 'no-profile':
      return `no enrollment profile: ${outcome.reason}`;
    case 'failed':
      return `failed: ${outcome.message}`;
  }
}
