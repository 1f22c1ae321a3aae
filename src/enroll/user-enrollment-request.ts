/**
 * The body of an account-driven enrollment request (the POSTs to BaseURL): a property list with
 * `LANGUAGE`, `PRODUCT` and `VERSION`, plain (Apple's example) or CMS-signed with the device's
 * built-in identity. The signature proves nothing about the person — the bearer token does — so
 * it is checked for integrity only. Pure: throws EnrollmentRequestError on anything malformed.
 */
import { verifyAttached } from '../apple/cms-sign.js';
import { parsePlist, type PlistDict } from '../apple/plist.js';

export class EnrollmentRequestError extends Error {
  override name = 'EnrollmentRequestError';
}

export interface EnrollmentRequest {
  product?: string;
  version?: string;
  language?: string;
  signed: boolean;
}

/** Real bodies are a few hundred bytes (a few KB signed); routes cap the size well above that. */
export const ENROLLMENT_REQUEST_MAX_BYTES = 64 * 1024;

export function parseEnrollmentRequest(body: Buffer): EnrollmentRequest {
  if (body.length === 0) throw new EnrollmentRequestError('the request body is empty');
  const plain = body.subarray(0, 5).toString('latin1') === '<?xml' || body.subarray(0, 6).toString('latin1') === 'bplist';
  let content = body;
  if (!plain) {
    try {
      content = verifyAttached(body, { ignoreDates: true }).content;
    } catch (err) {
      throw new EnrollmentRequestError(`the body is neither a property list nor signed data (${(err as Error).message})`);
    }
  }
  let dict: PlistDict;
  try {
    dict = parsePlist(content);
  } catch (err) {
    throw new EnrollmentRequestError(`the body is not a property list (${(err as Error).message})`);
  }
  return { product: field(dict, 'PRODUCT'), version: field(dict, 'VERSION'), language: field(dict, 'LANGUAGE'), signed: !plain };
}

function field(d: PlistDict, key: string): string | undefined {
  const v = d[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 64 || !/^[\x21-\x7e]*$/.test(v)) throw new EnrollmentRequestError(`${key} is not a short printable string`);
  return v;
}
