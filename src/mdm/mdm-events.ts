/**
 * What happened on the device channel, for whoever wants to react (await-configuration
 * workflows, webhooks, metrics). Listeners run after the change is committed; a listener
 * that throws is logged, never allowed to fail the device's request.
 */
import { EventEmitter } from 'node:events';

export interface MdmEventMap {
  /** `type`: the channel's enrollment type (Device, User Enrollment (Device), Shared iPad…) */
  authenticate: { enrollmentId: string; deviceId: string; type: string; reEnrollment: boolean };
  tokenUpdate: { enrollmentId: string; deviceId: string; type: string; tally: number; awaitingConfiguration: boolean };
  checkOut: { enrollmentId: string; deviceId: string };
  commandResult: { enrollmentId: string; deviceId: string; commandUuid: string; requestType: string; status: string };
}

export class MdmEvents {
  readonly #emitter = new EventEmitter();

  constructor(private readonly onListenerError: (err: unknown, event: string) => void = () => {}) {}

  on<K extends keyof MdmEventMap>(event: K, listener: (e: MdmEventMap[K]) => void | Promise<void>): void {
    this.#emitter.on(event, (e: MdmEventMap[K]) => {
      try {
        Promise.resolve(listener(e)).catch((err) => this.onListenerError(err, event));
      } catch (err) {
        this.onListenerError(err, event);
      }
    });
  }

  emit<K extends keyof MdmEventMap>(event: K, e: MdmEventMap[K]): void {
    this.#emitter.emit(event, e);
  }
}
