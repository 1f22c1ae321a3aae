/**
 * A SAML identity provider for tests, on loopback, built from the same libraries as a real one:
 * it receives an AuthnRequest over HTTP-Redirect (inflate + base64, and checks the query
 * signature when the SP signs), and answers with a real Response/Assertion signed by xml-crypto
 * with its own RSA key and self-signed certificate, in an auto-post form like a browser would get.
 * `next` says what the next answer looks like (attributes, signature, times, tampering…).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerify, randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { parseDomFromString } from '@node-saml/node-saml/lib/xml.js';
import { NAMEID_FORMAT } from './saml-provider.js';

export const TEST_IDP_ENTITY = 'https://idp.test/metadata';

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface SeenRequest {
  id: string;
  issuer: string;
  acsUrl: string;
  destination: string;
  protocolBinding: string;
  nameIdFormat: string | null;
  hasRequestedAuthnContext: boolean;
  relayState?: string;
  sigAlg?: string;
  signatureValid?: boolean;
}

export interface ResponseOptions {
  nameId?: string | null;
  nameIdFormat?: string;
  attributes?: Record<string, string[]>;
  issuer?: string;
  audience?: string;
  recipient?: string;
  destination?: string | null;
  inResponseTo?: string | null;
  subjectInResponseTo?: string | null;
  notBefore?: number;
  notOnOrAfter?: number;
  subjectNotOnOrAfter?: number;
  status?: { code: string; nested?: string; message?: string };
  sign?: 'assertion' | 'response' | 'both' | 'none';
  signer?: KeyPair;
  /** Entra ID shape: unprefixed assertion in the default namespace */
  azureStyle?: boolean;
  /** applied to the signed XML */
  tamper?: (xml: string) => string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
export const unesc = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const iso = (ms: number) => new Date(ms).toISOString();

