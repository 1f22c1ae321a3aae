/**
 * SamlProvider against an in-test SAML IdP on loopback (saml-test-idp.ts), built from the same
 * libraries: real AuthnRequests over HTTP-Redirect, real signed Responses in auto-post forms.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseDomFromString } from '@node-saml/node-saml/lib/xml.js';
import { createKeyExchangeCertificate } from '../../pki/ca.js';
import { SignInError } from './identity.js';
import {
  InMemorySamlRequestStore,
  NAMEID_FORMAT,
  SIGN_IN_DECLINED,
  SIGN_IN_EXPIRED,
  SIGN_IN_NOT_VERIFIED,
  SamlProvider,
  validateSamlConfig,
  type SamlConfig,
} from './saml-provider.js';
import { TestIdp, unesc, type KeyPair, type ResponseOptions } from './saml-test-idp.js';

const SP_ENTITY = 'https://pomona.test/auth/saml/corp';
const ACS = 'https://pomona.test/auth/saml/corp/acs';
const IDP_ENTITY = 'https://idp.test/metadata';
const T0 = Date.parse('2026-11-21T10:00:00.000Z');
const AZURE = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const MS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims';

/** What a browser does: follow the redirect to the IdP, read the auto-post form. */
async function browserSignIn(provider: SamlProvider, idp: TestIdp, relayState?: string, next: ResponseOptions = {}) {
  idp.next = next;
  const { redirectUrl, requestId } = await provider.startLogin({ relayState });
  const res = await fetch(redirectUrl);
  const html = await res.text();
  if (res.status !== 200) throw new Error(`IdP said ${res.status}: ${html}`);
  const field = (name: string) => {
    const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
    return m ? unesc(m[1]) : undefined;
  };
  const form = { SAMLResponse: field('SAMLResponse')!, RelayState: field('RelayState') };
  return { form, requestId, request: idp.requests[idp.requests.length - 1] };
}

async function refusal(promise: Promise<unknown>): Promise<SignInError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SignInError) return err;
    throw err;
  }
  throw new Error('expected a SignInError, the sign-in succeeded');
}

const b64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');
const fromB64 = (value: string) => Buffer.from(value, 'base64').toString('utf8');

