import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, createCaCertificate } from './ca.js';
import { buildEnvelope } from './cms-envelope.js';
import { DerError, oid, printableString, seq, setOf, tlv } from './der.js';
import {
  FailInfo, MessageType, PkiStatus, ScepMessageError, buildCertRep, buildSignedData, openCertificationRequest, parseCertificationRequest,
  parseCertsOnly, parsePkiMessage, scepAttributes,
} from './scep-message.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../test/fixtures/scep', name));
const certOf = (name: string) => new X509Certificate(fixture(name)).raw;
const dir = mkdtempSync(join(tmpdir(), 'pomona-scep-msg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

describe('recorded pkiMessages', () => {
  it('mdmb PKCSReq: SHA-1 signature verifies, SCEP attributes read', () => {
    const msg = parsePkiMessage(fixture('mdmb-PKCSReq.der'));
    expect(msg).toMatchObject({ messageType: MessageType.PKCSReq, transactionId: '5qHQDPi/G1da033Yp9okdeybBRw=', digest: 'sha1' });
    expect(msg.senderNonce?.toString('hex')).toBe('175afb014836554519539812d91cd8c1');
    expect(new X509Certificate(msg.signerCertificateDer).subject).toBe('CN=SCEP SIGNER');
  });

  it('micromdm/scep PKCSReq', () => {
    const msg = parsePkiMessage(fixture('micromdm-PKCSReq.der'));
    expect(msg).toMatchObject({ messageType: 19, transactionId: 'A13090761A30F66664F85D37433D2065E1112BA1', digest: 'sha1' });
    expect(msg.senderNonce?.toString('hex')).toBe('ae7fe8816cc6bedd');
  });

  it('micromdm/scep CertRep from the mdmb session', () => {
    const req = parsePkiMessage(fixture('mdmb-PKCSReq.der'));
    const rep = parsePkiMessage(fixture('mdmb-CertRep.der'), { signerCertificateDer: certOf('mdmb-scep-ca.pem') });
    expect(rep).toMatchObject({ messageType: MessageType.CertRep, pkiStatus: PkiStatus.SUCCESS, transactionId: req.transactionId });
    expect(rep.recipientNonce).toEqual(req.senderNonce);
    expect(rep.failInfo).toBeUndefined();
    expect(rep.certificates[1]).toEqual(certOf('mdmb-scep-ca.pem'));
    expect(new X509Certificate(rep.certificates[0]).issuer).toBe(new X509Certificate(certOf('mdmb-scep-ca.pem')).subject);
  });

  it('smallstep CertRep (no senderNonce) and the one without signer certificates', () => {
    const rep = parsePkiMessage(fixture('smallstep-CertRep.der'));
    expect(rep).toMatchObject({ messageType: 3, pkiStatus: 0, senderNonce: undefined });
    expect(rep.recipientNonce?.toString('hex')).toBe('ae7fe8816cc6bedd');
    expect(rep.signerCertificateDer).toEqual(certOf('micromdm-testca.pem'));
    const bare = fixture('smallstep-CertRep_NoCertificatesForSigners.der');
    expect(() => parsePkiMessage(bare)).toThrow('signer certificate not found');
    expect(parsePkiMessage(bare, { signerCertificateDer: certOf('smallstep-ca2.pem') }).messageType).toBe(3);
  });
});

describe('tampering and garbage', () => {
  const good = fixture('mdmb-PKCSReq.der');
  const flip = (at: number) => {
    const b = Buffer.from(good);
    b[at] ^= 0x01;
    return b;
  };

  it('detects a changed signature, content or attribute', () => {
    expect(() => parsePkiMessage(flip(good.length - 5))).toThrow('signature does not verify');
    expect(() => parsePkiMessage(flip(600))).toThrow('message digest does not match');
    expect(() => parsePkiMessage(flip(good.indexOf(Buffer.from('5qHQDPi'))))).toThrow('signature does not verify');
  });

  it('throws only its own error types on mutated and truncated input', () => {
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(good);
      const n = 1 + (i % 4);
      for (let j = 0; j < n; j++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      const input = i % 3 === 0 ? b.subarray(0, Math.floor(Math.random() * b.length)) : b;
      try {
        parsePkiMessage(input);
      } catch (err) {
        if (!(err instanceof ScepMessageError || err instanceof DerError)) throw err;
      }
    }
    for (const junk of [Buffer.alloc(0), Buffer.from('hello'), randomBytes(3000), Buffer.from([0x30, 0x80])]) {
      expect(() => parsePkiMessage(junk)).toThrow();
    }
  });
});

describe('PKCS#10 requests', () => {
  beforeAll(() => {
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'dev.key');
    writeFileSync(join(dir, 'req.cnf'), '[req]\ndistinguished_name=dn\nattributes=attrs\nprompt=no\n[dn]\nCN=device\n[attrs]\nchallengePassword=s3cret-Challenge\n');
  });

  it('reads the challengePassword of an OpenSSL request and verifies its signature', () => {
    const csr = openssl('req', '-new', '-key', 'dev.key', '-config', 'req.cnf', '-outform', 'DER', '-addext', 'subjectAltName=DNS:dev.example');
    const parsed = parseCertificationRequest(csr);
    expect(parsed.challengePassword).toBe('s3cret-Challenge');
    expect([...parsed.extensions.keys()]).toContain('2.5.29.17');
    const tampered = Buffer.from(csr);
    tampered[tampered.indexOf(Buffer.from('device'))] ^= 0x20;
    expect(() => parseCertificationRequest(tampered)).toThrow('request signature does not verify');
  });

  it('reads UTF8String and IA5String challenges', () => {
    const key = createPrivateKey(readFileSync(join(dir, 'dev.key')));
    const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
    for (const tag of [0x0c, 0x16]) {
      const info = seq(
        tlv(0x02, Buffer.from([0])),
        seq(setOf(seq(oid('2.5.4.3'), printableString('x')))),
        spki,
        tlv(0xa0, seq(oid('1.2.840.113549.1.9.7'), setOf(tlv(tag, Buffer.from('pw_with_underscore'))))),
      );
      const csr = seq(info, seq(oid('1.2.840.113549.1.1.11'), Buffer.from([5, 0])), tlv(0x03, Buffer.from([0]), sign('sha256', info, key)));
      expect(parseCertificationRequest(csr).challengePassword).toBe('pw_with_underscore');
    }
  });
});

describe('CertRep', () => {
  let ca: CertificateAuthority;
  beforeAll(async () => {
    const created = await createCaCertificate();
    ca = CertificateAuthority.fromPem(created.certPem, created.keyPem);
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'requester.key', '-out', 'requester.pem', '-subj', '/CN=requester', '-days', '1');
    writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);
  });

  /** A PKCSReq as a device would send it, signed by the requester's self-signed certificate. */
  const pkcsReq = (digest: 'sha1' | 'sha256' = 'sha256', cipher: 'aes-128-cbc' | 'des-cbc' = 'aes-128-cbc') => {
    const key = createPrivateKey(readFileSync(join(dir, 'requester.key')));
    const certificateDer = new X509Certificate(readFileSync(join(dir, 'requester.pem'))).raw;
    writeFileSync(join(dir, 'req.cnf'), '[req]\ndistinguished_name=dn\nattributes=attrs\nprompt=no\n[dn]\nCN=requester\n[attrs]\nchallengePassword=pw\n');
    const csr = openssl('req', '-new', '-key', 'requester.key', '-config', 'req.cnf', '-outform', 'DER');
    return buildSignedData({
      content: buildEnvelope(csr, ca.certificateDer, { cipher }),
      signer: { certificateDer, privateKey: key },
      digest,
      attributes: scepAttributes({ messageType: MessageType.PKCSReq, transactionId: 'TX-1', senderNonce: Buffer.alloc(16, 9) }),
      certificates: [certificateDer],
    });
  };

  it('a request we build parses, decrypts and yields the CSR', () => {
    const msg = parsePkiMessage(pkcsReq('sha1', 'des-cbc'));
    expect(msg).toMatchObject({ messageType: 19, transactionId: 'TX-1', digest: 'sha1' });
    const { request, cipher } = openCertificationRequest(msg, ca);
    expect(cipher).toBe('des-cbc');
    expect(request.challengePassword).toBe('pw');
  });

  it('SUCCESS: OpenSSL verifies the signature, decrypts the envelope with the requester key and finds the certificate', () => {
    const msg = parsePkiMessage(pkcsReq());
    const { request, cipher } = openCertificationRequest(msg, ca);
    const issued = ca.issue(request, { validityDays: 30 });
    const rep = buildCertRep({ ca, request: msg, issued: { certificateDer: issued.der, cipher } });
    writeFileSync(join(dir, 'certrep.der'), rep);
    // -noverify skips the chain check only: the CMS signature itself is still verified.
    openssl('cms', '-verify', '-noverify', '-inform', 'DER', '-in', 'certrep.der', '-binary', '-out', 'envelope.der');
    openssl('cms', '-decrypt', '-inform', 'DER', '-in', 'envelope.der', '-inkey', 'requester.key', '-recip', 'requester.pem', '-binary', '-out', 'certs.der');
    const certs = parseCertsOnly(readFileSync(join(dir, 'certs.der')));
    expect(certs).toEqual([issued.der]);
    expect(openssl('pkcs7', '-inform', 'DER', '-in', 'certs.der', '-print_certs', '-noout').toString()).toContain('CN = requester');

    const parsed = parsePkiMessage(rep, { signerCertificateDer: ca.certificateDer });
    expect(parsed).toMatchObject({ messageType: 3, pkiStatus: 0, transactionId: 'TX-1', digest: 'sha256' });
    expect(parsed.recipientNonce).toEqual(Buffer.alloc(16, 9));
    expect(parsed.senderNonce).toHaveLength(16);
    expect(parsed.certificates[0]).toEqual(issued.der);
  });

  it('FAILURE carries failInfo and no envelope, and answers with the request digest', () => {
    const msg = parsePkiMessage(pkcsReq('sha1'));
    const rep = parsePkiMessage(buildCertRep({ ca, request: msg, failInfo: FailInfo.badRequest }));
    expect(rep).toMatchObject({ messageType: 3, pkiStatus: PkiStatus.FAILURE, failInfo: FailInfo.badRequest, digest: 'sha1' });
    expect(rep.content).toHaveLength(0);
    expect(rep.signerCertificateDer).toEqual(ca.certificateDer);
  });
});
