/**
 * Server token files exactly as Apple Business/School Manager issues them: an S/MIME entity
 * (`smime.p7m`) whose base64 body is a CMS EnvelopedData addressed to the certificate the
 * admin uploaded (RSA PKCS#1 v1.5 key transport, AES-128-CBC by default, BER with indefinite
 * lengths by default, like Apple's sample), and whose decrypted content is a text/plain MIME
 * part holding the token JSON between `-----BEGIN MESSAGE-----` / `-----END MESSAGE-----`,
 * hard-wrapped at 64 characters (breaks fall inside values). All line ends are CRLF.
 */
import { X509Certificate } from 'node:crypto';
import { buildEnvelope, type ContentCipher } from '../../pki/cms-envelope.js';
import { envelopeToIndefiniteBer } from './ber.js';
import type { DepTokenSet } from './token-set.js';

export interface TokenFileOptions {
  /** content cipher; Apple uses AES-128-CBC */
  cipher?: ContentCipher;
  /** BER with indefinite lengths (Apple's form, the default) or plain DER */
  ber?: boolean;
  /** size of the OCTET STRING chunks in the BER form */
  berChunkSize?: number;
  /** width the token JSON is hard-wrapped at (Apple: 64) */
  wrapWidth?: number;
}

export interface TokenFile {
  /** the .p7m file: MIME headers, blank line, base64 body */
  smime: string;
  /** the CMS ContentInfo(EnvelopedData) itself (BER or DER per the options) */
  der: Buffer;
  /** the decrypted content: the inner text/plain MIME part */
  plaintext: string;
  /** the bare token JSON (what NanoDEP's PUT /v1/tokens takes) */
  json: string;
  tokens: DepTokenSet;
}

const CRLF = '\r\n';

export function tokenJson(t: DepTokenSet): string {
  // key order as in Apple's sample
  return JSON.stringify({
    consumer_key: t.consumer_key,
    consumer_secret: t.consumer_secret,
    access_token: t.access_token,
    access_secret: t.access_secret,
    access_token_expiry: t.access_token_expiry,
  });
}

function wrap(s: string, width: number, eol: string): string {
  const lines: string[] = [];
  for (let i = 0; i < s.length; i += width) lines.push(s.slice(i, i + width));
  return lines.join(eol);
}

/** The inner MIME part that decrypting the token yields. */
export function tokenPlaintext(t: DepTokenSet, wrapWidth = 64): string {
  return (
    'Content-Type: text/plain;charset=UTF-8' + CRLF +
    'Content-Transfer-Encoding: 7bit' + CRLF +
    CRLF +
    '-----BEGIN MESSAGE-----' + CRLF +
    wrap(tokenJson(t), wrapWidth, CRLF) + CRLF +
    '-----END MESSAGE-----' + CRLF
  );
}

/** Wraps CMS bytes in the S/MIME headers of Apple's token download. */
export function smimeEntity(cms: Buffer): string {
  return (
    'Content-Type: application/pkcs7-mime; name="smime.p7m"; smime-type=enveloped-data' + CRLF +
    'Content-Transfer-Encoding: base64' + CRLF +
    'Content-Disposition: attachment; filename="smime.p7m"' + CRLF +
    'Content-Description: S/MIME Encrypted Message' + CRLF +
    CRLF +
    wrap(cms.toString('base64'), 76, CRLF) + CRLF
  );
}

/** Certificate PEM (or DER) → DER; throws a readable error for anything else. */
export function certificateDer(cert: string | Buffer): Buffer {
  try {
    return new X509Certificate(cert).raw;
  } catch {
    throw new Error('the uploaded public key must be a PEM (or DER) X.509 certificate');
  }
}

export function buildTokenFile(tokens: DepTokenSet, cert: string | Buffer, opts: TokenFileOptions = {}): TokenFile {
  const plaintext = tokenPlaintext(tokens, opts.wrapWidth ?? 64);
  const envelope = buildEnvelope(Buffer.from(plaintext, 'utf8'), certificateDer(cert), { cipher: opts.cipher ?? 'aes-128-cbc', keyTransport: 'rsa-pkcs1' });
  const der = opts.ber === false ? envelope : envelopeToIndefiniteBer(envelope, opts.berChunkSize);
  return { smime: smimeEntity(der), der, plaintext, json: tokenJson(tokens), tokens };
}

/** Apple's download name: mdmserver1_Token_2022-07-01T22-18-53Z_smime.p7m */
export function tokenFileName(serverName: string, at: number): string {
  const stamp = new Date(at).toISOString().slice(0, 19).replace(/:/g, '-') + 'Z';
  return `${serverName.replace(/[^A-Za-z0-9._-]+/g, '_')}_Token_${stamp}_smime.p7m`;
}
