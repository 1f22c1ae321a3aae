import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptEnvelope, parseEnvelope } from '../../pki/cms-envelope.js';
import { buildTokenFile, certificateDer, tokenFileName } from './token-file.js';
import { generateTokenSet } from './token-set.js';

const fixture = (name: string) => new URL(`../../../test/fixtures/abm-sim/token/${name}`, import.meta.url);
const certPem = readFileSync(fixture('mdm-server-cert.pem'), 'utf8');
const keyPath = fixture('mdm-server-key.TEST-ONLY.pem').pathname;
const certPath = fixture('mdm-server-cert.pem').pathname;
const sample = readFileSync(fixture('sample_Token_smime.p7m'), 'utf8');

const openssl = spawnSync('openssl', ['version']).status === 0;
if (!openssl) console.warn('token-file.test: openssl is not installed — skipping the openssl interoperability tests');
const itWithOpenssl = it.skipIf(!openssl);
const dir = mkdtempSync(join(tmpdir(), 'abm-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What NanoDEP does: skip the MIME headers, drop the markers, join the lines with nothing. */
function tokensFromPlaintext(text: string): Record<string, string> {
  const body = text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
  const lines = body.split(/\r?\n/).filter((l) => l && !l.startsWith('-----'));
  return JSON.parse(lines.join('')) as Record<string, string>;
}

/** openssl asn1parse outline: depth, definite/indefinite, tag — without offsets and lengths. */
function outline(smime: string): string[] {
  const b64 = smime.split('\r\n\r\n')[1];
  const file = join(dir, `outline-${Math.random()}.b64`);
  writeFileSync(file, b64);
  const out = execFileSync('openssl', ['asn1parse', '-in', file], { encoding: 'utf8' });
  const lines = out.trim().split('\n').map((l) => {
    const m = /d=(\d+)\s+hl=\d+\s+l=\s*(inf|\d+)\s+(cons|prim):\s*(.*?)(\s*:.*)?$/.exec(l)!;
    const tag = m[4].replace(/\s*\[HEX DUMP\]/, '').trim();
    return `${m[1]} ${m[2] === 'inf' ? 'inf' : 'def'} ${m[3]} ${tag}${tag === 'OBJECT' ? m[5] : ''}`;
  });
  // the encrypted content's chunking depends on the producer's buffer size
  return lines.filter((l) => l !== '5 def prim OCTET STRING');
}

describe('token files', () => {
  const tokens = generateTokenSet(Date.UTC(2026, 10, 21, 8, 0, 0));

  it('generates Apple-shaped credentials', () => {
    expect(tokens.consumer_key).toMatch(/^CK_[0-9a-f]{96}$/);
    expect(tokens.consumer_secret).toMatch(/^CS_[0-9a-f]{128}$/);
    expect(tokens.access_token).toMatch(/^AT_O\d{10}O[0-9a-f]{80}O\d{13}$/);
    expect(tokens.access_secret).toMatch(/^AS_[0-9a-f]{128}$/);
    expect(tokens.access_token_expiry).toBe('2027-11-21T08:00:00Z');
  });

  it('writes the MIME entity exactly as Apple does (headers, CRLF, 76-column base64)', () => {
    const file = buildTokenFile(tokens, certPem);
    const head = file.smime.split('\r\n\r\n')[0];
    expect(head).toBe(sample.split('\r\n\r\n')[0]);
    const lines = file.smime.split('\r\n\r\n')[1].split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -2).every((l) => l.length === 76)).toBe(true);
    expect(file.smime).not.toMatch(/[^\r]\n/);
  });

  it('wraps the token JSON at 64 columns between the MESSAGE markers, inside a text/plain part', () => {
    const file = buildTokenFile(tokens, certPem);
    expect(file.plaintext.startsWith('Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n-----BEGIN MESSAGE-----\r\n')).toBe(true);
    expect(file.plaintext.endsWith('\r\n-----END MESSAGE-----\r\n')).toBe(true);
    const jsonLines = file.plaintext.split('\r\n').slice(4, -2);
    expect(jsonLines.slice(0, -1).every((l) => l.length === 64)).toBe(true);
    expect(tokensFromPlaintext(file.plaintext)).toEqual(tokens);
    expect(JSON.parse(file.json)).toEqual(tokens);
  });

  itWithOpenssl('has the BER structure of Apple’s sample (indefinite lengths in the same places) [needs openssl]', () => {
    const file = buildTokenFile(tokens, certPem);
    expect(outline(file.smime)).toEqual(outline(sample));
    expect(outline(file.smime).filter((l) => l.includes(' inf ')).length).toBe(5);
  });

  it('decrypts with our own CMS code, BER and DER, every cipher', () => {
    const key = createPrivateKey(readFileSync(keyPath));
    for (const [cipher, ber] of [['aes-128-cbc', true], ['aes-256-cbc', false], ['aes-192-cbc', true], ['des-ede3-cbc', true]] as const) {
      const file = buildTokenFile(tokens, certPem, { cipher, ber });
      const env = parseEnvelope(file.der);
      expect(env.cipher).toBe(cipher);
      expect(env.recipients[0].keyTransport).toBe('rsa-pkcs1');
      const { content } = decryptEnvelope(file.der, { privateKey: key, certificateDer: certificateDer(certPem) });
      expect(content.toString('utf8')).toBe(file.plaintext);
      const body = Buffer.from(file.smime.split('\r\n\r\n')[1].replace(/\r\n/g, ''), 'base64');
      expect(body.equals(file.der)).toBe(true);
      expect(file.der[1] === 0x80).toBe(ber); // indefinite outer length only in BER form
    }
  });

  itWithOpenssl('decrypts with `openssl smime -decrypt` (BER and DER) [needs openssl]', () => {
    for (const ber of [true, false]) {
      const file = buildTokenFile(tokens, certPem, { ber });
      const path = join(dir, `token-${ber}.p7m`);
      writeFileSync(path, file.smime);
      const out = execFileSync('openssl', ['smime', '-decrypt', '-in', path, '-inkey', keyPath, '-recip', certPath], { encoding: 'utf8' });
      expect(out).toBe(file.plaintext);
      expect(tokensFromPlaintext(out)).toEqual(tokens);
    }
  });

  it('refuses something that is not a certificate, and names files like ABM', () => {
    expect(() => buildTokenFile(tokens, 'not a cert')).toThrow(/PEM .*certificate/);
    expect(tokenFileName('mdmserver1', Date.UTC(2022, 6, 1, 22, 18, 53))).toBe('mdmserver1_Token_2022-07-01T22-18-53Z_smime.p7m');
  });
});
