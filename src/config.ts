/**
 * One typed configuration. Sources, lowest precedence first: defaults, a JSON config
 * file (POMONA_CONFIG or --config), environment variables POMONA_*, command-line flags.
 * Every problem is collected and reported as one line each, so an admin fixes them all at once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hostname } from 'node:os';

export interface Config {
  publicUrl: string;
  listen: { host: string; port: number };
  databaseUrl: string;
  dataDir: string;
  tls?: { certFile: string; keyFile: string };
  /** header a trusted TLS-terminating proxy uses to pass the client certificate */
  clientCertHeader?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  apns: { environment: 'production' | 'sandbox'; url?: string; caFile?: string };
  secretKey?: string;
  ca?: { certFile: string; keyFile: string };
  scep: { staticChallenge?: string; identityValidityDays: number };
  /** extra CAs whose identity certificates may enroll (devices migrated from another MDM) */
  trustedIdentityCaFile?: string;
  /**
   * TEST MODE: a root CA whose device identities may sign MachineInfo besides Apple's (the device
   * simulator's, for tests and the demo). Never set it in production.
   */
  adeTestRootFile?: string;
  bodyLimit: number;
  abm: {
    userAgent: string;
    protocolVersion: number;
    tokenWarningDays: number;
    assignCooldownHours: number;
    /** how often each node looks for due ABM syncs (seconds) */
    jobTickSeconds: number;
    /** how long an ABM job's lease lasts unrenewed: a dead node's sync moves to another node after this (seconds; default 60) */
    jobLeaseSeconds?: number;
  };
  /** this node's name in leases and logs */
  nodeId: string;
  alerts: {
    /** how often the alert checks run (one node at a time) */
    checkMinutes: number;
    /** days before expiry at which tokens and certificates alert, one alert per step */
    expiryDays: number[];
    /** sync intervals without success before failing syncs alert */
    syncFailures: number;
    /** minutes an ADE device may await configuration before it counts as stuck */
    stuckAfterMinutes: number;
    /** e-mail delivery; user and password only from the environment */
    smtp?: { host: string; port: number; secure: boolean; user?: string; pass?: string; from: string };
    /** signed webhook; the secret only from the environment */
    webhook?: { url: string; secret: string };
  };
  userEnrollment: {
    /** a user enrollment not enrolled this long after its profile was issued is incomplete (its profile no longer links) */
    incompleteAfterMinutes: number;
    /** incomplete enrollments (every kind of staging record) are purged after this many days */
    purgeIncompleteAfterDays: number;
  };
  /** `GET /metrics`: on by default (Prometheus scrapes without credentials); off, or behind a bearer token */
  metrics: { enabled: boolean; token?: string };
}

/** Each option: its key in the file, its env variable, its flag, and how to read it. */
interface OptionSpec {
  key: string;
  env: string;
  flag: string;
  describe: string;
  default?: string;
}

