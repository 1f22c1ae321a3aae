import 'reflect-metadata'; // @peculiar/x509 needs it loaded first
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import { certificatePath, issued, signAttached, signDetached, verifyAttached, type CmsSigner } from './cms-sign.js';
import { certificateFor, SignatureError, verifyMdmSignature } from './mdm-signature.js';
import { thrownMessage } from '../../test/support/thrown.js';
import { hasOpenssl } from '../../test/support/openssl.js';

const MI = new URL('../../test/fixtures/apple/machineinfo-sample/', import.meta.url);
const machineInfoDer = readFileSync(new URL('machineinfo.p7s.der', MI));
const machineInfoPlist = readFileSync(new URL('machineinfo.plist', MI));
const miRoot = readFileSync(new URL('test-root-ca.pem', MI), 'utf8');
const miDeviceCa = readFileSync(new URL('test-device-ca.pem', MI), 'utf8');
const miLeaf = readFileSync(new URL('device-leaf.pem', MI), 'utf8');

interface TestPki {
  rootPem: string;
  leafPem: string;
  leafKeyPem: string;
  signer: CmsSigner;
}

/** A throwaway root CA and a leaf it issued (RSA-2048 or P-256). */
async function makePki(kind: 'rsa' | 'ec', cn = 'Pomona Test'): Promise<TestPki> {
  x509.cryptoProvider.set(webcrypto as Crypto);
  const alg =
    kind === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
      : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const gen = async () => (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const [rootKeys, leafKeys] = [await gen(), await gen()];
  const notBefore = new Date(Date.now() - 86400_000);
  const notAfter = new Date(Date.now() + 365 * 86400_000);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: `CN=${cn} Root`, notBefore, notAfter, keys: rootKeys, signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '7f02', subject: `CN=${cn} Leaf`, issuer: root.subject, notBefore, notAfter, signingKey: rootKeys.privateKey,
    publicKey: leafKeys.publicKey, signingAlgorithm: alg,
    extensions: [await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey)],
  });
  const leafKey = KeyObject.from(leafKeys.privateKey);
  return {
    rootPem: root.toString('pem'),
    leafPem: leaf.toString('pem'),
    leafKeyPem: leafKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    signer: { certificate: leaf.toString('pem'), privateKey: leafKey, chain: [root.toString('pem')] },
  };
}

const pem = (der: Buffer) => new x509.X509Certificate(new Uint8Array(der)).toString('pem');

const reason = (fn: () => unknown): string => thrownMessage(fn, SignatureError);

const body = Buffer.from('<?xml version="1.0"?>\n<plist version="1.0"><dict><key>Status</key><string>Idle</string></dict></plist>\n\u00e9\r\n');
let rsa: TestPki;
let ec: TestPki;
let other: TestPki;
beforeAll(async () => {
  [rsa, ec, other] = await Promise.all([makePki('rsa'), makePki('ec'), makePki('rsa', 'Other')]);
});

describe('signDetached', () => {
  it('verifies with verifyMdmSignature (RSA and EC, PEM or KeyObject keys)', () => {
    for (const pki of [rsa, ec]) {
      const v = verifyMdmSignature(signDetached(body, pki.signer).toString('base64'), body);
      expect(pem(v.certificateDer)).toBe(pki.leafPem);
      const again = signDetached(body, { certificate: pki.leafPem, privateKey: pki.leafKeyPem });
      expect(verifyMdmSignature(again.toString('base64'), body).certificateSha256).toBe(v.certificateSha256);
    }
  });

  it('records signingTime and fails on another body', () => {
    const at = new Date('2031-02-03T04:05:06Z');
    const header = signDetached(body, rsa.signer, { signingTime: at }).toString('base64');
    expect(verifyMdmSignature(header, body).signingTime).toEqual(at);
    expect(reason(() => verifyMdmSignature(header, Buffer.from('x')))).toBe('message digest mismatch');
    const far = signDetached(body, rsa.signer, { signingTime: new Date('2051-01-01T00:00:00Z') });
    expect(verifyMdmSignature(far.toString('base64'), body).signingTime).toEqual(new Date('2051-01-01T00:00:00Z'));
  });

  it('refuses keys it cannot sign CMS with', () => {
    const ed = webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
    return ed.then((k) => expect(() => signDetached(body, { certificate: rsa.leafPem, privateKey: KeyObject.from(k.privateKey) })).toThrow(/ed25519/));
  });
});

