/**
 * The OAuth 1.0a credentials inside a server token, shaped like Apple's: `CK_` + 96 hex,
 * `CS_` + 128 hex, `AT_O<10 digits>O<80 hex>O<13-digit ms>`, `AS_` + 128 hex and an RFC 3339
 * expiry without fractions (Apple's sample: 2027-11-20T12:00:00Z).
 */
import { randomBytes } from 'node:crypto';
import { isoSeconds } from './wire.js';

export interface DepTokenSet {
  consumer_key: string;
  consumer_secret: string;
  access_token: string;
  access_secret: string;
  access_token_expiry: string;
}

/** One year, as ABM issues them. */
export const DEFAULT_TOKEN_VALIDITY_MS = 365 * 24 * 3600 * 1000;

export function generateTokenSet(now: number, expiresAt: number = now + DEFAULT_TOKEN_VALIDITY_MS): DepTokenSet {
  const hex = (n: number) => randomBytes(n).toString('hex');
  const digits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('');
  return {
    consumer_key: 'CK_' + hex(48),
    consumer_secret: 'CS_' + hex(64),
    access_token: `AT_O${digits(10)}O${hex(40)}O${String(now).padStart(13, '0')}`,
    access_secret: 'AS_' + hex(64),
    access_token_expiry: isoSeconds(expiresAt),
  };
}
