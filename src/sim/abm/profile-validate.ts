/**
 * Validation of `POST /profile` (define) bodies with Apple's documented error codes and limits:
 * profile_name required, non-empty, ≤ 125 chars (CONFIG_NAME_*); url required, ≤ 2000 encoded
 * chars, absolute http(s) (CONFIG_URL_*); configuration_web_url https (CONFIG_URL_INVALID);
 * is_mdm_removable false only when supervised, every flag a boolean (FLAGS_INVALID); department
 * ≤ 125, support phone ≤ 50, support e-mail ≤ 250 and an address, org_magic ≤ 256 (and present:
 * the schema marks it and is_mdm_removable required); language ISO 639 (2–3 lower-case
 * letters), region ISO 3166 alpha-2 upper-case (LOCALE_INVALID). Empty strings are rejected
 * with the field's *_INVALID code, as Apple does ("either empty or too long").
 *
 * Structural problems Apple documents no code for (a non-array `skip_setup_items`, a
 * non-base64 certificate) answer MALFORMED_REQUEST_BODY.
 */
import { KNOWN_SKIP_KEYS } from './skip-keys.js';
import type { DepErrorCode } from './wire.js';

/** A stored profile: Apple's field names, without `devices`. */
export interface ProfileFields {
  profile_name: string;
  url: string;
  configuration_web_url?: string;
  allow_pairing?: boolean;
  is_supervised?: boolean;
  is_multi_user?: boolean;
  is_mandatory?: boolean;
  await_device_configured?: boolean;
  is_mdm_removable?: boolean;
  auto_advance_setup?: boolean;
  is_return_to_service?: boolean;
  do_not_use_profile_from_backup?: boolean;
  support_phone_number?: string;
  support_email_address?: string;
  org_magic?: string;
  anchor_certs?: string[];
  supervising_host_certs?: string[];
  skip_setup_items?: string[];
  department?: string;
  language?: string;
  region?: string;
}

export const PROFILE_FLAGS = [
  'allow_pairing', 'is_supervised', 'is_multi_user', 'is_mandatory', 'await_device_configured', 'is_mdm_removable',
  'auto_advance_setup', 'is_return_to_service', 'do_not_use_profile_from_backup',
] as const;

/** Defaults Apple fills in when a profile is read back. */
export const PROFILE_FLAG_DEFAULTS: Readonly<Record<(typeof PROFILE_FLAGS)[number], boolean>> = {
  allow_pairing: true,
  is_supervised: false,
  is_multi_user: false,
  is_mandatory: false,
  await_device_configured: false,
  is_mdm_removable: true,
  auto_advance_setup: false,
  is_return_to_service: false,
  do_not_use_profile_from_backup: false,
};

export interface ProfileValidationOptions {
  /** accept http:// for configuration_web_url (Apple requires https); default false */
  allowHttpWebUrl?: boolean;
  /** reject skip keys not in Apple's list (400 SKIP_SETUP_ITEMS_INVALID, an invented code) */
  strictSkipKeys?: boolean;
  /** require org_magic and is_mdm_removable (the schema's required keys); default true */
  requireSchemaKeys?: boolean;
}

export type ProfileValidation =
  | { ok: true; profile: ProfileFields; devices: string[]; warnings: string[] }
  | { ok: false; code: DepErrorCode; detail: string };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function validUrl(v: string, httpsOnly: boolean): boolean {
  if (encodeURI(v).length > 2000) return false;
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || (!httpsOnly && u.protocol === 'http:')) && u.hostname !== '';
  } catch {
    return false;
  }
}

const chars = (s: string) => [...s].length;

