import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEnvelope } from '../pki/cms-envelope.js';
import { createKeyExchangeCertificate } from '../pki/ca.js';
import { parseTokenText, readServerTokenFile, ServerTokenError, type TokenKeyPair } from './server-token.js';

const fixture = (f: string) => readFileSync(new URL(`../../test/fixtures/abm-token/${f}`, import.meta.url));
const sample = fixture('sample_Token_smime.p7m');
const sampleKey: TokenKeyPair = { certPem: fixture('mdm-server-cert.pem').toString(), keyPem: fixture('mdm-server-key.TEST-ONLY.pem').toString() };
const expected = JSON.parse(fixture('expected-fields.json').toString());

function problemOf(fn: () => unknown): { problem: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ServerTokenError) return { problem: err.problem, message: err.message };
    throw err;
  }
  throw new Error('expected a ServerTokenError');
}

const smime = (der: Buffer) =>
  Buffer.from(
    'Content-Type: application/pkcs7-mime; name="smime.p7m"; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      der.toString('base64').replace(/.{76}/g, '$&\r\n'),
  );

describe('server token file', () => {
  let other: TokenKeyPair;
  beforeAll(async () => {
    other = await createKeyExchangeCertificate({ commonName: 'another server', days: 1 });
  });

  it("reads Apple's S/MIME form (BER, PKCS#1 v1.5, AES-128-CBC) with hard-wrapped JSON", () => {
    const { tokens, keyIndex } = readServerTokenFile(sample, [sampleKey]);
    expect(keyIndex).toBe(0);
    expect(tokens).toEqual({
      consumerKey: expected.consumer_key,
      consumerSecret: expected.consumer_secret,
      accessToken: expected.access_token,
      accessSecret: expected.access_secret,
      accessTokenExpiry: Date.parse(expected.access_token_expiry),
    });
  });

  it('picks the key pair the envelope names (a staged key next to the current one)', () => {
    expect(readServerTokenFile(sample, [other, sampleKey]).keyIndex).toBe(1);
  });

  it('reads the DER and PEM forms of the envelope', () => {
    const body = sample.toString().split(/\r?\n\r?\n/)[1];
    const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
    expect(readServerTokenFile(der, [sampleKey]).tokens.consumerKey).toBe(expected.consumer_key);
    const pem = Buffer.from(`-----BEGIN PKCS7-----\n${body}-----END PKCS7-----\n`);
    expect(readServerTokenFile(pem, [sampleKey]).tokens.accessSecret).toBe(expected.access_secret);
  });

  it('reads the already-decrypted forms: MIME text part, bare markers, plain JSON', () => {
    expect(readServerTokenFile(fixture('decrypted-content.txt'), []).keyIndex).toBe(-1);
    const markers = fixture('decrypted-content.txt').toString().split(/\r?\n\r?\n/)[1];
    expect(parseTokenText(markers).accessToken).toBe(expected.access_token);
    expect(readServerTokenFile(fixture('expected-fields.json'), []).tokens.consumerSecret).toBe(expected.consumer_secret);
  });

  it('reads envelopes with other content ciphers', async () => {
    const json = Buffer.from(JSON.stringify(expected));
    for (const cipher of ['aes-256-cbc', 'des-ede3-cbc'] as const) {
      const der = buildEnvelope(json, new X509Certificate(other.certPem).raw, { cipher });
      expect(readServerTokenFile(smime(der), [other]).tokens.consumerKey).toBe(expected.consumer_key);
    }
  });

  it('refuses a token encrypted to another key, saying what to do', () => {
    const p = problemOf(() => readServerTokenFile(sample, [other]));
    expect(p.problem).toBe('wrong-key');
    expect(p.message).toMatch(/different public key/);
  });

  it('refuses a corrupted file', () => {
    const text = sample.toString();
    const cut = text.slice(0, Math.floor(text.length * 0.6));
    expect(problemOf(() => readServerTokenFile(Buffer.from(cut), [sampleKey])).problem).toBe('corrupted');
    // Flip bytes inside the encrypted content: decryption fails on padding or yields non-JSON.
    const der = Buffer.from(text.split(/\r?\n\r?\n/)[1].replace(/\s+/g, ''), 'base64');
    der[der.length - 40] ^= 0xff;
    der[der.length - 60] ^= 0xff;
    expect(problemOf(() => readServerTokenFile(der, [sampleKey])).problem).toBe('corrupted');
  });

  it('refuses things that are not tokens', () => {
    expect(problemOf(() => readServerTokenFile(Buffer.alloc(0), [])).problem).toBe('unreadable');
    expect(problemOf(() => readServerTokenFile(Buffer.from('hello, world'), [])).problem).toBe('unreadable');
    expect(problemOf(() => readServerTokenFile(Buffer.from('Content-Type: text/html\r\n\r\n<p>hi</p>'), [])).problem).toBe('unreadable');
    expect(problemOf(() => readServerTokenFile(Buffer.alloc(300_000, 0x41), [])).problem).toBe('unreadable');
  });

  it('names a missing or empty field', () => {
    const { consumer_secret: _drop, ...rest } = expected;
    const p = problemOf(() => readServerTokenFile(Buffer.from(JSON.stringify(rest)), []));
    expect(p).toEqual({ problem: 'missing-field', message: 'the token has no consumer_secret' });
    expect(problemOf(() => parseTokenText(JSON.stringify({ ...expected, access_token: '' }))).message).toBe('the token has no access_token');
    expect(problemOf(() => parseTokenText(JSON.stringify({ ...expected, access_token_expiry: 'soon' }))).problem).toBe('corrupted');
    expect(problemOf(() => parseTokenText('{"consumer_key": ')).problem).toBe('corrupted');
  });

  it('never puts a secret into an error message', () => {
    const p = problemOf(() => parseTokenText(JSON.stringify({ ...expected, access_token_expiry: 12 })));
    for (const v of Object.values(expected) as string[]) if (v.length > 20) expect(p.message).not.toContain(v);
  });
});
