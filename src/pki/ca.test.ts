import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { CertificateAuthority, createCaCertificate } from './ca.js';
import { oid, seq, setOf, tlv, utf8String } from './der.js';
import { ScepStore } from './scep-store.js';
import { SecretBox } from './secret-box.js';

const dir = mkdtempSync(join(tmpdir(), 'pomona-ca-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const DAY = 86_400_000;

function requestFor(cn: string, san?: string[]) {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const extensions = new Map<string, Buffer>();
  if (san) extensions.set('2.5.29.17', seq(oid('2.5.29.17'), tlv(0x04, seq(...san.map((d) => tlv(0x82, Buffer.from(d)))))));
  return { subject: seq(setOf(seq(oid('2.5.4.3'), utf8String(cn)))), spki: publicKey.export({ format: 'der', type: 'spki' }), extensions };
}

describe('CA certificate and issuance', () => {
  it('creates a self-signed CA OpenSSL accepts, with the extensions a CA needs', async () => {
    const now = Date.UTC(2026, 10, 21);
    const { certPem, keyPem } = await createCaCertificate({ now });
    writeFileSync(join(dir, 'ca.pem'), certPem);
    expect(openssl('verify', '-CAfile', 'ca.pem', 'ca.pem')).toContain('ca.pem: OK');
    const text = openssl('x509', '-in', 'ca.pem', '-noout', '-text');
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toContain('Subject Key Identifier');
    expect(text).toContain('sha256WithRSAEncryption');
    expect(text).toContain('Public-Key: (2048 bit)');
    const cert = new X509Certificate(certPem);
    expect(Date.parse(cert.validTo) - now).toBeGreaterThan(3650 * DAY - DAY);
    expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
  });

  it('issues a client-auth identity OpenSSL verifies against the CA, with the subject and SANs of the request', async () => {
    const created = await createCaCertificate();
    const now = Date.now();
    const ca = CertificateAuthority.fromPem(created.certPem, created.keyPem);
    const issued = ca.issue(requestFor('device-1', ['a.example', 'b.example']), { validityDays: 365, now });
    writeFileSync(join(dir, 'ca2.pem'), created.certPem);
    writeFileSync(join(dir, 'leaf.pem'), issued.pem);
    expect(openssl('verify', '-purpose', 'sslclient', '-CAfile', 'ca2.pem', 'leaf.pem')).toContain('leaf.pem: OK');
    const text = openssl('x509', '-in', 'leaf.pem', '-noout', '-text');
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication/);
    expect(text).toContain('DNS:a.example, DNS:b.example');
    expect(text).toContain('Authority Key Identifier');
    const cert = new X509Certificate(issued.der);
    expect(cert.subject).toBe('CN=device-1');
    expect(issued.subject).toBe('CN=device-1');
    expect(issued.serialHex).toMatch(/^[4-7][0-9a-f]{31}$/);
    expect(cert.serialNumber.toLowerCase()).toBe(issued.serialHex);
    expect(Date.parse(cert.validFrom)).toBe(Math.floor((now - 10 * 60_000) / 1000) * 1000);
    expect(Date.parse(cert.validTo)).toBe(Math.floor((now + 365 * DAY) / 1000) * 1000);
    expect(issued.notAfter).toBe(Date.parse(cert.validTo));
    expect(ca.issuedByUs(issued.der)).toBe(true);
    expect(ca.issuedByUs(Buffer.from(new X509Certificate(created.certPem).raw))).toBe(true); // self-signed CA
  });

  it('never issues past its own expiry', async () => {
    const created = await createCaCertificate({ years: 1 });
    const ca = CertificateAuthority.fromPem(created.certPem, created.keyPem);
    expect(ca.issue(requestFor('x'), { validityDays: 5000 }).notAfter).toBeLessThanOrEqual(ca.notAfter);
  });

  it('refuses a key that does not match the certificate, and a non-CA certificate', async () => {
    const a = await createCaCertificate();
    const b = await createCaCertificate();
    expect(() => CertificateAuthority.fromPem(a.certPem, b.keyPem)).toThrow('does not match');
    const ca = CertificateAuthority.fromPem(a.certPem, a.keyPem);
    const leaf = ca.issue(requestFor('leaf'), { validityDays: 1 });
    expect(() => CertificateAuthority.fromPem(leaf.pem, a.keyPem)).toThrow('not a CA');
  });
});

describe.each(testDatabaseKinds)('CA persistence (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let store: ScepStore;
    const secretBox = new SecretBox(randomBytes(32));
    beforeEach(async () => {
      db = await createTestDatabase(kind);
      store = new ScepStore(db.db);
    });
    afterEach(() => db.dispose());

    it('creates the CA once, seals its key, and every node loads the same one', async () => {
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => CertificateAuthority.load({ store, secretBox })));
      expect(b.certificatePem).toBe(a.certificatePem);
      expect(c.certificatePem).toBe(a.certificatePem);
      const row = (await store.getAuthority('scep'))!;
      expect(row.cert_pem).toBe(a.certificatePem);
      expect(row.key_enc.toString('latin1')).not.toContain('PRIVATE KEY');
      expect(row.not_after).toBe(a.notAfter);
      const again = await CertificateAuthority.load({ store, secretBox });
      expect(again.certificatePem).toBe(a.certificatePem);
      expect(again.privateKey.export({ format: 'pem', type: 'pkcs8' })).toBe(b.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    });

    it('uses and stores a configured CA', async () => {
      await CertificateAuthority.load({ store, secretBox });
      const configured = await createCaCertificate({ commonName: 'Configured CA' });
      const ca = await CertificateAuthority.load({ store, secretBox, ...configured });
      expect(new X509Certificate(ca.certificatePem).subject).toContain('CN=Configured CA');
      expect((await store.getAuthority('scep'))!.cert_pem).toBe(ca.certificatePem);
      await expect(CertificateAuthority.load({ store, secretBox, certPem: configured.certPem })).rejects.toThrow('both');
    });

    it('creates a profile signer issued by the CA, stores it, and renews it near expiry', async () => {
      let now = Date.now();
      const ca = await CertificateAuthority.load({ store, secretBox, now: () => now });
      const signer = await ca.profileSigner();
      const cert = new X509Certificate(signer.certPem);
      expect(cert.subject).toBe('CN=Pomona Profile Signing');
      expect(cert.checkPrivateKey(createPrivateKey(signer.keyPem))).toBe(true);
      expect(cert.verify(createPublicKey(ca.privateKey))).toBe(true);
      expect(signer.chainPem).toBe(ca.certificatePem);
      writeFileSync(join(dir, `signer-${kind}.pem`), signer.certPem);
      writeFileSync(join(dir, `signer-ca-${kind}.pem`), ca.certificatePem);
      expect(openssl('verify', '-purpose', 'smimesign', '-CAfile', `signer-ca-${kind}.pem`, `signer-${kind}.pem`)).toContain('OK');
      expect((await store.getAuthority('profile-signer'))!.cert_pem).toBe(signer.certPem);

      const other = await CertificateAuthority.load({ store, secretBox, now: () => now });
      expect((await other.profileSigner()).certPem).toBe(signer.certPem);

      now = Date.parse(cert.validTo) - 10 * DAY;
      const later = await CertificateAuthority.load({ store, secretBox, now: () => now });
      const renewed = await later.profileSigner();
      expect(renewed.certPem).not.toBe(signer.certPem);
      expect((await store.getAuthority('profile-signer'))!.cert_pem).toBe(renewed.certPem);
    });
  });
});
