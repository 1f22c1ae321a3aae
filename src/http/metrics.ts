/**
 * Prometheus metrics (`GET /metrics`, text format). One registry per context, so two servers
 * in one process (tests) never share counters. Counters are fed by hooks the services already
 * offer (MDM events, the DEP client's `onCall`, push outcomes, sync and job ends, ADE steps) and
 * by a wrapper around the check-in service; gauges that need a look at the database (token and
 * certificate expiry) are read on scrape only, so the device path pays no query for them.
 */
import { timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { MdmEvents } from '../mdm/mdm-events.js';
import type { CheckinReply, DeviceMessage } from '../mdm/checkin-service.js';
import type { PresentedCertificate } from '../mdm/identity-auth.js';
import { DeviceRefusal } from '../mdm/device-refusal.js';
import type { PushOutcome } from '../mdm/push/push-service.js';
import type { DepCallEvent } from '../abm/dep-client.js';
import type { SyncResult } from '../abm/sync-service.js';
import type { DatabaseHandle } from '../db/database.js';

/** What the expiry gauges read on scrape. */
export interface ExpirySources {
  pushCertificates(): Promise<{ topic: string; notAfter: number }[]>;
  abmServers(): Promise<{ id: string; name: string; tokenExpiresAt: number | null }[]>;
}

/** What the open-alerts gauge reads on scrape (the alert service's counts). */
export interface OpenAlertSource {
  openCounts(): Promise<{ kind: string; severity: string; open: number }[]>;
}

type Checkins = { handle(msg: DeviceMessage, cert: PresentedCertificate): Promise<CheckinReply> };

/** Seconds, from 1 ms to 10 s: device answers are a few ms, an ABM page or a profile build more. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();
  readonly #http: Histogram<'method' | 'route' | 'status'>;
  readonly #checkins: Counter<'message_type' | 'outcome'>;
  readonly #commandResults: Counter<'request_type' | 'status'>;
  readonly #enrollments: Counter<'event'>;
  readonly #pushes: Counter<'outcome'>;
  readonly #dep: Counter<'endpoint' | 'outcome'>;
  readonly #depSeconds: Histogram<'endpoint'>;
  readonly #syncSeconds: Histogram<'outcome'>;
  readonly #syncDevices: Counter<'change'>;
  readonly #adeSteps: Counter<'step' | 'outcome'>;
  readonly #jobs: Counter<'job' | 'outcome'>;
  readonly #jobSeconds: Histogram<'job'>;

  constructor(o: { database: Pick<DatabaseHandle, 'dialect' | 'pool'>; expiry?: ExpirySources; alerts?: OpenAlertSource; onCollectError?: (err: unknown) => void }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'pomona_' });
    this.#http = new Histogram({
      name: 'pomona_http_request_duration_seconds', help: 'HTTP requests by route pattern and status', labelNames: ['method', 'route', 'status'], buckets: HTTP_BUCKETS, registers,
    });
    this.#checkins = new Counter({ name: 'pomona_mdm_checkins_total', help: 'Check-in messages by MessageType and outcome (ok, refused, failed)', labelNames: ['message_type', 'outcome'], registers });
    this.#commandResults = new Counter({ name: 'pomona_mdm_command_results_total', help: 'Command results devices reported, by RequestType and Status', labelNames: ['request_type', 'status'], registers });
    this.#enrollments = new Counter({ name: 'pomona_mdm_enrollment_events_total', help: 'Enrollment channel events: authenticate, re-authenticate, token-update, check-out', labelNames: ['event'], registers });
    this.#pushes = new Counter({ name: 'pomona_push_notifications_total', help: 'APNs pushes by outcome (sent, invalid-token, failed, no-token, no-certificate)', labelNames: ['outcome'], registers });
    this.#dep = new Counter({ name: 'pomona_dep_requests_total', help: "Requests to Apple's DEP API by endpoint and outcome (HTTP status, network, timeout)", labelNames: ['endpoint', 'outcome'], registers });
    this.#depSeconds = new Histogram({ name: 'pomona_dep_request_duration_seconds', help: "Requests to Apple's DEP API by endpoint", labelNames: ['endpoint'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    this.#syncSeconds = new Histogram({ name: 'pomona_abm_sync_duration_seconds', help: 'ABM device syncs by outcome (ok, failed)', labelNames: ['outcome'], buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600], registers });
    this.#syncDevices = new Counter({ name: 'pomona_abm_sync_devices_total', help: 'Devices ABM syncs changed: added, modified, deleted, missing', labelNames: ['change'], registers });
    this.#adeSteps = new Counter({ name: 'pomona_ade_steps_total', help: 'ADE enrollment steps (enrollment-request, web-view, custom-page, profile-delivered) by outcome', labelNames: ['step', 'outcome'], registers });
    this.#jobs = new Counter({ name: 'pomona_job_runs_total', help: 'Periodic job ticks by job and outcome', labelNames: ['job', 'outcome'], registers });
    this.#jobSeconds = new Histogram({ name: 'pomona_job_run_duration_seconds', help: 'Periodic job ticks by job', labelNames: ['job'], buckets: [0.01, 0.1, 0.5, 1, 5, 30, 120, 600], registers });

    const onError = o.onCollectError ?? (() => {});
    const expiry = o.expiry;
    new Gauge({
      name: 'pomona_push_certificate_expiry_timestamp_seconds', help: 'When each push certificate expires (Unix time)', labelNames: ['topic'], registers,
      async collect() {
        this.reset();
        if (!expiry) return;
        try {
          for (const c of await expiry.pushCertificates()) this.set({ topic: c.topic }, c.notAfter / 1000);
        } catch (err) {
          onError(err);
        }
      },
    });
    new Gauge({
      name: 'pomona_abm_token_expiry_timestamp_seconds', help: "When each ABM server's token expires (Unix time)", labelNames: ['server_id', 'server'], registers,
      async collect() {
        this.reset();
        if (!expiry) return;
        try {
          for (const s of await expiry.abmServers()) if (s.tokenExpiresAt !== null) this.set({ server_id: s.id, server: s.name }, s.tokenExpiresAt / 1000);
        } catch (err) {
          onError(err);
        }
      },
    });
    // A kind whose alerts all resolved reads 0, not absent, so a rule on the gauge sees the drop.
    const alerts = o.alerts;
    const seen = new Set<string>();
    new Gauge({
      name: 'pomona_alerts_open', help: 'Open alerts (state not ok) by kind and severity', labelNames: ['kind', 'severity'], registers,
      async collect() {
        if (!alerts) return;
        try {
          const counts = await alerts.openCounts();
          for (const key of seen) this.set(JSON.parse(key) as { kind: string; severity: string }, 0);
          for (const c of counts) {
            const labels = { kind: c.kind, severity: c.severity };
            seen.add(JSON.stringify(labels));
            this.set(labels, c.open);
          }
        } catch (err) {
          // Stale counts would mislead: none rather than old ones.
          this.reset();
          seen.clear();
          onError(err);
        }
      },
    });
    // SQLite: one connection, always there. PostgreSQL: the pool's own counts.
    const pool = o.database.pool;
    new Gauge({
      name: 'pomona_db_pool_connections', help: 'Database connections by state (total, idle, waiting clients); SQLite: total 1', labelNames: ['state'], registers,
      collect() {
        if (!pool) {
          this.set({ state: 'total' }, 1);
          return;
        }
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
  }

  /** Command results and enrollment events from the device channel. */
  listen(events: MdmEvents): void {
    events.on('commandResult', (e) => this.#commandResults.inc({ request_type: e.requestType || 'unknown', status: e.status }));
    events.on('authenticate', (e) => this.#enrollments.inc({ event: e.reEnrollment ? 're-authenticate' : 'authenticate' }));
    events.on('tokenUpdate', () => this.#enrollments.inc({ event: 'token-update' }));
    events.on('checkOut', () => this.#enrollments.inc({ event: 'check-out' }));
  }

  /** The check-in service, counting every message by MessageType (all of them, not only those that raise events). */
  countCheckins(inner: Checkins): Checkins {
    const counter = this.#checkins;
    return {
      async handle(msg, cert) {
        try {
          const reply = await inner.handle(msg, cert);
          counter.inc({ message_type: msg.messageType, outcome: 'ok' });
          return reply;
        } catch (err) {
          counter.inc({ message_type: msg.messageType, outcome: err instanceof DeviceRefusal ? 'refused' : 'failed' });
          throw err;
        }
      },
    };
  }

  readonly pushOutcomes = (outcomes: PushOutcome[]): void => {
    for (const o of outcomes) this.#pushes.inc({ outcome: o.status });
  };

  readonly depCall = (e: DepCallEvent): void => {
    this.#dep.inc({ endpoint: e.endpoint, outcome: String(e.status) });
    this.#depSeconds.observe({ endpoint: e.endpoint }, e.ms / 1000);
  };

  readonly syncRun = (e: { result?: SyncResult; durationMs: number }): void => {
    this.#syncSeconds.observe({ outcome: e.result ? 'ok' : 'failed' }, e.durationMs / 1000);
    if (!e.result) return;
    for (const change of ['added', 'modified', 'deleted', 'missing'] as const) if (e.result[change]) this.#syncDevices.inc({ change }, e.result[change]);
  };

  readonly adeStep = (e: { step: string; outcome: string }): void => {
    this.#adeSteps.inc({ step: e.step, outcome: e.outcome });
  };

  readonly jobRun = (e: { job: string; outcome: string; ms: number }): void => {
    this.#jobs.inc({ job: e.job, outcome: e.outcome });
    this.#jobSeconds.observe({ job: e.job }, e.ms / 1000);
  };

  /** One observation per request, labelled with the route's pattern (`/api/v1/devices/:id`), never the URL. */
  httpRequest(request: FastifyRequest, reply: FastifyReply): void {
    // Unmatched URLs (404s, scanners) share one label, so they cannot grow the series without bound.
    const route = request.routeOptions.url ?? 'unmatched';
    this.#http.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  }
}

export interface MetricsEndpointOptions {
  metrics: Metrics;
  /** false: no `/metrics` route (requests are still counted, nothing else changes) */
  enabled: boolean;
  /** when set, scrapes must send `Authorization: Bearer <token>` */
  bearerToken?: string;
}

/** Counts every request and answers `GET /metrics`. Registered on the root instance, so its hook sees every route. */
export function registerMetrics(app: FastifyInstance, o: MetricsEndpointOptions): void {
  app.addHook('onResponse', (request, reply, done) => {
    o.metrics.httpRequest(request, reply);
    done();
  });
  if (!o.enabled) return;
  const expected = o.bearerToken ? Buffer.from(`Bearer ${o.bearerToken}`) : undefined;
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (expected && !sameBytes(Buffer.from(request.headers.authorization ?? ''), expected)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'metrics need the bearer token from the metricsToken setting' });
    }
    return reply.type(o.metrics.registry.contentType).send(await o.metrics.registry.metrics());
  });
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  // Constant-time for equal lengths; a length mismatch says nothing about the token's bytes.
  return a.length === b.length && timingSafeEqual(a, b);
}
