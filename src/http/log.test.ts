import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { censorSecrets, createLogger, redactUrl, SECRET_FIELDS } from './log.js';

describe('log', () => {
  it('keeps query names and plain values, never other values', () => {
    expect(redactUrl('/enroll/profile?token=abc123&unsigned=true')).toBe('/enroll/profile?token=[redacted]&unsigned=true');
    expect(redactUrl('/scep?operation=GetCACert&message=xyz')).toBe('/scep?operation=GetCACert&message=[redacted]');
    expect(redactUrl('/mdm/checkin')).toBe('/mdm/checkin');
  });

  it('censors secret-named fields, top-level and one level down', () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (c, _e, done) => { lines.push(String(c)); done(); } });
    const log = createLogger({ level: 'info', stream });
    log.info({ password: 'p4ss', config: { clientSecret: 'c53c', issuer: 'https://idp' }, secret: 's3c' }, 'x');
    expect(lines.join('')).not.toMatch(/p4ss|c53c|s3c/);
    expect(lines.join('')).toContain('https://idp');
  });
  it('censors every secret name, a logged request\'s and reply\'s secret headers, and child bindings, changing nothing it was given', () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (c, _e, done) => { lines.push(String(c)); done(); } });
    const log = createLogger({ level: 'info', stream });
    const fields = Object.fromEntries([...SECRET_FIELDS].map((k) => [k, `top-${k}-value`]));
    const nested = Object.fromEntries([...SECRET_FIELDS].map((k) => [k, `nested-${k}-value`]));
    const req = { method: 'PUT', headers: { authorization: 'Bearer pom_h3ader', cookie: 'sid=c00kie', 'mdm-signature': 'MIAGCSqG', 'x-csrf-token': 'csrf-v4lue', accept: '*/*' } };
    const res = { statusCode: 200, headers: { 'set-cookie': 'sid=s3t' } };
    const err = Object.assign(new Error('bind refused'), { bindPassword: 'b1nd-pass', code: 'LDAP' });
    log.info({ ...fields, config: nested, req, res, err, plain: { issuer: 'https://idp' } }, 'everything');
    log.child({ token: 'ch1ld-token', job: 'sync' }).info('child line');
    const out = lines.join('');
    expect(out).not.toMatch(/-value|pom_h3ader|c00kie|MIAGCSqG|csrf-v4lue|s3t|b1nd-pass|ch1ld-token/);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ password: '[redacted]', config: { token: '[redacted]' }, req: { method: 'PUT', headers: { accept: '*/*', authorization: '[redacted]' } }, plain: { issuer: 'https://idp' } });
    expect(line.err).toMatchObject({ message: 'bind refused', code: 'LDAP', bindPassword: '[redacted]', stack: expect.stringContaining('bind refused') });
    expect(JSON.parse(lines[1]!)).toMatchObject({ job: 'sync', token: '[redacted]' });
    // What was logged is left as it was.
    expect(req.headers.authorization).toBe('Bearer pom_h3ader');
    expect(err.bindPassword).toBe('b1nd-pass');
    expect(nested.token).toBe('nested-token-value');
    const untouched = { a: 1, b: { c: 2 } };
    expect(censorSecrets(untouched)).toBe(untouched);
  });

  it('in a test run (POMONA_TEST_RUN_DIR) also writes every line at trace to its file there, redacted; the stream keeps its level', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pomona-log-capture-'));
    const before = process.env.POMONA_TEST_RUN_DIR;
    process.env.POMONA_TEST_RUN_DIR = dir;
    try {
      vi.resetModules(); // a fresh module reads the variable again
      const fresh = await import('./log.js');
      const lines: string[] = [];
      const log = fresh.createLogger({ level: 'info', stream: new Writable({ write: (c, _e, done) => { lines.push(String(c)); done(); } }) });
      log.trace({ password: 'tr4ce-pass' }, 'quiet detail');
      log.info('said aloud');
      const silent = fresh.createLogger({ level: 'silent', stream: new Writable({ write: (c, _e, done) => { lines.push(String(c)); done(); } }) });
      silent.debug('even from a silent logger');
      expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['said aloud']);
      const captured = readFileSync(join(dir, 'logs', `${process.pid}.log`), 'utf8');
      expect(captured.trim().split('\n').map((l) => JSON.parse(l).msg)).toEqual(['quiet detail', 'said aloud', 'even from a silent logger']);
      expect(captured).not.toContain('tr4ce-pass');
    } finally {
      if (before === undefined) delete process.env.POMONA_TEST_RUN_DIR;
      else process.env.POMONA_TEST_RUN_DIR = before;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
