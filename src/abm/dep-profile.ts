// Enrollment (DEP/ADE) profile settings: what an admin configures, how it is checked, and the body
// Pomona sends to Apple's `POST /profile` (apple-dep-api.md §5, dep-schemas/Profile.json).
//
// The settings have two parts. `apple` holds every profile field Apple accepts except the ones
// Pomona sets itself (`url`, `configuration_web_url`, `devices`; `profile_uuid` is Apple's answer).
// `pomona` holds what Pomona does around the enrollment — authentication in the Setup Assistant web
// view, the user the device belongs to, OS version rules, the macOS accounts, the await-configuration
// time limit, Shared iPad settings, time zone, device attributes, organization group. Apple never
// sees `pomona`, so changing only it does not define a new Apple profile (`appleProfileChanged`).
//
// Conventions: a trimmed empty optional string means "not set" (Apple refuses empty strings);
// limits are counted in characters after trimming; `validateDepProfile` lists every problem at
// once with the admin's words for the fields, and keeps warnings (things that are allowed but
// probably not meant) apart from errors.
import { X509Certificate } from 'node:crypto';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { APPLE_PLATFORMS, checkSkipKeys, compareVersions, type ApplePlatform } from './skip-keys.js';

export type { ApplePlatform } from './skip-keys.js';

export const AUTHENTICATION_METHODS = ['password', 'registration-token', 'saml', 'oidc'] as const;
export type AuthenticationMethod = (typeof AUTHENTICATION_METHODS)[number];

/** Limits Apple documents (§5) and the ones Pomona chose for its own settings. */
export const LIMITS = {
  profileName: 125,
  department: 125,
  supportPhoneNumber: 50,
  supportEmailAddress: 250,
  orgMagic: 256,
  url: 2000,
  certificates: 20,
  certificateChars: 16_384,
  skipItems: 100,
  devices: 1000,
  username: 255,
  osRuleMessage: 500,
  awaitMinutes: { min: 1, max: 10 },
  localAdminShortName: 31,
  localAdminFullName: 255,
  passwordLength: { min: 12, max: 64 },
  rotateAfterViewingMinutes: { min: 0, max: 1440 },
  residentUsers: { min: 1, max: 100 },
  quotaSizeMB: { min: 1, max: 4_000_000 },
  sessionTimeoutSeconds: { min: 30, max: 2_592_000 },
  timeZone: 64,
  assetTag: 128,
  customAttributes: 50,
  customAttributeName: 64,
  customAttributeValue: 256,
  organizationGroupId: 128,
} as const;

export const DEFAULTS = {
  is_supervised: true,
  is_mandatory: true,
  allow_pairing: true,
  await_device_configured: true,
  auto_advance_setup: false,
  is_multi_user: false,
  is_return_to_service: false,
  do_not_use_profile_from_backup: false,
  /** Apple's schema requires `org_magic`; Pomona sends this when the admin sets none. */
  org_magic: 'pomona',
  awaitTimeLimitMinutes: 3,
  passwordLength: 20,
  rotateAfterViewingMinutes: 60,
} as const;

// ---------------------------------------------------------------------------------------------
// Schema (TypeBox; doubles as the OpenAPI description)

const Opt = Type.Optional;
const Bool = (description: string, def?: boolean) => Type.Boolean({ description, ...(def !== undefined && { default: def }) });
const Text = (description: string, maxLength: number) => Type.String({ description, maxLength });
const Int = (description: string, min: number, max: number, def?: number) =>
  Type.Integer({ description, minimum: min, maximum: max, ...(def !== undefined && { default: def }) });
const Closed = <P extends Parameters<typeof Type.Object>[0]>(properties: P, description: string) =>
  Type.Object(properties, { additionalProperties: false, description });
const Certificates = (description: string) =>
  Type.Array(Text('one certificate, base64 DER (PEM is accepted and converted)', LIMITS.certificateChars), { description, maxItems: LIMITS.certificates });

export const AppleProfileSettings = Closed(
  {
    profile_name: Text('Name shown in Apple Business/School Manager and in Setup Assistant. Required, 1–125 characters.', LIMITS.profileName),
    is_supervised: Opt(Bool("Supervise the device. Default true (Apple's default is false, but iOS 13+ and macOS 11+ supervise every ADE device anyway).", DEFAULTS.is_supervised)),
    is_mandatory: Opt(Bool('The user cannot skip enrollment. Default true (iOS 13+ makes every ADE enrollment mandatory).', DEFAULTS.is_mandatory)),
    is_mdm_removable: Opt(Type.Boolean({ description: 'The user may remove management. Default: false when supervised, true otherwise. false requires is_supervised.' })),
    allow_pairing: Opt(Bool('Allow pairing with a computer (deprecated in iOS 13). Default true.', DEFAULTS.allow_pairing)),
    await_device_configured: Opt(Bool('Keep the device in Setup Assistant until Pomona releases it (needed for macOS account setup and Shared iPad settings; ignored on unsupervised iOS). Default true.', DEFAULTS.await_device_configured)),
    auto_advance_setup: Opt(Bool('Advance through Setup Assistant by itself (tvOS, macOS 11+). Default false.', DEFAULTS.auto_advance_setup)),
    is_multi_user: Opt(Bool('Set the iPad up as a Shared iPad. Default false.', DEFAULTS.is_multi_user)),
    is_return_to_service: Opt(Bool('Return to Service (iOS 26, visionOS 26). Default false.', DEFAULTS.is_return_to_service)),
    do_not_use_profile_from_backup: Opt(Bool('Do not reuse this profile when the device restores a backup (iOS 26, visionOS 26). Default false.', DEFAULTS.do_not_use_profile_from_backup)),
    department: Opt(Text('Department or location shown in Setup Assistant. Up to 125 characters. Default: none.', LIMITS.department)),
    support_phone_number: Opt(Text('Support phone number shown in Setup Assistant. Up to 50 characters. Default: none.', LIMITS.supportPhoneNumber)),
    support_email_address: Opt(Text('Support e-mail address shown in Setup Assistant. Up to 250 characters. Default: none.', LIMITS.supportEmailAddress)),
    language: Opt(Text('Setup Assistant language, ISO 639-1 (preferred) or 639-2 code in lower case, e.g. "en", "haw" (tvOS, macOS 11+). Default: none (the user chooses).', 3)),
    region: Opt(Text('Setup Assistant region, ISO 3166-1 alpha-2 code in capitals, e.g. "US" (tvOS, macOS 11+). Default: none (the user chooses).', 2)),
    org_magic: Opt(Text(`Free-form identifier of the organization's services. Up to 256 characters. Default: "${DEFAULTS.org_magic}" (Apple requires the key).`, LIMITS.orgMagic)),
    anchor_certs: Opt(Certificates('Certificates the device trusts for the TLS of the enrollment URL and web view, instead of the built-in roots. Default: none.')),
    supervising_host_certs: Opt(Certificates('Certificates of hosts that may pair with the device even when pairing is off (supervised devices only). Default: none.')),
    skip_setup_items: Opt(Type.Array(Text('a skip key such as "AppleID" (case-sensitive)', 64), { description: 'Setup Assistant panes to skip. Default: none.', maxItems: LIMITS.skipItems })),
  },
  'The profile as Apple sees it, without url, configuration_web_url and devices, which Pomona sets.',
);

