/**
 * An APNs stand-in that speaks Apple's provider API over HTTP/2 + TLS with client-certificate
 * authentication, and answers the way Apple does for MDM pushes, so the push client, the demo
 * and the device simulator exercise real wire traffic on loopback.
 */
import 'reflect-metadata'; // @peculiar/x509 needs it loaded before it is
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomUUID, webcrypto } from 'node:crypto';
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { readPushCertificate } from '../apple/push-certificate.js';

export interface ApnsSimulatorOptions {
  host?: string;
  port?: number;
  /** the server's TLS certificate and key (PEM); a self-signed one for 127.0.0.1/localhost otherwise */
  tlsCert?: string;
  tlsKey?: string;
  /** push certificates (self-signed) or CAs whose client certificates are accepted */
  trustedClientCerts: string[];
  /** how many pushes and requests to remember (oldest dropped first) */
  maxRecords?: number;
}

export interface SimulatedPush {
  token: string;
  topic: string;
  pushMagic: string;
  apnsId: string;
  at: number;
}

/** Every request as the simulator saw it, answered or not — for asserting the wire format. */
export interface SimulatedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  topic?: string;
  status: number;
  reason?: string;
}

export interface ApnsSimulatorStats {
  sessions: number; // accepted since start
  openSessions: number;
  rejectedHandshakes: number;
  pings: number;
  inFlight: number;
  maxInFlight: number;
}

export interface ApnsSimulator {
  url: string;
  /** the server's own certificate, for the client's `ca` */
  caPem: string;
  pushes: SimulatedPush[];
  requests: SimulatedRequest[];
  stats: ApnsSimulatorStats;
  /** called after each delivered push; returns an unsubscribe function */
  onPush(fn: (push: SimulatedPush) => void): () => void;
  /** later pushes to this token get 410 Unregistered */
  markUnregistered(token: string): void;
  /** the next `count` valid requests get this status (429 TooManyRequests, 503 ServiceUnavailable, 500) */
  injectFaults(status: 429 | 500 | 503, count: number): void;
  /** accept client certificates issued by (or equal to) this one from now on */
  trust(certPem: string): void;
  /** hold valid requests unanswered until resume() (to observe concurrency) */
  pause(): void;
  resume(): void;
  /** send GOAWAY on every open session, as Apple does when it recycles connections */
  closeSessions(): void;
  close(): Promise<void>;
}

const MAX_PAYLOAD = 4096;
const FAULT_REASONS: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalServerError', 503: 'ServiceUnavailable' };

class Rejection {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {}
}