describe('verifyAttached', () => {
  it('returns the content of our attached signature and the chain to the anchor', () => {
    const v = verifyAttached(signAttached(body, rsa.signer), { trustedCertificatesPem: [rsa.rootPem] });
    expect(v.content.equals(body)).toBe(true);
    expect(pem(v.signerCertificateDer)).toBe(rsa.leafPem);
    expect(v.chain.map((c) => pem(c))).toEqual([rsa.rootPem]);
    expect(verifyAttached(signAttached(body, ec.signer), { trustedCertificatesPem: [ec.rootPem] }).content.equals(body)).toBe(true);
  });

  it('finds the root as an anchor even when the message leaves it out', () => {
    const noChain = signAttached(body, { certificate: rsa.leafPem, privateKey: rsa.leafKeyPem });
    expect(verifyAttached(noChain, { trustedCertificatesPem: [rsa.rootPem] }).chain).toHaveLength(1);
  });

  it('refuses a wrong anchor, no anchors, detached input and tampered content', () => {
    const signed = signAttached(body, rsa.signer);
    expect(reason(() => verifyAttached(signed, { trustedCertificatesPem: [other.rootPem] }))).toBe('signer does not chain to a trusted certificate');
    expect(reason(() => verifyAttached(signed, { trustedCertificatesPem: [] }))).toBe('signer does not chain to a trusted certificate');
    expect(verifyAttached(signed).content.equals(body)).toBe(true); // signature only
    expect(reason(() => verifyAttached(signDetached(body, rsa.signer)))).toBe('no attached content');
    const tampered = Buffer.from(signed);
    const at = tampered.indexOf(Buffer.from('Idle'));
    tampered[at] = 0x58;
    expect(reason(() => verifyAttached(tampered, { trustedCertificatesPem: [rsa.rootPem] }))).toBe('message digest mismatch');
  });

  it('checks dates unless told not to', () => {
    const signed = signAttached(body, rsa.signer);
    const later = () => Date.now() + 2 * 365 * 86400_000;
    expect(reason(() => verifyAttached(signed, { trustedCertificatesPem: [rsa.rootPem], now: later }))).toBe('certificate outside its validity period');
    expect(verifyAttached(signed, { trustedCertificatesPem: [rsa.rootPem], now: later, ignoreDates: true }).content.equals(body)).toBe(true);
  });

  describe('on the MachineInfo sample (leaf ← device CA ← root)', () => {
    it('verifies with its test root as the anchor', () => {
      const v = verifyAttached(machineInfoDer, { trustedCertificatesPem: [miRoot] });
      expect(v.content.equals(machineInfoPlist)).toBe(true);
      expect(pem(v.signerCertificateDer).trim()).toBe(miLeaf.trim());
      expect(v.chain.map((c) => pem(c).trim())).toEqual([miDeviceCa.trim(), miRoot.trim()]);
      expect(v.signingTime).toBeInstanceOf(Date);
    });

    it('fails with the wrong anchor or tampered content', () => {
      expect(reason(() => verifyAttached(machineInfoDer, { trustedCertificatesPem: [rsa.rootPem] }))).toBe('signer does not chain to a trusted certificate');
      const tampered = Buffer.from(machineInfoDer);
      const at = tampered.indexOf(Buffer.from('SAMPLE0SER01'));
      tampered[at] = 0x54;
      expect(reason(() => verifyAttached(tampered, { trustedCertificatesPem: [miRoot] }))).toBe('message digest mismatch');
    });

    it('checks dates against the injected clock', () => {
      const in2040 = () => Date.parse('2040-01-01T00:00:00Z');
      expect(reason(() => verifyAttached(machineInfoDer, { trustedCertificatesPem: [miRoot], now: in2040 }))).toMatch(/validity/);
      expect(verifyAttached(machineInfoDer, { trustedCertificatesPem: [miRoot], now: in2040, ignoreDates: true }).chain).toHaveLength(2);
    });
  });
});

