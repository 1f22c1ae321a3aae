import { describe, expect, it } from 'vitest';
import { BODY_EXCERPT_BYTES, DepError, depErrorFromResponse, findDepErrorCode, isSessionRejected, redact } from './dep-errors.js';

describe('findDepErrorCode', () => {
  it('finds codes bare (Apple) and JSON-quoted (depsim)', () => {
    expect(findDepErrorCode('EXHAUSTED_CURSOR')).toBe('EXHAUSTED_CURSOR');
    expect(findDepErrorCode('"EXPIRED_CURSOR"\n')).toBe('EXPIRED_CURSOR');
    expect(findDepErrorCode('{"error":"token_rejected"}')).toBe('token_rejected');
  });

  it('prefers the specific code when one contains another', () => {
    expect(findDepErrorCode('DEVICE_NOT_FOUND')).toBe('DEVICE_NOT_FOUND');
    expect(findDepErrorCode('NOT_FOUND')).toBe('NOT_FOUND');
  });

  it('picks up undocumented CONFIG_* codes and lone upper-case codes', () => {
    expect(findDepErrorCode('CONFIG_SOMETHING_NEW')).toBe('CONFIG_SOMETHING_NEW');
    expect(findDepErrorCode('"APPLE_SEED_FOR_IT_TURNED_OFF"')).toBe('APPLE_SEED_FOR_IT_TURNED_OFF');
    expect(findDepErrorCode('Unauthorized')).toBeUndefined();
    expect(findDepErrorCode('')).toBeUndefined();
  });
});

describe('isSessionRejected', () => {
  it('re-authenticates on any 401 and on a 403 FORBIDDEN only', () => {
    expect(isSessionRejected(401, '')).toBe(true);
    expect(isSessionRejected(403, '"FORBIDDEN"')).toBe(true);
    expect(isSessionRejected(403, 'T_C_NOT_SIGNED')).toBe(false);
    expect(isSessionRejected(403, 'ACCESS_DENIED')).toBe(false);
    expect(isSessionRejected(403, '')).toBe(false);
    expect(isSessionRejected(400, 'FORBIDDEN')).toBe(false);
  });
});

describe('depErrorFromResponse', () => {
  const make = (status: number, body: string, session = false) =>
    depErrorFromResponse({ endpoint: 'POST /devices/sync', status, body, session });

  it('gives each documented code its kind and a readable message', () => {
    const terms = make(403, 'T_C_NOT_SIGNED');
    expect(terms).toBeInstanceOf(DepError);
    expect(terms).toMatchObject({ kind: 'terms-not-signed', code: 'T_C_NOT_SIGNED', status: 403, endpoint: 'POST /devices/sync' });
    expect(terms.message).toBe(
      'Apple Business Manager: the organisation must accept the new terms and conditions in Apple Business Manager (T_C_NOT_SIGNED; HTTP 403 from POST /devices/sync)',
    );
    expect(make(403, 'signature_invalid').kind).toBe('token-rejected');
    expect(make(403, 'ACCESS_DENIED').kind).toBe('auth');
    expect(make(400, 'CURSOR_REQUIRED').kind).toBe('cursor-invalid');
    expect(make(400, 'USER_AGENT_INVALID')).toMatchObject({ kind: 'bad-request', code: 'USER_AGENT_INVALID' });
    expect(make(400, 'CONFIG_URL_INVALID').message).toContain("profile's URL");
    expect(make(404, 'DEVICE_NOT_FOUND').kind).toBe('not-found');
  });

  it('falls back on the status when there is no known code', () => {
    expect(make(404, '')).toMatchObject({ kind: 'not-found', code: undefined });
    expect(make(401, '', true).message).toContain('server token was not accepted');
    expect(make(405, 'Method Not Allowed')).toMatchObject({ kind: 'bad-request', bodyExcerpt: 'Method Not Allowed' });
    expect(make(405, 'Method Not Allowed').message).toContain('Method Not Allowed');
  });

  it('calls every 5xx and 429 a server error, whatever the body says', () => {
    expect(make(503, 'INVALID_CURSOR').kind).toBe('server');
    expect(make(429, '').kind).toBe('server');
  });
});

describe('redact', () => {
  it('replaces every secret and caps the excerpt at 1 KiB of UTF-8', () => {
    expect(redact('token AT_abcd and AT_abcd', ['AT_abcd', undefined])).toBe('token [redacted] and [redacted]');
    const long = redact('é'.repeat(2000), []);
    expect(Buffer.byteLength(long.replace(/…$/, ''))).toBeLessThanOrEqual(BODY_EXCERPT_BYTES);
    expect(long).not.toContain('\uFFFD');
    expect(long.endsWith('…')).toBe(true);
  });
});
