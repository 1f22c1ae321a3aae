import { describe, expect, it } from 'vitest';
import {
  baseStringUri,
  hmacSha1Signature,
  normalizeParameters,
  oauth1AuthorizationHeader,
  percentEncode,
  signatureBaseString,
  type OAuthParam,
} from './oauth1.js';

// Every expected value below is printed in RFC 5849 itself; none comes from this module's output.

/** RFC 5849 §3.4.1.1's example request (`POST /request?b5=%3D%253D&a3=a&c%40=&a2=r%20b`, body `c2&a3=2+q`). */
const rfcRequest = {
  url: 'http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b',
  body: 'c2&a3=2+q',
  oauth: [
    ['oauth_consumer_key', '9djdj82h48djs9d2'],
    ['oauth_token', 'kkk9d7dh3k39sjv7'],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', '137131201'],
    ['oauth_nonce', '7d8f3e4a'],
  ] as OAuthParam[],
};

function rfcParams(): OAuthParam[] {
  // §3.4.1.3.1: query and form body are decoded as application/x-www-form-urlencoded
  const query = [...new URL(rfcRequest.url).searchParams];
  const body = [...new URLSearchParams(rfcRequest.body)];
  return [...rfcRequest.oauth, ...query, ...body];
}

describe('percentEncode (RFC 5849 §3.6)', () => {
  it('leaves only ALPHA, DIGIT and -._~ bare', () => {
    expect(percentEncode('AZaz09-._~')).toBe('AZaz09-._~');
    expect(percentEncode("!'()*")).toBe('%21%27%28%29%2A');
    expect(percentEncode(' +/=&%')).toBe('%20%2B%2F%3D%26%25');
  });

  it('encodes UTF-8 octets with upper-case hex', () => {
    expect(percentEncode('å')).toBe('%C3%A5');
  });
});

describe('baseStringUri (RFC 5849 §3.4.1.2 examples)', () => {
  it('lower-cases scheme and host, drops the default port and the query', () => {
    expect(baseStringUri('http://EXAMPLE.COM:80/r%20v/X?id=123')).toBe('http://example.com/r%20v/X');
  });

  it('keeps a non-default port', () => {
    expect(baseStringUri('https://www.example.net:8080/?q=1')).toBe('https://www.example.net:8080/');
  });
});

describe('signature base string (RFC 5849 §3.4.1)', () => {
  it('normalizes the parameters exactly as §3.4.1.3.2 prints them', () => {
    expect(normalizeParameters(rfcParams())).toBe(
      'a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9dj' +
        'dj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1' +
        '&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7',
    );
  });

  it('builds the base string exactly as §3.4.1.1 prints it', () => {
    expect(signatureBaseString('POST', rfcRequest.url, rfcParams())).toBe(
      'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q' +
        '%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_' +
        'key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m' +
        'ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk' +
        '9d7dh3k39sjv7',
    );
  });
  // The signature §3.1 prints for that request (bYT5CMsGcbgUdFHObYMEfcx6bsw=) is a known
  // erratum, so it is not asserted; §1.2's example below is the end-to-end vector.
});

describe('RFC 5849 §1.2 worked example (photos.example.net)', () => {
  const credentials = {
    consumerKey: 'dpf43f3p2l4k3l03',
    consumerSecret: 'kd94hf93k423kf44',
    token: 'nnch734d00sl2jdk',
    tokenSecret: 'pfkkdhi9sl3r4s00',
  };
  const url = 'http://photos.example.net/photos?file=vacation.jpg&size=original';

  it('signs to the signature the RFC prints', () => {
    const base = signatureBaseString('GET', url, [
      ['oauth_consumer_key', credentials.consumerKey],
      ['oauth_token', credentials.token],
      ['oauth_signature_method', 'HMAC-SHA1'],
      ['oauth_timestamp', '137131202'],
      ['oauth_nonce', 'chapoH'],
      ['file', 'vacation.jpg'],
      ['size', 'original'],
    ]);
    expect(hmacSha1Signature(base, credentials.consumerSecret, credentials.tokenSecret)).toBe('MdpQcU8iPSUjWoN/UDMsK2sui9I=');
  });

  it('puts the same signature, percent-encoded, into a one-line Authorization header', () => {
    const header = oauth1AuthorizationHeader({
      method: 'GET',
      url,
      credentials,
      realm: 'Photos',
      timestamp: 137131202,
      nonce: 'chapoH',
      includeVersion: false,
    });
    expect(header).toBe(
      'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", ' +
        'oauth_signature_method="HMAC-SHA1", oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D", ' +
        'oauth_timestamp="137131202", oauth_nonce="chapoH"',
    );
  });
});

describe('oauth1AuthorizationHeader for DEP', () => {
  const credentials = { consumerKey: 'CK_1', consumerSecret: 'CS_1', token: 'AT_1', tokenSecret: 'AS_1' };

  it('sends oauth_version 1.0 by default, on one line, with a fresh nonce each time', () => {
    const a = oauth1AuthorizationHeader({ method: 'GET', url: 'https://mdmenrollment.apple.com/session', credentials, realm: 'ADM' });
    const b = oauth1AuthorizationHeader({ method: 'GET', url: 'https://mdmenrollment.apple.com/session', credentials, realm: 'ADM' });
    expect(a).toMatch(/^OAuth realm="ADM", oauth_consumer_key="CK_1", oauth_token="AT_1", oauth_signature_method="HMAC-SHA1", oauth_signature="[^"]+", oauth_timestamp="\d+", oauth_nonce="[0-9a-f]{32}", oauth_version="1\.0"$/);
    expect(a).not.toMatch(/[\r\n]/);
    expect(a.match(/oauth_nonce="([^"]+)"/)![1]).not.toBe(b.match(/oauth_nonce="([^"]+)"/)![1]);
  });

  it('refuses a realm that would break the header', () => {
    expect(() => oauth1AuthorizationHeader({ method: 'GET', url: 'https://x.test/', credentials, realm: 'a"b' })).toThrow(TypeError);
  });
});
