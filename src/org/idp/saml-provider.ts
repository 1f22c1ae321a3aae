/**
 * SAML 2.0 service provider for sign-in (admin console SSO, end users in the enrollment pages):
 * SP-initiated Web Browser SSO, AuthnRequest over HTTP-Redirect, Response over HTTP-POST.
 * Pure module: no SQL, no routes. The route owns the HTTP side:
 *
 *   GET  …/login  → `startLogin({ relayState })` → 302 to `redirectUrl`
 *   POST …/acs    → `finishLogin(form)` → `{ identity, relayState }` or a `SignInError`
 *   GET  …/metadata → `metadata()` (application/samlmetadata+xml)
 *
 * RelayState is opaque here and comes back through the browser unprotected (the IdP echoes it,
 * nobody signs it). The route must only redirect to a same-origin path — pass it through
 * `safeRedirectPath` (./safe-redirect.ts), never to `Location` as is. SAML bindings §3.4.3 caps
 * RelayState at 80 bytes, so keep it short (a path, or a key into server-side state).
 *
 * node-saml (v5.1) does the XML signature work: it verifies the Response and/or Assertion
 * signature against the configured IdP certificates only (xml-crypto 6 ignores certificates
 * embedded in KeyInfo), refuses more than one assertion, and hands back only the signed bytes
 * of the assertion. Everything the identity is built from is read from those verified bytes.
 *
 * What node-saml 5.1 does not do, or does in a way that does not fit, and so is done here:
 * - It never checks the Response `Destination`, the bearer `SubjectConfirmationData`
 *   `Recipient`, the confirmation `Method`, nor the assertion `Issuer` on login (its
 *   `idpIssuer` option is only used for logout messages).
 * - `validateInResponseTo` defaults to `never`, and even with `always` a response whose
 *   SubjectConfirmationData has no InResponseTo leaves the request id in the cache, so the same
 *   response is accepted again; its CacheProvider is also get-then-remove (two concurrent posts
 *   both pass) and measures request age with the wall clock. So node-saml's check stays off and
 *   `SamlRequestStore.consume(id)` — one atomic "delete if present and unexpired" — runs last,
 *   after every other check, on the InResponseTo inside the signed assertion.
 * - Its time checks read `new Date()`; `checkTimestampsValidityError` is overridden so they use
 *   the injected clock (node-saml keeps checking Conditions and audience as a second opinion).
 * - Defaults that break real IdPs: `wantAuthnResponseSigned: true` (Entra ID / ADFS sign only
 *   the assertion by default), `signatureAlgorithm: 'sha1'` for signed AuthnRequests, and a
 *   RequestedAuthnContext of exactly PasswordProtectedTransport (Entra ID refuses users who
 *   signed in with MFA, a passkey or a certificate: AADSTS75011). All three are overridden.
 * - Its redirect-binding signature covers a differently encoded query than the URL it returns
 *   (see `#signRedirect`), so signed AuthnRequests are signed here with node:crypto.
 * - Encrypted assertions need an SP decryption key; they are refused with a clear reason.
 *
 * A response is also refused when it carries a DOCTYPE (entities: expansion bombs, and xml2js
 * and xmldom — both used by node-saml — would read them differently), is not a samlp:Response,
 * has a non-Success status, has no InResponseTo (IdP-initiated sign-in is not accepted: nothing
 * would tie it to a browser that asked for it), or has any assertion shape other than exactly one
 * plain Assertion.
 */
import { createPrivateKey, createPublicKey, createSign, randomBytes, X509Certificate } from 'node:crypto';
import { SAML, generateServiceProviderMetadata, ValidateInResponseTo } from '@node-saml/node-saml';
import type { CacheProvider, SamlConfig as NodeSamlConfig } from '@node-saml/node-saml';
// The same xmldom parser node-saml verifies with, so both read the document alike.
import { parseDomFromString } from '@node-saml/node-saml/lib/xml.js';
import { type Identity, SignInError } from './identity.js';

// ---------------------------------------------------------------------------------------------
// Configuration

export const NAMEID_FORMAT = {
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
} as const;

/**
 * Which SAML attributes carry what. Each list is tried in order; the first attribute present
 * wins (for groups: every listed attribute is collected). Names match the attribute's `Name`,
 * or its `FriendlyName`, ignoring case.
 */
export interface SamlAttributeNames {
  /** attribute holding the short sign-in name; `null` = the Subject's NameID */
  username: string | null;
  email: string[];
  displayName: string[];
  /** used to build a display name when none of `displayName` is present */
  givenName: string[];
  surname: string[];
  groups: string[];
}