const OsVersion = (description: string) => Text(`${description}; written like 17, 17.4 or 17.4.1`, 11);
const OsRule = Closed(
  {
    minimum: Opt(Closed(
      {
        version: OsVersion('lowest OS version allowed to enroll'),
        build: Opt(Text('build the update must reach, e.g. 21E236 (optional)', 16)),
      },
      'Older devices are asked to update first (com.apple.softwareupdate.required; iOS 17+, macOS 14+). Default: none.',
    )),
    maximum: Opt(Closed({ version: OsVersion('highest OS version allowed to enroll') }, 'Newer devices are refused. Default: none.')),
    message: Opt(Text('Shown to the user when the device must update or is refused. Default: a generic message.', LIMITS.osRuleMessage)),
  },
  'OS version rule for one platform',
);

export const PomonaProfileSettings = Closed(
  {
    platforms: Opt(Type.Array(Type.Enum([...APPLE_PLATFORMS]), {
      description: 'Platforms this profile is meant for (used for warnings only). Default: all.',
      minItems: 1,
      default: [...APPLE_PLATFORMS],
    })),
    authentication: Opt(Closed(
      {
        enabled: Opt(Bool('Ask the user to sign in in the Setup Assistant web view. Default false.', false)),
        methods: Opt(Type.Array(Type.Enum([...AUTHENTICATION_METHODS]), { description: 'Sign-in methods offered; at least one when enabled. Default: none.', default: [] })),
      },
      'User authentication during Setup Assistant (uses the Pomona-hosted web view).',
    )),
    userAssignment: Opt(Closed(
      {
        mode: Opt(Type.Enum(['staging', 'anonymous', 'defined'], { description: 'Who the device belongs to when authentication is off: a staging user to reassign later, nobody, or a named user. Default "anonymous".', default: 'anonymous' })),
        username: Opt(Text('The user for "defined" (required), or the staging account for "staging" (optional).', LIMITS.username)),
      },
      'User assignment when authentication is off.',
    )),
    osRules: Opt(Closed(
      { iOS: Opt(OsRule), iPadOS: Opt(OsRule), macOS: Opt(OsRule), tvOS: Opt(OsRule), visionOS: Opt(OsRule) },
      'Minimum and maximum OS versions per platform, checked when the device asks to enroll. Default: none.',
    )),
    webView: Opt(Closed(
      {
        mode: Opt(Type.Enum(['off', 'pomona', 'external'], { description: 'Custom enrollment web view: none, Pomona\'s pages, or an external page that signs the user in itself and fetches the profile from Pomona. Default "off".', default: 'off' })),
        externalUrl: Opt(Text('https URL of the external page (mode "external").', LIMITS.url)),
      },
      'Custom enrollment web view (configuration_web_url).',
    )),
    macOSAccountSetup: Opt(Closed(
      {
        primaryAccount: Opt(Type.Enum(['admin', 'standard', 'skip'], { description: 'The account the user creates in Setup Assistant: an administrator, a standard user, or none. "standard" and "skip" need a local admin. Default "admin".', default: 'admin' })),
        localAdmin: Opt(Closed(
          {
            shortName: Text('Short name of the managed local administrator, e.g. "_pomonaadmin".', LIMITS.localAdminShortName),
            fullName: Opt(Text('Full name. Default: the short name.', LIMITS.localAdminFullName)),
            hidden: Opt(Bool('Hide the account from the login window and Users & Groups. Default true.', true)),
            password: Opt(Closed(
              {
                length: Opt(Int('Length of the random per-device password Pomona generates and escrows. Default 20.', LIMITS.passwordLength.min, LIMITS.passwordLength.max, DEFAULTS.passwordLength)),
                rotateAfterViewingMinutes: Opt(Int('Rotate the password this many minutes after an admin has viewed it; 0 = never. Default 60.', LIMITS.rotateAfterViewingMinutes.min, LIMITS.rotateAfterViewingMinutes.max, DEFAULTS.rotateAfterViewingMinutes)),
              },
              'Password policy of the local administrator.',
            )),
          },
          'Managed local administrator created during Setup Assistant (AccountConfiguration). Default: none.',
        )),
        prefill: Opt(Closed(
          {
            enabled: Opt(Bool("Prefill the primary account's full name and short name from the user's identity. Default false.", false)),
            lock: Opt(Bool('Do not let the user edit the prefilled fields. Default false.', false)),
          },
          'Primary account prefill (macOS 10.15+).',
        )),
      },
      'macOS account setup, sent with AccountConfiguration while the Mac awaits configuration.',
    )),
    awaitConfiguration: Opt(Closed(
      { timeLimitMinutes: Opt(Int('Release the device after this many minutes even if its configuration is not done. Default 3.', LIMITS.awaitMinutes.min, LIMITS.awaitMinutes.max, DEFAULTS.awaitTimeLimitMinutes)) },
      'Await-configuration phase.',
    )),
    sharedIPad: Opt(Closed(
      {
        maximumResidentUsers: Opt(Int('Expected number of users kept on the iPad. Default: the device decides.', LIMITS.residentUsers.min, LIMITS.residentUsers.max)),
        quotaSizeMB: Opt(Int('Storage quota per user, in MB. Default: the device decides.', LIMITS.quotaSizeMB.min, LIMITS.quotaSizeMB.max)),
        temporarySessionOnly: Opt(Bool('Offer guest sessions only (iPadOS 14.5+). Default false.', false)),
        temporarySessionTimeoutSeconds: Opt(Int('Sign a guest out after this much inactivity; 0 = never, else at least 30 (iPadOS 14.5+). Default: none.', 0, LIMITS.sessionTimeoutSeconds.max)),
        userSessionTimeoutSeconds: Opt(Int('Sign a user out after this much inactivity; 0 = never, else at least 30 (iPadOS 14.5+). Default: none.', 0, LIMITS.sessionTimeoutSeconds.max)),
      },
      'Shared iPad settings (apple.is_multi_user), sent while the iPad awaits configuration.',
    )),
    timeZone: Opt(Text('IANA time zone set on supervised iPhone, iPad and Apple TV (iOS/tvOS 14+), e.g. "Europe/Berlin". Default: none.', LIMITS.timeZone)),
    deviceAttributes: Opt(Closed(
      {
        assetTag: Opt(Text('Asset tag recorded for devices enrolled with this profile. Default: none.', LIMITS.assetTag)),
        custom: Opt(Type.Record(Type.String(), Text('attribute value', LIMITS.customAttributeValue), {
          description: 'Free attributes recorded for the devices: names of letters, digits, "_", "-", "." (up to 64), values up to 256 characters, at most 50. Default: none.',
          maxProperties: LIMITS.customAttributes,
        })),
      },
      'Attributes recorded for devices enrolled with this profile.',
    )),
    organizationGroupId: Opt(Text('Organization group the enrolled devices join. Default: none (top level).', LIMITS.organizationGroupId)),
    allowUnknownSkipKeys: Opt(Bool("Accept skip keys missing from Pomona's list (Apple adds keys with each major release). Default false.", false)),
  },
  'Pomona-side settings; never sent to Apple.',
);

