/**
 * A SCEP client (RFC 8894) for the device simulator, tests and benchmarks: what an enrolling
 * device does with the SCEP payload of its enrollment profile. GetCACaps, GetCACert, then a
 * PKCSReq signed by a temporary self-signed certificate over the same key, and the CertRep
 * checked (CA signature, transaction, nonce) and decrypted.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { buildEnvelope, decryptEnvelope, type ContentCipher } from '../pki/cms-envelope.js';
import {
  algorithm, bitString, certificateFields, integer, octetString, oid, printableString, seq, setOf, time, tlv, utf8String,
} from '../pki/der.js';
import { FailInfo, MessageType, PkiStatus, buildSignedData, parseCertsOnly, parsePkiMessage, scepAttributes } from '../pki/scep-message.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface EnrollScepOptions {
  /** the SCEP URL, e.g. http://127.0.0.1:8080/scep */
  url: string;
  challenge?: string;
  keySize?: number;
  /** 'CN=device,O=Pomona' (or '/CN=device/O=Pomona'), or [['CN', 'device'], ['O', 'Pomona']] for values holding ',' or '/' */
  subject?: string | Array<[string, string]>;
  cipher?: 'aes128' | 'des3' | 'des';
  digest?: 'sha256' | 'sha1';
  /** a pre-generated key (benchmarks keep key generation out of the measured window) */
  keyPair?: { privateKey: KeyObject | string };
  /** subjectAltName DNS names to request */
  dnsNames?: string[];
  /** send a RenewalReq signed by this existing identity instead of a PKCSReq signed by a throwaway certificate */
  renew?: { certificatePem: string; privateKeyPem: string };
  fetch?: typeof fetch;
}

export interface ScepEnrollment {
  certificatePem: string;
  certificateDer: Buffer;
  privateKeyPem: string;
  caCertificateDer: Buffer;
}

export class ScepClientError extends Error {
  constructor(
    message: string,
    readonly details: { httpStatus?: number; pkiStatus?: number; failInfo?: number } = {},
  ) {
    super(message);
  }
}

const CIPHERS: Record<NonNullable<EnrollScepOptions['cipher']>, ContentCipher> = { aes128: 'aes-128-cbc', des3: 'des-ede3-cbc', des: 'des-cbc' };
const SIG_ALG = { sha256: '1.2.840.113549.1.1.11', sha1: '1.2.840.113549.1.1.5' };
const NAME_OIDS: Record<string, string> = {
  CN: '2.5.4.3', O: '2.5.4.10', OU: '2.5.4.11', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', SERIALNUMBER: '2.5.4.5',
  EMAILADDRESS: '1.2.840.113549.1.9.1', UID: '0.9.2342.19200300.100.1.1',
};

export async function enrollScep(opts: EnrollScepOptions): Promise<ScepEnrollment> {
  const http = opts.fetch ?? fetch;
  const digest = opts.digest ?? 'sha256';
  const caps = await getText(http, opts.url, 'GetCACaps');
  const usePost = /^(POSTPKIOperation|SCEPStandard)$/im.test(caps);
  const caCertificateDer = await getCaCert(http, opts.url);

  const privateKey = opts.keyPair
    ? typeof opts.keyPair.privateKey === 'string' ? createPrivateKey(opts.keyPair.privateKey) : opts.keyPair.privateKey
    : (await generateKeyPairAsync('rsa', { modulusLength: opts.keySize ?? 2048 })).privateKey;
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const name = encodeName(opts.subject ?? 'CN=Pomona simulated device');
  const csr = buildCsr({ name, spki, privateKey, digest, challenge: opts.challenge, dnsNames: opts.dnsNames });

  const signer = opts.renew
    ? { certificateDer: new X509Certificate(opts.renew.certificatePem).raw, privateKey: createPrivateKey(opts.renew.privateKeyPem) }
    : { certificateDer: selfSigned(name, spki, privateKey, digest), privateKey };
  const transactionId = createHash('sha256').update(spki).digest('hex').toUpperCase();
  const senderNonce = randomBytes(16);
  const request = buildSignedData({
    content: buildEnvelope(csr, caCertificateDer, { cipher: CIPHERS[opts.cipher ?? 'aes128'] }),
    signer,
    digest,
    attributes: scepAttributes({ messageType: opts.renew ? MessageType.RenewalReq : MessageType.PKCSReq, transactionId, senderNonce }),
    certificates: [signer.certificateDer],
  });

  const res = usePost
    ? await http(`${opts.url}?operation=PKIOperation`, { method: 'POST', headers: { 'content-type': 'application/x-pki-message' }, body: new Uint8Array(request) })
    : await http(`${opts.url}?operation=PKIOperation&message=${encodeURIComponent(request.toString('base64'))}`);
  const body = Buffer.from(await res.arrayBuffer());
  if (!(res.headers.get('content-type') ?? '').startsWith('application/x-pki-message')) {
    throw new ScepClientError(`SCEP PKIOperation failed: HTTP ${res.status} ${body.toString('utf8', 0, 200).trim()}`, { httpStatus: res.status });
  }
  const reply = parsePkiMessage(body, { signerCertificateDer: caCertificateDer });
  if (reply.messageType !== MessageType.CertRep) throw new ScepClientError(`expected a CertRep, got messageType ${reply.messageType}`);
  if (reply.transactionId !== transactionId) throw new ScepClientError('CertRep transactionID does not match the request');
  if (!reply.recipientNonce?.equals(senderNonce)) throw new ScepClientError('CertRep recipientNonce does not match our senderNonce');
  if (reply.pkiStatus !== PkiStatus.SUCCESS) {
    const status = Object.entries(PkiStatus).find(([, v]) => v === reply.pkiStatus)?.[0] ?? String(reply.pkiStatus);
    const info = Object.entries(FailInfo).find(([, v]) => v === reply.failInfo)?.[0] ?? String(reply.failInfo);
    throw new ScepClientError(`SCEP enrollment refused: pkiStatus ${status}, failInfo ${info} (HTTP ${res.status})`, {
      httpStatus: res.status, pkiStatus: reply.pkiStatus, failInfo: reply.failInfo,
    });
  }
  const { content } = decryptEnvelope(reply.content, signer);
  const certificateDer = parseCertsOnly(content).find((c) => certificateFields(c).spki.equals(spki));
  if (!certificateDer) throw new ScepClientError('CertRep does not contain a certificate for our key');
  return {
    certificateDer,
    certificatePem: new X509Certificate(certificateDer).toString(),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    caCertificateDer,
  };
}