/** One SAML identity provider as configured for an organization group (stored as JSON). */
export interface SamlConfig {
  /** the IdP's entityID: the Issuer of its assertions */
  idpEntityId: string;
  /** the IdP's SingleSignOnService location for the HTTP-Redirect binding */
  idpSsoUrl: string;
  /** PEM (or bare base64 DER) certificates the IdP signs with; several during a rollover */
  idpCertificates: string[];
  /** Pomona's entityID for this provider (the audience the IdP must name) */
  spEntityId: string;
  /** Pomona's AssertionConsumerService URL for this provider (HTTP-POST) */
  acsUrl: string;
  /** sign AuthnRequests (RSA-SHA256, redirect-binding query signature); default false */
  signAuthnRequests?: boolean;
  /** secret: PEM private key for signing AuthnRequests (stored sealed, never logged) */
  spPrivateKey?: string;
  /** PEM certificate matching `spPrivateKey`, published in the SP metadata */
  spCertificate?: string;
  /** overrides of the default attribute names, field by field */
  attributes?: Partial<SamlAttributeNames>;
  /** allowed difference between the IdP's clock and ours; default 60 */
  clockSkewSeconds?: number;
  /** require a signature on the Assertion itself (not only on the Response); default true */
  wantAssertionsSigned?: boolean;
  /** require a signature on the Response element; default false (many IdPs sign only the assertion) */
  wantResponseSigned?: boolean;
  /** NameIDPolicy Format asked for in the AuthnRequest; default unspecified (the IdP's choice) */
  nameIdFormat?: string;
}

const AZURE_CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const MS_CLAIMS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims';

export const DEFAULT_SAML_ATTRIBUTES: Readonly<SamlAttributeNames> = Object.freeze({
  username: null,
  email: ['email', 'mail', 'urn:oid:0.9.2342.19200300.100.1.3', `${AZURE_CLAIMS}/emailaddress`],
  displayName: [
    'displayName',
    'urn:oid:2.16.840.1.113730.3.1.241',
    'http://schemas.microsoft.com/identity/claims/displayname',
    'cn',
  ],
  givenName: ['givenName', 'firstName', 'urn:oid:2.5.4.42', `${AZURE_CLAIMS}/givenname`],
  surname: ['sn', 'surname', 'lastName', 'urn:oid:2.5.4.4', `${AZURE_CLAIMS}/surname`],
  groups: [
    'groups',
    'memberOf',
    'isMemberOf',
    'urn:oid:1.3.6.1.4.1.5923.1.5.1.1',
    `${MS_CLAIMS}/groups`,
    'http://schemas.xmlsoap.org/claims/Group',
  ],
});

export const SAML_CONFIG_DEFAULTS = Object.freeze({
  signAuthnRequests: false,
  clockSkewSeconds: 60,
  wantAssertionsSigned: true,
  wantResponseSigned: false,
  nameIdFormat: NAMEID_FORMAT.unspecified,
});

const MAX_CLOCK_SKEW_SECONDS = 600;

export interface SamlConfigProblem {
  /** where, e.g. `idpCertificates[1]` or `attributes.groups[0]` */
  path: string;
  message: string;
}

const CONFIG_KEYS = new Set<string>([
  'idpEntityId',
  'idpSsoUrl',
  'idpCertificates',
  'spEntityId',
  'acsUrl',
  'signAuthnRequests',
  'spPrivateKey',
  'spCertificate',
  'attributes',
  'clockSkewSeconds',
  'wantAssertionsSigned',
  'wantResponseSigned',
  'nameIdFormat',
]);
const ATTRIBUTE_KEYS = new Set<string>(Object.keys(DEFAULT_SAML_ATTRIBUTES));

/**
 * Every problem in a stored or submitted configuration, each with its path. Messages never
 * contain the private key (nor any other value given).
 */
