/**
 * Signed alert webhooks: POST the event as JSON with `X-Pomona-Signature: sha256=<hex HMAC-SHA256
 * of the body>` under the configured secret, and `X-Pomona-Timestamp` (epoch seconds) so a
 * receiver can refuse stale replays. 5xx answers and network errors are retried a few times with
 * backoff; a 4xx is the receiver's refusal and is not.
 */
import { createHmac } from 'node:crypto';
import type { AlertMessage } from './alert-message.js';

export interface WebhookSettings {
  url: string;
  secret: string;
  /** attempts within one delivery (the delivery queue retries again later) */
  attempts?: number;
  /** first backoff; doubled each time */
  backoffMs?: number;
  timeoutMs?: number;
}

export class WebhookError extends Error {}

export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class WebhookSender {
  constructor(
    private readonly o: WebhookSettings,
    private readonly deps: { now?: () => number; sleep?: (ms: number) => Promise<void> } = {},
  ) {}

  async send(message: AlertMessage): Promise<void> {
    const body = JSON.stringify(message);
    const attempts = this.o.attempts ?? 3;
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let last = '';
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep((this.o.backoffMs ?? 1000) * 2 ** (i - 1));
      try {
        const res = await fetch(this.o.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-pomona-signature': signature(this.o.secret, body),
            'x-pomona-timestamp': String(Math.floor((this.deps.now ?? Date.now)() / 1000)),
            'x-pomona-event': message.event,
          },
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
        });
        await res.body?.cancel();
        if (res.ok) return;
        last = `HTTP ${res.status}`;
        if (res.status < 500) break;
      } catch (err) {
        last = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
      }
    }
    throw new WebhookError(`webhook ${new URL(this.o.url).host}: ${last}`);
  }
}