function signXml(xml: string, id: string, signer: KeyPair): string {
  const sig = new SignedXml({
    privateKey: signer.keyPem,
    publicCert: signer.certPem,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    getKeyInfoContent: SignedXml.getKeyInfoContent,
  });
  sig.addReference({
    xpath: `//*[@ID='${id}']`,
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
  });
  sig.computeSignature(xml, { location: { reference: `//*[@ID='${id}']/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

export class TestIdp {
  readonly requests: SeenRequest[] = [];
  /** what the next sign-in answers with */
  next: ResponseOptions = {};
  /** the SP certificate, to check signed AuthnRequests */
  spCertPem?: string;
  ssoUrl = '';
  #server?: http.Server;

  /** the IdP's entity id (the Issuer of its answers) */
  readonly entityId: string;
  /** the Audience of its answers; default: the Issuer of the request (the SP's entity id) */
  readonly audience: string | undefined;

  constructor(
    public signer: KeyPair,
    private readonly now: () => number,
    opts: { entityId?: string; audience?: string } = {},
  ) {
    this.entityId = opts.entityId ?? TEST_IDP_ENTITY;
    this.audience = opts.audience;
  }

  async start(): Promise<void> {
    this.#server = http.createServer((req, res) => {
      this.#handle(req.url ?? '')
        .then((html) => {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(html);
        })
        .catch((err: unknown) => {
          res.writeHead(400, { 'content-type': 'text/plain' });
          res.end(String(err));
        });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.ssoUrl = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/sso`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.#server?.close(resolve));
  }

  async #handle(rawUrl: string): Promise<string> {
    const url = new URL(rawUrl, 'http://idp');
    if (url.pathname !== '/sso') throw new Error('not found');
    const samlRequest = url.searchParams.get('SAMLRequest');
    if (!samlRequest) throw new Error('no SAMLRequest');
    const xml = inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
    const root = (await parseDomFromString(xml)).documentElement;
    if (root.localName !== 'AuthnRequest') throw new Error('not an AuthnRequest');
    const child = (name: string) => Array.from(root.childNodes).find((n) => (n as Element).localName === name) as Element | undefined;
    const seen: SeenRequest = {
      id: root.getAttribute('ID')!,
      issuer: child('Issuer')?.textContent ?? '',
      acsUrl: root.getAttribute('AssertionConsumerServiceURL') ?? '',
      destination: root.getAttribute('Destination') ?? '',
      protocolBinding: root.getAttribute('ProtocolBinding') ?? '',
      nameIdFormat: child('NameIDPolicy')?.getAttribute('Format') || null,
      hasRequestedAuthnContext: child('RequestedAuthnContext') !== undefined,
      relayState: url.searchParams.get('RelayState') ?? undefined,
    };
    const signature = url.searchParams.get('Signature');
    if (signature) {
      // Redirect binding §3.4.4.1: the signature covers the parameters exactly as they appear
      // in the query string, in the order SAMLRequest, RelayState, SigAlg.
      const rawQuery = rawUrl.slice(rawUrl.indexOf('?') + 1); // as received, not re-serialized
      const raw = new Map(rawQuery.split('&').map((kv) => [kv.slice(0, kv.indexOf('=')), kv] as const));
      const signed = ['SAMLRequest', 'RelayState', 'SigAlg'].map((k) => raw.get(k)).filter(Boolean).join('&');
      seen.sigAlg = url.searchParams.get('SigAlg') ?? undefined;
      seen.signatureValid =
        seen.sigAlg === 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' &&
        createVerify('RSA-SHA256').update(signed).verify(this.spCertPem ?? '', signature, 'base64');
    }
    this.requests.push(seen);
    const response = this.buildResponse(seen, this.next);
    const relay = seen.relayState === undefined ? '' : `<input type="hidden" name="RelayState" value="${esc(seen.relayState)}"/>`;
    return `<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form method="post" action="${esc(seen.acsUrl)}">` +
      `<input type="hidden" name="SAMLResponse" value="${Buffer.from(response, 'utf8').toString('base64')}"/>${relay}</form></body></html>`;
  }

  buildResponse(request: Pick<SeenRequest, 'id' | 'acsUrl'> & { issuer?: string }, o: ResponseOptions = {}): string {
    const now = this.now();
    const responseId = `_r${randomBytes(8).toString('hex')}`;
    const assertionId = `_a${randomBytes(8).toString('hex')}`;
    const irt = o.inResponseTo === undefined ? request.id : o.inResponseTo;
    const subjectIrt = o.subjectInResponseTo === undefined ? irt : o.subjectInResponseTo;
    const destination = o.destination === undefined ? request.acsUrl : o.destination;
    const issuer = o.issuer ?? this.entityId;
    const status = o.status ?? { code: 'urn:oasis:names:tc:SAML:2.0:status:Success' };
    const success = status.code.endsWith(':Success');
    const p = o.azureStyle ? '' : 'saml:';
    const nameId = o.nameId === undefined ? 'alice' : o.nameId;
    const attributes = o.attributes ?? {};

    const assertion =
      `<${p}Assertion ${o.azureStyle ? 'xmlns="urn:oasis:names:tc:SAML:2.0:assertion"' : ''} ID="${assertionId}" Version="2.0" IssueInstant="${iso(now)}">` +
      `<${p}Issuer>${esc(issuer)}</${p}Issuer>` +
      `<${p}Subject>` +
      (nameId === null ? '' : `<${p}NameID Format="${o.nameIdFormat ?? NAMEID_FORMAT.unspecified}">${esc(nameId)}</${p}NameID>`) +
      `<${p}SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><${p}SubjectConfirmationData` +
      (subjectIrt === null ? '' : ` InResponseTo="${esc(subjectIrt)}"`) +
      ` NotOnOrAfter="${iso(o.subjectNotOnOrAfter ?? now + 5 * 60_000)}" Recipient="${esc(o.recipient ?? request.acsUrl)}"/></${p}SubjectConfirmation>` +
      `</${p}Subject>` +
      `<${p}Conditions NotBefore="${iso(o.notBefore ?? now - 5_000)}" NotOnOrAfter="${iso(o.notOnOrAfter ?? now + 60 * 60_000)}">` +
      `<${p}AudienceRestriction><${p}Audience>${esc(o.audience ?? this.audience ?? request.issuer ?? '')}</${p}Audience></${p}AudienceRestriction></${p}Conditions>` +
      `<${p}AuthnStatement AuthnInstant="${iso(now - 1_000)}" SessionIndex="_s1"><${p}AuthnContext>` +
      `<${p}AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</${p}AuthnContextClassRef></${p}AuthnContext></${p}AuthnStatement>` +
      (Object.keys(attributes).length === 0
        ? ''
        : `<${p}AttributeStatement>` +
          Object.entries(attributes)
            .map(([name, values]) =>
              `<${p}Attribute Name="${esc(name)}">` +
              values.map((v) => `<${p}AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${esc(v)}</${p}AttributeValue>`).join('') +
              `</${p}Attribute>`)
            .join('') +
          `</${p}AttributeStatement>`) +
      `</${p}Assertion>`;

    const statusXml =
      `<samlp:Status><samlp:StatusCode Value="${status.code}">` +
      (status.nested ? `<samlp:StatusCode Value="${status.nested}"/>` : '') +
      `</samlp:StatusCode>${status.message ? `<samlp:StatusMessage>${esc(status.message)}</samlp:StatusMessage>` : ''}</samlp:Status>`;

    let xml =
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${responseId}" Version="2.0" IssueInstant="${iso(now)}"` +
      (destination === null ? '' : ` Destination="${esc(destination)}"`) +
      (irt === null ? '' : ` InResponseTo="${esc(irt)}"`) +
      `><saml:Issuer>${esc(issuer)}</saml:Issuer>${statusXml}${success ? assertion : ''}</samlp:Response>`;

    const sign = o.sign ?? 'assertion';
    const signer = o.signer ?? this.signer;
    if (success && (sign === 'assertion' || sign === 'both')) xml = signXml(xml, assertionId, signer);
    if (sign === 'response' || sign === 'both') xml = signXml(xml, responseId, signer);
    return o.tamper ? o.tamper(xml) : xml;
  }
}

/** The fields of the IdP's auto-post form, as a browser would submit them to the ACS. */
export function autoPostForm(html: string): { action: string; SAMLResponse: string; RelayState?: string } {
  const field = (name: string) => {
    const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
    return m ? unesc(m[1]) : undefined;
  };
  return { action: unesc(/action="([^"]*)"/.exec(html)?.[1] ?? ''), SAMLResponse: field('SAMLResponse') ?? '', RelayState: field('RelayState') };
}