export const DepProfileSettings = Type.Object(
  { apple: AppleProfileSettings, pomona: Opt(PomonaProfileSettings) },
  { additionalProperties: false, title: 'DepProfileSettings', description: 'An enrollment (DEP/ADE) profile: Apple-side fields and Pomona-side settings.' },
);
export type DepProfileSettings = Static<typeof DepProfileSettings>;

// ---------------------------------------------------------------------------------------------
// Resolved settings: defaults applied, strings trimmed, empties dropped, lists de-duplicated.

export interface OsRule {
  minimum?: { version: string; build?: string };
  maximum?: { version: string };
  message?: string;
}

export interface LocalAdmin {
  shortName: string;
  fullName: string;
  hidden: boolean;
  password: { length: number; rotateAfterViewingMinutes: number };
}

export interface DepProfile {
  apple: {
    profile_name: string;
    is_supervised: boolean;
    is_mandatory: boolean;
    is_mdm_removable: boolean;
    allow_pairing: boolean;
    await_device_configured: boolean;
    auto_advance_setup: boolean;
    is_multi_user: boolean;
    is_return_to_service: boolean;
    do_not_use_profile_from_backup: boolean;
    department?: string;
    support_phone_number?: string;
    support_email_address?: string;
    language?: string;
    region?: string;
    org_magic: string;
    /** bare base64 DER */
    anchor_certs: string[];
    supervising_host_certs: string[];
    skip_setup_items: string[];
  };
  pomona: {
    platforms: ApplePlatform[];
    authentication: { enabled: boolean; methods: AuthenticationMethod[] };
    userAssignment: { mode: 'staging' | 'anonymous' | 'defined'; username?: string };
    osRules: Partial<Record<ApplePlatform, OsRule>>;
    webView: { mode: 'off' | 'pomona' | 'external'; externalUrl?: string };
    macOSAccountSetup: {
      primaryAccount: 'admin' | 'standard' | 'skip';
      localAdmin?: LocalAdmin;
      prefill: { enabled: boolean; lock: boolean };
    };
    awaitConfiguration: { timeLimitMinutes: number };
    sharedIPad: {
      maximumResidentUsers?: number;
      quotaSizeMB?: number;
      temporarySessionOnly: boolean;
      temporarySessionTimeoutSeconds?: number;
      userSessionTimeoutSeconds?: number;
    };
    timeZone?: string;
    deviceAttributes: { assetTag?: string; custom: Record<string, string> };
    organizationGroupId?: string;
    allowUnknownSkipKeys: boolean;
  };
}

// A resolved profile is valid input again (saving what validation returned works).
const _resolvedIsSettings = (p: DepProfile): DepProfileSettings => p;
void _resolvedIsSettings;

// ---------------------------------------------------------------------------------------------
// Validation

export interface DepProfileProblem {
  /** dotted path into the settings, e.g. `apple.skip_setup_items[2]` */
  path: string;
  message: string;
}

export type DepProfileValidation =
  | { ok: true; value: DepProfile; warnings: DepProfileProblem[] }
  | { ok: false; problems: DepProfileProblem[]; warnings: DepProfileProblem[] };

export interface DepProfileContext {
  /** ids of existing organization groups; when given, `organizationGroupId` must be one of them */
  organizationGroupIds?: Iterable<string>;
  /** for certificate-expiry warnings; default Date.now */
  now?: () => number;
}

export class DepProfileError extends Error {
  override name = 'DepProfileError';
  readonly statusCode = 400;
  constructor(readonly problems: DepProfileProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  }
}

/** Admin-facing names of the fields, as the console labels them. */
const LABEL: Record<string, string> = {
  profile_name: 'Profile name',
  is_supervised: 'Supervised',
  is_mdm_removable: 'Removable',
  await_device_configured: 'Await configuration',
  is_multi_user: 'Shared iPad',
  department: 'Department',
  support_phone_number: 'Support phone',
  support_email_address: 'Support e-mail',
  org_magic: 'Organization magic',
  language: 'Language',
  region: 'Region',
  anchor_certs: 'Anchor certificates',
  supervising_host_certs: 'Supervising host certificates',
};

const chars = (s: string) => [...s].length;
const VERSION = /^[1-9]\d{0,2}(\.(0|[1-9]\d{0,2})){0,2}$/;
const BUILD = /^\d{1,2}[A-Z]\d{1,5}[a-z]?$/;
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const SHORT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const RESERVED_SHORT_NAMES = new Set(['root', 'daemon', 'nobody', 'guest']);
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const TIME_ZONE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;
const NOT_COUNTRIES: Record<string, string> = { UK: 'the United Kingdom is "GB"', EU: 'it names the European Union', UN: 'it names the United Nations' };
const regionNames = new Intl.DisplayNames(['en'], { type: 'region' });
const languageNames = new Intl.DisplayNames(['en'], { type: 'language' });
let timeZoneNames: Map<string, string> | undefined;

