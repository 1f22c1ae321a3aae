/**
 * Simulated devices wake on the pushes the APNs simulator delivers and connect, as real devices
 * do: that is how a Mac awaiting configuration gets its setup commands. One session per device
 * at a time; a push that arrives during a session starts another when it ends (the server may
 * have queued more since the session's last poll).
 */
import type { ApnsSimulator } from '../sim/apns.js';
import type { SimulatedDevice } from '../sim/device.js';

export class PushWake {
  readonly #devices = new Map<string, SimulatedDevice>();
  readonly #busy = new Map<SimulatedDevice, { again: boolean }>();
  readonly #unsubscribe: () => void;

  /** `afterSession` runs after each command session of a device (to report what changed). */
  constructor(apns: ApnsSimulator, private readonly afterSession: (device: SimulatedDevice, error?: unknown) => void) {
    this.#unsubscribe = apns.onPush((p) => {
      const device = this.#devices.get(p.token);
      if (device) this.#wake(device);
    });
  }

  add(device: SimulatedDevice): void {
    this.#devices.set(device.pushToken, device);
  }

  /** Stops answering pushes (sessions under way finish on their own). */
  close(): void {
    this.#unsubscribe();
    this.#devices.clear();
  }

  #wake(device: SimulatedDevice): void {
    const busy = this.#busy.get(device);
    if (busy) {
      busy.again = true;
      return;
    }
    const state = { again: false };
    this.#busy.set(device, state);
    void (async () => {
      do {
        state.again = false;
        try {
          await device.connect();
          this.afterSession(device);
        } catch (err) {
          this.afterSession(device, err);
        }
      } while (state.again && this.#devices.has(device.pushToken));
      this.#busy.delete(device);
    })();
  }
}
