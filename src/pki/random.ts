/**
 * Cryptographically secure random bytes, drawn from a pool refilled 4 KB at a time. Node's
 * randomBytes costs about 3 µs a call (an OpenSSL round trip each), and an enrollment asks for a
 * dozen small values (ids, secrets, nonces, serial numbers, content keys); Node's own randomUUID
 * pools its entropy the same way. Each caller gets its own copy of the bytes.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let next = POOL_SIZE;

export function pooledRandomBytes(size: number): Buffer {
  if (size > POOL_SIZE / 4) return randomFillSync(Buffer.alloc(size));
  if (next + size > POOL_SIZE) {
    randomFillSync(pool);
    next = 0;
  }
  const out = Buffer.from(pool.subarray(next, next + size));
  // Bytes handed out are not left in the pool.
  pool.fill(0, next, next + size);
  next += size;
  return out;
}
