/** The scan the whole-run check relies on finds what is there, escaped or not, and nothing else. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findLeaks, readSecrets } from './secret-scan.js';

describe('secret scan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pomona-scan-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n';
  const clean = join(dir, 'clean.log');
  const leaky = join(dir, 'leaky.log');
  writeFileSync(clean, [
    JSON.stringify({ level: 30, msg: 'request completed', req: { url: '/enroll/profile?token=[redacted]' } }),
    JSON.stringify({ level: 10, msg: 'nearly', note: 'pm_planted-api-token-0a1b2c3' }), // one character short of the secret
  ].join('\n'));
  writeFileSync(leaky, [
    JSON.stringify({ level: 30, msg: 'request completed' }),
    JSON.stringify({ level: 10, msg: 'oops', headers: { authorization: 'Bearer pm_planted-api-token-0a1b2c3d' } }),
    JSON.stringify({ level: 50, msg: 'failed', key: pem }), // newlines escaped as \n in the line
    JSON.stringify({ level: 30, req: { url: '/enroll/user/x%2By%2Fz%3D%3D0123456789' } }), // percent-encoded in a URL
  ].join('\n'));
  const secrets = [
    { kind: 'API token secret', value: 'pm_planted-api-token-0a1b2c3d' },
    { kind: 'private key', value: pem },
    { kind: 'access token', value: 'x+y/z==0123456789' },
    { kind: 'short', value: 'abc' },
    { kind: 'never logged', value: 'not-anywhere-in-the-logs-77' },
  ];

  it('names each planted secret by kind and file, and finds nothing in a clean log', () => {
    expect(findLeaks([clean, leaky], secrets)).toEqual([
      { kind: 'API token secret', file: leaky },
      { kind: 'private key', file: leaky },
      { kind: 'access token', file: leaky },
    ]);
    expect(findLeaks([clean], secrets)).toEqual([]);
  });

  it('reads recorded secrets once each, from every file of the directory', () => {
    const rec = join(dir, 'secrets');
    mkdirSync(rec);
    writeFileSync(join(rec, '1.jsonl'), `${JSON.stringify(secrets[0])}\n${JSON.stringify(secrets[1])}\n`);
    writeFileSync(join(rec, '2.jsonl'), `${JSON.stringify(secrets[0])}\n`);
    expect(readSecrets(rec)).toEqual([secrets[0], secrets[1]]);
  });
});
