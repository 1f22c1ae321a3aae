/**
 * Structured JSON logs: one pino line per event, the request id (`reqId`, Fastify's, or the
 * client's `X-Request-Id`) on every line written while a request is handled — by the route through
 * `request.log`, and by services through the context's logger, which reads the request from an
 * AsyncLocalStorage (services stay free of HTTP) — and secrets redacted before anything is written.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Headers that carry API tokens, session cookies and device signatures, censored on services'
 * lines should a request or reply object ever be logged whole there.
 */
const SECRET_HEADERS = { req: new Set(['authorization', 'cookie', 'mdm-signature', 'x-csrf-token']), res: new Set(['set-cookie']) };

/**
 * Names our services and libraries use for secrets, censored on services' lines at the top level
 * and one level down, in case an object holding one is ever logged whole (a client library's
 * error, a configuration).
 */
export const SECRET_FIELDS = new Set(['password', 'secret', 'token', 'accessToken', 'refreshToken', 'challenge', 'bootstrapToken', 'privateKey', 'keyPem', 'clientSecret', 'bindPassword', 'consumerSecret', 'accessSecret']);

const CENSOR = '[redacted]';

/** Query parameters whose values say what was asked for and are never secret. */
const PLAIN_QUERY = new Set(['operation', 'unsigned', 'profile', 'limit', 'offset', 'cursor', 'status', 'platform']);

/**
 * Query values can be secrets (`/enroll/profile?token=…`, `/mdm/checkin?pe=…`): logged URLs keep
 * every parameter's name and only the values of the few known to be plain.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url.slice(q + 1).split('&').map((p) => {
    const name = p.split('=')[0]!;
    return PLAIN_QUERY.has(name) ? p : `${name}=${CENSOR}`;
  });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

/** Fastify's request serializer with the query values censored. */
export const serializers = {
  req(req: { method: string; url: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) {
    return { method: req.method, url: redactUrl(req.url), host: req.hostname, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
  },
};

interface RequestScope {
  reqId: string;
}

const requestScope = new AsyncLocalStorage<RequestScope>();

/**
 * Binds every request to its id for the logger of `createLogger`. `enterWith` in a callback hook
 * covers what the hook chain runs next; it runs again after the body was read, because body
 * parsing resumes from the socket's events, outside the request's async context.
 */
export function bindRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    requestScope.enterWith({ reqId: String(request.id) });
    done();
  });
  app.addHook('preValidation', (request, _reply, done) => {
    if (requestScope.getStore()?.reqId !== request.id) requestScope.enterWith({ reqId: String(request.id) });
    done();
  });
}

/**
 * Fastify's logger options: request lines with query values censored. They need no redaction
 * pass (which clones each line's request object, a measurable share of a device request's CPU):
 * the `req` serializer keeps no header and Fastify's `res` serializer only the status code, so
 * none of the secret headers can be on them (server.test.ts sends every one of them).
 */
export function requestLogOptions(level: string, stream: DestinationStream) {
  return { ...withTestRunCapture(level, stream), serializers };
}

/** The process logger services get: JSON lines, secrets censored, the current request's id when there is one. */
export function createLogger(o: { level: string; stream?: DestinationStream }): Logger {
  const { level, stream } = withTestRunCapture(o.level, o.stream ?? stdoutLog());
  const logger = pino(
    {
      level,
      formatters: { log: censorSecrets },
      mixin: () => {
        const scope = requestScope.getStore();
        return scope ? { reqId: scope.reqId } : {};
      },
    },
    stream,
  );
  // A child's bindings are written on each of its lines but never pass the log formatter; they
  // are censored when the child is made (children inherit this from the root logger).
  const child = logger.child;
  logger.child = function (this: Logger, bindings, options) {
    return child.call(this, censorSecrets(bindings), options);
  } as typeof logger.child;
  return logger;
}

/**
 * A line's fields with every SECRET_FIELDS name censored at the top level and one level down,
 * and the SECRET_HEADERS of a logged `req` or `res`. What pino's redact paths would do, without
 * their cost (about 12 µs a line with wildcards; this is a loop over the keys). Nothing logged
 * is changed: an object that needs censoring is copied first, with its prototype and all its own
 * properties (an Error keeps its message and stack).
 */
export function censorSecrets(fields: Record<string, unknown>): Record<string, unknown> {
  const changes: Change[] = [];
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    const value = fields[key];
    if (SECRET_FIELDS.has(key)) {
      changes.push([key, CENSOR]);
    } else if (isObject(value)) {
      const inner = secretsIn(value, SECRET_FIELDS);
      const headers = key === 'req' || key === 'res' ? value.headers : undefined;
      if (isObject(headers)) {
        const censored = withChanges(headers, secretsIn(headers, SECRET_HEADERS[key as 'req' | 'res']));
        if (censored !== headers) inner.push(['headers', censored]);
      }
      if (inner.length) changes.push([key, withChanges(value, inner)]);
    }
  }
  return withChanges(fields, changes);
}

type Change = [key: string, value: unknown];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/** A change censoring each of `o`'s own fields named in `names`. */
function secretsIn(o: Record<string, unknown>, names: ReadonlySet<string>): Change[] {
  const changes: Change[] = [];
  for (const key in o) if (names.has(key) && Object.hasOwn(o, key)) changes.push([key, CENSOR]);
  return changes;
}

/** `o` itself without changes; else one copy of it (same prototype, every own property) with them. */
function withChanges(o: Record<string, unknown>, changes: Change[]): Record<string, unknown> {
  if (!changes.length) return o;
  const copy = Object.create(Object.getPrototypeOf(o), Object.getOwnPropertyDescriptors(o)) as Record<string, unknown>;
  for (const [key, value] of changes) Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/**
 * Log lines go to stdout with a plain write each, as Node's own stdout does on Linux. Pino's
 * default hands every line to a libuv worker thread instead, which costs more CPU than
 * formatting the line: about 25 µs of CPU a request on the 2-core benchmark machine.
 */
export function stdoutLog(): DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}

/**
 * Test runs only. `npm test` (scripts/test.js) sets POMONA_TEST_RUN_DIR; every logger of every
 * Pomona process the tests start (in the test workers and in child processes, which inherit it)
 * then also writes every line, at trace level whatever its own level, to this process's file
 * under `logs/` there, and the run's final check greps all of them for every secret the tests
 * created. Trace, because a secret logged only at debug or trace leaks as soon as an admin
 * turns the level up. Unset, as outside that runner, loggers are exactly as configured.
 */
export function withTestRunCapture(level: string, stream: DestinationStream): { level: string; stream: DestinationStream } {
  const capture = testRunCapture();
  if (!capture) return { level, stream };
  const streams: pino.StreamEntry[] = [{ level: 'trace', stream: capture }];
  if (level !== 'silent') streams.push({ level: level as pino.Level, stream });
  return { level: 'trace', stream: pino.multistream(streams) };
}

let capture: DestinationStream | null | undefined;

function testRunCapture(): DestinationStream | null {
  if (capture === undefined) {
    const dir = process.env.POMONA_TEST_RUN_DIR;
    capture = dir ? pino.destination({ dest: join(dir, 'logs', `${process.pid}.log`), mkdir: true, sync: true }) : null;
  }
  return capture;
}
