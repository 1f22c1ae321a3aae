import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
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
});
