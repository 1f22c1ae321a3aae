import 'reflect-metadata'; // @peculiar/x509 needs it loaded first
import { KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { buildPlist } from '../apple/plist.js';
import { signAttached } from '../apple/cms-sign.js';
import { EnrollmentRequestError, parseEnrollmentRequest } from './user-enrollment-request.js';

const plist = buildPlist({ LANGUAGE: 'en-US', PRODUCT: 'iPhone17,2', VERSION: '22B83' });

describe('account-driven enrollment request body', () => {
  it('reads a plain property list, as in Apple\'s example', () => {
    expect(parseEnrollmentRequest(Buffer.from(plist))).toEqual({ language: 'en-US', product: 'iPhone17,2', version: '22B83', signed: false });
  });

  it('reads one signed by the device (CMS, content attached)', async () => {
    x509.cryptoProvider.set(webcrypto as Crypto);
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=device', keys, signingAlgorithm: alg });
    const der = signAttached(plist, { certificate: Buffer.from(cert.rawData), privateKey: KeyObject.from(keys.privateKey) });
    expect(parseEnrollmentRequest(der)).toMatchObject({ product: 'iPhone17,2', signed: true });
  });

  it.each<[string, Buffer]>([
    ['empty', Buffer.alloc(0)],
    ['garbage', Buffer.from('hello')],
    ['not a dictionary', Buffer.from(buildPlist(['a']))],
    ['a field of the wrong type', Buffer.from(buildPlist({ PRODUCT: 7 }))],
    ['a field with markup', Buffer.from(buildPlist({ PRODUCT: '<b>iPhone</b> x' }))],
    ['entity expansion', Buffer.from('<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaa">]><plist><dict><key>PRODUCT</key><string>&a;</string></dict></plist>')],
  ])('refuses %s', (_name, body) => {
    expect(() => parseEnrollmentRequest(body)).toThrow(EnrollmentRequestError);
  });
});