export function validateSamlConfig(input: unknown): SamlConfigProblem[] {
  const problems: SamlConfigProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (!isRecord(input)) {
    add('', 'must be an object');
    return problems;
  }
  const c = input;
  for (const key of Object.keys(c)) if (!CONFIG_KEYS.has(key)) add(key, 'unknown setting');

  nonEmptyString(c.idpEntityId, 'idpEntityId', add);
  url(c.idpSsoUrl, 'idpSsoUrl', add);
  nonEmptyString(c.spEntityId, 'spEntityId', add);
  url(c.acsUrl, 'acsUrl', add);

  if (!Array.isArray(c.idpCertificates) || c.idpCertificates.length === 0) {
    add('idpCertificates', 'must list at least one certificate (PEM)');
  } else {
    c.idpCertificates.forEach((cert, i) => {
      if (certificateFrom(cert) === undefined) add(`idpCertificates[${i}]`, 'is not a readable X.509 certificate');
    });
  }

  optionalBoolean(c.signAuthnRequests, 'signAuthnRequests', add);
  optionalBoolean(c.wantAssertionsSigned, 'wantAssertionsSigned', add);
  optionalBoolean(c.wantResponseSigned, 'wantResponseSigned', add);
  if (c.wantAssertionsSigned === false && c.wantResponseSigned === false) {
    add('wantResponseSigned', 'cannot be false while wantAssertionsSigned is false: something must be signed');
  }

  if (c.signAuthnRequests === true || c.spPrivateKey !== undefined || c.spCertificate !== undefined) {
    let key: ReturnType<typeof createPrivateKey> | undefined;
    if (typeof c.spPrivateKey !== 'string' || c.spPrivateKey.trim() === '') {
      if (c.signAuthnRequests === true) add('spPrivateKey', 'is required to sign AuthnRequests');
      else if (c.spPrivateKey !== undefined) add('spPrivateKey', 'must be a PEM private key');
    } else {
      try {
        key = createPrivateKey(c.spPrivateKey);
        if (key.asymmetricKeyType !== 'rsa') add('spPrivateKey', 'must be an RSA key');
      } catch {
        add('spPrivateKey', 'is not a readable PEM private key');
      }
    }
    const cert = c.spCertificate === undefined ? undefined : certificateFrom(c.spCertificate);
    if (c.spCertificate === undefined) {
      if (c.signAuthnRequests === true) add('spCertificate', 'is required to sign AuthnRequests (it goes into the SP metadata)');
    } else if (cert === undefined) {
      add('spCertificate', 'is not a readable X.509 certificate');
    } else if (key !== undefined && !cert.checkPrivateKey(key)) {
      add('spCertificate', 'does not match spPrivateKey');
    }
  }

  if (c.clockSkewSeconds !== undefined) {
    const s = c.clockSkewSeconds;
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > MAX_CLOCK_SKEW_SECONDS) {
      add('clockSkewSeconds', `must be a whole number of seconds from 0 to ${MAX_CLOCK_SKEW_SECONDS}`);
    }
  }
  if (c.nameIdFormat !== undefined && !(typeof c.nameIdFormat === 'string' && /^urn:oasis:names:tc:SAML:[12]\.[01]:nameid-format:\S+$/.test(c.nameIdFormat))) {
    add('nameIdFormat', 'must be a SAML NameID format URN (urn:oasis:names:tc:SAML:…:nameid-format:…)');
  }

  if (c.attributes !== undefined) {
    if (!isRecord(c.attributes)) {
      add('attributes', 'must be an object');
    } else {
      const a = c.attributes;
      for (const key of Object.keys(a)) if (!ATTRIBUTE_KEYS.has(key)) add(`attributes.${key}`, 'unknown attribute role');
      if (a.username !== undefined && a.username !== null && !(typeof a.username === 'string' && a.username.trim() !== '')) {
        add('attributes.username', 'must be an attribute name, or null for the NameID');
      }
      for (const key of ['email', 'displayName', 'givenName', 'surname', 'groups'] as const) {
        const list = a[key];
        if (list === undefined) continue;
        if (!Array.isArray(list)) {
          add(`attributes.${key}`, 'must be a list of attribute names');
          continue;
        }
        list.forEach((name, i) => {
          if (typeof name !== 'string' || name.trim() === '') add(`attributes.${key}[${i}]`, 'must be a non-empty attribute name');
        });
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Pending AuthnRequests

/**
 * Where the ids of AuthnRequests we sent wait for their response (a table later; several
 * Pomona nodes share it). `consume` must be atomic: it returns true for exactly one caller, and
 * only while the id is unexpired — that is what makes a response usable once.
 */
export interface SamlRequestStore {
  save(id: string, expiresAt: number): Promise<void>;
  consume(id: string): Promise<boolean>;
}

/** A SamlRequestStore in process memory: for tests and a single node only. */
export class InMemorySamlRequestStore implements SamlRequestStore {
  readonly #pending = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  async save(id: string, expiresAt: number): Promise<void> {
    const now = this.now();
    for (const [key, expiry] of this.#pending) if (expiry <= now) this.#pending.delete(key);
    this.#pending.set(id, expiresAt);
  }

  async consume(id: string): Promise<boolean> {
    const expiresAt = this.#pending.get(id);
    this.#pending.delete(id);
    return expiresAt !== undefined && this.now() < expiresAt;
  }
}

// ---------------------------------------------------------------------------------------------
// The provider

/** shown to the user for anything that fails verification */
export const SIGN_IN_NOT_VERIFIED = 'The sign-in could not be verified.';
/** shown when the IdP answered with a non-Success status (cancelled, MFA failed, no access…) */
export const SIGN_IN_DECLINED = 'The identity provider did not complete the sign-in.';
/** shown when the response matches no pending request: too late, used twice, or never asked */
export const SIGN_IN_EXPIRED = 'The sign-in expired or was already used. Please start again.';

export interface SamlProviderOptions {
  /** the provider's configured id in Pomona (becomes `Identity.provider`) */
  providerId: string;
  requestStore: SamlRequestStore;
  now?: () => number;
  /** how long an AuthnRequest stays answerable; default 15 minutes (MFA set-up takes time) */
  requestTtlMs?: number;
}

const DEFAULT_REQUEST_TTL_MS = 15 * 60_000;
/** SAML bindings §3.4.3 */
const MAX_RELAY_STATE_BYTES = 80;
/** base64 characters; real responses are 5–50 KB, a large group list a few hundred KB */
const MAX_RESPONSE_LENGTH = 2 * 1024 * 1024;
const REQUEST_ID = /^_[0-9a-f]{40}$/;

const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;
const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

interface ResolvedConfig {
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificates: string[];
  spEntityId: string;
  acsUrl: string;
  signAuthnRequests: boolean;
  spPrivateKey?: string;
  spCertificate?: string;
  attributes: SamlAttributeNames;
  clockSkewMs: number;
  wantAssertionsSigned: boolean;
  wantResponseSigned: boolean;
  nameIdFormat: string;
}

/** node-saml's own request cache stays unused (InResponseTo is the SamlRequestStore's job). */
const UNUSED_CACHE: CacheProvider = {
  saveAsync: () => Promise.reject(new Error('node-saml request cache is not used')),
  getAsync: () => Promise.reject(new Error('node-saml request cache is not used')),
  removeAsync: () => Promise.reject(new Error('node-saml request cache is not used')),
};

/** node-saml's SAML, on our clock */
class ClockedSaml extends SAML {
  #now: () => number = Date.now;

  static create(options: NodeSamlConfig, now: () => number): ClockedSaml {
    const saml = new ClockedSaml(options);
    saml.#now = now;
    return saml;
  }

  protected override checkTimestampsValidityError(
    _wallClockMs: number,
    notBefore: string,
    notOnOrAfter: string,
    maxTimeLimitMs?: number,
  ): Error | null {
    return super.checkTimestampsValidityError(this.#now(), notBefore, notOnOrAfter, maxTimeLimitMs);
  }
}

export class SamlProvider {
  readonly #config: ResolvedConfig;
  readonly #providerId: string;
  readonly #store: SamlRequestStore;
  readonly #now: () => number;
  readonly #requestTtlMs: number;
  readonly #verifier: ClockedSaml;

  constructor(config: SamlConfig, opts: SamlProviderOptions) {
    const problems = validateSamlConfig(config);
    if (problems.length > 0) {
      throw new Error(`invalid SAML configuration: ${problems.map((p) => `${p.path || '(root)'} ${p.message}`).join('; ')}`);
    }
    if (typeof opts.providerId !== 'string' || opts.providerId === '') throw new Error('SamlProvider needs a providerId');
    this.#providerId = opts.providerId;
    this.#store = opts.requestStore;
    this.#now = opts.now ?? Date.now;
    this.#requestTtlMs = opts.requestTtlMs ?? DEFAULT_REQUEST_TTL_MS;
    this.#config = {
      idpEntityId: config.idpEntityId,
      idpSsoUrl: config.idpSsoUrl,
      idpCertificates: config.idpCertificates.map((cert) => certificateFrom(cert)!.toString()),
      spEntityId: config.spEntityId,
      acsUrl: config.acsUrl,
      signAuthnRequests: config.signAuthnRequests ?? SAML_CONFIG_DEFAULTS.signAuthnRequests,
      spPrivateKey: config.spPrivateKey,
      spCertificate: config.spCertificate === undefined ? undefined : certificateFrom(config.spCertificate)!.toString(),
      attributes: attributeNames(config.attributes),
      clockSkewMs: (config.clockSkewSeconds ?? SAML_CONFIG_DEFAULTS.clockSkewSeconds) * 1000,
      wantAssertionsSigned: config.wantAssertionsSigned ?? SAML_CONFIG_DEFAULTS.wantAssertionsSigned,
      wantResponseSigned: config.wantResponseSigned ?? SAML_CONFIG_DEFAULTS.wantResponseSigned,
      nameIdFormat: config.nameIdFormat ?? SAML_CONFIG_DEFAULTS.nameIdFormat,
    };
    this.#verifier = this.#saml(newRequestId);
  }

  /** Keeps the SP key out of logs, `util.inspect` and JSON. */
  toJSON(): object {
    return { providerId: this.#providerId, idpEntityId: this.#config.idpEntityId, spEntityId: this.#config.spEntityId };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SamlProvider ${JSON.stringify(this.toJSON())}`;
  }

  /**
   * A new AuthnRequest: the URL to send the browser to, and its id (already saved in the
   * request store, valid for `requestTtlMs`).
   */
  async startLogin({ relayState }: { relayState?: string } = {}): Promise<{ redirectUrl: string; requestId: string }> {
    if (relayState !== undefined && Buffer.byteLength(relayState, 'utf8') > MAX_RELAY_STATE_BYTES) {
      throw new RangeError(`RelayState is longer than ${MAX_RELAY_STATE_BYTES} bytes (SAML bindings §3.4.3)`);
    }
    const requestId = newRequestId();
    const unsigned = await this.#saml(() => requestId).getAuthorizeUrlAsync(relayState ?? '', undefined, {});
    const redirectUrl = this.#config.signAuthnRequests ? this.#signRedirect(unsigned, relayState) : unsigned;
    await this.#store.save(requestId, this.#now() + this.#requestTtlMs);
    return { redirectUrl, requestId };
  }

  /**
   * Verifies the IdP's POSTed response. Resolves with the identity, and the RelayState as posted
   * (unverified: see the header). Rejects with a SignInError whose `reason` says why.
   */
  async finishLogin(form: { SAMLResponse: string; RelayState?: string }): Promise<{ identity: Identity; relayState?: string }> {
    const xml = decodeResponse(form?.SAMLResponse);
    if (/<!DOCTYPE|<!ENTITY/i.test(xml)) refuse('the response XML contains a DOCTYPE or entity declaration');

    let doc: Document;
    try {
      doc = await parseDomFromString(xml);
    } catch (err) {
      refuse(`the response is not well-formed XML: ${describe(err)}`);
    }
    const response = doc.documentElement;
    if (!response || !is(response, NS.protocol, 'Response')) {
      refuse(`expected a samlp:Response, got ${response ? quote(`{${response.namespaceURI ?? ''}}${response.localName}`) : 'nothing'}`);
    }

    this.#checkIssuer(response, 'Response', false);
    checkStatus(response);

    const inResponseTo = response.getAttribute('InResponseTo');
    if (!inResponseTo) refuse('unsolicited response (no InResponseTo): IdP-initiated sign-in is not accepted', SIGN_IN_EXPIRED);
    if (!REQUEST_ID.test(inResponseTo)) refuse(`unknown InResponseTo ${quote(inResponseTo)}: not a request Pomona sent`, SIGN_IN_EXPIRED);

    const destination = response.getAttribute('Destination');
    if (destination && destination !== this.#config.acsUrl) {
      refuse(`wrong Destination ${quote(destination)}: this provider's ACS URL is ${quote(this.#config.acsUrl)}`);
    }
    const responseSigned = children(response, NS.dsig, 'Signature').length > 0;
    // Bindings §3.5.5.2: a signed message must say where it is going.
    if (responseSigned && !destination) refuse('the Response is signed but has no Destination');

    if (children(response, NS.assertion, 'EncryptedAssertion').length > 0) {
      refuse('encrypted assertions are not supported: turn assertion encryption off at the IdP');
    }
    const assertions = children(response, NS.assertion, 'Assertion');
    if (assertions.length !== 1) {
      refuse(`expected exactly one Assertion in the Response, found ${assertions.length}${assertions.length > 1 ? ' (possible signature wrapping)' : ''}`);
    }
    const assertionSigned = children(assertions[0], NS.dsig, 'Signature').length > 0;
    if (this.#config.wantAssertionsSigned && !assertionSigned) {
      refuse(`unsigned assertion: this provider requires signed assertions${responseSigned ? ' (only the Response is signed)' : ''}`);
    }
    if (this.#config.wantResponseSigned && !responseSigned) refuse('unsigned response: this provider requires a signed Response');
    if (!assertionSigned && !responseSigned) refuse('unsigned response: neither the Response nor the Assertion is signed');

    // Checks on the unverified assertion first, only so that the reason is precise (a wrong
    // audience is reported as such, not as whatever node-saml says first). They are repeated on
    // the verified assertion below, which is the one that counts.
    this.#checkAssertion(assertions[0], inResponseTo);

    let verifiedAssertionXml: string;
    try {
      const { profile } = await this.#verifier.validatePostResponseAsync({
        SAMLResponse: Buffer.from(xml, 'utf8').toString('base64'),
      });
      const signed = profile?.getAssertionXml?.();
      if (!signed) refuse('node-saml verified no assertion');
      verifiedAssertionXml = signed;
    } catch (err) {
      if (err instanceof SignInError) throw err;
      refuse(classifyVerifierError(err));
    }

    let verified: Element;
    try {
      verified = (await parseDomFromString(verifiedAssertionXml)).documentElement;
    } catch (err) {
      refuse(`the signed assertion is not well-formed XML on its own: ${describe(err)}`);
    }
    if (!verified || !is(verified, NS.assertion, 'Assertion')) refuse('the signed content is not an Assertion');
    const { nameId } = this.#checkAssertion(verified, inResponseTo);
    const identity = this.#identity(verified, nameId);

    // Last: a response that fails nothing else uses up its request, exactly once.
    if (!(await this.#store.consume(inResponseTo))) {
      refuse(`unknown, expired or already used InResponseTo ${quote(inResponseTo)} (unsolicited or replayed response)`, SIGN_IN_EXPIRED);
    }
    return { identity, relayState: typeof form.RelayState === 'string' ? form.RelayState : undefined };
  }

  /** SP metadata for the IdP administrator: entityID, ACS (HTTP-POST), NameID format, signing cert. */
  metadata(): string {
    const c = this.#config;
    const signing = c.signAuthnRequests && c.spPrivateKey !== undefined && c.spCertificate !== undefined;
    return generateServiceProviderMetadata({
      issuer: c.spEntityId,
      callbackUrl: c.acsUrl,
      identifierFormat: c.nameIdFormat,
      wantAssertionsSigned: c.wantAssertionsSigned,
      ...(signing ? { privateKey: c.spPrivateKey, publicCerts: [c.spCertificate!], signatureAlgorithm: 'sha256' as const } : {}),
      generateUniqueId: newRequestId,
    });
  }

  // -------------------------------------------------------------------------------------------

  /**
   * HTTP-Redirect binding signature (bindings §3.4.4.1) over `SAMLRequest=…&RelayState=…&SigAlg=…`
   * exactly as those bytes appear in the URL. node-saml 5.1 signs the `querystring.stringify`
   * encoding but writes the URL with `URLSearchParams`, which encodes space and `!'()~`
   * differently: with such a RelayState the IdP's check fails. So the query is built here, with
   * every character outside [A-Za-z0-9-_.] escaped so that no URL parser on the way (browsers
   * turn `'` into `%27` in http(s) queries) changes the signed bytes.
   */
  #signRedirect(unsignedUrl: string, relayState: string | undefined): string {
    const samlRequest = new URL(unsignedUrl).searchParams.get('SAMLRequest');
    if (!samlRequest) throw new Error('node-saml produced no SAMLRequest');
    const signed = [
      `SAMLRequest=${strictEncode(samlRequest)}`,
      ...(relayState ? [`RelayState=${strictEncode(relayState)}`] : []),
      `SigAlg=${strictEncode(RSA_SHA256)}`,
    ].join('&');
    const signature = createSign('RSA-SHA256').update(signed).sign(this.#config.spPrivateKey!, 'base64');
    const base = this.#config.idpSsoUrl;
    return `${base}${base.includes('?') ? '&' : '?'}${signed}&Signature=${encodeURIComponent(signature)}`;
  }

  #saml(generateUniqueId: () => string): ClockedSaml {
    const c = this.#config;
    return ClockedSaml.create(
      {
        entryPoint: c.idpSsoUrl,
        issuer: c.spEntityId,
        callbackUrl: c.acsUrl,
        audience: c.spEntityId,
        idpCert: c.idpCertificates,
        idpIssuer: c.idpEntityId,
        identifierFormat: c.nameIdFormat,
        wantAssertionsSigned: c.wantAssertionsSigned,
        wantAuthnResponseSigned: c.wantResponseSigned,
        acceptedClockSkewMs: c.clockSkewMs,
        validateInResponseTo: ValidateInResponseTo.never,
        disableRequestedAuthnContext: true,
        authnRequestBinding: 'HTTP-Redirect',
        generateUniqueId,
        cacheProvider: UNUSED_CACHE,
        // No privateKey here: node-saml would sign the redirect query wrongly (#signRedirect).
      },
      this.#now,
    );
  }

  #checkIssuer(el: Element, where: string, required: boolean): void {
    const issuers = children(el, NS.assertion, 'Issuer');
    if (issuers.length === 0) {
      if (required) refuse(`the ${where} has no Issuer`);
      return;
    }
    if (issuers.length > 1) refuse(`the ${where} has more than one Issuer`);
    const format = issuers[0].getAttribute('Format');
    if (format && format !== ENTITY_FORMAT) refuse(`the ${where} Issuer has Format ${quote(format)}, not entity`);
    const issuer = text(issuers[0]);
    if (issuer !== this.#config.idpEntityId) {
      refuse(`wrong Issuer ${quote(issuer)} on the ${where}: this provider trusts ${quote(this.#config.idpEntityId)}`);
    }
  }

  /** The Web Browser SSO profile's rules for an assertion (SAML profiles §4.1.4.2–4.1.4.3). */
  #checkAssertion(assertion: Element, inResponseTo: string): { nameId?: { value: string; format?: string } } {
    const now = this.#now();
    const skew = this.#config.clockSkewMs;
    if (assertion.getAttribute('Version') !== '2.0') refuse('the Assertion is not SAML 2.0');
    this.#checkIssuer(assertion, 'Assertion', true);

    // Subject: NameID and a bearer confirmation for this ACS and this request, still valid.
    const subjects = children(assertion, NS.assertion, 'Subject');
    if (subjects.length !== 1) refuse(`the Assertion has ${subjects.length} Subject elements, expected 1`);
    const subject = subjects[0];
    if (children(subject, NS.assertion, 'EncryptedID').length > 0) refuse('encrypted NameIDs are not supported');
    const nameIds = children(subject, NS.assertion, 'NameID');
    if (nameIds.length > 1) refuse('the Subject has more than one NameID');
    const nameId = nameIds.length === 1 && text(nameIds[0]) !== ''
      ? { value: text(nameIds[0]), format: nameIds[0].getAttribute('Format') || undefined }
      : undefined;

    const bearers = children(subject, NS.assertion, 'SubjectConfirmation').filter((sc) => sc.getAttribute('Method') === BEARER);
    if (bearers.length === 0) refuse('the Subject has no bearer SubjectConfirmation');
    const failures: string[] = [];
    for (const bearer of bearers) {
      const failure = this.#bearerFailure(bearer, inResponseTo, now);
      if (failure === undefined) {
        failures.length = 0;
        break;
      }
      failures.push(failure);
    }
    if (failures.length > 0) refuse(failures[0], failures[0].startsWith('expired') ? SIGN_IN_EXPIRED : SIGN_IN_NOT_VERIFIED);

    // Conditions: validity window and audience.
    const conditionsList = children(assertion, NS.assertion, 'Conditions');
    if (conditionsList.length !== 1) refuse(`the Assertion has ${conditionsList.length} Conditions elements, expected 1`);
    const conditions = conditionsList[0];
    const notBefore = time(conditions, 'NotBefore', 'Conditions');
    const notOnOrAfter = time(conditions, 'NotOnOrAfter', 'Conditions');
    if (notBefore !== undefined && now + skew < notBefore) {
      refuse(`assertion not yet valid: Conditions NotBefore ${iso(notBefore)} is after ${iso(now)} plus ${skew / 1000} s skew`);
    }
    if (notOnOrAfter !== undefined && now - skew >= notOnOrAfter) {
      refuse(`expired assertion: Conditions NotOnOrAfter ${iso(notOnOrAfter)} is before ${iso(now)} minus ${skew / 1000} s skew`, SIGN_IN_EXPIRED);
    }
    const restrictions = children(conditions, NS.assertion, 'AudienceRestriction');
    if (restrictions.length === 0) refuse('wrong audience: the assertion has no AudienceRestriction');
    for (const restriction of restrictions) {
      const audiences = children(restriction, NS.assertion, 'Audience').map(text);
      if (!audiences.includes(this.#config.spEntityId)) {
        refuse(`wrong audience ${audiences.map(quote).join(', ') || '(none)'}: this provider is ${quote(this.#config.spEntityId)}`);
      }
    }

    if (children(assertion, NS.assertion, 'AuthnStatement').length === 0) refuse('the Assertion has no AuthnStatement');
    return { nameId };
  }

  #bearerFailure(confirmation: Element, inResponseTo: string, now: number): string | undefined {
    const skew = this.#config.clockSkewMs;
    const data = children(confirmation, NS.assertion, 'SubjectConfirmationData');
    if (data.length !== 1) return 'the bearer SubjectConfirmation has no SubjectConfirmationData';
    const d = data[0];
    const recipient = d.getAttribute('Recipient');
    if (!recipient) return 'the bearer SubjectConfirmationData has no Recipient';
    if (recipient !== this.#config.acsUrl) {
      return `wrong Recipient ${quote(recipient)}: this provider's ACS URL is ${quote(this.#config.acsUrl)}`;
    }
    const subjectInResponseTo = d.getAttribute('InResponseTo');
    if (subjectInResponseTo !== inResponseTo) {
      return `SubjectConfirmationData InResponseTo ${subjectInResponseTo ? quote(subjectInResponseTo) : '(missing)'} does not match the Response's ${quote(inResponseTo)}`;
    }
    let notBefore: number | undefined;
    let notOnOrAfter: number | undefined;
    try {
      notBefore = time(d, 'NotBefore', 'SubjectConfirmationData');
      notOnOrAfter = time(d, 'NotOnOrAfter', 'SubjectConfirmationData');
    } catch (err) {
      return err instanceof SignInError ? err.reason : describe(err);
    }
    if (notOnOrAfter === undefined) return 'the bearer SubjectConfirmationData has no NotOnOrAfter';
    if (now - skew >= notOnOrAfter) {
      return `expired assertion: SubjectConfirmationData NotOnOrAfter ${iso(notOnOrAfter)} is before ${iso(now)} minus ${skew / 1000} s skew`;
    }
    if (notBefore !== undefined && now + skew < notBefore) {
      return `assertion not yet valid: SubjectConfirmationData NotBefore ${iso(notBefore)} is after ${iso(now)} plus ${skew / 1000} s skew`;
    }
    return undefined;
  }

  #identity(assertion: Element, nameId: { value: string; format?: string } | undefined): Identity {
    const names = this.#config.attributes;
    const attributes = readAttributes(assertion);
    const first = (list: string[]) => {
      for (const name of list) {
        const values = attributes.get(name.toLowerCase());
        if (values && values.length > 0) return values[0];
      }
      return undefined;
    };

    let username: string | undefined;
    if (names.username === null) {
      if (!nameId) refuse('missing username: the assertion has no NameID');
      if (nameId.format === NAMEID_FORMAT.transient) {
        refuse('missing username: the NameID is transient (different at every sign-in); configure a username attribute');
      }
      username = nameId.value;
    } else {
      username = first([names.username]);
      if (username === undefined) refuse(`missing username: the assertion has no ${quote(names.username)} attribute`);
    }

    let displayName = first(names.displayName);
    if (displayName === undefined) {
      const parts = [first(names.givenName), first(names.surname)].filter((p): p is string => p !== undefined);
      if (parts.length > 0) displayName = parts.join(' ');
    }
    const groups = new Set<string>();
    for (const name of names.groups) for (const value of attributes.get(name.toLowerCase()) ?? []) groups.add(value);

    // A transient NameID changes at every sign-in: the username attribute is then the stable key.
    const persistentNameId = nameId && nameId.format !== NAMEID_FORMAT.transient ? nameId.value : undefined;
    const identity: Identity = {
      provider: this.#providerId,
      subject: persistentNameId ?? username,
      username,
      groups: [...groups],
    };
    const email = first(names.email);
    if (email !== undefined) identity.email = email;
    if (displayName !== undefined) identity.displayName = displayName;
    return identity;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** The defaults, overridden by each role the configuration sets (an `undefined` keeps the default). */
function attributeNames(overrides: Partial<SamlAttributeNames> | undefined): SamlAttributeNames {
  const names: SamlAttributeNames = { ...DEFAULT_SAML_ATTRIBUTES };
  for (const [key, value] of Object.entries(overrides ?? {}) as Array<[keyof SamlAttributeNames, never]>) {
    if (value !== undefined) names[key] = value;
  }
  return names;
}

function refuse(reason: string, message: string = SIGN_IN_NOT_VERIFIED): never {
  throw new SignInError(message, reason);
}

function decodeResponse(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) refuse('no SAMLResponse in the form');
  if (value.length > MAX_RESPONSE_LENGTH) refuse(`SAMLResponse is larger than ${MAX_RESPONSE_LENGTH} characters`);
  const compact = value.replace(/[\r\n\t ]/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) refuse('SAMLResponse is not base64');
  const bytes = Buffer.from(compact, 'base64');
  let xml: string;
  try {
    xml = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    refuse('the decoded SAMLResponse is not UTF-8 text');
  }
  if (xml.charCodeAt(0) === 0xfeff) xml = xml.slice(1);
  return xml;
}

function checkStatus(response: Element): void {
  const status = children(response, NS.protocol, 'Status')[0];
  const code = status && children(status, NS.protocol, 'StatusCode')[0];
  const value = code?.getAttribute('Value');
  if (!value) refuse('the Response has no StatusCode');
  if (value === STATUS_SUCCESS) return;
  const nested = children(code, NS.protocol, 'StatusCode')[0]?.getAttribute('Value');
  const message = status && children(status, NS.protocol, 'StatusMessage')[0];
  const detail = [nested && `(${nested})`, message && quote(text(message))].filter(Boolean).join(' ');
  refuse(`IdP status is not Success: ${value}${detail ? ` ${detail}` : ''}`, SIGN_IN_DECLINED);
}

/** Name (and FriendlyName) → values, lower-cased names; values trimmed, empty and nil dropped. */
function readAttributes(assertion: Element): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const statement of children(assertion, NS.assertion, 'AttributeStatement')) {
    for (const attribute of children(statement, NS.assertion, 'Attribute')) {
      const values = children(attribute, NS.assertion, 'AttributeValue')
        .filter((v) => v.getAttributeNS(NS.xsi, 'nil') !== 'true')
        .map(text)
        .filter((v) => v !== '');
      for (const key of [attribute.getAttribute('Name'), attribute.getAttribute('FriendlyName')]) {
        if (!key) continue;
        const k = key.toLowerCase();
        result.set(k, [...(result.get(k) ?? []), ...values]);
      }
    }
  }
  return result;
}