describe('SamlProvider against a loopback IdP', () => {
  let now = T0;
  const clock = () => now;
  let idpKey: KeyPair;
  let idpNextKey: KeyPair;
  let strangerKey: KeyPair;
  let spKey: KeyPair;
  let idp: TestIdp;
  let store: InMemorySamlRequestStore;

  beforeAll(async () => {
    [idpKey, idpNextKey, strangerKey, spKey] = await Promise.all([
      createKeyExchangeCertificate({ commonName: 'Test IdP signing', days: 365 }),
      createKeyExchangeCertificate({ commonName: 'Test IdP signing (next)', days: 365 }),
      createKeyExchangeCertificate({ commonName: 'Not the IdP', days: 365 }),
      createKeyExchangeCertificate({ commonName: 'Pomona SP signing', days: 365 }),
    ]);
    idp = new TestIdp(idpKey, clock, { entityId: IDP_ENTITY, audience: SP_ENTITY });
    idp.spCertPem = spKey.certPem;
    await idp.start();
  });
  afterAll(() => idp.stop());
  beforeEach(() => {
    now = T0;
    idp.signer = idpKey;
    store = new InMemorySamlRequestStore(clock);
  });

  const baseConfig = (): SamlConfig => ({
    idpEntityId: IDP_ENTITY,
    idpSsoUrl: idp.ssoUrl,
    idpCertificates: [idpKey.certPem],
    spEntityId: SP_ENTITY,
    acsUrl: ACS,
  });
  const provider = (overrides: Partial<SamlConfig> = {}) =>
    new SamlProvider({ ...baseConfig(), ...overrides }, { providerId: 'corp-saml', requestStore: store, now: clock });

  async function refused(next: ResponseOptions, p = provider()): Promise<SignInError> {
    const { form } = await browserSignIn(p, idp, undefined, next);
    return refusal(p.finishLogin(form));
  }

  describe('sign-in that works', () => {
    it('sends a plain AuthnRequest and accepts the signed assertion with attributes and groups', async () => {
      const p = provider();
      const { form, requestId, request } = await browserSignIn(p, idp, '/devices?page=2', {
        nameId: 'alice',
        attributes: {
          email: ['alice@example.com'],
          displayName: ['Alice Liddell'],
          groups: ['mdm-admins', 'staff'],
          memberOf: ['cn=wonderland,ou=groups,dc=example,dc=com', 'staff'],
          unrelated: ['ignored'],
        },
      });
      expect(request).toMatchObject({
        id: requestId,
        issuer: SP_ENTITY,
        acsUrl: ACS,
        destination: idp.ssoUrl,
        protocolBinding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
        nameIdFormat: NAMEID_FORMAT.unspecified,
        hasRequestedAuthnContext: false,
        relayState: '/devices?page=2',
      });
      expect(request.signatureValid).toBeUndefined();

      const { identity, relayState } = await p.finishLogin(form);
      expect(relayState).toBe('/devices?page=2');
      expect(identity).toEqual({
        provider: 'corp-saml',
        subject: 'alice',
        username: 'alice',
        email: 'alice@example.com',
        displayName: 'Alice Liddell',
        groups: ['mdm-admins', 'staff', 'cn=wonderland,ou=groups,dc=example,dc=com'],
      });
    });

    it('reads Entra ID (Azure AD) claim URIs from an unprefixed assertion', async () => {
      const p = provider({ attributes: { username: `${AZURE}/name`, groups: undefined } });
      const { form } = await browserSignIn(p, idp, undefined, {
        azureStyle: true,
        nameId: 'Xk3lq0n2Jd9s-pairwise-id',
        nameIdFormat: NAMEID_FORMAT.persistent,
        attributes: {
          'http://schemas.microsoft.com/identity/claims/tenantid': ['7f0c6a52-0000-4000-8000-000000000001'],
          [`${AZURE}/name`]: ['alice@contoso.com'],
          [`${AZURE}/emailaddress`]: ['alice.liddell@contoso.com'],
          'http://schemas.microsoft.com/identity/claims/displayname': ['Alice Liddell'],
          [`${MS}/groups`]: ['0d1c2b3a-1111-4222-8333-444455556666', '9f8e7d6c-aaaa-4bbb-8ccc-ddddeeeeffff'],
        },
      });
      const { identity } = await p.finishLogin(form);
      expect(identity).toEqual({
        provider: 'corp-saml',
        subject: 'Xk3lq0n2Jd9s-pairwise-id',
        username: 'alice@contoso.com',
        email: 'alice.liddell@contoso.com',
        displayName: 'Alice Liddell',
        groups: ['0d1c2b3a-1111-4222-8333-444455556666', '9f8e7d6c-aaaa-4bbb-8ccc-ddddeeeeffff'],
      });
    });

    it('reads ADFS claims: Group claim, and a display name from given name and surname', async () => {
      const { form } = await browserSignIn(provider(), idp, undefined, {
        nameId: 'CONTOSO\\alice',
        attributes: {
          [`${AZURE}/givenname`]: ['Alice'],
          [`${AZURE}/surname`]: ['Liddell'],
          'http://schemas.xmlsoap.org/claims/Group': ['Domain Users', 'MDM Operators'],
          [`${AZURE}/upn`]: ['alice@contoso.com'],
        },
      });
      const { identity } = await provider().finishLogin(form);
      expect(identity).toMatchObject({ username: 'CONTOSO\\alice', displayName: 'Alice Liddell', groups: ['Domain Users', 'MDM Operators'] });
      expect(identity.email).toBeUndefined();
    });

    it('accepts a Response signed as a whole when signed assertions are not required, and both signed', async () => {
      const p = provider({ wantAssertionsSigned: false });
      const { form } = await browserSignIn(p, idp, undefined, { sign: 'response', attributes: { mail: ['a@example.com'] } });
      expect((await p.finishLogin(form)).identity).toMatchObject({ username: 'alice', email: 'a@example.com' });

      const both = await browserSignIn(provider(), idp, undefined, { sign: 'both' });
      expect((await provider().finishLogin(both.form)).identity.username).toBe('alice');
    });

    it('accepts the next IdP certificate during a rollover, and still the current one', async () => {
      const p = provider({ idpCertificates: [idpKey.certPem, idpNextKey.certPem] });
      idp.signer = idpNextKey;
      const withNext = await browserSignIn(p, idp);
      expect((await p.finishLogin(withNext.form)).identity.username).toBe('alice');

      idp.signer = idpKey;
      const withCurrent = await browserSignIn(p, idp);
      expect((await p.finishLogin(withCurrent.form)).identity.username).toBe('alice');

      // …and a provider that only knows the current certificate refuses the next one.
      idp.signer = idpNextKey;
      const e = await refused({});
      expect(e.reason).toMatch(/^bad signature/);
    });

    it('signs AuthnRequests (RSA-SHA256 over the raw query) when configured, RelayState included', async () => {
      const p = provider({ signAuthnRequests: true, spPrivateKey: spKey.keyPem, spCertificate: spKey.certPem });
      const relay = "/devices?q=a b&x=(1)!'*~";
      const { form, request } = await browserSignIn(p, idp, relay);
      expect(request.sigAlg).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
      expect(request.signatureValid).toBe(true);
      expect(request.relayState).toBe(relay);
      expect((await p.finishLogin(form)).relayState).toBe(relay);
    });

    it('allows the configured clock skew on both ends of the validity window', async () => {
      const early = await browserSignIn(provider(), idp, undefined, { notBefore: T0 + 50_000 });
      await expect(provider().finishLogin(early.form)).resolves.toBeDefined();
      const late = await browserSignIn(provider(), idp, undefined, { notOnOrAfter: T0 - 50_000, subjectNotOnOrAfter: T0 - 50_000 });
      await expect(provider().finishLogin(late.form)).resolves.toBeDefined();
    });

    it('takes the whole signed NameID when a comment was slipped into it (CVE-2017-11428 class)', async () => {
      const { form } = await browserSignIn(provider(), idp, undefined, {
        nameId: 'alice@example.com.evil.test',
        tamper: (xml) => xml.replace('alice@example.com.evil.test', 'alice@example.com<!---->.evil.test'),
      });
      expect(fromB64(form.SAMLResponse)).toContain('<!---->');
      expect((await provider().finishLogin(form)).identity.username).toBe('alice@example.com.evil.test');
    });
  });

  describe('refused', () => {
    it('an assertion changed after signing (NameID)', async () => {
      const e = await refused({ nameId: 'alice', tamper: (xml) => xml.replace('>alice</saml:NameID>', '>admin</saml:NameID>') });
      expect(e.message).toBe(SIGN_IN_NOT_VERIFIED);
      expect(e.reason).toMatch(/^bad signature/);
    });

    it('an assertion signed by another key, its certificate in KeyInfo', async () => {
      const e = await refused({ signer: strangerKey });
      expect(e.reason).toMatch(/^bad signature/);
    });

    it('a signed Response around an unsigned assertion when signed assertions are required', async () => {
      const e = await refused({ sign: 'response' });
      expect(e.reason).toMatch(/^unsigned assertion.*only the Response is signed/);
    });

    it('an unsigned Response when the provider requires a signed Response', async () => {
      const e = await refused({ sign: 'assertion' }, provider({ wantResponseSigned: true }));
      expect(e.reason).toBe('unsigned response: this provider requires a signed Response');
    });

    it('an unsigned Response with an unsigned assertion, whatever the settings', async () => {
      const e = await refused({ sign: 'none' }, provider({ wantAssertionsSigned: false }));
      expect(e.reason).toMatch(/neither the Response nor the Assertion is signed/);
    });

    it('a second, unsigned assertion next to the signed one (signature wrapping)', async () => {
      const e = await refused({
        tamper: (xml) => {
          const signed = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
          const evil = signed.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '').replace('>alice<', '>admin<').replace(/ID="_a/, 'ID="_evil');
          return xml.replace(signed, evil + signed);
        },
      });
      expect(e.reason).toMatch(/exactly one Assertion.*found 2.*wrapping/);
    });

    it('the signed assertion hidden in Extensions and a forged copy with its signature in its place', async () => {
      const e = await refused({
        tamper: (xml) => {
          const signed = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
          const forged = signed.replace('>alice<', '>admin<');
          return xml.replace(signed, forged).replace('</saml:Issuer>', `</saml:Issuer><samlp:Extensions>${signed}</samlp:Extensions>`);
        },
      });
      expect(e.reason).toMatch(/^bad signature.*wrapping/);
    });

    it('an assertion for another audience', async () => {
      const e = await refused({ audience: 'https://other-sp.test/' });
      expect(e.reason).toMatch(/^wrong audience "https:\/\/other-sp.test\/"/);
    });

    it('a Response for another Destination, and a bearer confirmation for another Recipient', async () => {
      expect((await refused({ destination: 'https://other-sp.test/acs' })).reason).toMatch(/^wrong Destination/);
      expect((await refused({ recipient: 'https://other-sp.test/acs' })).reason).toMatch(/^wrong Recipient/);
      expect((await refused({ destination: null, sign: 'both' })).reason).toBe('the Response is signed but has no Destination');
    });

    it('an assertion from another issuer', async () => {
      expect((await refused({ issuer: 'https://evil-idp.test/' })).reason).toMatch(/^wrong Issuer "https:\/\/evil-idp.test\/"/);
    });

    it('an expired assertion (Conditions NotOnOrAfter past the skew)', async () => {
      const e = await refused({ notOnOrAfter: T0 - 61_000 });
      expect(e.message).toBe(SIGN_IN_EXPIRED);
      expect(e.reason).toMatch(/^expired assertion: Conditions NotOnOrAfter/);
    });

    it('an expired bearer confirmation (SubjectConfirmationData NotOnOrAfter)', async () => {
      const e = await refused({ subjectNotOnOrAfter: T0 - 61_000 });
      expect(e.reason).toMatch(/^expired assertion: SubjectConfirmationData NotOnOrAfter/);
    });

    it('an assertion not yet valid (NotBefore beyond the skew)', async () => {
      const e = await refused({ notBefore: T0 + 61_000 });
      expect(e.reason).toMatch(/^assertion not yet valid: Conditions NotBefore/);
      const strict = await refused({ notBefore: T0 + 5_000 }, provider({ clockSkewSeconds: 0 }));
      expect(strict.reason).toMatch(/not yet valid/);
    });

    it('a response to a request Pomona never sent', async () => {
      const e = await refused({ inResponseTo: '_' + 'ab'.repeat(20) });
      expect(e.message).toBe(SIGN_IN_EXPIRED);
      expect(e.reason).toMatch(/^unknown, expired or already used InResponseTo/);
      expect((await refused({ inResponseTo: 'not-ours' })).reason).toMatch(/^unknown InResponseTo "not-ours"/);
    });

    it('an unsolicited (IdP-initiated) response', async () => {
      const e = await refused({ inResponseTo: null });
      expect(e.reason).toMatch(/^unsolicited response/);
    });

    it('a confirmation whose InResponseTo differs from the Response', async () => {
      const e = await refused({ subjectInResponseTo: '_' + 'cd'.repeat(20) });
      expect(e.reason).toMatch(/SubjectConfirmationData InResponseTo .* does not match/);
    });

    it('a response to a request that has expired in the store', async () => {
      const p = provider();
      idp.next = {};
      const { redirectUrl } = await p.startLogin();
      now = T0 + 16 * 60_000; // past the 15-minute request lifetime; the response itself is fresh
      const html = await (await fetch(redirectUrl)).text();
      const SAMLResponse = unesc(/name="SAMLResponse" value="([^"]*)"/.exec(html)![1]);
      const e = await refusal(p.finishLogin({ SAMLResponse }));
      expect(e.reason).toMatch(/^unknown, expired or already used InResponseTo/);
    });

    it('the same response posted twice (replay)', async () => {
      const p = provider();
      const { form } = await browserSignIn(p, idp);
      await expect(p.finishLogin(form)).resolves.toBeDefined();
      const e = await refusal(p.finishLogin(form));
      expect(e.message).toBe(SIGN_IN_EXPIRED);
      expect(e.reason).toMatch(/already used InResponseTo.*replayed/);
      // …and by another node sharing the store.
      const other = new SamlProvider(baseConfig(), { providerId: 'corp-saml', requestStore: store, now: clock });
      expect((await refusal(other.finishLogin(form))).reason).toMatch(/already used/);
    });

    it('two concurrent posts of the same response: exactly one wins', async () => {
      const p = provider();
      const { form } = await browserSignIn(p, idp);
      const results = await Promise.allSettled([p.finishLogin(form), p.finishLogin(form), p.finishLogin(form)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });

    it('an IdP status other than Success', async () => {
      const e = await refused({
        status: { code: 'urn:oasis:names:tc:SAML:2.0:status:Responder', nested: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed', message: 'User cancelled' },
        sign: 'none',
      });
      expect(e.message).toBe(SIGN_IN_DECLINED);
      expect(e.reason).toBe(
        'IdP status is not Success: urn:oasis:names:tc:SAML:2.0:status:Responder (urn:oasis:names:tc:SAML:2.0:status:AuthnFailed) "User cancelled"',
      );
    });

    it('a sign-in without a username', async () => {
      expect((await refused({ nameId: null })).reason).toBe('missing username: the assertion has no NameID');
      const e = await refused({ attributes: { mail: ['a@example.com'] } }, provider({ attributes: { username: 'uid' } }));
      expect(e.reason).toBe('missing username: the assertion has no "uid" attribute');
      expect((await refused({ nameIdFormat: NAMEID_FORMAT.transient })).reason).toMatch(/^missing username: the NameID is transient/);
    });

    it('a response with a DOCTYPE or entity declarations', async () => {
      const doctype = await refused({ tamper: (xml) => `<?xml version="1.0"?><!DOCTYPE samlp:Response [<!ENTITY who "alice">]>${xml}` });
      expect(doctype.reason).toBe('the response XML contains a DOCTYPE or entity declaration');
      const laughs =
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>';
      const bomb = await refused({ tamper: (xml) => laughs + xml.replace('>alice<', '>&lol3;<') });
      expect(bomb.reason).toMatch(/DOCTYPE/);
    });

    it('an encrypted assertion (no SP decryption key)', async () => {
      const e = await refused({
        tamper: (xml) => xml.replace(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, '<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>'),
      });
      expect(e.reason).toMatch(/^encrypted assertions are not supported/);
    });

    it('garbage in the form, each with a SignInError', async () => {
      const p = provider();
      const { request } = await browserSignIn(p, idp);
      const cases: Array<[unknown, RegExp]> = [
        [undefined, /no SAMLResponse/],
        ['', /no SAMLResponse/],
        ['%%%not base64%%%', /not base64/],
        [Buffer.from([0xff, 0xfe, 0xfd, 0x80]).toString('base64'), /not UTF-8/],
        [b64('just text'), /not well-formed XML/],
        [b64('<a><b></a>'), /expected a samlp:Response/], // xmldom 0.8 only warns about the mismatched tag
        [b64('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'), /expected a samlp:Response/],
        [b64('<Response/>'), /expected a samlp:Response/],
        [b64('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'), /no StatusCode/],
        [b64(idp.buildResponse(request).replace(/<saml:Assertion[\s\S]*<\/saml:Assertion>/, '')), /found 0/],
        ['A'.repeat(3 * 1024 * 1024), /larger than/],
      ];
      for (const [SAMLResponse, reason] of cases) {
        const e = await refusal(p.finishLogin({ SAMLResponse } as { SAMLResponse: string }));
        expect(e.reason).toMatch(reason);
      }
    });
  });

  describe('startLogin', () => {
    it('saves each request id once, with the request lifetime', async () => {
      const saved: Array<[string, number]> = [];
      const p = new SamlProvider(baseConfig(), {
        providerId: 'corp-saml',
        now: clock,
        requestTtlMs: 5 * 60_000,
        requestStore: { save: async (id, at) => void saved.push([id, at]), consume: async () => false },
      });
      const a = await p.startLogin();
      const b = await p.startLogin({ relayState: '/x' });
      expect(a.requestId).not.toBe(b.requestId);
      expect(saved).toEqual([
        [a.requestId, T0 + 5 * 60_000],
        [b.requestId, T0 + 5 * 60_000],
      ]);
      expect(a.requestId).toMatch(/^_[0-9a-f]{40}$/);
      expect(new URL(a.redirectUrl).searchParams.has('RelayState')).toBe(false);
    });

    it('refuses a RelayState over 80 bytes (SAML bindings §3.4.3)', async () => {
      await expect(provider().startLogin({ relayState: '/' + 'é'.repeat(40) })).rejects.toThrow(/80 bytes/);
    });
  });

  describe('metadata', () => {
    it('is well-formed, with the entityID, the HTTP-POST ACS and the signing policy', async () => {
      const xml = provider().metadata();
      const root = (await parseDomFromString(xml)).documentElement;
      expect(root.localName).toBe('EntityDescriptor');
      expect(root.namespaceURI).toBe('urn:oasis:names:tc:SAML:2.0:metadata');
      expect(root.getAttribute('entityID')).toBe(SP_ENTITY);
      const sp = root.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:metadata', 'SPSSODescriptor')[0];
      expect(sp.getAttribute('WantAssertionsSigned')).toBe('true');
      expect(sp.getAttribute('AuthnRequestsSigned')).toBe('false');
      const acs = sp.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:metadata', 'AssertionConsumerService')[0];
      expect(acs.getAttribute('Binding')).toBe('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
      expect(acs.getAttribute('Location')).toBe(ACS);
      expect(sp.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:metadata', 'NameIDFormat')[0].textContent).toBe(NAMEID_FORMAT.unspecified);
      expect(sp.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:metadata', 'KeyDescriptor')).toHaveLength(0);
    });

    it('publishes the SP signing certificate, never the key', async () => {
      const xml = provider({ signAuthnRequests: true, spPrivateKey: spKey.keyPem, spCertificate: spKey.certPem }).metadata();
      const sp = (await parseDomFromString(xml)).documentElement.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:metadata', 'SPSSODescriptor')[0];
      expect(sp.getAttribute('AuthnRequestsSigned')).toBe('true');
      const cert = sp.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'X509Certificate')[0].textContent!.replace(/\s/g, '');
      expect(spKey.certPem.replace(/-----[^-]+-----|\s/g, '')).toBe(cert);
      expect(xml).not.toMatch(/PRIVATE KEY/);
      expect(xml).not.toContain(spKey.keyPem.split('\n')[1]);
    });
  });

  describe('configuration', () => {
    it('accepts a minimal configuration and rejects a bad one with every problem and its path', () => {
      expect(validateSamlConfig(baseConfig())).toEqual([]);
      const bare = idpKey.certPem.replace(/-----[^-]+-----|\s/g, '');
      expect(validateSamlConfig({ ...baseConfig(), idpCertificates: [bare] })).toEqual([]);

      const problems = validateSamlConfig({
        idpEntityId: '',
        idpSsoUrl: 'http://idp.example.com/sso',
        idpCertificates: [idpKey.certPem, 'not a certificate'],
        acsUrl: 'ftp://pomona.test/acs',
        signAuthnRequests: true,
        spPrivateKey: strangerKey.keyPem,
        spCertificate: spKey.certPem,
        clockSkewSeconds: 3600,
        wantAssertionsSigned: 'yes',
        nameIdFormat: 'email',
        attributes: { username: '', groups: ['groups', 7], nickname: ['x'] },
        colour: 'blue',
      });
      expect(problems).toEqual(
        expect.arrayContaining([
          { path: 'idpEntityId', message: 'is required' },
          { path: 'idpSsoUrl', message: 'must be an https URL' },
          { path: 'idpCertificates[1]', message: 'is not a readable X.509 certificate' },
          { path: 'spEntityId', message: 'is required' },
          { path: 'acsUrl', message: 'must be an https URL' },
          { path: 'spCertificate', message: 'does not match spPrivateKey' },
          { path: 'clockSkewSeconds', message: expect.stringMatching(/0 to 600/) },
          { path: 'wantAssertionsSigned', message: 'must be true or false' },
          { path: 'nameIdFormat', message: expect.stringMatching(/NameID format/) },
          { path: 'attributes.username', message: expect.any(String) },
          { path: 'attributes.groups[1]', message: expect.any(String) },
          { path: 'attributes.nickname', message: 'unknown attribute role' },
          { path: 'colour', message: 'unknown setting' },
        ]),
      );
      expect(problems).toHaveLength(13);
      expect(JSON.stringify(problems)).not.toContain('PRIVATE');
      expect(validateSamlConfig({ ...baseConfig(), signAuthnRequests: true }).map((p) => p.path)).toEqual(['spPrivateKey', 'spCertificate']);
      expect(validateSamlConfig({ ...baseConfig(), wantAssertionsSigned: false, wantResponseSigned: false }).map((p) => p.path)).toEqual(['wantResponseSigned']);
      expect(validateSamlConfig(null)).toEqual([{ path: '', message: 'must be an object' }]);
    });

    it('refuses to construct with an invalid configuration, without echoing the key', () => {
      const bad = { ...baseConfig(), idpCertificates: [], signAuthnRequests: true, spPrivateKey: 'garbage-secret-value' };
      expect(() => new SamlProvider(bad, { providerId: 'x', requestStore: store })).toThrow(/idpCertificates.*spPrivateKey is not a readable/);
      try {
        new SamlProvider(bad, { providerId: 'x', requestStore: store });
      } catch (err) {
        expect(String(err)).not.toContain('garbage-secret-value');
      }
    });

    it('keeps the SP key out of inspect and JSON', () => {
      const p = provider({ signAuthnRequests: true, spPrivateKey: spKey.keyPem, spCertificate: spKey.certPem });
      const keyLine = spKey.keyPem.split('\n')[1];
      expect(inspect(p, { depth: 10 })).not.toContain(keyLine);
      expect(JSON.stringify(p)).not.toContain(keyLine);
      expect(JSON.stringify({ p })).toContain('corp-saml');
    });
  });
});
