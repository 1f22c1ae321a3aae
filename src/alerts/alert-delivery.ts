/**
 * Sends the deliveries alert events queued (e-mail, webhook). A failure — SMTP server down,
 * webhook answering 500 or unreachable — is logged and retried on a later run with growing
 * delays, up to a bound; it never stops the other deliveries or the job.
 */
import type { Logger } from 'pino';
import type { AlertStore } from './alert-store.js';
import { alertMessage, type AlertMessage } from './alert-message.js';

export interface AlertChannels {
  email?: { send(message: AlertMessage, recipients: string[]): Promise<void> };
  webhook?: { send(message: AlertMessage): Promise<void> };
}

export interface AlertDeliveryOptions {
  store: AlertStore;
  channels: AlertChannels;
  log: Logger;
  now?: () => number;
  /** attempts before a delivery is given up */
  maxAttempts?: number;
  /** delay before the first retry; doubled each time, at most `maxRetryMs` */
  retryMs?: number;
  maxRetryMs?: number;
  /** deliveries sent per run (the rest wait for the next run) */
  batch?: number;
}

export class AlertDelivery {
  readonly #now: () => number;

  constructor(private readonly o: AlertDeliveryOptions) {
    this.#now = o.now ?? Date.now;
  }

  /** Sends what is due; returns how many were delivered and how many failed this time. */
  async deliverDue(heartbeat: () => Promise<void> = async () => {}): Promise<{ delivered: number; failed: number }> {
    let delivered = 0;
    let failed = 0;
    for (const d of await this.o.store.dueDeliveries(this.#now(), this.o.batch ?? 100)) {
      await heartbeat();
      const event = await this.o.store.event(d.event_id);
      const attempts = d.attempts + 1;
      const log = this.o.log.child({ alert: event?.alert_key, channel: d.channel, delivery: d.id, attempt: attempts });
      try {
        if (!event) throw new Error('its alert event is gone');
        const message = alertMessage(event);
        if (d.channel === 'email') {
          if (!this.o.channels.email) throw new Error('e-mail is not configured');
          await this.o.channels.email.send(message, JSON.parse(d.recipients_json) as string[]);
        } else {
          if (!this.o.channels.webhook) throw new Error('no webhook is configured');
          await this.o.channels.webhook.send(message);
        }
        await this.o.store.delivered(d.id, attempts, this.#now());
        log.info('alert delivered');
        delivered++;
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        const giveUp = attempts >= (this.o.maxAttempts ?? 10);
        const delay = Math.min((this.o.retryMs ?? 60_000) * 2 ** (attempts - 1), this.o.maxRetryMs ?? 6 * 3_600_000);
        await this.o.store.failed(d.id, attempts, reason, giveUp ? null : this.#now() + delay);
        if (giveUp) log.error({ reason }, 'alert delivery failed; giving up');
        else log.warn({ reason, retryInMs: delay }, 'alert delivery failed; will retry');
        failed++;
      }
    }
    return { delivered, failed };
  }
}
