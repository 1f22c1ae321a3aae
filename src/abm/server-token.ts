/**
 * The server token Apple Business/School Manager hands out for one MDM server: read it in any
 * form an admin may have it — the S/MIME `.p7m` exactly as downloaded (MIME headers + base64
 * CMS EnvelopedData, BER allowed), the bare DER or PEM envelope, or the JSON already decrypted
 * (by `openssl smime`, say) — and return the four OAuth 1.0a secrets and their expiry.
 *
 * The envelope is decrypted with whichever of our key pairs it names (the current one, or a
 * staged one waiting for this token), so the caller learns which pair the token belongs to.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { DerError } from '../pki/der.js';
import { addressedTo, decryptEnvelope, EnvelopeError, parseEnvelope, type ParsedEnvelope } from '../pki/cms-envelope.js';

export interface ServerTokens {
  consumerKey: string;
  consumerSecret: string;
  accessToken: string;
  accessSecret: string;
  /** epoch ms */
  accessTokenExpiry: number;
}

export interface TokenKeyPair {
  certPem: string;
  keyPem: string;
}

export type ServerTokenProblem = 'unreadable' | 'wrong-key' | 'corrupted' | 'missing-field';

export class ServerTokenError extends Error {
  constructor(readonly problem: ServerTokenProblem, message: string) {
    super(message);
  }
}

const FIELDS = [
  ['consumer_key', 'consumerKey'],
  ['consumer_secret', 'consumerSecret'],
  ['access_token', 'accessToken'],
  ['access_secret', 'accessSecret'],
] as const;

/** A token file is a few KiB; anything far larger is not one. */
const MAX_FILE = 256 * 1024;

/**
 * Reads a token file. `keys` are tried by recipient (not by trial decryption); the result says
 * which one opened it (`keyIndex`; -1 for plain JSON, which needs no key).
 */
export function readServerTokenFile(file: Buffer, keys: TokenKeyPair[]): { tokens: ServerTokens; keyIndex: number } {
  if (file.length === 0) throw new ServerTokenError('unreadable', 'the token file is empty');
  if (file.length > MAX_FILE) throw new ServerTokenError('unreadable', 'the file is too large to be a server token');
  const text = file.toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (text.startsWith('{') || text.startsWith('-----BEGIN MESSAGE-----') || /^content-type:\s*text\/plain/i.test(text)) {
    return { tokens: parseTokenText(file.toString('utf8')), keyIndex: -1 };
  }
  const der = envelopeDer(file, text);
  let envelope: ParsedEnvelope;
  try {
    envelope = parseEnvelope(der);
  } catch (err) {
    if (err instanceof DerError || err instanceof EnvelopeError) throw new ServerTokenError('corrupted', `the token file is corrupted: ${err.message}`);
    throw err;
  }
  const keyIndex = keys.findIndex((k) => envelope.recipients.some((r) => addressedTo(r, certDer(k.certPem))));
  if (keyIndex < 0) {
    throw new ServerTokenError(
      'wrong-key',
      'this token was encrypted to a different public key: download the public key of this ABM server from Pomona, upload it to the MDM server in Apple Business Manager, and download a new token',
    );
  }
  let content: Buffer;
  try {
    content = decryptEnvelope(envelope, { privateKey: createPrivateKey(keys[keyIndex].keyPem), certificateDer: certDer(keys[keyIndex].certPem) }).content;
  } catch (err) {
    if (err instanceof EnvelopeError) throw new ServerTokenError('corrupted', `the token file is corrupted: ${err.message}`);
    throw err;
  }
  return { tokens: parseTokenText(content.toString('utf8')), keyIndex };
}

/** The envelope's DER from the S/MIME, PEM, base64 or DER form. */
function envelopeDer(file: Buffer, text: string): Buffer {
  if (file[0] === 0x30) return file;
  let body = text;
  if (/^[A-Za-z-]+:/.test(text)) {
    // MIME entity: headers, a blank line, the base64 body.
    const m = /\r?\n\r?\n/.exec(text);
    if (!m) throw new ServerTokenError('unreadable', 'the token file has MIME headers but no body');
    if (!/application\/(x-)?pkcs7-mime/i.test(text.slice(0, m.index))) {
      throw new ServerTokenError('unreadable', 'the file is a MIME message but not an S/MIME encrypted token (expected Content-Type: application/pkcs7-mime)');
    }
    body = text.slice(m.index + m[0].length);
  }
  body = body.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new ServerTokenError('unreadable', 'the file is not a server token (.p7m from Apple Business Manager, its DER form, or the decrypted JSON)');
  return Buffer.from(body, 'base64');
}

function certDer(pem: string): Buffer {
  return new X509Certificate(pem).raw;
}

/**
 * The decrypted text: optional MIME headers, optional BEGIN/END MESSAGE markers, and JSON that
 * Apple hard-wraps inside values, so the lines are joined with nothing between them.
 */
export function parseTokenText(text: string): ServerTokens {
  let lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (/^content-type:/i.test(lines[0] ?? '')) {
    const blank = lines.findIndex((l) => l.trim() === '');
    lines = blank < 0 ? [] : lines.slice(blank + 1);
  }
  const begin = lines.findIndex((l) => l.trim() === '-----BEGIN MESSAGE-----');
  if (begin >= 0) {
    const end = lines.findIndex((l, i) => i > begin && l.trim() === '-----END MESSAGE-----');
    lines = lines.slice(begin + 1, end < 0 ? undefined : end);
  }
  let json: unknown;
  try {
    json = JSON.parse(lines.map((l) => l.trim()).join(''));
  } catch {
    throw new ServerTokenError('corrupted', 'the token does not hold valid JSON');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ServerTokenError('corrupted', 'the token does not hold a JSON object');
  const o = json as Record<string, unknown>;
  const out: Partial<ServerTokens> = {};
  for (const [field, key] of FIELDS) {
    const v = o[field];
    if (typeof v !== 'string' || v.trim() === '') throw new ServerTokenError('missing-field', `the token has no ${field}`);
    out[key] = v.trim();
  }
  const expiry = o.access_token_expiry;
  if (typeof expiry !== 'string' || expiry.trim() === '') throw new ServerTokenError('missing-field', 'the token has no access_token_expiry');
  const ms = Date.parse(expiry);
  if (!Number.isFinite(ms)) throw new ServerTokenError('corrupted', `the token's access_token_expiry is not a date: ${JSON.stringify(expiry.slice(0, 40))}`);
  return { ...(out as Omit<ServerTokens, 'accessTokenExpiry'>), accessTokenExpiry: ms };
}
