import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DerError, TAG, children, integer, nameToString, octets, oid, oidOf, parseDer, seq, setOf, spkiPublicKey, time, timeOf, tlv, utf8String,
} from './der.js';

describe('DER reader', () => {
  it('reads OIDs, integers and times it wrote', () => {
    for (const o of ['1.2.840.113549.1.9.7', '2.16.840.1.113733.1.9.2', '0.9.2342.19200300.100.1.1', '2.5.4.3']) expect(oidOf(parseDer(oid(o)))).toBe(o);
    expect(integer(0)).toEqual(Buffer.from([2, 1, 0]));
    expect(integer(128)).toEqual(Buffer.from([2, 2, 0, 128]));
    expect(integer(Buffer.from([0, 0, 0x7f]))).toEqual(Buffer.from([2, 1, 0x7f]));
    for (const ms of [Date.UTC(2026, 10, 21, 7, 6, 0), Date.UTC(2051, 0, 1)]) expect(timeOf(parseDer(time(ms)))).toBe(ms);
  });

  it('accepts BER indefinite lengths and constructed OCTET STRINGs', () => {
    const ber = Buffer.from([0x30, 0x80, 0x24, 0x80, 0x04, 0x02, 0x61, 0x62, 0x04, 0x01, 0x63, 0x00, 0x00, 0x00, 0x00]);
    const [str] = children(parseDer(ber));
    expect(octets(str).toString()).toBe('abc');
  });

  it('formats names', () => {
    const name = seq(setOf(seq(oid('2.5.4.10'), utf8String('Pomona'))), setOf(seq(oid('2.5.4.3'), utf8String('Device'))));
    expect(nameToString(name)).toBe('O=Pomona, CN=Device');
  });

  it('imports RSA and EC public keys from SubjectPublicKeyInfo', () => {
    for (const [type, opts] of [['rsa', { modulusLength: 1024 }], ['ec', { namedCurve: 'P-256' }]] as const) {
      const { publicKey } = generateKeyPairSync(type as 'rsa', opts as { modulusLength: number });
      const spki = publicKey.export({ format: 'der', type: 'spki' });
      expect(spkiPublicKey(spki).export({ format: 'der', type: 'spki' })).toEqual(spki);
    }
  });

  describe('spkiPublicKey builds the key OpenSSL\'s SPKI decoder would', () => {
    const keys: Array<[string, KeyObject]> = [
      ...([[2048, 65537], [4096, 65537], [2048, 3]] as const).map(([modulusLength, publicExponent]): [string, KeyObject] =>
        [`RSA ${modulusLength} e=${publicExponent}`, generateKeyPairSync('rsa', { modulusLength, publicExponent }).publicKey]),
      ...(['P-256', 'P-384', 'P-521'] as const).map((namedCurve): [string, KeyObject] => [`EC ${namedCurve}`, generateKeyPairSync('ec', { namedCurve }).publicKey]),
      ['Ed25519 (left to the decoder)', generateKeyPairSync('ed25519').publicKey],
      ['EC P-256 with a compressed point (left to the decoder)', compressed(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)],
    ];
    for (const [name, key] of keys) {
      it(name, () => {
        const spki = key.export({ format: 'der', type: 'spki' });
        const ours = spkiPublicKey(spki);
        const openssl = createPublicKey({ key: spki, format: 'der', type: 'spki' });
        expect(ours.asymmetricKeyType).toBe(openssl.asymmetricKeyType);
        expect(ours.asymmetricKeyDetails).toEqual(openssl.asymmetricKeyDetails);
        expect(ours.export({ format: 'jwk' })).toEqual(openssl.export({ format: 'jwk' }));
      });
    }

    const thrown = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (err) {
        return err;
      }
      return undefined;
    };

    /** The SPKI of an EC P-256 key with its point in compressed form (0x02/0x03 || x). */
    function compressed(key: KeyObject): KeyObject {
      const spki = key.export({ format: 'der', type: 'spki' });
      const point = spki.subarray(spki.length - 65);
      const short = Buffer.concat([Buffer.from([2 + (point[64] & 1)]), point.subarray(1, 33)]);
      const alg = spki.subarray(2, 2 + 2 + spki[3]);
      return createPublicKey({ key: seq(alg, tlv(TAG.BIT_STRING, Buffer.from([0]), short)), format: 'der', type: 'spki' });
    }

    it('refuses malformed input as before: structure with a DerError, a point off the curve as OpenSSL does', () => {
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' });
      for (const spki of [ec, rsa]) {
        expect(() => spkiPublicKey(spki.subarray(0, spki.length - 1))).toThrow(DerError); // truncated
        expect(() => spkiPublicKey(Buffer.concat([spki, Buffer.from([0])]))).toThrow(DerError); // trailing bytes
        const wrongTag = Buffer.from(spki);
        wrongTag[0] = TAG.SET;
        expect(() => spkiPublicKey(wrongTag)).toThrow(DerError);
      }
      const offCurve = Buffer.from(ec);
      offCurve[offCurve.length - 1] ^= 1; // y no longer matches x
      const decoderError = thrown(() => createPublicKey({ key: offCurve, format: 'der', type: 'spki' }));
      expect(decoderError).toBeInstanceOf(Error);
      expect(thrown(() => spkiPublicKey(offCurve))).toEqual(decoderError);
      const shortPoint = seq(ec.subarray(2, 2 + 2 + ec[3]), tlv(TAG.BIT_STRING, Buffer.from([0, 4]), ec.subarray(ec.length - 64, ec.length - 1)));
      expect(() => spkiPublicKey(shortPoint)).toThrow();
    });
  });

  const hostile: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['length beyond the buffer', Buffer.from([0x30, 0x82, 0xff, 0xff, 0x00])],
    ['five length octets', Buffer.from([0x30, 0x85, 1, 0, 0, 0, 0])],
    ['indefinite primitive', Buffer.from([0x04, 0x80, 0x00, 0x00])],
    ['unterminated indefinite', Buffer.from([0x30, 0x80, 0x04, 0x00])],
    ['trailing bytes', Buffer.from([0x05, 0x00, 0x00])],
    ['high tag number', Buffer.from([0x1f, 0x81, 0x00, 0x00])],
    ['deep nesting', Buffer.concat([...Array(5000).fill(Buffer.from([0x30, 0x80])), ...Array(5000).fill(Buffer.from([0, 0]))])],
  ];
  for (const [name, buf] of hostile) {
    it(`rejects ${name} with a DerError`, () => {
      expect(() => {
        const el = parseDer(buf);
        // walk everything to reach nested errors
        const walk = (e: ReturnType<typeof parseDer>): void => void (e.tag & 0x20 && children(e).forEach(walk));
        walk(el);
      }).toThrow(DerError);
    });
  }

  it('survives random mutations of a real structure without anything but DerError', () => {
    const good = seq(oid('1.2.3.4'), tlv(TAG.OCTET_STRING, randomBytes(40)), setOf(integer(5), utf8String('x')));
    for (let i = 0; i < 3000; i++) {
      const bad = Buffer.from(good);
      for (let j = 0; j < 3; j++) bad[Math.floor(Math.random() * bad.length)] = Math.floor(Math.random() * 256);
      try {
        const walk = (e: ReturnType<typeof parseDer>): void => void (e.tag & 0x20 && children(e).forEach(walk));
        walk(parseDer(bad.subarray(0, Math.floor(Math.random() * bad.length) + 1)));
      } catch (err) {
        expect(err).toBeInstanceOf(DerError);
      }
    }
  });
});