export const OPTIONS: OptionSpec[] = [
  { key: 'publicUrl', env: 'POMONA_PUBLIC_URL', flag: 'public-url', describe: 'base URL devices reach Pomona at (used in every profile)', default: 'http://<listen>' },
  { key: 'listen', env: 'POMONA_LISTEN', flag: 'listen', describe: 'listen address host:port', default: '127.0.0.1:9000' },
  { key: 'databaseUrl', env: 'POMONA_DATABASE_URL', flag: 'database-url', describe: 'sqlite:PATH or postgres://…', default: 'sqlite:./data/pomona.db' },
  { key: 'dataDir', env: 'POMONA_DATA_DIR', flag: 'data-dir', describe: 'data directory (secret key, SQLite file)', default: './data' },
  { key: 'tlsCert', env: 'POMONA_TLS_CERT', flag: 'tls-cert', describe: 'TLS certificate PEM file (HTTP without it)' },
  { key: 'tlsKey', env: 'POMONA_TLS_KEY', flag: 'tls-key', describe: 'TLS private key PEM file' },
  { key: 'clientCertHeader', env: 'POMONA_CLIENT_CERT_HEADER', flag: 'client-cert-header', describe: 'header with the client certificate from a trusted proxy' },
  { key: 'logLevel', env: 'POMONA_LOG_LEVEL', flag: 'log-level', describe: 'fatal|error|warn|info|debug|trace|silent', default: 'info' },
  { key: 'apnsEnvironment', env: 'POMONA_APNS_ENVIRONMENT', flag: 'apns-environment', describe: 'production|sandbox', default: 'production' },
  { key: 'apnsUrl', env: 'POMONA_APNS_URL', flag: 'apns-url', describe: 'APNs base URL (the simulator\'s, for tests and the demo)' },
  { key: 'apnsCaFile', env: 'POMONA_APNS_CA_FILE', flag: 'apns-ca-file', describe: 'extra CA to trust for the APNs TLS connection (simulator)' },
  { key: 'secretKey', env: 'POMONA_SECRET_KEY', flag: 'secret-key', describe: 'base64 32-byte key sealing secrets (default: DATA_DIR/secret.key)' },
  { key: 'caCert', env: 'POMONA_CA_CERT', flag: 'ca-cert', describe: 'device CA certificate PEM (default: created on first start)' },
  { key: 'caKey', env: 'POMONA_CA_KEY', flag: 'ca-key', describe: 'device CA private key PEM' },
  { key: 'scepChallenge', env: 'POMONA_SCEP_CHALLENGE', flag: 'scep-challenge', describe: 'optional static SCEP challenge (one-time challenges are always on)' },
  { key: 'identityValidityDays', env: 'POMONA_IDENTITY_VALIDITY_DAYS', flag: 'identity-validity-days', describe: 'device identity certificate validity', default: '365' },
  { key: 'adeTestRootFile', env: 'POMONA_ADE_TEST_ROOT_FILE', flag: 'ade-test-root-file', describe: 'TEST MODE ONLY: PEM of a root whose device identities may sign MachineInfo (the device simulator\'s)' },
  { key: 'trustedIdentityCaFile', env: 'POMONA_TRUSTED_IDENTITY_CA_FILE', flag: 'trusted-identity-ca-file', describe: 'PEM of other CAs whose device identities are accepted (migration)' },
  { key: 'bodyLimit', env: 'POMONA_BODY_LIMIT', flag: 'body-limit', describe: 'largest request body in bytes', default: '10485760' },
  { key: 'depUserAgent', env: 'POMONA_DEP_USER_AGENT', flag: 'dep-user-agent', describe: "User-Agent sent to Apple's DEP API", default: 'pomona-mdm/0.1' },
  { key: 'depProtocolVersion', env: 'POMONA_DEP_PROTOCOL_VERSION', flag: 'dep-protocol-version', describe: 'X-Server-Protocol-Version sent to Apple', default: '10' },
  { key: 'abmTokenWarningDays', env: 'POMONA_ABM_TOKEN_WARNING_DAYS', flag: 'abm-token-warning-days', describe: 'days before expiry an ABM token shows as expiring', default: '30' },
  { key: 'abmAssignCooldownHours', env: 'POMONA_ABM_ASSIGN_COOLDOWN_HOURS', flag: 'abm-assign-cooldown-hours', describe: 'hours a serial Apple refused (FAILED, NOT_ACCESSIBLE) waits before it is sent again', default: '24' },
  { key: 'alertCheckMinutes', env: 'POMONA_ALERT_CHECK_MINUTES', flag: 'alert-check-minutes', describe: 'minutes between alert checks', default: '15' },
  { key: 'alertExpiryDays', env: 'POMONA_ALERT_EXPIRY_DAYS', flag: 'alert-expiry-days', describe: 'days before expiry that tokens and certificates alert at, comma-separated', default: '30,14,7,1' },
  { key: 'alertSyncFailures', env: 'POMONA_ALERT_SYNC_FAILURES', flag: 'alert-sync-failures', describe: 'sync intervals without success before failing ABM syncs alert', default: '3' },
  { key: 'alertStuckMinutes', env: 'POMONA_ALERT_STUCK_MINUTES', flag: 'alert-stuck-minutes', describe: 'minutes an ADE device may await configuration before it alerts as stuck', default: '60' },
  { key: 'smtpHost', env: 'POMONA_SMTP_HOST', flag: 'smtp-host', describe: 'SMTP server for alert e-mail (none: no e-mail); POMONA_SMTP_USER and POMONA_SMTP_PASSWORD from the environment' },
  { key: 'smtpPort', env: 'POMONA_SMTP_PORT', flag: 'smtp-port', describe: 'SMTP port', default: '587' },
  { key: 'smtpSecure', env: 'POMONA_SMTP_SECURE', flag: 'smtp-secure', describe: 'TLS from the start (port 465) instead of STARTTLS (true|false)', default: 'false' },
  { key: 'alertFrom', env: 'POMONA_ALERT_FROM', flag: 'alert-from', describe: 'From address of alert e-mail (required with the SMTP host)' },
  { key: 'alertWebhookUrl', env: 'POMONA_ALERT_WEBHOOK_URL', flag: 'alert-webhook-url', describe: 'URL alerts are POSTed to, signed with POMONA_ALERT_WEBHOOK_SECRET (from the environment)' },
  { key: 'jobTickSeconds', env: 'POMONA_JOB_TICK_SECONDS', flag: 'job-tick-seconds', describe: 'how often each node looks for due jobs (ABM syncs, assignments)', default: '10' },
  { key: 'jobLeaseSeconds', env: 'POMONA_JOB_LEASE_SECONDS', flag: 'job-lease-seconds', describe: "how long a node's lease on an ABM sync lasts unless renewed; a dead node's sync moves to another node after it", default: '60' },
  { key: 'nodeId', env: 'POMONA_NODE_ID', flag: 'node-id', describe: "this node's name in job leases and logs", default: 'hostname:pid' },
  { key: 'userEnrollmentIncompleteMinutes', env: 'POMONA_USER_ENROLLMENT_INCOMPLETE_MINUTES', flag: 'user-enrollment-incomplete-minutes', describe: 'minutes after its profile was issued a user enrollment that has not checked in shows as incomplete', default: '60' },
  { key: 'incompleteEnrollmentPurgeDays', env: 'POMONA_INCOMPLETE_ENROLLMENT_PURGE_DAYS', flag: 'incomplete-enrollment-purge-days', describe: 'days an incomplete (abandoned) enrollment is kept before the purge job deletes it', default: '30' },
  { key: 'metrics', env: 'POMONA_METRICS', flag: 'metrics', describe: 'serve Prometheus metrics at /metrics (true|false)', default: 'true' },
  { key: 'metricsToken', env: 'POMONA_METRICS_TOKEN', flag: 'metrics-token', describe: 'bearer token /metrics requires (default: none, open to whoever reaches the port)' },
];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Builds the configuration; `flags` uses the option keys (camelCase), as commander produces them. */
export function loadConfig(opts: {
  env?: NodeJS.ProcessEnv;
  flags?: Record<string, unknown>;
  configFile?: string;
} = {}): Config {
  const env = opts.env ?? process.env;
  const flags = opts.flags ?? {};
  const problems: string[] = [];

  const fileValues: Record<string, unknown> = {};
  const configFile = (flags.config as string | undefined) ?? opts.configFile ?? env.POMONA_CONFIG;
  if (configFile) {
    if (!existsSync(configFile)) problems.push(`config file ${configFile}: not found`);
    else {
      try {
        const parsed = JSON.parse(readFileSync(configFile, 'utf8')) as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('must hold a JSON object');
        Object.assign(fileValues, parsed);
        for (const k of Object.keys(fileValues)) {
          if (!OPTIONS.some((o) => o.key === k)) problems.push(`config file ${configFile}: unknown key "${k}"`);
        }
      } catch (e) {
        problems.push(`config file ${configFile}: ${(e as Error).message}`);
      }
    }
  }

  const raw = (key: string): string | undefined => {
    const spec = OPTIONS.find((o) => o.key === key)!;
    const v = flags[key] ?? env[spec.env] ?? fileValues[key];
    if (v === undefined || v === null || v === '') return undefined;
    return String(v);
  };
  const name = (key: string) => OPTIONS.find((o) => o.key === key)!.env;

  const listenRaw = raw('listen') ?? '127.0.0.1:9000';
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listenRaw);
  let listen = { host: '127.0.0.1', port: 9000 };
  if (!m || Number(m[2]) > 65535) problems.push(`${name('listen')}: "${listenRaw}" is not host:port`);
  else listen = { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };

  const tlsCert = raw('tlsCert');
  const tlsKey = raw('tlsKey');
  if (Boolean(tlsCert) !== Boolean(tlsKey)) problems.push('POMONA_TLS_CERT and POMONA_TLS_KEY must be given together');
  for (const key of ['tlsCert', 'tlsKey', 'caCert', 'caKey', 'apnsCaFile', 'trustedIdentityCaFile', 'adeTestRootFile']) {
    const file = raw(key);
    if (file && !existsSync(file)) problems.push(`${name(key)}: file ${file} not found`);
  }
  const caCert = raw('caCert');
  const caKey = raw('caKey');
  if (Boolean(caCert) !== Boolean(caKey)) problems.push('POMONA_CA_CERT and POMONA_CA_KEY must be given together');

  const scheme = tlsCert ? 'https' : 'http';
  const publicUrl = (raw('publicUrl') ?? `${scheme}://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`).replace(/\/+$/, '');
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error();
    if (u.search || u.hash) problems.push(`${name('publicUrl')}: must not have a query or fragment`);
  } catch {
    problems.push(`${name('publicUrl')}: "${publicUrl}" is not an http(s) URL`);
  }

  const dataDir = resolve(raw('dataDir') ?? './data');
  const databaseUrl = raw('databaseUrl') ?? 'sqlite:./data/pomona.db';
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(databaseUrl)) {
    problems.push(`${name('databaseUrl')}: must be sqlite:PATH or postgres://… (got "${databaseUrl.split(':')[0]}:…")`);
  }

  const logLevel = (raw('logLevel') ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`${name('logLevel')}: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);

  const apnsEnvironment = raw('apnsEnvironment') ?? 'production';
  if (apnsEnvironment !== 'production' && apnsEnvironment !== 'sandbox') {
    problems.push(`${name('apnsEnvironment')}: must be production or sandbox`);
  }
  const apnsUrl = raw('apnsUrl');
  if (apnsUrl && !/^https:\/\/[^/]+\/?$/.test(apnsUrl)) problems.push(`${name('apnsUrl')}: must be an https:// base URL without a path`);

  const int = (key: string, min: number, max: number, dflt: number): number => {
    const v = raw(key);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name(key)}: "${v}" must be a whole number from ${min} to ${max}`);
      return dflt;
    }
    return n;
  };
  const identityValidityDays = int('identityValidityDays', 1, 3650, 365);
  const bodyLimit = int('bodyLimit', 1024, 1024 * 1024 * 1024, 10 * 1024 * 1024);

  const depUserAgent = raw('depUserAgent') ?? 'pomona-mdm/0.1';
  if (!/^[\x21-\x7e][\x20-\x7e]{0,199}$/.test(depUserAgent)) problems.push(`${name('depUserAgent')}: must be printable ASCII, at most 200 characters`);
  const abm = {
    userAgent: depUserAgent,
    protocolVersion: int('depProtocolVersion', 1, 100, 10),
    tokenWarningDays: int('abmTokenWarningDays', 1, 365, 30),
    assignCooldownHours: int('abmAssignCooldownHours', 1, 24 * 30, 24),
    jobTickSeconds: int('jobTickSeconds', 1, 3600, 10),
    jobLeaseSeconds: int('jobLeaseSeconds', 3, 3600, 60),
  };

  const alerts = loadAlerts(raw, name, int, env, problems);

  const userEnrollment = {
    incompleteAfterMinutes: int('userEnrollmentIncompleteMinutes', 5, 7 * 24 * 60, 60),
    purgeIncompleteAfterDays: int('incompleteEnrollmentPurgeDays', 1, 3650, 30),
  };

  const metricsRaw = (raw('metrics') ?? 'true').toLowerCase();
  if (!['true', 'false', '1', '0', 'on', 'off'].includes(metricsRaw)) problems.push(`${name('metrics')}: "${metricsRaw}" must be true or false`);
  const metricsToken = raw('metricsToken');
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,}$/.test(metricsToken)) problems.push(`${name('metricsToken')}: must be at least 16 printable characters without spaces`);

  const secretKey = raw('secretKey');
  if (secretKey && Buffer.from(secretKey, 'base64').length !== 32) problems.push(`${name('secretKey')}: must be 32 bytes, base64-encoded`);

  if (problems.length) throw new ConfigError(problems);
  return {
    publicUrl,
    listen,
    databaseUrl,
    dataDir,
    tls: tlsCert && tlsKey ? { certFile: tlsCert, keyFile: tlsKey } : undefined,
    clientCertHeader: raw('clientCertHeader')?.toLowerCase(),
    logLevel,
    apns: { environment: apnsEnvironment as 'production' | 'sandbox', url: apnsUrl?.replace(/\/$/, ''), caFile: raw('apnsCaFile') },
    secretKey,
    ca: caCert && caKey ? { certFile: caCert, keyFile: caKey } : undefined,
    scep: { staticChallenge: raw('scepChallenge'), identityValidityDays },
    trustedIdentityCaFile: raw('trustedIdentityCaFile'),
    adeTestRootFile: raw('adeTestRootFile'),
    bodyLimit,
    alerts,
    abm,
    nodeId: raw('nodeId') ?? `${hostname()}:${process.pid}`,
    userEnrollment,
    metrics: { enabled: ['true', '1', 'on'].includes(metricsRaw), token: metricsToken },
  };
}

/** The alert settings; SMTP credentials and the webhook secret are read from the environment only. */
function loadAlerts(
  raw: (key: string) => string | undefined,
  name: (key: string) => string,
  int: (key: string, min: number, max: number, dflt: number) => number,
  env: NodeJS.ProcessEnv,
  problems: string[],
): Config['alerts'] {
  const daysRaw = raw('alertExpiryDays') ?? '30,14,7,1';
  const expiryDays = daysRaw.split(',').map((d) => Number(d.trim()));
  if (expiryDays.length === 0 || expiryDays.some((d) => !Number.isInteger(d) || d < 1 || d > 365)) problems.push(`${name('alertExpiryDays')}: "${daysRaw}" must be whole numbers of days from 1 to 365, comma-separated`);
  const bool = (key: string, dflt: string) => {
    const v = (raw(key) ?? dflt).toLowerCase();
    if (!['true', 'false', '1', '0'].includes(v)) problems.push(`${name(key)}: "${v}" must be true or false`);
    return v === 'true' || v === '1';
  };
  const host = raw('smtpHost');
  const from = raw('alertFrom');
  if (host && !from) problems.push(`${name('alertFrom')}: required when ${name('smtpHost')} is set`);
  if (from && !/^[^@\s<>]+@[^@\s<>]+$|^.*<[^@\s<>]+@[^@\s<>]+>$/.test(from)) problems.push(`${name('alertFrom')}: "${from}" is not an e-mail address`);
  const port = int('smtpPort', 1, 65535, 587);
  const secure = bool('smtpSecure', 'false');
  const url = raw('alertWebhookUrl');
  const secret = env.POMONA_ALERT_WEBHOOK_SECRET;
  if (url) {
    try {
      if (!/^https?:$/.test(new URL(url).protocol)) throw new Error();
    } catch {
      problems.push(`${name('alertWebhookUrl')}: must be an http(s) URL`);
    }
    if (!secret || secret.length < 16) problems.push('POMONA_ALERT_WEBHOOK_SECRET: at least 16 characters required with the alert webhook URL');
  }
  return {
    checkMinutes: int('alertCheckMinutes', 1, 24 * 60, 15),
    expiryDays: [...new Set(expiryDays)].sort((a, b) => b - a),
    syncFailures: int('alertSyncFailures', 1, 100, 3),
    stuckAfterMinutes: int('alertStuckMinutes', 5, 7 * 24 * 60, 60),
    smtp: host && from ? { host, port, secure, user: env.POMONA_SMTP_USER || undefined, pass: env.POMONA_SMTP_PASSWORD || undefined, from } : undefined,
    webhook: url && secret ? { url, secret } : undefined,
  };
}
