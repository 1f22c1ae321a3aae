import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addressedTo, buildEnvelope, decryptEnvelope, EnvelopeError, parseEnvelope, type ContentCipher } from './cms-envelope.js';
import { certificateFields, DerError } from './der.js';
import { parsePkiMessage } from './scep-message.js';

const dir = mkdtempSync(join(tmpdir(), 'pomona-cms-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
// Single DES lives in OpenSSL 3's legacy provider, which may be absent.
const legacy = (() => {
  try {
    openssl('list', '-cipher-algorithms', '-provider', 'legacy');
    return true;
  } catch {
    return false;
  }
})();

openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-subj', '/CN=recipient', '-days', '1');
const privateKey = createPrivateKey(readFileSync(join(dir, 'key.pem')));
const certDer = new X509Certificate(readFileSync(join(dir, 'cert.pem'))).raw;
const recipient = { privateKey, certificateDer: certDer };
const ciphers: ContentCipher[] = ['aes-128-cbc', 'aes-192-cbc', 'aes-256-cbc', 'des-ede3-cbc', 'des-cbc'];

describe('envelope round trips', () => {
  for (const cipher of ciphers) {
    for (const keyTransport of ['rsa-pkcs1', 'rsa-oaep'] as const) {
      it(`${cipher} with ${keyTransport}`, () => {
        const content = randomBytes(700);
        const env = buildEnvelope(content, certDer, { cipher, keyTransport, oaepHash: 'sha256' });
        expect(parseEnvelope(env)).toMatchObject({ cipher, recipients: [{ keyTransport }] });
        expect(decryptEnvelope(env, recipient)).toEqual({ content, cipher });
      });
    }
  }

  it('OAEP with the default SHA-1 parameters', () => {
    const env = buildEnvelope(Buffer.from('x'), certDer, { keyTransport: 'rsa-oaep' });
    expect(decryptEnvelope(env, { privateKey }).content.toString()).toBe('x');
  });

  it('fails the same way for a wrong key, a damaged key block and damaged content', () => {
    const content = randomBytes(64);
    const env = buildEnvelope(content, certDer);
    const other = createPrivateKey(openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'));
    const parsed = parseEnvelope(env);
    const badKey = { ...parsed, recipients: [{ ...parsed.recipients[0], encryptedKey: randomBytes(256) }] };
    const damaged = Buffer.from(parsed.encryptedContent);
    damaged[damaged.length - 17] ^= 1; // flips the last padding byte: 0x10 becomes 0x11
    const outcome = (attempt: () => { content: Buffer }) => {
      try {
        return attempt().content.equals(content) ? 'plaintext' : 'garbage';
      } catch (err) {
        expect(err).toEqual(new EnvelopeError('envelope could not be decrypted'));
        return 'error';
      }
    };
    // A wrong key yields a pseudo-random CEK: almost always a padding error, rarely garbage, never the plaintext.
    expect(outcome(() => decryptEnvelope(env, { privateKey: other }))).not.toBe('plaintext');
    expect(outcome(() => decryptEnvelope(badKey, recipient))).not.toBe('plaintext');
    expect(outcome(() => decryptEnvelope({ ...parsed, encryptedContent: damaged }, recipient))).toBe('error');
  });

  it('rejects garbage with a DER error', () => {
    expect(() => decryptEnvelope(randomBytes(300), recipient)).toThrow(DerError);
    expect(() => parseEnvelope(buildEnvelope(Buffer.from('x'), certDer).subarray(0, 200))).toThrow(DerError);
  });
});

describe('OpenSSL interop', () => {
  const encryptWithOpenssl = (name: string, args: string[]) => {
    writeFileSync(join(dir, 'msg.bin'), 'from openssl');
    openssl('cms', '-encrypt', '-binary', '-in', 'msg.bin', '-outform', 'DER', '-out', name, ...args);
    return readFileSync(join(dir, name));
  };

  for (const [flag, cipher] of [['-aes128', 'aes-128-cbc'], ['-aes256', 'aes-256-cbc'], ['-des3', 'des-ede3-cbc']] as const) {
    it(`decrypts openssl cms -encrypt ${flag}`, () => {
      const env = encryptWithOpenssl(`in${flag}.der`, [flag, 'cert.pem']);
      expect(decryptEnvelope(env, recipient)).toEqual({ content: Buffer.from('from openssl'), cipher });
    });
  }

  it.skipIf(!legacy)('decrypts openssl cms -encrypt -des (legacy provider)', () => {
    const env = encryptWithOpenssl('in-des.der', ['-provider', 'legacy', '-provider', 'default', '-des', 'cert.pem']);
    expect(decryptEnvelope(env, recipient)).toEqual({ content: Buffer.from('from openssl'), cipher: 'des-cbc' });
  });

  it('finds its own recipient among several named by subject key identifier (openssl cms -keyid)', () => {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-key.pem', '-out', 'other.pem', '-subj', '/CN=someone else', '-days', '1');
    const env = encryptWithOpenssl('in-keyid.der', ['-aes128', '-keyid', 'other.pem', 'cert.pem']);
    const parsed = parseEnvelope(env);
    expect(parsed.recipients).toHaveLength(2);
    expect(parsed.recipients.every((r) => r.subjectKeyId && !r.issuer)).toBe(true);
    const mine = parsed.recipients.filter((r) => addressedTo(r, certDer));
    expect(mine).toHaveLength(1);
    // Someone else first: only the identifier match picks ours.
    const oursLast = { ...parsed, recipients: [...parsed.recipients.filter((r) => r !== mine[0]), mine[0]!] };
    expect(decryptEnvelope(oursLast, recipient).content.toString()).toBe('from openssl');
  });

  it('decrypts openssl RSA-OAEP (SHA-256) key transport', () => {
    const env = encryptWithOpenssl('in-oaep.der', ['-aes128', '-recip', 'cert.pem', '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256']);
    expect(parseEnvelope(env).recipients[0]).toMatchObject({ keyTransport: 'rsa-oaep', oaepHash: 'sha256' });
    expect(decryptEnvelope(env, recipient).content.toString()).toBe('from openssl');
  });

  for (const cipher of ['aes-128-cbc', 'des-ede3-cbc', 'des-cbc'] as const) {
    it.skipIf(cipher === 'des-cbc' && !legacy)(`openssl cms -decrypt reads our ${cipher} envelope`, () => {
      writeFileSync(join(dir, `ours-${cipher}.der`), buildEnvelope(Buffer.from(`ours ${cipher}`), certDer, { cipher }));
      const providers = cipher === 'des-cbc' ? ['-provider', 'legacy', '-provider', 'default'] : [];
      const out = openssl('cms', '-decrypt', ...providers, '-inform', 'DER', '-in', `ours-${cipher}.der`, '-inkey', 'key.pem', '-recip', 'cert.pem');
      expect(out.toString()).toBe(`ours ${cipher}`);
    });
  }
});

describe('recorded PKCSReq envelopes (no CA key exists, so they are only parsed)', () => {
  const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../test/fixtures/scep', name));
  const pem = (name: string) => new X509Certificate(fixture(name)).raw;

  it('mdmb: rsaEncryption key transport to the session CA, DES-CBC content', () => {
    const env = parseEnvelope(parsePkiMessage(fixture('mdmb-PKCSReq.der')).content);
    const ca = certificateFields(pem('mdmb-scep-ca.pem'));
    expect(env.cipher).toBe('des-cbc');
    expect(env.iv).toHaveLength(8);
    expect(env.recipients).toHaveLength(1);
    expect(env.recipients[0].keyTransport).toBe('rsa-pkcs1');
    expect(env.recipients[0].issuer).toEqual(ca.issuer);
    expect(env.recipients[0].serial).toEqual(ca.serial);
    expect(env.recipients[0].encryptedKey).toHaveLength(512); // the session CA is RSA 4096
  });

  it('micromdm/scep testdata: DES-EDE3-CBC content', () => {
    const env = parseEnvelope(parsePkiMessage(fixture('micromdm-PKCSReq.der')).content);
    expect(env.cipher).toBe('des-ede3-cbc');
    expect(env.recipients[0].issuer).toEqual(certificateFields(pem('micromdm-testca.pem')).subject);
  });
});