async function getText(http: typeof fetch, url: string, operation: string): Promise<string> {
  const res = await http(`${url}?operation=${operation}`);
  const text = await res.text();
  if (res.status !== 200) throw new ScepClientError(`SCEP ${operation} failed: HTTP ${res.status}`, { httpStatus: res.status });
  return text;
}

/** A single DER certificate, or the first one of a certs-only PKCS#7 (CA plus RA). */
async function getCaCert(http: typeof fetch, url: string): Promise<Buffer> {
  const res = await http(`${url}?operation=GetCACert`);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new ScepClientError(`SCEP GetCACert failed: HTTP ${res.status}`, { httpStatus: res.status });
  if ((res.headers.get('content-type') ?? '').includes('x-x509-ca-ra-cert')) {
    const certs = parseCertsOnly(body);
    // Encrypt to the RA when there is one: the certificate that is not a CA.
    return certs.find((c) => !new X509Certificate(c).ca) ?? certs[0];
  }
  return body;
}

function encodeName(subject: string | Array<[string, string]>): Buffer {
  const pairs = typeof subject === 'string' ? subject.split(/\s*[,/]\s*/).filter(Boolean).map((p) => p.split('=', 2) as [string, string]) : subject;
  return seq(
    ...pairs.map(([type, value]) => {
      const id = NAME_OIDS[type.trim().toUpperCase()];
      if (!id || value === undefined) throw new Error(`unsupported subject attribute ${type}`);
      return setOf(seq(oid(id), id === NAME_OIDS.C ? printableString(value) : utf8String(value)));
    }),
  );
}

function buildCsr(p: { name: Buffer; spki: Buffer; privateKey: KeyObject; digest: 'sha256' | 'sha1'; challenge?: string; dnsNames?: string[] }): Buffer {
  const attrs: Buffer[] = [];
  if (p.challenge !== undefined) {
    // PrintableString when the characters allow it (as most clients do), else UTF8String.
    const value = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(p.challenge) ? printableString(p.challenge) : utf8String(p.challenge);
    attrs.push(seq(oid('1.2.840.113549.1.9.7'), setOf(value)));
  }
  if (p.dnsNames?.length) {
    const san = seq(oid('2.5.29.17'), octetString(seq(...p.dnsNames.map((d) => tlv(0x82, Buffer.from(d, 'latin1'))))));
    attrs.push(seq(oid('1.2.840.113549.1.9.14'), setOf(seq(san))));
  }
  const set = setOf(...attrs);
  const info = seq(integer(0), p.name, p.spki, Buffer.concat([Buffer.from([0xa0]), set.subarray(1)]));
  return seq(info, algorithm(SIG_ALG[p.digest]), bitString(sign(p.digest, info, p.privateKey)));
}

/** The temporary signer certificate RFC 8894 §2.3 asks for: self-signed, same key and subject as the request. */
function selfSigned(name: Buffer, spki: Buffer, privateKey: KeyObject, digest: 'sha256' | 'sha1'): Buffer {
  const now = Date.now();
  const sigAlg = algorithm(SIG_ALG[digest]);
  const serial = randomBytes(8);
  serial[0] &= 0x7f;
  const tbs = seq(tlv(0xa0, integer(2)), integer(serial), sigAlg, name, seq(time(now - 3600_000), time(now + 86_400_000)), name, spki);
  return seq(tbs, sigAlg, bitString(sign(digest, tbs, privateKey)));
}


