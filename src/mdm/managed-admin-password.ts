/**
 * Passwords Pomona generates for managed macOS administrators. Someone may have to type one at a
 * login window from a screen or a phone: no characters that look alike (0/O, 1/l/I), and no
 * quotes, spaces or backslashes that shells and forms mangle. 63 symbols: about 6 bits each, so
 * the default 20 characters carry ~119 bits.
 */
import { randomInt } from 'node:crypto';

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
const SYMBOLS = '-_.!#%+=';
const ALPHABET = UPPER + LOWER + DIGITS + SYMBOLS;

/** A uniformly random password with at least one upper-case letter, lower-case letter and digit. */
export function generatePassword(length: number): string {
  if (!Number.isInteger(length) || length < 8 || length > 256) throw new RangeError('password length must be 8 to 256');
  for (;;) {
    let out = '';
    for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
    // Rejection rather than forcing positions keeps every accepted password equally likely.
    if ([UPPER, LOWER, DIGITS].every((set) => [...out].some((c) => set.includes(c)))) return out;
  }
}