export function validateProfile(body: unknown, opts: ProfileValidationOptions = {}): ProfileValidation {
  const bad = (code: DepErrorCode, detail: string): ProfileValidation => ({ ok: false, code, detail });
  if (!body || typeof body !== 'object' || Array.isArray(body)) return bad('MALFORMED_REQUEST_BODY', 'body is not a JSON object');
  const b = body as Record<string, unknown>;
  const str = (k: string) => b[k] !== undefined;

  if (!str('profile_name') || b.profile_name === null) return bad('CONFIG_NAME_REQUIRED', 'profile_name is required');
  if (typeof b.profile_name !== 'string' || b.profile_name === '' || chars(b.profile_name) > 125) return bad('CONFIG_NAME_INVALID', 'profile_name must be 1–125 characters');
  if (!str('url') || b.url === null) return bad('CONFIG_URL_REQUIRED', 'url is required');
  if (typeof b.url !== 'string' || b.url === '' || !validUrl(b.url, false)) return bad('CONFIG_URL_INVALID', 'url must be an absolute http(s) URL of at most 2000 characters');
  if (str('configuration_web_url')) {
    const w = b.configuration_web_url;
    if (typeof w !== 'string' || w === '' || !validUrl(w, !opts.allowHttpWebUrl)) return bad('CONFIG_URL_INVALID', 'configuration_web_url must be an absolute https URL of at most 2000 characters');
  }
  for (const f of PROFILE_FLAGS) if (str(f) && typeof b[f] !== 'boolean') return bad('FLAGS_INVALID', `${f} must be a boolean`);
  if (opts.requireSchemaKeys !== false && !str('is_mdm_removable')) return bad('FLAGS_INVALID', 'is_mdm_removable is required');
  if (b.is_mdm_removable === false && b.is_supervised !== true) return bad('FLAGS_INVALID', 'is_mdm_removable can be false only when is_supervised is true');
  if (str('department') && (typeof b.department !== 'string' || b.department === '' || chars(b.department) > 125)) return bad('DEPARTMENT_INVALID', 'department must be 1–125 characters');
  if (str('language') && (typeof b.language !== 'string' || !/^[a-z]{2,3}$/.test(b.language))) return bad('LOCALE_INVALID', 'language must be an ISO 639-1 or 639-2 code');
  if (str('region') && (typeof b.region !== 'string' || !/^[A-Z]{2}$/.test(b.region))) return bad('LOCALE_INVALID', 'region must be an ISO 3166-1 alpha-2 code');
  if (opts.requireSchemaKeys !== false && !str('org_magic')) return bad('MAGIC_INVALID', 'org_magic is required');
  if (str('org_magic') && (typeof b.org_magic !== 'string' || b.org_magic === '' || chars(b.org_magic) > 256)) return bad('MAGIC_INVALID', 'org_magic must be 1–256 characters');
  if (str('support_email_address')) {
    const e = b.support_email_address;
    if (typeof e !== 'string' || e === '' || chars(e) > 250 || !EMAIL.test(e)) return bad('SUPPORT_EMAIL_INVALID', 'support_email_address must be an e-mail address of at most 250 characters');
  }
  if (str('support_phone_number') && (typeof b.support_phone_number !== 'string' || b.support_phone_number === '' || chars(b.support_phone_number) > 50)) {
    return bad('SUPPORT_PHONE_INVALID', 'support_phone_number must be 1–50 characters');
  }
  for (const k of ['anchor_certs', 'supervising_host_certs', 'skip_setup_items', 'devices']) {
    if (str(k) && (!Array.isArray(b[k]) || !(b[k] as unknown[]).every((x) => typeof x === 'string'))) return bad('MALFORMED_REQUEST_BODY', `${k} must be an array of strings`);
  }
  for (const k of ['anchor_certs', 'supervising_host_certs']) {
    for (const c of (b[k] as string[] | undefined) ?? []) if (!BASE64.test(c)) return bad('MALFORMED_REQUEST_BODY', `${k} entries must be base64 DER certificates`);
  }
  const warnings: string[] = [];
  for (const key of (b.skip_setup_items as string[] | undefined) ?? []) {
    if (KNOWN_SKIP_KEYS.has(key)) continue;
    if (opts.strictSkipKeys) return bad('SKIP_SETUP_ITEMS_INVALID', `unknown skip key ${key}`);
    warnings.push(`unknown skip key ${JSON.stringify(key)}`);
  }

  const profile: ProfileFields = { profile_name: b.profile_name, url: b.url };
  const copy = ['configuration_web_url', ...PROFILE_FLAGS, 'support_phone_number', 'support_email_address', 'org_magic', 'anchor_certs', 'supervising_host_certs', 'skip_setup_items', 'department', 'language', 'region'] as const;
  for (const k of copy) if (str(k)) (profile as unknown as Record<string, unknown>)[k] = Array.isArray(b[k]) ? [...(b[k] as string[])] : b[k];
  return { ok: true, profile, devices: (b.devices as string[] | undefined) ?? [], warnings };
}