/**
 * node-saml's message → our reason. Its checks of time and audience normally never fire
 * (ours ran first on the same content), so what remains is the signature.
 */
function classifyVerifierError(err: unknown): string {
  const message = describe(err);
  if (/multiple assertions|more than one element|does not refer to it'?s parent|too many signatures|too many transforms|ref URI/i.test(message)) {
    return `bad signature: the signature does not cover the assertion it should (possible signature wrapping): ${message}`;
  }
  if (/signature/i.test(message)) return `bad signature: not signed by a configured IdP certificate, or altered after signing (${message})`;
  return `refused by SAML validation: ${message}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown, path: string, add: (path: string, message: string) => void): void {
  if (typeof value !== 'string' || value.trim() === '') add(path, 'is required');
}

function optionalBoolean(value: unknown, path: string, add: (path: string, message: string) => void): void {
  if (value !== undefined && typeof value !== 'boolean') add(path, 'must be true or false');
}

/** https, or http on a loopback host (tests, a local IdP). */
function url(value: unknown, path: string, add: (path: string, message: string) => void): void {
  if (typeof value !== 'string' || value.trim() === '') {
    add(path, 'is required');
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    add(path, 'is not a URL');
    return;
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) add(path, 'must be an https URL');
  else if (parsed.username || parsed.password) add(path, 'must not contain credentials');
  else if (parsed.hash) add(path, 'must not have a fragment');
}

/** PEM, or the bare base64 DER found in IdP metadata. */
function certificateFrom(value: unknown): X509Certificate | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  try {
    const trimmed = value.trim();
    const input = trimmed.startsWith('-----BEGIN') ? trimmed : Buffer.from(trimmed.replace(/\s+/g, ''), 'base64');
    const cert = new X509Certificate(input);
    createPublicKey(cert.publicKey.export({ format: 'pem', type: 'spki' }));
    return cert;
  } catch {
    return undefined;
  }
}

/** RFC 3986 unreserved characters only, minus `~` (some encoders escape it, some do not). */
function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function newRequestId(): string {
  // An NCName (starts with "_"), 160 random bits.
  return `_${randomBytes(20).toString('hex')}`;
}

function is(el: Element, ns: string, localName: string): boolean {
  return el.namespaceURI === ns && el.localName === localName;
}

function children(el: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = el.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && is(node as Element, ns, localName)) out.push(node as Element);
  }
  return out;
}

function text(el: Element): string {
  return (el.textContent ?? '').trim();
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function time(el: Element, attribute: string, where: string): number | undefined {
  const value = el.getAttribute(attribute);
  if (!value) return undefined;
  const ms = DATE_TIME.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) refuse(`${where} ${attribute} ${quote(value)} is not an xs:dateTime`);
  return ms;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** For reasons: attacker-controlled text, shortened and with controls escaped (log lines). */
function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s+/g, ' ').slice(0, 300);
}
