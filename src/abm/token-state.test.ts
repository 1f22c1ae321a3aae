import { describe, expect, it } from 'vitest';
import { tokenState, type TokenFacts } from './token-state.js';

const DAY = 86_400_000;
const now = 1_000 * DAY;
const base: TokenFacts = { hasToken: true, tokenExpiresAt: now + 200 * DAY, lastSuccessAt: null, lastErrorAt: null, lastErrorCode: null };

describe('token state', () => {
  it('follows the expiry', () => {
    expect(tokenState({ ...base, hasToken: false }, now)).toBe('no-token');
    expect(tokenState(base, now)).toBe('ok');
    expect(tokenState({ ...base, tokenExpiresAt: now + 29 * DAY }, now)).toBe('expiring');
    expect(tokenState({ ...base, tokenExpiresAt: now + 29 * DAY }, now, 14)).toBe('ok');
    expect(tokenState({ ...base, tokenExpiresAt: now }, now)).toBe('expired');
  });

  it('shows terms and rejection until a later call succeeds', () => {
    const terms = { ...base, lastErrorAt: now - 10, lastErrorCode: 'T_C_NOT_SIGNED', lastSuccessAt: now - 20 };
    expect(tokenState(terms, now)).toBe('terms-not-accepted');
    expect(tokenState({ ...terms, lastSuccessAt: now - 5 }, now)).toBe('ok');
    expect(tokenState({ ...base, lastErrorAt: now - 10, lastErrorCode: 'token_rejected' }, now)).toBe('rejected');
    expect(tokenState({ ...base, lastErrorAt: now - 10, lastErrorCode: 'signature_invalid' }, now)).toBe('rejected');
    expect(tokenState({ ...base, lastErrorAt: now - 10, lastErrorCode: 'server' }, now)).toBe('ok');
    expect(tokenState({ ...base, tokenExpiresAt: now - 1, lastErrorAt: now - 10, lastErrorCode: 'token_rejected' }, now)).toBe('expired');
  });
});