/** Collects problems and warnings while resolving; `lenient` resolution ignores both. */
class Checker {
  readonly problems: DepProfileProblem[] = [];
  readonly warnings: DepProfileProblem[] = [];
  constructor(readonly now: number) {}
  error(path: string, message: string) {
    this.problems.push({ path, message });
  }
  warn(path: string, message: string) {
    this.warnings.push({ path, message });
  }
  /** Trimmed text, undefined when empty; too long → problem. */
  text(path: string, label: string, value: string | undefined, max: number): string | undefined {
    const v = value?.trim();
    if (!v) return undefined;
    if (chars(v) > max) this.error(path, `"${label}" can be at most ${max} characters (it has ${chars(v)})`);
    return v;
  }
}

const lastSegment = (path: string) => path.slice(path.lastIndexOf('.') + 1);

function normalizeCertificate(c: Checker, path: string, label: string, index: number, raw: string): string | undefined {
  const trimmed = raw.trim();
  if (!trimmed) return undefined;
  const item = `"${label}" item ${index + 1}`;
  if (trimmed.length > LIMITS.certificateChars) {
    c.error(path, `${item} is too long for a certificate (${trimmed.length} characters, at most ${LIMITS.certificateChars})`);
    return trimmed;
  }
  const pemBlocks = trimmed.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  if (pemBlocks > 1) {
    c.error(path, `${item} holds ${pemBlocks} certificates: add one per item`);
    return trimmed;
  }
  const body = trimmed.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    c.error(path, `${item} is not a base64 (DER) or PEM certificate`);
    return body;
  }
  const der = Buffer.from(body, 'base64');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    c.error(path, `${item} is not an X.509 certificate`);
    return body;
  }
  if (!cert.raw.equals(der)) {
    c.error(path, `${item} has extra bytes after the certificate`);
    return body;
  }
  if (Date.parse(cert.validTo) < c.now) {
    c.warn(path, `${item} (${cert.subject.replace(/\n/g, ', ')}) expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}`);
  }
  return cert.raw.toString('base64');
}

function certificates(c: Checker, path: string, raw: readonly string[] | undefined): string[] {
  const label = LABEL[lastSegment(path)]!;
  const out: string[] = [];
  if ((raw?.length ?? 0) > LIMITS.certificates) c.error(path, `"${label}" can hold at most ${LIMITS.certificates} certificates`);
  (raw ?? []).forEach((item, i) => {
    const cert = normalizeCertificate(c, `${path}[${i}]`, label, i, item);
    if (cert === undefined) return;
    if (out.includes(cert)) c.warn(`${path}[${i}]`, `"${label}" item ${i + 1} repeats an earlier certificate; it is sent once`);
    else out.push(cert);
  });
  return out;
}

function httpsUrl(c: Checker, path: string, label: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    c.error(path, `"${label}" is not a valid URL`);
    return;
  }
  if (url.protocol !== 'https:') c.error(path, `"${label}" must start with https://`);
  else if (url.username || url.password) c.error(path, `"${label}" must not contain a user name or password`);
}

function osVersion(c: Checker, path: string, raw: string | undefined): string | undefined {
  const v = raw?.trim();
  if (!v) return undefined;
  if (!VERSION.test(v)) c.error(path, `"${v}" is not an OS version: write it like 17, 17.4 or 17.4.1`);
  return v;
}

function resolveOsRule(c: Checker, path: string, platform: ApplePlatform, rule: NonNullable<Static<typeof OsRule>>, targeted: boolean): OsRule | undefined {
  const out: OsRule = {};
  const min = osVersion(c, `${path}.minimum.version`, rule.minimum?.version);
  if (min) {
    out.minimum = { version: min };
    const build = rule.minimum?.build?.trim();
    if (build) {
      if (!BUILD.test(build)) c.error(`${path}.minimum.build`, `"${build}" is not a build number: write it like 21E236`);
      out.minimum.build = build;
    }
  } else if (rule.minimum?.build?.trim()) {
    c.error(`${path}.minimum.build`, `a minimum build needs a minimum version`);
  }
  const max = osVersion(c, `${path}.maximum.version`, rule.maximum?.version);
  if (max) out.maximum = { version: max };
  if (min && max && VERSION.test(min) && VERSION.test(max) && compareVersions(min, max) > 0) {
    c.error(`${path}.maximum.version`, `the maximum ${platform} version (${max}) is below the minimum (${min})`);
  }
  const message = c.text(`${path}.message`, `${platform} rule message`, rule.message, LIMITS.osRuleMessage);
  if (message) out.message = message;
  if (!out.minimum && !out.maximum) {
    if (message) c.warn(`${path}.message`, `the ${platform} message is never shown: the rule has no minimum or maximum version`);
    return undefined;
  }
  if (!targeted) c.warn(path, `the ${platform} rule is unused: the profile does not target ${platform}`);
  return out;
}

function timeZoneName(c: Checker, path: string, raw: string | undefined): string | undefined {
  const v = c.text(path, 'Time zone', raw, LIMITS.timeZone);
  if (!v) return undefined;
  let valid = TIME_ZONE.test(v);
  if (valid) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: v });
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    c.error(path, `"${v}" is not a time zone: use an IANA name such as "Europe/Berlin"`);
    return v;
  }
  timeZoneNames ??= new Map(Intl.supportedValuesOf('timeZone').map((z) => [z.toLowerCase(), z]));
  return timeZoneNames.get(v.toLowerCase()) ?? v; // fixes only the case; keeps the admin's alias
}

const has = (platforms: readonly ApplePlatform[], ...any: ApplePlatform[]) => any.some((p) => platforms.includes(p));

