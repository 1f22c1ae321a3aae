import 'reflect-metadata'; // @peculiar/x509 needs it loaded first
import { readdirSync, readFileSync } from 'node:fs';
import { createHash, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import { childrenOf, readTlv, SignatureError, verifyMdmSignature, MAX_MDM_SIGNATURE_LENGTH } from './mdm-signature.js';
import { signAttached, signDetached, type CmsSigner } from './cms-sign.js';
import { thrownMessage } from '../../test/support/thrown.js';

const SESSION = new URL('../../test/fixtures/apple/third-party-client-session/mdm/', import.meta.url);
// Every request mdmb made, with the Mdm-Signature header it sent (SHA-1 digest, sha1WithRSA).
const recorded = readdirSync(SESSION)
  .filter((f) => f.endsWith('.exchange.json'))
  .map((f) => {
    const exchange = JSON.parse(readFileSync(new URL(f, SESSION), 'utf8')) as { req_headers: Record<string, string>; req_body_len: number };
    const body = readFileSync(new URL(f.replace('.exchange.json', '.request.plist'), SESSION));
    return { name: f, header: exchange.req_headers['Mdm-Signature']!, body, length: exchange.req_body_len };
  });

const reason = (fn: () => unknown): string => thrownMessage(fn, SignatureError);

// Minimal DER writer for building hostile variants of a real signature.
function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const head = n < 0x80 ? [tag, n] : n < 0x100 ? [tag, 0x81, n] : [tag, 0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from(head), body]);
}
/** Rebuilds the SignedData of `der` with its child elements passed through `edit`. */
function editSignedData(der: Buffer, edit: (kids: Buffer[]) => Buffer[]): Buffer {
  const ci = readTlv(der, 0);
  const [ct, explicit] = childrenOf(der, ci);
  const sd = childrenOf(der, explicit!)[0]!;
  const kids = childrenOf(der, sd).map((t) => der.subarray(t.start, t.end));
  const newSd = tlv(0x30, Buffer.concat(edit(kids)));
  return tlv(0x30, Buffer.concat([der.subarray(ct!.start, ct!.end), tlv(0xa0, newSd)]));
}

async function testSigner(): Promise<CmsSigner> {
  x509.cryptoProvider.set(webcrypto as Crypto);
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a1b', name: 'CN=Pomona test device', notBefore: new Date(Date.now() - 86400_000), notAfter: new Date(Date.now() + 86400_000), keys, signingAlgorithm: alg,
  });
  return { certificate: Buffer.from(cert.rawData), privateKey: KeyObject.from(keys.privateKey) };
}

describe('verifyMdmSignature on the recorded mdmb session', () => {
  it.each(recorded)('$name verifies over its exact body', ({ header, body, length }) => {
    expect(body.length).toBe(length);
    const v = verifyMdmSignature(header, body);
    expect(v.certificateSha256).toBe(createHash('sha256').update(v.certificateDer).digest('hex'));
    expect(v.certificateSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v.signingTime).toEqual(new Date('2026-11-21T07:06:00Z'));
  });

  it.each(recorded)('$name fails when one byte of the body changes', ({ header, body }) => {
    for (const at of [0, body.length >> 1, body.length - 1]) {
      const tampered = Buffer.from(body);
      tampered[at] = tampered[at]! ^ 0x01;
      expect(reason(() => verifyMdmSignature(header, tampered))).toBe('message digest mismatch');
    }
    expect(reason(() => verifyMdmSignature(header, Buffer.concat([body, Buffer.from(' ')])))).toBe('message digest mismatch');
  });

  it('all requests of the session carry the same device certificate', () => {
    const hashes = new Set(recorded.map((r) => verifyMdmSignature(r.header, r.body).certificateSha256));
    expect(hashes.size).toBe(1);
  });

  it('benchmark: per-verify time (logged, not asserted)', () => {
    const { header, body } = recorded[1]!;
    for (let k = 0; k < 200; k++) verifyMdmSignature(header, body);
    const n = 2000;
    const started = process.hrtime.bigint();
    for (let k = 0; k < n; k++) verifyMdmSignature(header, body);
    const ms = Number(process.hrtime.bigint() - started) / 1e6 / n;
    console.log(`verifyMdmSignature: ${ms.toFixed(4)} ms per verify (${n} iterations, SHA-1/RSA-2048, ${header.length}-char header)`);
  });
});

