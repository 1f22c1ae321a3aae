import { describe, expect, it } from 'vitest';
import { BackupArchiveError, openArchive, sealArchive } from './backup-archive.js';

const kdf = { N: 2 ** 10, r: 8, p: 1 };
const plain = Buffer.from('rows and a key');
const sealed = sealArchive(plain, 'a good passphrase', kdf);

const refusal = (file: Buffer, pass = 'a good passphrase') => {
  try {
    openArchive(file, pass);
  } catch (e) {
    expect(e).toBeInstanceOf(BackupArchiveError);
    return (e as Error).message;
  }
  throw new Error('opened');
};

describe('backup archive', () => {
  it('round-trips, with a fresh salt and nonce each time', () => {
    expect(openArchive(sealed, 'a good passphrase')).toEqual(plain);
    expect(sealArchive(plain, 'a good passphrase', kdf).equals(sealed)).toBe(false);
    expect(sealed.includes(plain)).toBe(false);
  });

  it('tells a wrong passphrase from a damaged file', () => {
    expect(refusal(sealed, 'another passphrase')).toBe('wrong backup passphrase');
    const body = Buffer.from(sealed);
    body[body.length - 20] ^= 0x80;
    expect(refusal(body)).toMatch(/altered or is damaged/);
    const tag = Buffer.from(sealed);
    tag[tag.length - 1] ^= 1;
    expect(refusal(tag)).toMatch(/altered or is damaged/);
  });

  it('authenticates the header: a changed nonce or format is caught', () => {
    const text = sealed.toString('latin1');
    const header = JSON.parse(text.slice(12, 12 + sealed.readUInt32BE(8)));
    const changed = (h: object) => {
      const hb = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(hb.length);
      return Buffer.concat([sealed.subarray(0, 8), len, hb, sealed.subarray(12 + sealed.readUInt32BE(8))]);
    };
    expect(refusal(changed({ ...header, nonce: Buffer.alloc(12).toString('base64') }))).toMatch(/altered or is damaged/);
    expect(refusal(changed({ ...header, format: 2 }))).toMatch(/^backup format 2 is not supported/);
    expect(refusal(changed({ ...header, kdf: { ...header.kdf, N: 2 ** 30 } }))).toMatch(/bad header/);
  });

  it('refuses truncated files, other files and short passphrases', () => {
    expect(refusal(sealed.subarray(0, 10))).toMatch(/truncated/);
    expect(refusal(sealed.subarray(0, sealed.length - 1))).toMatch(/altered or is damaged/);
    expect(refusal(Buffer.from('{"not":"a backup"}'))).toBe('not a Pomona backup file');
    expect(() => sealArchive(plain, 'short', kdf)).toThrow(/at least 8 characters/);
  });
});