describe('certificatePath: links checked without OpenSSL\'s certificate decoder', () => {
  // root → intermediate → leaf, and leaves that are each wrong in one way. Every verdict is also
  // asked of X509Certificate (checkIssued + verify), which the fast check stands in for.
  type Keys = CryptoKeyPair;
  const notBefore = new Date(Date.now() - 86400_000);
  const notAfter = new Date(Date.now() + 365 * 86400_000);
  const ca = (critical = true) => [new x509.BasicConstraintsExtension(true, undefined, critical), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)];
  let alg: RsaHashedKeyGenParams | EcKeyGenParams;
  const gen = async () => (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as Keys;
  const der = (c: x509.X509Certificate) => Buffer.from(c.rawData);
  async function issue(subject: string, issuer: string, signer: Keys, keys: Keys, extensions: x509.Extension[]) {
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '0a', subject, issuer, notBefore, notAfter, signingKey: signer.privateKey, publicKey: keys.publicKey, signingAlgorithm: alg,
      extensions: [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey), ...extensions],
    });
    return der(cert);
  }
  async function chainOf(kind: 'rsa' | 'ec') {
    x509.cryptoProvider.set(webcrypto as Crypto);
    alg = kind === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as RsaHashedKeyGenParams
      : { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } as EcKeyGenParams;
    const [rootKeys, midKeys, leafKeys, otherKeys] = await Promise.all([gen(), gen(), gen(), gen()]);
    const root = der(await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=Chain Root', notBefore, notAfter, keys: rootKeys, signingAlgorithm: alg, extensions: ca() }));
    const akiOf = (k: Keys) => x509.AuthorityKeyIdentifierExtension.create(k.publicKey);
    const mid = await issue('CN=Chain CA', 'CN=Chain Root', rootKeys, midKeys, [...ca(), await akiOf(rootKeys)]);
    const notCa = await issue('CN=Chain CA', 'CN=Chain Root', rootKeys, midKeys, [new x509.BasicConstraintsExtension(false), await akiOf(rootKeys)]);
    const leaf = (issuer: string, aki: x509.Extension) => issue('CN=Chain Leaf', issuer, midKeys, leafKeys, [aki]);
    const good = await leaf('CN=Chain CA', await akiOf(midKeys));
    const badSignature = Buffer.from(good);
    badSignature[badSignature.length - 5]! ^= 0x01;
    return {
      root: new x509.X509Certificate(new Uint8Array(root)).toString('pem'), mid, notCa, good, badSignature,
      wrongIssuerName: await leaf('CN=Chain CA 2', await akiOf(midKeys)),
      akiMismatch: await leaf('CN=Chain CA', await akiOf(otherKeys)),
    };
  }
  const openssl = (issuerDer: Buffer, childDer: Buffer) => {
    const [issuer, child] = [new X509Certificate(issuerDer), new X509Certificate(childDer)];
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  };

  for (const kind of ['rsa', 'ec'] as const) {
    it(`accepts a good ${kind} chain and refuses a wrong issuer name, a non-CA intermediate, a bad signature and an AKI/SKI mismatch`, async () => {
      const c = await chainOf(kind);
      const path = certificatePath(c.good, [c.mid], [c.root]);
      expect(path.trusted).toBe(true);
      expect(path.chain.map((d) => pem(d))).toEqual([pem(c.mid), c.root]);
      expect(issued(certificateFor(c.mid), certificateFor(c.good))).toBe(true);
      expect(openssl(c.mid, c.good)).toBe(true);

      expect(certificatePath(c.good, [c.notCa], [c.root])).toEqual({ chain: [], trusted: false });
      expect(new X509Certificate(c.notCa).ca).toBe(false);
      for (const leaf of [c.wrongIssuerName, c.badSignature, c.akiMismatch]) {
        expect(certificatePath(leaf, [c.mid], [c.root])).toEqual({ chain: [], trusted: false });
        expect(issued(certificateFor(c.mid), certificateFor(leaf))).toBe(false);
        expect(openssl(c.mid, leaf)).toBe(false);
      }
    });
  }
});