describe('verifyMdmSignature refuses', () => {
  const { header, body } = recorded[0]!;
  const der = Buffer.from(header, 'base64');

  it('a missing, repeated, oversized or non-base64 header', () => {
    expect(reason(() => verifyMdmSignature(undefined, body))).toBe('missing Mdm-Signature');
    expect(reason(() => verifyMdmSignature('', body))).toBe('missing Mdm-Signature');
    expect(reason(() => verifyMdmSignature([header, header], body))).toBe('more than one Mdm-Signature header');
    expect(reason(() => verifyMdmSignature('A'.repeat(MAX_MDM_SIGNATURE_LENGTH + 4), body))).toBe('Mdm-Signature too large');
    expect(reason(() => verifyMdmSignature(header.replace(/\+/g, '-'), body))).toBe('Mdm-Signature is not base64');
    expect(reason(() => verifyMdmSignature(header.slice(0, -1), body))).toBe('Mdm-Signature is not base64');
  });

  it('something that is not SignedData', () => {
    expect(reason(() => verifyMdmSignature(Buffer.from('hello world!').toString('base64'), body))).toMatch(/ASN\.1|SignedData/);
    const cert = verifyMdmSignature(header, body).certificateDer;
    expect(reason(() => verifyMdmSignature(cert.toString('base64'), body))).toBe('not a CMS SignedData');
  });

  it('a bad signature value', () => {
    const bad = Buffer.from(der);
    bad[bad.length - 5] = bad[bad.length - 5]! ^ 0x40; // inside the RSA signature, the last element
    expect(reason(() => verifyMdmSignature(bad.toString('base64'), body))).toBe('bad signature');
  });

  it('a message without the signer certificate', () => {
    const stripped = editSignedData(der, (kids) => kids.filter((k) => k[0] !== 0xa0));
    expect(reason(() => verifyMdmSignature(stripped.toString('base64'), body))).toBe('signer certificate not in the message');
  });

  it('two signers', () => {
    const doubled = editSignedData(der, (kids) => {
      const infos = kids[kids.length - 1]!;
      const t = readTlv(infos, 0);
      const one = infos.subarray(t.body, t.end);
      return [...kids.slice(0, -1), tlv(0x31, Buffer.concat([one, one]))];
    });
    expect(reason(() => verifyMdmSignature(doubled.toString('base64'), body))).toBe('expected exactly one signer, found 2');
  });

  it('attached content, and an attached signature over another body', async () => {
    const signer = await testSigner();
    const attached = signAttached(body, signer);
    expect(reason(() => verifyMdmSignature(attached.toString('base64'), body))).toBe('Mdm-Signature has attached content');
    const ours = signDetached(body, signer);
    expect(verifyMdmSignature(ours.toString('base64'), body).certificateDer).toEqual(Buffer.from(signer.certificate as Buffer));
  });
});

describe('verifyMdmSignature fuzz: only SignatureError escapes', () => {
  const check = (h: string, b: Buffer) => {
    try {
      verifyMdmSignature(h, b);
    } catch (err) {
      if (!(err instanceof SignatureError)) throw new Error(`non-SignatureError for ${h}: ${String(err)}`);
    }
  };
  let ders: Buffer[] = [];
  beforeAll(async () => {
    ders = [...recorded.map((r) => Buffer.from(r.header, 'base64')), signDetached(recorded[0]!.body, await testSigner())];
  });

  it('random bytes', () => {
    for (let k = 0; k < 3000; k++) check(randomBytes(1 + (k % 300)).toString('base64'), randomBytes(k % 50));
    for (let k = 0; k < 500; k++) check(Buffer.concat([Buffer.from([0x30, 0x80]), randomBytes(k % 200)]).toString('base64'), Buffer.alloc(0));
  });

  it('truncations and bit flips of real signatures', () => {
    const { body } = recorded[0]!;
    for (const der of ders) {
      for (let cut = 0; cut < der.length; cut += 3) check(der.subarray(0, cut).toString('base64'), body);
      for (let k = 0; k < 1500; k++) {
        const m = Buffer.from(der);
        const at = Math.floor(Math.random() * m.length);
        m[at] = m[at]! ^ (1 << Math.floor(Math.random() * 8));
        check(m.toString('base64'), body);
      }
    }
  });
});
