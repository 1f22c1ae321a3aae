import { readFileSync } from 'node:fs';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createTestPushCertificate,
  parsePushCertificate,
  PushCertificateError,
  readPushCertificate,
  type PushCertificate,
} from './push-certificate.js';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/push/${name}`, import.meta.url), 'utf8');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof PushCertificateError) return err.code;
    throw err;
  }
  return undefined;
}

function toPkcs12(pc: PushCertificate, password: string): Uint8Array {
  const key = forge.pki.privateKeyFromPem(pc.keyPem);
  const cert = forge.pki.certificateFromPem(pc.certPem);
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, [cert], password, { algorithm: '3des', friendlyName: 'push' });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

describe('readPushCertificate', () => {
  it('takes the topic and validity from the real Apple push certificate', () => {
    const info = readPushCertificate(fixture('push.pem'));
    expect(info.topic).toBe('com.apple.mgmt.External.e0bd1eac-1f17-4c8e-8a63-dd17d3dd35d9');
    expect(info.subject).toBe(
      'UID=com.apple.mgmt.External.e0bd1eac-1f17-4c8e-8a63-dd17d3dd35d9, CN=APSP:e0bd1eac-1f17-4c8e-8a63-dd17d3dd35d9, C=US',
    );
    expect(info.issuer).toContain('Apple Application Integration 2 Certification Authority');
    expect(new Date(info.notAfter).toISOString()).toBe('2022-02-10T17:44:47.000Z');
    expect(new Date(info.notBefore).toISOString()).toBe('2021-02-10T17:44:47.000Z');
  });

  it('reads the mock push certificate topic', () => {
    expect(readPushCertificate(fixture('mock_push_cert.pem')).topic).toBe(
      'com.apple.mgmt.External.18a16429-886b-41f1-9c30-2bd04ae4fc37',
    );
  });

  it('rejects a certificate without UID, one with another prefix, and non-certificates', () => {
    expect(codeOf(() => readPushCertificate(fixture('mock_push_cert_no_uid.pem')))).toBe('no-topic');
    expect(codeOf(() => readPushCertificate(fixture('pushcert.pem')))).toBe('no-topic');
    expect(codeOf(() => readPushCertificate(fixture('mock_push_cert_wrong_uid_prefix.pem')))).toBe('wrong-topic-prefix');
    expect(codeOf(() => readPushCertificate('hello'))).toBe('not-a-certificate');
  });
});

describe('parsePushCertificate', () => {
  let pc: PushCertificate;
  beforeAll(async () => {
    pc = await createTestPushCertificate({ topic: 'com.apple.mgmt.External.test-1' });
  });

  it('reads certificate and key from one PEM or two, PKCS#1 or PKCS#8', () => {
    const one = parsePushCertificate({ cert: pc.certPem + pc.keyPem });
    expect(one).toMatchObject({ topic: 'com.apple.mgmt.External.test-1', certPem: pc.certPem, notAfter: pc.notAfter });
    expect(one.subject).toMatch(/^UID=com\.apple\.mgmt\.External\.test-1, CN=APSP:/);
    const pkcs1 = createPrivateKey(pc.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    const two = parsePushCertificate({ cert: Buffer.from(pc.certPem), key: pkcs1 });
    expect(two.keyPem).toBe(pc.keyPem); // normalised to PKCS#8
  });

  it('opens encrypted PEM keys with the password', () => {
    const key = createPrivateKey(pc.keyPem);
    const pkcs8 = key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 's3cret' }).toString();
    const pkcs1 = key.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 's3cret' }).toString();
    for (const enc of [pkcs8, pkcs1]) {
      expect(parsePushCertificate({ cert: pc.certPem, key: enc, password: 's3cret' }).keyPem).toBe(pc.keyPem);
      expect(codeOf(() => parsePushCertificate({ cert: pc.certPem, key: enc, password: 'nope' }))).toBe('wrong-password');
      expect(codeOf(() => parsePushCertificate({ cert: pc.certPem, key: enc }))).toBe('password-required');
    }
  });

  it('round-trips a 3DES PKCS#12 and names a wrong password', () => {
    const p12 = toPkcs12(pc, 'pa55');
    const parsed = parsePushCertificate({ cert: p12, password: 'pa55' });
    expect(parsed).toEqual({ ...pc });
    expect(codeOf(() => parsePushCertificate({ cert: p12, password: 'wrong' }))).toBe('wrong-password');
    expect(codeOf(() => parsePushCertificate({ cert: p12 }))).toBe('wrong-password');
  });

  it('reads legacy RC2-40 and OpenSSL 3 AES-256 PKCS#12 files (the ones Node 20 TLS cannot)', () => {
    const legacy = readFileSync(new URL('../../test/fixtures/push/test-push-legacy-rc2.p12', import.meta.url));
    const modern = readFileSync(new URL('../../test/fixtures/push/test-push-openssl3-aes.p12', import.meta.url));
    const a = parsePushCertificate({ cert: legacy, password: 'legacy' });
    const b = parsePushCertificate({ cert: modern, password: 'modern' });
    expect(a.topic).toBe('com.apple.mgmt.External.pomona-fixture-legacy-p12');
    expect(b).toEqual(a);
    expect(codeOf(() => parsePushCertificate({ cert: legacy, password: 'modern' }))).toBe('wrong-password');
  });

  it('refuses a key that belongs to another certificate', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(codeOf(() => parsePushCertificate({ cert: pc.certPem, key: other.toString() }))).toBe('key-mismatch');
    // The real Apple certificate's key was never published: any key is the wrong one.
    expect(codeOf(() => parsePushCertificate({ cert: fixture('push.pem'), key: pc.keyPem, password: undefined }))).toBe('key-mismatch');
  });

  it('names what is missing or wrong', () => {
    expect(codeOf(() => parsePushCertificate({ cert: pc.certPem }))).toBe('missing-key');
    expect(codeOf(() => parsePushCertificate({ cert: pc.keyPem }))).toBe('not-a-certificate');
    expect(codeOf(() => parsePushCertificate({ cert: 'just some text' }))).toBe('not-a-certificate');
    expect(codeOf(() => parsePushCertificate({ cert: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]) }))).toBe('not-a-certificate');
    expect(codeOf(() => parsePushCertificate({ cert: fixture('mock_push_cert_no_uid.pem'), key: pc.keyPem }))).toBe('no-topic');
    expect(codeOf(() => parsePushCertificate({ cert: fixture('mock_push_cert_wrong_uid_prefix.pem'), key: pc.keyPem }))).toBe(
      'wrong-topic-prefix',
    );
  });

  it('reports an expired certificate and imports it only when allowed', async () => {
    const old = await createTestPushCertificate({ days: -1 });
    const input = { cert: old.certPem, key: old.keyPem };
    expect(() => parsePushCertificate(input)).toThrow(/expired on .*renew it in the Apple Push Certificates Portal/);
    expect(codeOf(() => parsePushCertificate(input))).toBe('expired');
    expect(parsePushCertificate(input, { allowExpired: true }).topic).toBe(old.topic);
    // and validity is judged at the injected time
    expect(codeOf(() => parsePushCertificate({ cert: pc.certPem, key: pc.keyPem }, { now: pc.notAfter + 1 }))).toBe('expired');
  });

  it('makes Apple-shaped test certificates', async () => {
    const made = await createTestPushCertificate();
    expect(made.topic).toMatch(/^com\.apple\.mgmt\.External\.[0-9a-f-]{36}$/);
    const cert = forge.pki.certificateFromPem(made.certPem);
    expect(cert.getExtension('extKeyUsage')).toMatchObject({ clientAuth: true });
    expect(made.notAfter - Date.now()).toBeGreaterThan(364 * 86_400_000);
  });
});
