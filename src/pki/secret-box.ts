/**
 * Seals secrets at rest (private keys, unlock and bootstrap tokens) with AES-256-GCM.
 * Layout: version byte 1 ‖ 12-byte nonce ‖ 16-byte tag ‖ ciphertext. The key lives in
 * the data directory (created on first start, mode 0600) or comes from configuration,
 * so every node of a cluster must be given the same key.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const VERSION = 1;

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
    this.#key = key;
  }

  seal(plain: Buffer | string): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    const body = Buffer.concat([cipher.update(typeof plain === 'string' ? Buffer.from(plain) : plain), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer | Uint8Array): Buffer {
    const buf = Buffer.from(sealed);
    if (buf.length < 29 || buf[0] !== VERSION) throw new Error('sealed secret is malformed');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, buf.subarray(1, 13));
    decipher.setAuthTag(buf.subarray(13, 29));
    try {
      return Buffer.concat([decipher.update(buf.subarray(29)), decipher.final()]);
    } catch {
      throw new Error('sealed secret cannot be opened: wrong secret key or corrupted data');
    }
  }

  openString(sealed: Buffer | Uint8Array): string {
    return this.open(sealed).toString('utf8');
  }

  /** A stable key for another purpose (e.g. CSRF tokens), the same on every node sharing the secret key. */
  deriveKey(label: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), `pomona:${label}`, 32));
  }

  // Keep the key out of logs and inspection.
  toJSON(): string {
    return '[SecretBox]';
  }
}

/** Loads `secret.key` from the data directory, creating it on first start; or decodes a configured base64 key. */
export function loadSecretBox(opts: { dataDir: string; keyBase64?: string }): SecretBox {
  if (opts.keyBase64) {
    const key = Buffer.from(opts.keyBase64, 'base64');
    if (key.length !== 32) throw new Error('POMONA_SECRET_KEY must be 32 bytes, base64-encoded');
    return new SecretBox(key);
  }
  const file = join(opts.dataDir, 'secret.key');
  if (!existsSync(file)) {
    mkdirSync(opts.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
  return new SecretBox(key);
}
