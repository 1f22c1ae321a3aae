/**
 * The byte-level side of the simulator's HTTP: reading bounded request bodies and writing
 * answers — whole, cut short (truncate fault) or padded to an enormous size (enormous fault).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const STATUS_CODES: Record<number, string> = {
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

export function flatHeaders(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** The body, or undefined when it exceeds `max` (the rest is drained). */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface Outgoing {
  status: number;
  body: string | Buffer;
  headers: Record<string, string>;
}

export function send(res: ServerResponse, out: Outgoing, close = false): void {
  const buf = typeof out.body === 'string' ? Buffer.from(out.body, 'utf8') : out.body;
  res.writeHead(out.status, { ...out.headers, 'Content-Length': String(buf.length), ...(close ? { Connection: 'close' } : {}) });
  res.end(buf);
}

/** The real answer announced in full but cut short, then the connection closes. */
export function sendTruncated(res: ServerResponse, out: Outgoing & { body: string }, bytes?: number): void {
  const buf = Buffer.from(out.body, 'utf8');
  const n = Math.max(0, Math.min(buf.length - 1, bytes ?? Math.floor(buf.length / 2)));
  res.writeHead(out.status, { ...out.headers, 'Content-Length': String(buf.length) });
  res.write(buf.subarray(0, n), () => res.socket?.destroy());
}

/** Waits for the response to drain or close, leaving no listener behind (a page is many waits). */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

/** The real answer with a huge unknown field, streamed (chunked unless withLength). */
export async function sendEnormous(res: ServerResponse, out: Outgoing & { body: string }, bytes: number, withLength: boolean): Promise<void> {
  const body = out.body.endsWith('}') ? out.body.slice(0, -1) : '{"x":0';
  const open = Buffer.from(`${body}${body.length > 1 ? ',' : ''}"padding":"`);
  const close = Buffer.from('"}');
  const padTotal = Math.max(0, bytes - open.length - close.length);
  const headers: Record<string, string> = { ...out.headers };
  if (withLength) headers['Content-Length'] = String(open.length + padTotal + close.length);
  res.writeHead(out.status, headers);
  const chunk = Buffer.alloc(64 * 1024, 'x');
  res.write(open);
  for (let sent = 0; sent < padTotal && !res.destroyed; ) {
    const n = Math.min(chunk.length, padTotal - sent);
    if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await drainedOrClosed(res);
    sent += n;
  }
  if (!res.destroyed) res.end(close);
}
