/**
 * What an admin needs to know about a server token at a glance, from its expiry and the outcome
 * of the last DEP calls. An error state lasts until a later call succeeds.
 */
export type TokenState = 'no-token' | 'ok' | 'expiring' | 'expired' | 'terms-not-accepted' | 'rejected';

export interface TokenFacts {
  hasToken: boolean;
  tokenExpiresAt: number | null;
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  lastErrorCode: string | null;
}

/** Codes that mean the token itself no longer works (Apple's, or the client's error kind). */
const REJECTED = new Set(['token_rejected', 'signature_invalid', 'token-rejected', 'auth', 'ACCESS_DENIED']);
const TERMS = new Set(['T_C_NOT_SIGNED', 'terms-not-signed']);

export function tokenState(t: TokenFacts, now: number, warnDays = 30): TokenState {
  if (!t.hasToken) return 'no-token';
  if (t.tokenExpiresAt !== null && t.tokenExpiresAt <= now) return 'expired';
  const failing = t.lastErrorAt !== null && (t.lastSuccessAt === null || t.lastErrorAt > t.lastSuccessAt);
  if (failing && t.lastErrorCode && TERMS.has(t.lastErrorCode)) return 'terms-not-accepted';
  if (failing && t.lastErrorCode && REJECTED.has(t.lastErrorCode)) return 'rejected';
  if (t.tokenExpiresAt !== null && t.tokenExpiresAt <= now + warnDays * 86_400_000) return 'expiring';
  return 'ok';
}
