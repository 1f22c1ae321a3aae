/**
 * Records every secret Pomona creates or is given in a test worker, where it is created: the
 * services' methods that mint or take one are wrapped on their prototypes, so every instance in
 * the worker (test servers, contexts tests build themselves, services unit tests build) records
 * through the same hook. Everything Pomona keeps encrypted at rest passes through
 * `SecretBox.seal` — private keys, ABM OAuth tokens, DEP sessions, bootstrap and unlock tokens,
 * managed admin passwords, identity providers' secrets — so one wrapper catches those, named by
 * the function that sealed them. Loaded by test/support/record-secrets.ts only in a run of
 * scripts/test.js.
 */
import { basename } from 'node:path';
import { SecretBox } from '../../src/pki/secret-box.js';
import { ApiTokenService } from '../../src/org/api-token-service.js';
import { AdminService } from '../../src/org/admin-service.js';
import { UserService } from '../../src/org/user-service.js';
import { RegistrationTokenService } from '../../src/org/registration-token-service.js';
import { ConsoleSignIn } from '../../src/org/console-sign-in.js';
import { ScepService } from '../../src/pki/scep-service.js';
import { PendingEnrollmentService } from '../../src/enroll/pending-enrollment-service.js';
import { SignInService } from '../../src/enroll/sign-in/sign-in-service.js';
import { UserEnrollmentService } from '../../src/enroll/user-enrollment-service.js';
import { WebhookSender } from '../../src/alerts/webhook-sender.js';
import { EmailSender } from '../../src/alerts/email-sender.js';
import { recordSecret } from './test-run.js';

type Recorder = (result: any, args: any[], self: any) => void;
const WRAPPED = Symbol('records secrets');

/** Wraps `method` so `record` sees its (awaited) result, arguments and instance; the result is unchanged. */
function recordFrom(cls: { prototype: object; name: string }, method: string, record: Recorder): void {
  const proto = cls.prototype as Record<string, any>;
  const inner = proto[method];
  if (typeof inner !== 'function') throw new Error(`secret recorder: ${cls.name}.${method} is not a method (renamed?)`);
  if (inner[WRAPPED]) return;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const out = inner.apply(this, args);
    // A refused call records what it was given too (a webhook that failed still had its secret).
    if (out instanceof Promise) return out.then((r) => (record(r, args, this), r), (err) => {
      try {
        record(undefined, args, this);
      } catch {
        // the call's own error is the one its caller must see
      }
      throw err;
    });
    record(out, args, this);
    return out;
  };
  wrapped[WRAPPED] = true;
  proto[method] = wrapped;
}

recordFrom(ApiTokenService, 'create', (r) => recordSecret('API token secret', r?.secret));
recordFrom(AdminService, 'createUser', (_r, [input]) => recordSecret('admin password', input.password));
recordFrom(AdminService, 'updateUser', (_r, [, input]) => recordSecret('admin password', input.password));
recordFrom(AdminService, 'createSession', (r) => {
  recordSecret('console session id', r?.sessionId);
  recordSecret('console CSRF token', r?.csrfToken);
});
recordFrom(UserService, 'createLocal', (_r, [input]) => recordSecret('user password', input.password));
recordFrom(RegistrationTokenService, 'create', (r) => recordSecret('registration token', r?.token));
recordFrom(ConsoleSignIn, 'start', (r) => recordSecret('console SSO binding', r?.binding));
recordFrom(ConsoleSignIn, 'signedIn', (r) => recordSecret('console SSO code', r?.code));
recordFrom(ScepService, 'createChallenge', (r) => recordSecret('SCEP challenge', r));
recordFrom(PendingEnrollmentService, 'create', (r) => recordSecret('enrollment web-view browser key', r?.browserKey));
recordFrom(PendingEnrollmentService, 'profileIssued', (r) => recordSecret('enrollment check-in key', r?.checkInKey));
recordFrom(SignInService, 'ssoReturned', (r) => recordSecret('enrollment SSO hand-off key', r?.handoffKey));
recordFrom(UserEnrollmentService, 'afterSignIn', (r) => {
  if (typeof r?.location === 'string') recordSecret('user enrollment access token', new URL(r.location).searchParams.get('access-token'));
});
// Alert channels' credentials, as each sender was configured (their settings are private to them).
recordFrom(WebhookSender, 'send', (_r, _a, self) => recordSecret('alert webhook secret', self.o?.secret));
recordFrom(EmailSender, 'send', (_r, _a, self) => recordSecret('SMTP password', self.smtp?.pass));
recordFrom(SecretBox, 'seal', (_r, [plain]) => recordSealed(sealer(), plain));

/** The function that called `seal` (the frames above it are this file's), e.g. `AbmServerService.saveTokens (abm-server-service.ts)`. */
function sealer(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1).map((l) => l.trim());
  const caller = frames.find((f) => !f.includes('secret-recorders.ts') && !f.includes('secret-box.ts'));
  const m = caller && /^at (?:async )?(?:(.+?) \()?(.+?)(?::\d+){0,2}\)?$/.exec(caller);
  if (!m) return 'unknown';
  return `${m[1] ?? '<anonymous>'} (${basename(m[2]!.replace(/^file:\/\//, ''))})`;
}

/**
 * A sealed value as it could show up in a log: the text itself (bootstrap tokens also as base64),
 * the secret-named strings of a JSON document (ABM's OAuth tokens and secrets, not its consumer
 * key or expiry date, which may be logged), and for a PEM a line
 * of its body (a PEM in a JSON log line has its newlines escaped; any body line is unique).
 */
function recordSealed(by: string, plain: Buffer | string): void {
  const kind = `sealed by ${by}`;
  const text = typeof plain === 'string' ? plain : plain.toString('utf8');
  if (typeof plain !== 'string') {
    recordSecret(`${kind}, base64`, plain);
    if (!/^[\x20-\x7e]+$/.test(text)) return;
  }
  if (text.includes('-----BEGIN')) {
    const body = text.split('\n').filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l));
    recordSecret(`${kind}, a PEM body line`, body[Math.floor(body.length / 2)]);
    return;
  }
  const json = parseJson(text);
  if (json === undefined) recordSecret(kind, text);
  else for (const [path, s] of strings(json)) if (SECRET_NAME.test(path) && !/expir/i.test(path)) recordSecret(`${kind}, ${path}`, s);
}

const SECRET_NAME = /secret|password|token|private/i;

function parseJson(text: string): unknown {
  if (!/^[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function* strings(v: unknown, path = ''): Generator<[string, string]> {
  if (typeof v === 'string') yield [path || 'value', v];
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) yield* strings(x, path ? `${path}.${k}` : k);
}