function resolve(input: DepProfileSettings, c: Checker, ctx: DepProfileContext): DepProfile {
  const a = input.apple;
  const p = input.pomona ?? {};
  if (p.platforms && !p.platforms.length) c.error('pomona.platforms', 'choose at least one platform, or leave the list out for all');
  const platforms = [...new Set(p.platforms?.length ? p.platforms : APPLE_PLATFORMS)];

  // --- apple
  const profileName = c.text('apple.profile_name', LABEL.profile_name!, a.profile_name, LIMITS.profileName);
  if (!profileName) c.error('apple.profile_name', `"${LABEL.profile_name}" is required`);
  const supervised = a.is_supervised ?? DEFAULTS.is_supervised;
  const removable = a.is_mdm_removable ?? !supervised;
  if (!removable && !supervised) c.error('apple.is_mdm_removable', `"Removable: off" requires "Supervised: on"`);

  const department = c.text('apple.department', LABEL.department!, a.department, LIMITS.department);
  const phone = c.text('apple.support_phone_number', LABEL.support_phone_number!, a.support_phone_number, LIMITS.supportPhoneNumber);
  if (phone && !/\d/.test(phone)) c.error('apple.support_phone_number', `"${LABEL.support_phone_number}" must contain a phone number`);
  const email = c.text('apple.support_email_address', LABEL.support_email_address!, a.support_email_address, LIMITS.supportEmailAddress);
  if (email && !EMAIL.test(email)) c.error('apple.support_email_address', `"${email}" is not an e-mail address`);
  const orgMagic = c.text('apple.org_magic', LABEL.org_magic!, a.org_magic, LIMITS.orgMagic) ?? DEFAULTS.org_magic;

  const language = a.language?.trim() || undefined;
  if (language && !/^[a-z]{2,3}$/.test(language)) {
    const hint = /^[A-Za-z]{2,3}$/.test(language) ? `: write "${language.toLowerCase()}"` : ', such as "en" or "haw"';
    c.error('apple.language', `"${LABEL.language}" must be an ISO 639-1 or 639-2 code of 2 or 3 lower-case letters${hint}`);
  } else if (language && languageNames.of(language) === language) {
    c.warn('apple.language', `"${language}" is not a language code Pomona knows; Apple may refuse it (LOCALE_INVALID)`);
  }
  const region = a.region?.trim() || undefined;
  if (region && !/^[A-Z]{2}$/.test(region)) {
    const hint = /^[A-Za-z]{2}$/.test(region) ? `: write "${region.toUpperCase()}"` : ', such as "US"';
    c.error('apple.region', `"${LABEL.region}" must be an ISO 3166-1 country code of 2 capital letters${hint}`);
  } else if (region && NOT_COUNTRIES[region]) {
    c.error('apple.region', `"${region}" is not an ISO 3166-1 country code: ${NOT_COUNTRIES[region]}`);
  } else if (region && [region, 'Unknown Region'].includes(regionNames.of(region) ?? region)) {
    c.error('apple.region', `"${region}" is not an ISO 3166-1 country code`);
  }
  if ((language || region) && !has(platforms, 'macOS', 'tvOS')) {
    c.warn(language ? 'apple.language' : 'apple.region', 'language and region are used by tvOS and macOS 11+ only, which this profile does not target');
  }

  const anchorCerts = certificates(c, 'apple.anchor_certs', a.anchor_certs);
  const hostCerts = certificates(c, 'apple.supervising_host_certs', a.supervising_host_certs);
  if (hostCerts.length && !supervised) c.warn('apple.supervising_host_certs', `"${LABEL.supervising_host_certs}" are unused when "Supervised" is off`);

  const allowUnknown = p.allowUnknownSkipKeys ?? false;
  const rawSkip = (a.skip_setup_items ?? []).map((k) => k.trim());
  if (rawSkip.length > LIMITS.skipItems) c.error('apple.skip_setup_items', `at most ${LIMITS.skipItems} skip keys`);
  const kept = rawSkip.map((k, i) => [k, i] as const).filter(([k]) => k);
  const skip = checkSkipKeys(kept.map(([k]) => k), { platforms, allowUnknown });
  for (const e of skip.errors) c.error(`apple.skip_setup_items[${kept[e.index]![1]}]`, e.message);
  for (const w of skip.warnings) c.warn(`apple.skip_setup_items[${kept[w.index]![1]}]`, w.message);

  const multiUser = a.is_multi_user ?? DEFAULTS.is_multi_user;
  if (multiUser && !has(platforms, 'iPadOS')) c.warn('apple.is_multi_user', '"Shared iPad" applies to iPads only, which this profile does not target');
  const autoAdvance = a.auto_advance_setup ?? DEFAULTS.auto_advance_setup;
  if (autoAdvance && !has(platforms, 'macOS', 'tvOS')) c.warn('apple.auto_advance_setup', 'auto-advance is used by tvOS and macOS 11+ only, which this profile does not target');
  const awaitConfigured = a.await_device_configured ?? DEFAULTS.await_device_configured;

  // --- pomona
  const methods = [...new Set(p.authentication?.methods ?? [])];
  const authentication = { enabled: p.authentication?.enabled ?? false, methods };
  if (authentication.enabled && !methods.length) c.error('pomona.authentication.methods', '"Authentication: on" needs at least one sign-in method');

  const webMode = p.webView?.mode ?? 'off';
  const externalUrl = c.text('pomona.webView.externalUrl', 'External web view URL', p.webView?.externalUrl, LIMITS.url);
  if (webMode === 'external') {
    if (!externalUrl) c.error('pomona.webView.externalUrl', '"External web view URL" is required when the web view is external');
    else httpsUrl(c, 'pomona.webView.externalUrl', 'External web view URL', externalUrl);
    // Apple: the configuration_web_url page signs the user in and serves the enrollment profile
    // itself (from its own host). Pomona's sign-in cannot run inside someone else's page.
    if (authentication.enabled) {
      c.error('pomona.authentication.enabled', 'an external web view signs the user in itself: turn "Authentication" off, or host the web view on Pomona');
    }
    if (anchorCerts.length) {
      c.warn('apple.anchor_certs', `the anchor certificates also pin the external web view's TLS: make sure they cover ${externalUrl ? new URL(externalUrl).host : 'its host'}`);
    }
  }

  const userMode = p.userAssignment?.mode ?? 'anonymous';
  const username = c.text('pomona.userAssignment.username', 'User name', p.userAssignment?.username, LIMITS.username);
  if (username && /[\p{Cc}]/u.test(username)) c.error('pomona.userAssignment.username', '"User name" contains control characters');
  if (userMode === 'defined' && !username) c.error('pomona.userAssignment.username', '"Defined user" needs a user name');
  if (userMode === 'anonymous' && username) c.warn('pomona.userAssignment.username', 'the user name is unused when the device is assigned to nobody');
  if (authentication.enabled && userMode !== 'anonymous') {
    c.warn('pomona.userAssignment.mode', 'user assignment applies only when authentication is off: the signed-in user gets the device');
  }

  const osRules: DepProfile['pomona']['osRules'] = {};
  for (const platform of APPLE_PLATFORMS) {
    const rule = p.osRules?.[platform];
    if (!rule) continue;
    const resolved = resolveOsRule(c, `pomona.osRules.${platform}`, platform, rule, platforms.includes(platform));
    if (resolved) osRules[platform] = resolved;
  }

  const account = p.macOSAccountSetup ?? {};
  const primaryAccount = account.primaryAccount ?? 'admin';
  let localAdmin: LocalAdmin | undefined;
  if (account.localAdmin) {
    const path = 'pomona.macOSAccountSetup.localAdmin';
    const shortName = c.text(`${path}.shortName`, 'Local admin short name', account.localAdmin.shortName, LIMITS.localAdminShortName);
    if (!shortName) c.error(`${path}.shortName`, '"Local admin short name" is required');
    else if (!SHORT_NAME.test(shortName)) c.error(`${path}.shortName`, `"${shortName}" is not a macOS short name: use letters, digits, "_", "-" and ".", starting with a letter or "_"`);
    else if (RESERVED_SHORT_NAMES.has(shortName.toLowerCase())) c.error(`${path}.shortName`, `"${shortName}" is a system account name`);
    const fullName = c.text(`${path}.fullName`, 'Local admin full name', account.localAdmin.fullName, LIMITS.localAdminFullName);
    localAdmin = {
      shortName: shortName ?? '',
      fullName: fullName ?? shortName ?? '',
      hidden: account.localAdmin.hidden ?? true,
      password: {
        length: account.localAdmin.password?.length ?? DEFAULTS.passwordLength,
        rotateAfterViewingMinutes: account.localAdmin.password?.rotateAfterViewingMinutes ?? DEFAULTS.rotateAfterViewingMinutes,
      },
    };
    const { length, rotateAfterViewingMinutes } = localAdmin.password;
    if (!Number.isInteger(length) || length < LIMITS.passwordLength.min || length > LIMITS.passwordLength.max) {
      c.error(`${path}.password.length`, `the local admin password length must be ${LIMITS.passwordLength.min} to ${LIMITS.passwordLength.max} characters`);
    }
    if (!Number.isInteger(rotateAfterViewingMinutes) || rotateAfterViewingMinutes < 0 || rotateAfterViewingMinutes > LIMITS.rotateAfterViewingMinutes.max) {
      c.error(`${path}.password.rotateAfterViewingMinutes`, `password rotation must be 0 (never) to ${LIMITS.rotateAfterViewingMinutes.max} minutes after viewing`);
    }
  }
  const prefill = { enabled: account.prefill?.enabled ?? false, lock: account.prefill?.lock ?? false };
  if (primaryAccount !== 'admin' && !localAdmin) {
    const what = primaryAccount === 'skip' ? 'Skipping the primary account' : 'A standard primary account';
    c.error('pomona.macOSAccountSetup.localAdmin', `${what} needs a local admin account, or the Mac has no administrator`);
  }
  if (prefill.lock && !prefill.enabled) c.error('pomona.macOSAccountSetup.prefill.lock', '"Lock prefilled fields" needs "Prefill from the user\'s identity"');
  if (prefill.enabled && primaryAccount === 'skip') c.warn('pomona.macOSAccountSetup.prefill', 'nothing is prefilled when the primary account is skipped');
  else if (prefill.enabled && !authentication.enabled && userMode !== 'defined') {
    c.warn('pomona.macOSAccountSetup.prefill', 'nothing to prefill from: turn authentication on or assign a defined user');
  }
  const accountSetupUsed = primaryAccount !== 'admin' || localAdmin !== undefined || prefill.enabled;
  if (accountSetupUsed && !has(platforms, 'macOS')) {
    c.warn('pomona.macOSAccountSetup', 'macOS account setup is unused: the profile does not target macOS');
  } else if (accountSetupUsed && !awaitConfigured) {
    c.error('apple.await_device_configured', 'macOS account setup needs "Await configuration: on": a Mac accepts it only while it waits in Setup Assistant');
  }

  const timeLimitMinutes = p.awaitConfiguration?.timeLimitMinutes ?? DEFAULTS.awaitTimeLimitMinutes;
  if (!Number.isInteger(timeLimitMinutes) || timeLimitMinutes < LIMITS.awaitMinutes.min || timeLimitMinutes > LIMITS.awaitMinutes.max) {
    c.error('pomona.awaitConfiguration.timeLimitMinutes', `the await-configuration time limit must be ${LIMITS.awaitMinutes.min} to ${LIMITS.awaitMinutes.max} minutes`);
  }

  const sp = p.sharedIPad ?? {};
  const sharedIPad: DepProfile['pomona']['sharedIPad'] = { temporarySessionOnly: sp.temporarySessionOnly ?? false };
  const range = (key: 'maximumResidentUsers' | 'quotaSizeMB', label: string, limits: { min: number; max: number }) => {
    const v = sp[key];
    if (v === undefined) return;
    if (!Number.isInteger(v) || v < limits.min || v > limits.max) c.error(`pomona.sharedIPad.${key}`, `${label} must be ${limits.min} to ${limits.max}`);
    sharedIPad[key] = v;
  };
  range('maximumResidentUsers', 'the number of resident users', LIMITS.residentUsers);
  range('quotaSizeMB', 'the quota size (MB)', LIMITS.quotaSizeMB);
  for (const key of ['temporarySessionTimeoutSeconds', 'userSessionTimeoutSeconds'] as const) {
    const v = sp[key];
    if (v === undefined) continue;
    const { min, max } = LIMITS.sessionTimeoutSeconds;
    if (!Number.isInteger(v) || (v !== 0 && (v < min || v > max))) {
      c.error(`pomona.sharedIPad.${key}`, `a session timeout is 0 (never) or ${min} to ${max} seconds`);
    }
    sharedIPad[key] = v;
  }
  const sharedUsed = Object.keys(sharedIPad).length > 1 || sharedIPad.temporarySessionOnly;
  if (sharedUsed && !multiUser) c.warn('pomona.sharedIPad', 'Shared iPad settings are unused while "Shared iPad" is off');
  if (sharedUsed && multiUser && !awaitConfigured) {
    c.warn('pomona.sharedIPad', 'Shared iPad settings are sent while the iPad awaits configuration: turn "Await configuration" on');
  }

  const timeZone = timeZoneName(c, 'pomona.timeZone', p.timeZone);
  if (timeZone && !has(platforms, 'iOS', 'iPadOS', 'tvOS')) c.warn('pomona.timeZone', 'the time zone is set on iPhone, iPad and Apple TV only, which this profile does not target');

  const attrs = p.deviceAttributes ?? {};
  const assetTag = c.text('pomona.deviceAttributes.assetTag', 'Asset tag', attrs.assetTag, LIMITS.assetTag);
  const custom: Record<string, string> = {};
  const seenNames = new Map<string, string>();
  const customEntries = Object.entries(attrs.custom ?? {});
  if (customEntries.length > LIMITS.customAttributes) c.error('pomona.deviceAttributes.custom', `at most ${LIMITS.customAttributes} device attributes`);
  for (const [rawName, rawValue] of customEntries) {
    const path = `pomona.deviceAttributes.custom.${rawName}`;
    const name = rawName.trim();
    const value = c.text(path, `Attribute "${name}"`, rawValue, LIMITS.customAttributeValue);
    if (!name) {
      if (value) c.error('pomona.deviceAttributes.custom', 'an attribute has no name');
      continue;
    }
    if (!ATTRIBUTE_NAME.test(name) || chars(name) > LIMITS.customAttributeName) {
      c.error(path, `"${name}" is not an attribute name: letters, digits, "_", "-" and ".", starting with a letter, up to ${LIMITS.customAttributeName}`);
    } else if (name.toLowerCase() === 'assettag') {
      c.error(path, 'use "Asset tag" for the asset tag');
    } else if (seenNames.has(name.toLowerCase())) {
      c.error(path, `"${name}" repeats the attribute "${seenNames.get(name.toLowerCase())}"`);
    }
    seenNames.set(name.toLowerCase(), name);
    if (value) custom[name] = value;
  }

  const organizationGroupId = c.text('pomona.organizationGroupId', 'Organization group', p.organizationGroupId, LIMITS.organizationGroupId);
  if (organizationGroupId && ctx.organizationGroupIds && ![...ctx.organizationGroupIds].includes(organizationGroupId)) {
    c.error('pomona.organizationGroupId', `there is no organization group "${organizationGroupId}"`);
  }

  return {
    apple: {
      profile_name: profileName ?? '',
      is_supervised: supervised,
      is_mandatory: a.is_mandatory ?? DEFAULTS.is_mandatory,
      is_mdm_removable: removable,
      allow_pairing: a.allow_pairing ?? DEFAULTS.allow_pairing,
      await_device_configured: awaitConfigured,
      auto_advance_setup: autoAdvance,
      is_multi_user: multiUser,
      is_return_to_service: a.is_return_to_service ?? DEFAULTS.is_return_to_service,
      do_not_use_profile_from_backup: a.do_not_use_profile_from_backup ?? DEFAULTS.do_not_use_profile_from_backup,
      ...(department && { department }),
      ...(phone && { support_phone_number: phone }),
      ...(email && { support_email_address: email }),
      ...(language && { language }),
      ...(region && { region }),
      org_magic: orgMagic,
      anchor_certs: anchorCerts,
      supervising_host_certs: hostCerts,
      skip_setup_items: skip.keys,
    },
    pomona: {
      platforms,
      authentication,
      userAssignment: { mode: userMode, ...(username && { username }) },
      osRules,
      webView: { mode: webMode, ...(externalUrl && { externalUrl }) },
      macOSAccountSetup: { primaryAccount, ...(localAdmin && { localAdmin }), prefill },
      awaitConfiguration: { timeLimitMinutes },
      sharedIPad,
      ...(timeZone && { timeZone }),
      deviceAttributes: { ...(assetTag && { assetTag }), custom },
      ...(organizationGroupId && { organizationGroupId }),
      allowUnknownSkipKeys: allowUnknown,
    },
  };
}

