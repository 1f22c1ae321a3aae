import { describe, expect, it } from 'vitest';
import { OAuthVerifier, hmacSha1Signature, parseOAuthHeader, signatureBaseString, type OAuthCredentialLookup } from './oauth-verify.js';
import { oauthHeader } from './test-client.js';
import type { DepTokenSet } from './token-set.js';

describe('RFC 5849 worked examples', () => {
  it('builds the §3.4.1.1 signature base string (query, form body, realm left out, encoding, ordering)', () => {
    const header = `OAuth realm="Example",
                oauth_consumer_key="9djdj82h48djs9d2",
                oauth_token="kkk9d7dh3k39sjv7",
                oauth_signature_method="HMAC-SHA1",
                oauth_timestamp="137131201",
                oauth_nonce="7d8f3e4a",
                oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"`;
    const params = parseOAuthHeader(header)!.filter(([k]) => k !== 'realm' && k !== 'oauth_signature');
    const base = signatureBaseString('POST', 'http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b', [...params, ['c2', ''], ['a3', '2 q']]);
    expect(base).toBe(
      'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7',
    );
  });

  it('verifies the §1.2 protected-resource request (signature MdpQcU8iPSUjWoN/UDMsK2sui9I=)', () => {
    const lookup: OAuthCredentialLookup = (ck, t) =>
      ck === 'dpf43f3p2l4k3l03' && t === 'nnch734d00sl2jdk' ? { consumerSecret: 'kd94hf93k423kf44', tokenSecret: 'pfkkdhi9sl3r4s00', state: 'valid' } : { unknown: 'consumer' };
    const v = new OAuthVerifier({ lookup, now: () => 137131202_000 });
    const authorization =
      'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", oauth_nonce="chapoH", oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"';
    expect(v.verify({ method: 'GET', url: 'http://photos.example.net/photos?file=vacation.jpg&size=original', authorization })).toEqual({
      ok: true,
      consumerKey: 'dpf43f3p2l4k3l03',
      token: 'nnch734d00sl2jdk',
    });
  });

  it('reproduces OAuth Core 1.0 Appendix A.5 (tR3+Ty81lMeYAr/Fid0kMTYa/WM=)', () => {
    const base = signatureBaseString('GET', 'http://photos.example.net/photos?file=vacation.jpg&size=original', [
      ['oauth_consumer_key', 'dpf43f3p2l4k3l03'],
      ['oauth_token', 'nnch734d00sl2jdk'],
      ['oauth_signature_method', 'HMAC-SHA1'],
      ['oauth_timestamp', '1191242096'],
      ['oauth_nonce', 'kllo9940pd9333jh'],
      ['oauth_version', '1.0'],
    ]);
    expect(hmacSha1Signature(base, 'kd94hf93k423kf44', 'pfkkdhi9sl3r4s00')).toBe('tR3+Ty81lMeYAr/Fid0kMTYa/WM=');
  });
});