export async function startApnsSimulator(opts: ApnsSimulatorOptions): Promise<ApnsSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const tls = opts.tlsCert && opts.tlsKey ? { cert: opts.tlsCert, key: opts.tlsKey } : await selfSignedServerCertificate();
  const trusted = [...opts.trustedClientCerts];
  const maxRecords = opts.maxRecords ?? 10_000;
  const pushes: SimulatedPush[] = [];
  const requests: SimulatedRequest[] = [];
  const stats: ApnsSimulatorStats = { sessions: 0, openSessions: 0, rejectedHandshakes: 0, pings: 0, inFlight: 0, maxInFlight: 0 };
  const listeners = new Set<(push: SimulatedPush) => void>();
  const unregistered = new Map<string, number>();
  const tokenTopics = new Map<string, string>(); // a token belongs to the topic it was first pushed on
  const faults: { status: number; remaining: number }[] = [];
  const sessions = new Set<Http2Session>();
  const sessionTopics = new WeakMap<Http2Session, string | null>();
  let gate: { promise: Promise<void>; open: () => void } | undefined;

  const server = http2.createSecureServer({
    ...tls,
    ca: trusted,
    requestCert: true,
    rejectUnauthorized: true,
    allowHTTP1: false,
  });
  server.on('tlsClientError', () => void stats.rejectedHandshakes++);
  server.on('session', (session) => {
    stats.sessions++;
    stats.openSessions++;
    sessions.add(session);
    session.on('error', () => {});
    session.on('ping', () => void stats.pings++);
    session.on('close', () => {
      stats.openSessions--;
      sessions.delete(session);
    });
  });
  server.on('stream', (stream, headers) => {
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    stream.on('error', () => {});
    handle(stream, headers).finally(() => void stats.inFlight--);
  });

  function record<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > maxRecords) list.splice(0, list.length - maxRecords);
  }

  function topicOf(session: Http2Session): string | null {
    if (!sessionTopics.has(session)) {
      const peer = (session.socket as TLSSocket).getPeerX509Certificate?.();
      let topic: string | null = null;
      try {
        if (peer) topic = readPushCertificate(peer.raw).topic;
      } catch {
        topic = null;
      }
      sessionTopics.set(session, topic);
    }
    return sessionTopics.get(session) ?? null;
  }

  async function handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const method = String(headers[':method']);
    const path = String(headers[':path']);
    const apnsId = typeof headers['apns-id'] === 'string' ? headers['apns-id'] : randomUUID().toUpperCase();
    const seen: SimulatedRequest = { method, path, headers: plainHeaders(headers), body: '', status: 0 };
    record(requests, seen);
    try {
      const body = await readBody(stream);
      seen.body = body;
      const push = validate(stream, headers, body);
      seen.topic = push.topic;
      const fault = faults[0];
      if (fault) {
        if (--fault.remaining <= 0) faults.shift();
        throw new Rejection(fault.status, FAULT_REASONS[fault.status] ?? 'InternalServerError');
      }
      if (unregistered.has(push.token)) throw new Rejection(410, 'Unregistered');
      if (gate) await gate.promise;
      tokenTopics.set(push.token, push.topic);
      const delivered: SimulatedPush = { ...push, apnsId, at: Date.now() };
      seen.status = 200;
      if (!stream.destroyed) {
        stream.respond({ ':status': 200, 'apns-id': apnsId });
        stream.end();
      }
      record(pushes, delivered);
      // After answering, as Apple delivers asynchronously; a listener's failure is not the sender's.
      setImmediate(() => {
        for (const fn of listeners) {
          try {
            fn(delivered);
          } catch {
            /* the device simulator reports its own errors */
          }
        }
      });
    } catch (err) {
      const rejection = err instanceof Rejection ? err : new Rejection(500, 'InternalServerError');
      seen.status = rejection.status;
      seen.reason = rejection.reason;
      if (stream.destroyed) return;
      const body: Record<string, unknown> = { reason: rejection.reason };
      if (rejection.status === 410) body.timestamp = unregistered.get(tokenFromPath(path)?.toLowerCase() ?? '') ?? Date.now();
      stream.respond({ ':status': rejection.status, 'apns-id': apnsId, 'content-type': 'application/json' });
      stream.end(JSON.stringify(body));
    }
  }

  function validate(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: string): Omit<SimulatedPush, 'apnsId' | 'at'> {
    if (headers[':method'] !== 'POST') throw new Rejection(405, 'MethodNotAllowed');
    const token = tokenFromPath(String(headers[':path']));
    if (token === undefined) throw new Rejection(404, 'BadPath');
    if (token === '') throw new Rejection(400, 'MissingDeviceToken');
    if (!/^[0-9a-f]{64,}$/i.test(token)) throw new Rejection(400, 'BadDeviceToken');
    const topic = topicOf(stream.session!);
    if (!topic) throw new Rejection(403, 'BadCertificate');
    const pushType = headers['apns-push-type'];
    if (pushType !== undefined && pushType !== 'mdm') throw new Rejection(400, 'InvalidPushType');
    const priority = headers['apns-priority'];
    if (priority !== undefined && !['5', '10'].includes(String(priority))) throw new Rejection(400, 'BadPriority');
    const askedTopic = headers['apns-topic'];
    if (askedTopic !== undefined && askedTopic !== topic) throw new Rejection(400, 'BadTopic');
    const known = tokenTopics.get(token.toLowerCase());
    if (known && known !== topic) throw new Rejection(400, 'DeviceTokenNotForTopic');
    if (body.length > MAX_PAYLOAD) throw new Rejection(413, 'PayloadTooLarge');
    if (body.trim() === '') throw new Rejection(400, 'PayloadEmpty');
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      throw new Rejection(400, 'BadMessage');
    }
    const mdm = (payload as { mdm?: unknown } | null)?.mdm;
    if (typeof mdm !== 'string' || mdm === '') throw new Rejection(400, 'BadMessage');
    return { token: token.toLowerCase(), topic, pushMagic: mdm };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    caPem: tls.cert,
    pushes,
    requests,
    stats,
    onPush(fn) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    markUnregistered(token) {
      unregistered.set(token.toLowerCase(), Date.now());
    },
    injectFaults(status, count) {
      if (count > 0) faults.push({ status, remaining: count });
    },
    trust(certPem) {
      trusted.push(certPem);
      server.setSecureContext({ ...tls, ca: trusted });
    },
    pause() {
      if (gate) return;
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
    },
    resume() {
      gate?.open();
      gate = undefined;
    },
    closeSessions() {
      for (const s of sessions) s.close();
    },
    async close() {
      gate?.open();
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `/3/device/<token>` → token ('' when missing); undefined for any other path. */
function tokenFromPath(path: string): string | undefined {
  const m = /^\/3\/device\/([^/?]*)$/.exec(path);
  return m ? decodeURIComponent(m[1]) : undefined;
}

function readBody(stream: ServerHttp2Stream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      // Keep up to one byte past the limit (so validation sees it is too large), and no more.
      if (size <= MAX_PAYLOAD) chunks.push(chunk);
      size += chunk.length;
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).subarray(0, MAX_PAYLOAD + 1).toString('utf8')));
    stream.on('error', reject);
  });
}

function plainHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** A throwaway server certificate valid for 127.0.0.1, ::1 and localhost. */
async function selfSignedServerCertificate(): Promise<{ cert: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: 'CN=Pomona APNs simulator',
      keys,
      signingAlgorithm: EC_P256,
      notBefore: new Date(now - 86_400_000),
      notAfter: new Date(now + 365 * 86_400_000),
      extensions: [
        new x509.SubjectAlternativeNameExtension([
          { type: 'ip', value: '127.0.0.1' },
          { type: 'ip', value: '::1' },
          { type: 'dns', value: 'localhost' },
        ]),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { cert: cert.toString('pem') + '\n', key };
}
