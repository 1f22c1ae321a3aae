import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger, redactUrl } from './log.js';

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