describe('OAuthVerifier on /session', () => {
  const tokens: DepTokenSet = {
    consumer_key: 'CK_abc',
    consumer_secret: 'CS_secret/with+odd&chars',
    access_token: 'AT_O1O2O3',
    access_secret: 'AS_secret',
    access_token_expiry: '2030-01-01T00:00:00Z',
  };
  let state: 'valid' | 'rejected' | 'expired' = 'valid';
  const lookup: OAuthCredentialLookup = (ck, t) =>
    ck !== tokens.consumer_key ? { unknown: 'consumer' } : t !== tokens.access_token ? { unknown: 'token' } : { consumerSecret: tokens.consumer_secret, tokenSecret: tokens.access_secret, state };
  const now = 1_800_000_000_000;
  const url = 'http://127.0.0.1:4567/session';
  const ts = now / 1000;
  const make = () => new OAuthVerifier({ lookup, now: () => now, timestampSkewSeconds: 300 });

  it('accepts a header signed by an independent implementation, realm or not', () => {
    const v = make();
    expect(v.verify({ method: 'GET', url, authorization: oauthHeader(tokens, 'GET', url, { timestamp: ts }) }).ok).toBe(true);
    const noRealm = oauthHeader(tokens, 'GET', url, { timestamp: ts }).replace('realm="ADM", ', '');
    expect(v.verify({ method: 'GET', url, authorization: noRealm }).ok).toBe(true);
    // realm is not signed: a different realm still verifies
    expect(v.verify({ method: 'GET', url, authorization: oauthHeader(tokens, 'GET', url, { timestamp: ts, realm: 'other' }) }).ok).toBe(true);
  });

  it('refuses a wrong signature, a replayed nonce and an old or future timestamp with 401', () => {
    const v = make();
    const good = oauthHeader(tokens, 'GET', url, { timestamp: ts, nonce: 'n1' });
    expect(v.verify({ method: 'GET', url, authorization: good }).ok).toBe(true);
    expect(v.verify({ method: 'GET', url, authorization: good })).toMatchObject({ ok: false, status: 401, problem: 'nonce_used' });
    const wrongSecret = oauthHeader({ ...tokens, access_secret: 'AS_other' }, 'GET', url, { timestamp: ts });
    expect(v.verify({ method: 'GET', url, authorization: wrongSecret })).toMatchObject({ status: 401, problem: 'signature_invalid' });
    const otherUrl = oauthHeader(tokens, 'GET', 'http://127.0.0.1:4567/account', { timestamp: ts });
    expect(v.verify({ method: 'GET', url, authorization: otherUrl })).toMatchObject({ status: 401, problem: 'signature_invalid' });
    const otherMethod = oauthHeader(tokens, 'POST', url, { timestamp: ts });
    expect(v.verify({ method: 'GET', url, authorization: otherMethod })).toMatchObject({ status: 401, problem: 'signature_invalid' });
    expect(v.verify({ method: 'GET', url, authorization: oauthHeader(tokens, 'GET', url, { timestamp: ts - 301 }) })).toMatchObject({ status: 401, problem: 'timestamp_refused' });
    expect(v.verify({ method: 'GET', url, authorization: oauthHeader(tokens, 'GET', url, { timestamp: ts + 301 }) })).toMatchObject({ status: 401, problem: 'timestamp_refused' });
    expect(v.verify({ method: 'GET', url, authorization: oauthHeader(tokens, 'GET', url, { timestamp: ts - 299 }) }).ok).toBe(true);
  });

  it('does not let a badly signed request burn a nonce', () => {
    const v = make();
    const bad = oauthHeader({ ...tokens, consumer_secret: 'CS_wrong' }, 'GET', url, { timestamp: ts, nonce: 'shared' });
    expect(v.verify({ method: 'GET', url, authorization: bad }).ok).toBe(false);
    expect(v.verify({ method: 'GET', url, authorization: oauthHeader(tokens, 'GET', url, { timestamp: ts, nonce: 'shared' }) }).ok).toBe(true);
  });

  it('answers 400 for missing, duplicated or unsupported parameters and methods', () => {
    const v = make();
    const good = oauthHeader(tokens, 'GET', url, { timestamp: ts });
    expect(v.verify({ method: 'GET', url, authorization: undefined })).toMatchObject({ status: 400, problem: 'parameter_absent' });
    expect(v.verify({ method: 'GET', url, authorization: 'Bearer abc' })).toMatchObject({ status: 400, problem: 'parameter_absent' });
    expect(v.verify({ method: 'GET', url, authorization: good.replace(/, oauth_nonce="[^"]*"/, '') })).toMatchObject({ status: 400, problem: 'parameter_absent' });
    expect(v.verify({ method: 'GET', url, authorization: good + ', oauth_nonce="again"' })).toMatchObject({ status: 400, problem: 'parameter_rejected' });
    expect(v.verify({ method: 'GET', url, authorization: good + ', oauth_callback="oob"' })).toMatchObject({ status: 400, problem: 'parameter_rejected' });
    expect(v.verify({ method: 'GET', url, authorization: good.replace('HMAC-SHA1', 'PLAINTEXT') })).toMatchObject({ status: 400, problem: 'signature_method_rejected' });
    expect(v.verify({ method: 'GET', url, authorization: good.replace('oauth_version="1.0"', 'oauth_version="2.0"') })).toMatchObject({ status: 400, problem: 'version_rejected' });
    expect(v.verify({ method: 'GET', url, authorization: good.replace(/oauth_timestamp="\d+"/, 'oauth_timestamp="soon"') })).toMatchObject({ status: 400 });
  });

  it('answers 401 for an unknown consumer key or token, a revoked or an expired token', () => {
    const v = make();
    expect(v.verify({ method: 'GET', url, authorization: oauthHeader({ ...tokens, consumer_key: 'CK_zzz' }, 'GET', url, { timestamp: ts }) })).toMatchObject({ status: 401, problem: 'consumer_key_unknown' });
    expect(v.verify({ method: 'GET', url, authorization: oauthHeader({ ...tokens, access_token: 'AT_O9' }, 'GET', url, { timestamp: ts }) })).toMatchObject({ status: 401, problem: 'token_rejected' });
    state = 'rejected';
    expect(v.verify({ method: 'GET', url, authorization: oauthHeader(tokens, 'GET', url, { timestamp: ts }) })).toMatchObject({ status: 401, problem: 'token_rejected' });
    state = 'expired';
    expect(v.verify({ method: 'GET', url, authorization: oauthHeader(tokens, 'GET', url, { timestamp: ts }) })).toMatchObject({ status: 401, problem: 'token_expired' });
    state = 'valid';
  });

  it('parses headers with newlines and odd spacing, and decodes percent-escapes', () => {
    expect(parseOAuthHeader('OAuth  a="1",b="x%20y" ,\n c="%2F"')).toEqual([
      ['a', '1'],
      ['b', 'x y'],
      ['c', '/'],
    ]);
    expect(parseOAuthHeader('OAuth a=1')).toBeUndefined();
    expect(parseOAuthHeader('OAuth a="%zz"')).toBeUndefined();
  });
});