describe.skipIf(!hasOpenssl)('interoperability with openssl cms', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pomona-cms-'));
    writeFileSync(file('body'), body);
    for (const [name, pki] of [['rsa', rsa], ['ec', ec]] as const) {
      writeFileSync(file(`${name}-root.pem`), pki.rootPem);
      writeFileSync(file(`${name}-leaf.pem`), pki.leafPem);
      writeFileSync(file(`${name}-leaf.key`), pki.leafKeyPem);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['rsa', 'ec'] as const)('openssl verifies our detached signature (%s)', (kind) => {
    writeFileSync(file('det.der'), signDetached(body, kind === 'rsa' ? rsa.signer : ec.signer));
    openssl('cms', '-verify', '-binary', '-inform', 'DER', '-in', file('det.der'), '-content', file('body'), '-noverify', '-out', file('det.out'));
    openssl('cms', '-verify', '-binary', '-inform', 'DER', '-in', file('det.der'), '-content', file('body'), '-CAfile', file(`${kind}-root.pem`), '-purpose', 'any', '-out', file('det.out'));
  });

  it.each(['rsa', 'ec'] as const)('openssl verifies our attached signature and extracts identical content (%s)', (kind) => {
    writeFileSync(file('att.der'), signAttached(body, kind === 'rsa' ? rsa.signer : ec.signer));
    openssl('cms', '-verify', '-binary', '-inform', 'DER', '-in', file('att.der'), '-noverify', '-out', file('att.out'));
    expect(readFileSync(file('att.out')).equals(body)).toBe(true);
    openssl('cms', '-verify', '-binary', '-inform', 'DER', '-in', file('att.der'), '-CAfile', file(`${kind}-root.pem`), '-purpose', 'any', '-out', file('att.out'));
  });

  it.each([
    ['sha1', []],
    ['sha256', ['-stream']], // BER, indefinite lengths
    ['sha384', ['-keyid']], // signer identified by subjectKeyIdentifier
    ['sha512', []],
  ])('verifyAttached and verifyMdmSignature accept openssl signatures (%s %s)', (md, extra) => {
    const sign = (detached: boolean) => {
      const out = file(`o-${md}.der`);
      openssl('cms', '-sign', '-binary', '-md', md, ...extra, ...(detached ? [] : ['-nodetach']), '-in', file('body'), '-signer', file('rsa-leaf.pem'), '-inkey', file('rsa-leaf.key'), '-certfile', file('rsa-root.pem'), '-outform', 'DER', '-out', out);
      return readFileSync(out);
    };
    const attached = verifyAttached(sign(false), { trustedCertificatesPem: [rsa.rootPem] });
    expect(attached.content.equals(body)).toBe(true);
    if (!extra.includes('-stream')) expect(verifyMdmSignature(sign(true).toString('base64'), body).certificateSha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('verifyAttached fuzz: only SignatureError escapes (MachineInfo is device input)', () => {
  it('truncations and bit flips of the MachineInfo sample', () => {
    const check = (der: Buffer) => {
      try {
        verifyAttached(der, { trustedCertificatesPem: [miRoot] });
      } catch (err) {
        if (!(err instanceof SignatureError)) throw new Error(`non-SignatureError for ${der.toString('base64')}: ${String(err)}`);
      }
    };
    for (let cut = 0; cut < machineInfoDer.length; cut += 5) check(machineInfoDer.subarray(0, cut));
    for (let k = 0; k < 1500; k++) {
      const m = Buffer.from(machineInfoDer);
      const at = Math.floor(Math.random() * m.length);
      m[at] = m[at]! ^ (1 << Math.floor(Math.random() * 8));
      check(m);
    }
  });
});