// Schema errors whose limits the checks above report in the admin's words (after trimming).
const LIMIT_KEYWORDS = new Set(['maxLength', 'minLength', 'pattern', 'format', 'minimum', 'maximum', 'maxItems', 'minItems', 'maxProperties', 'boolean']);

function toPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

const TYPE_WORDS: Record<string, string> = { string: 'text', boolean: 'true or false', integer: 'a whole number', number: 'a number', array: 'a list', object: 'an object' };

function structuralProblems(schema: TSchema, value: unknown): DepProfileProblem[] {
  const out: DepProfileProblem[] = [];
  for (const e of Value.Errors(schema, value)) {
    if (LIMIT_KEYWORDS.has(e.keyword)) continue;
    const path = toPath(e.instancePath);
    const params = e.params as Record<string, unknown>;
    const at = (name: string) => (path ? `${path}.${name}` : name);
    if (e.keyword === 'required') {
      for (const name of params.requiredProperties as string[]) out.push({ path: at(name), message: 'is required' });
    } else if (e.keyword === 'additionalProperties') {
      for (const name of params.additionalProperties as string[]) {
        const pomonaSets = path === 'apple' && ['url', 'configuration_web_url', 'devices', 'profile_uuid'].includes(name);
        out.push({ path: at(name), message: pomonaSets ? `Pomona sets "${name}" itself` : `"${name}" is not a setting of an enrollment profile` });
      }
    } else if (e.keyword === 'type') {
      out.push({ path: path || '(settings)', message: `must be ${TYPE_WORDS[String(params.type)] ?? String(params.type)}` });
    } else if (e.keyword === 'enum') {
      out.push({ path, message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` });
    } else {
      out.push({ path: path || '(settings)', message: e.message });
    }
  }
  return out;
}

/**
 * Checks profile settings (any JSON) and resolves them: defaults applied, strings trimmed, empty
 * optional strings dropped, certificates converted to bare base64 DER, lists de-duplicated.
 * Lists every problem; warnings never make it fail.
 */
export function validateDepProfile(settings: unknown, ctx: DepProfileContext = {}): DepProfileValidation {
  const structural = structuralProblems(DepProfileSettings, settings);
  if (structural.length) return { ok: false, problems: structural, warnings: [] };
  const c = new Checker((ctx.now ?? Date.now)());
  const value = resolve(settings as DepProfileSettings, c, ctx);
  return c.problems.length ? { ok: false, problems: c.problems, warnings: c.warnings } : { ok: true, value, warnings: c.warnings };
}

/** Defaults applied and strings cleaned, without judging (for reading stored settings). */
export function resolveDepProfile(settings: DepProfileSettings): DepProfile {
  return resolve(settings, new Checker(0), {});
}

// ---------------------------------------------------------------------------------------------
// Apple body

/** The JSON body of `POST /profile` (keys in this order). */
export interface AppleProfileBody {
  profile_name: string;
  url: string;
  allow_pairing: boolean;
  auto_advance_setup: boolean;
  await_device_configured: boolean;
  configuration_web_url?: string;
  department?: string;
  is_supervised: boolean;
  is_multi_user: boolean;
  is_mandatory: boolean;
  is_mdm_removable: boolean;
  is_return_to_service?: true;
  do_not_use_profile_from_backup?: true;
  language?: string;
  org_magic: string;
  region?: string;
  support_phone_number?: string;
  support_email_address?: string;
  anchor_certs?: string[];
  supervising_host_certs?: string[];
  skip_setup_items?: string[];
  devices?: string[];
}

export interface AppleProfileTargets {
  /** Pomona's ADE enrollment endpoint (`POST /enroll/ade`) */
  url: string;
  /** Pomona's web view (`GET /enroll/ade/webview`); required when `usesPomonaWebView` */
  configurationWebUrl?: string;
  /** serials to assign at once; sent when given */
  devices?: readonly string[];
}

/** Whether the profile's Setup Assistant web view is Pomona's: authentication on, or Pomona's custom pages. */
export function usesPomonaWebView(settings: DepProfileSettings | DepProfile): boolean {
  const p = settings.pomona;
  if (p?.webView?.mode === 'external') return false;
  return p?.webView?.mode === 'pomona' || p?.authentication?.enabled === true;
}

/** The configuration_web_url the profile needs: the external page, Pomona's, or none. */
function webViewUrl(profile: DepProfile, pomonaUrl: string | undefined): string | undefined {
  if (profile.pomona.webView.mode === 'external') return profile.pomona.webView.externalUrl;
  return usesPomonaWebView(profile) ? pomonaUrl : undefined;
}

function body(profile: DepProfile, url: string, configurationWebUrl: string | undefined, devices: string[] | undefined): AppleProfileBody {
  const a = profile.apple;
  const out: AppleProfileBody = {
    profile_name: a.profile_name,
    url,
    allow_pairing: a.allow_pairing,
    auto_advance_setup: a.auto_advance_setup,
    await_device_configured: a.await_device_configured,
    ...(configurationWebUrl && { configuration_web_url: configurationWebUrl }),
    ...(a.department && { department: a.department }),
    is_supervised: a.is_supervised,
    is_multi_user: a.is_multi_user,
    is_mandatory: a.is_mandatory,
    is_mdm_removable: a.is_mdm_removable,
    ...(a.is_return_to_service && { is_return_to_service: true as const }),
    ...(a.do_not_use_profile_from_backup && { do_not_use_profile_from_backup: true as const }),
    ...(a.language && { language: a.language }),
    org_magic: a.org_magic,
    ...(a.region && { region: a.region }),
    ...(a.support_phone_number && { support_phone_number: a.support_phone_number }),
    ...(a.support_email_address && { support_email_address: a.support_email_address }),
    ...(a.anchor_certs.length && { anchor_certs: [...a.anchor_certs] }),
    ...(a.supervising_host_certs.length && { supervising_host_certs: [...a.supervising_host_certs] }),
    ...(a.skip_setup_items.length && { skip_setup_items: [...a.skip_setup_items] }),
    ...(devices && { devices }),
  };
  return out;
}

/** https, or http on a loopback host (the simulators); at most 2000 characters. */
function checkPomonaUrl(problems: DepProfileProblem[], key: string, value: string | undefined): void {
  if (!value?.trim()) {
    problems.push({ path: key, message: 'is required' });
    return;
  }
  if (chars(value) > LIMITS.url) problems.push({ path: key, message: `can be at most ${LIMITS.url} characters` });
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    problems.push({ path: key, message: `"${value}" is not a valid URL` });
    return;
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) problems.push({ path: key, message: `must be an https URL (got "${value}")` });
}

/**
 * The exact body for Apple's `POST /profile`. Refuses (DepProfileError) settings that do not
 * validate and bad targets. `configuration_web_url` is the external page in external mode,
 * Pomona's web view when `usesPomonaWebView`, otherwise absent (a given one is then ignored).
 * No empty strings, no undefined values, no Pomona-side settings; key order is fixed.
 */
export function toAppleProfile(settings: DepProfileSettings, targets: AppleProfileTargets, ctx: DepProfileContext = {}): AppleProfileBody {
  const checked = validateDepProfile(settings, ctx);
  if (!checked.ok) throw new DepProfileError(checked.problems);
  const problems: DepProfileProblem[] = [];
  checkPomonaUrl(problems, 'url', targets.url);
  const needsPomonaWebView = usesPomonaWebView(checked.value);
  if (needsPomonaWebView) checkPomonaUrl(problems, 'configuration_web_url', targets.configurationWebUrl);
  let devices: string[] | undefined;
  if (targets.devices) {
    devices = [...new Set(targets.devices.map((d) => d.trim()))];
    if (devices.some((d) => !d || /\s/.test(d) || d.length > 64)) problems.push({ path: 'devices', message: 'serial numbers must be non-empty and without spaces' });
    if (devices.length > LIMITS.devices) problems.push({ path: 'devices', message: `at most ${LIMITS.devices} devices per request` });
  }
  if (problems.length) throw new DepProfileError(problems);
  return body(checked.value, targets.url.trim(), webViewUrl(checked.value, targets.configurationWebUrl?.trim()), devices);
}

const PLACEHOLDER_URL = 'https://pomona.invalid/enroll/ade';
const PLACEHOLDER_WEBVIEW = 'https://pomona.invalid/enroll/ade/webview';

/** Apple's view of the settings, with lists whose order Apple ignores sorted. */
function appleView(settings: DepProfileSettings | DepProfile): string {
  const resolved = resolveDepProfile(settings);
  const b = body(resolved, PLACEHOLDER_URL, webViewUrl(resolved, PLACEHOLDER_WEBVIEW), undefined) as unknown as Record<string, unknown>;
  for (const key of ['anchor_certs', 'supervising_host_certs', 'skip_setup_items']) {
    if (Array.isArray(b[key])) b[key] = [...(b[key] as string[])].sort();
  }
  return JSON.stringify(b);
}

/**
 * Whether two settings differ in anything Apple sees, i.e. whether saving `b` over `a` needs a new
 * Apple profile. Pomona-only changes do not count; neither does the order of skip keys or
 * certificates, whitespace, PEM vs base64, or an explicit value equal to its default.
 */
export function appleProfileChanged(a: DepProfileSettings | DepProfile, b: DepProfileSettings | DepProfile): boolean {
  return appleView(a) !== appleView(b);
}
