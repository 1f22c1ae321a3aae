import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { thrownMessage } from '../../test/support/thrown.js';
import {
  AppleProfileSettings,
  appleProfileChanged,
  DepProfileError,
  DepProfileSettings,
  resolveDepProfile,
  toAppleProfile,
  usesPomonaWebView,
  validateDepProfile,
  type DepProfileContext,
  type DepProfileProblem,
} from './dep-profile.js';

const fixture = (p: string) => readFileSync(new URL(`../../test/fixtures/${p}`, import.meta.url), 'utf8');
const example = JSON.parse(fixture('abm/dep-profile.example.json')) as Record<string, unknown>;
const appleSchema = JSON.parse(fixture('abm/Profile.schema.json')) as { properties: Record<string, unknown>; required: string[] };
const pem = (p: string) => fixture(p);
const derBase64 = (p: string) => new X509Certificate(pem(p)).raw.toString('base64');
const CERT_PEM = pem('scep/mdmb-scep-ca.pem');
const CERT = derBase64('scep/mdmb-scep-ca.pem');
const OTHER_CERT = derBase64('push/pushcert.pem');
const EXPIRED_CERT = derBase64('scep/micromdm-testca.pem'); // expired 2026-05-29
const NOW = Date.parse('2026-11-21T00:00:00Z');

const URLS = { url: 'https://mdm.example.org/enroll/ade', configurationWebUrl: 'https://mdm.example.org/enroll/ade/webview' };

type Settings = DepProfileSettings;
type AppleInput = Settings['apple'];
type PomonaInput = NonNullable<Settings['pomona']>;
const settings = (apple: Partial<AppleInput> = {}, pomona?: PomonaInput): Settings => ({
  apple: { profile_name: 'Staff iPads', ...apple },
  ...(pomona && { pomona }),
});

function problemsOf(s: unknown, ctx: DepProfileContext = { now: () => NOW }): DepProfileProblem[] {
  const r = validateDepProfile(s, ctx);
  return r.ok ? [] : r.problems;
}
function warningsOf(s: unknown, ctx: DepProfileContext = { now: () => NOW }): DepProfileProblem[] {
  return validateDepProfile(s, ctx).warnings;
}
function valid(s: unknown, ctx: DepProfileContext = { now: () => NOW }) {
  const r = validateDepProfile(s, ctx);
  if (!r.ok) throw new Error(`expected valid settings, got ${JSON.stringify(r.problems)}`);
  return r;
}
/** Asserts exactly one problem, at `path`, whose message contains `text`. */
function refusedAt(s: unknown, path: string, text?: string) {
  const problems = problemsOf(s);
  expect(problems, JSON.stringify(problems)).toHaveLength(1);
  expect(problems[0]!.path).toBe(path);
  if (text) expect(problems[0]!.message).toContain(text);
}
const warnedAt = (s: unknown, path: string, text: string) =>
  expect(warningsOf(s).some((w) => w.path === path && w.message.includes(text)), JSON.stringify(warningsOf(s))).toBe(true);

/** Every string in a JSON value, with its path. */
function strings(value: unknown, path = ''): [string, string][] {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, `${path}.${k}`));
  return [];
}

describe('the DepProfileSettings schema', () => {
  it('compiles and accepts minimal and full settings', () => {
    const check = Compile(DepProfileSettings);
    expect(check.Check(settings())).toBe(true);
    const full: Settings = {
      apple: {
        profile_name: 'Staff Macs', is_supervised: true, is_mandatory: true, is_mdm_removable: false, allow_pairing: false,
        await_device_configured: true, auto_advance_setup: false, is_multi_user: false, is_return_to_service: false,
        do_not_use_profile_from_backup: false, department: 'IT', support_phone_number: '+1 408 555 1010',
        support_email_address: 'it@example.org', language: 'en', region: 'US', org_magic: 'ACME', anchor_certs: [CERT],
        supervising_host_certs: [OTHER_CERT], skip_setup_items: ['AppleID', 'FileVault'],
      },
      pomona: {
        platforms: ['macOS', 'iOS'], authentication: { enabled: true, methods: ['oidc', 'password'] },
        userAssignment: { mode: 'anonymous' }, osRules: { macOS: { minimum: { version: '14.4', build: '23E214' }, maximum: { version: '15' }, message: 'Update first' } },
        webView: { mode: 'pomona' },
        macOSAccountSetup: { primaryAccount: 'standard', localAdmin: { shortName: '_pomonaadmin', fullName: 'Pomona Admin', hidden: true, password: { length: 24, rotateAfterViewingMinutes: 30 } }, prefill: { enabled: true, lock: true } },
        awaitConfiguration: { timeLimitMinutes: 5 }, sharedIPad: {}, timeZone: 'Europe/Berlin',
        deviceAttributes: { assetTag: 'A-1', custom: { room: '101' } }, organizationGroupId: 'og-1', allowUnknownSkipKeys: false,
      },
    };
    expect(check.Check(full)).toBe(true);
    expect(valid(full).warnings).toEqual([]);
    expect(Value.Check(DepProfileSettings, { apple: {} })).toBe(false);
  });

  it('names every profile field Apple accepts except the ones Pomona sets', () => {
    const ours = Object.keys(AppleProfileSettings.properties).sort();
    const apples = Object.keys(appleSchema.properties).filter((k) => !['url', 'configuration_web_url', 'devices', 'profile_uuid'].includes(k)).sort();
    expect(ours).toEqual(apples);
  });

  it('renders to an OpenAPI 3.0 document and validates request bodies in Fastify', async () => {
    const app = Fastify({ logger: false, ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } } }); // as src/http/server.ts
    await app.register(swagger, { openapi: { openapi: '3.0.3', info: { title: 't', version: '1' } } });
    app.post('/profiles', { schema: { body: DepProfileSettings } }, async () => ({ ok: true }));
    await app.ready();
    const doc = app.swagger() as { paths: Record<string, { post: { requestBody: { content: Record<string, { schema: Record<string, unknown> }> } } }> };
    const body = doc.paths['/profiles']!.post.requestBody.content['application/json']!.schema as { properties: Record<string, { properties: Record<string, unknown> }> };
    expect(Object.keys(body.properties)).toEqual(['apple', 'pomona']);
    expect(body.properties.apple!.properties.profile_name).toMatchObject({ type: 'string', maxLength: 125 });
    expect(body.properties.pomona!.properties.webView).toBeDefined();
    expect((await app.inject({ method: 'POST', url: '/profiles', payload: settings() })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/profiles', payload: { apple: { profile_name: 'x', url: 'https://x' } } })).statusCode).toBe(400);
    await app.close();
  });

  it('is never stricter than validateDepProfile: what the schema refuses, validation refuses too', () => {
    const schemaInvalid: unknown[] = [
      settings({ profile_name: 'x'.repeat(126) }),
      settings({ department: 'x'.repeat(126) }),
      settings({ support_phone_number: '1'.repeat(51) }),
      settings({ support_email_address: `${'x'.repeat(250)}@example.org` }),
      settings({ org_magic: 'x'.repeat(257) }),
      settings({ language: 'engl' }),
      settings({ region: 'USA' }),
      settings({ anchor_certs: Array(21).fill(CERT) }),
      settings({ skip_setup_items: Array(101).fill('AppleID') }),
      settings({}, { platforms: [] }),
      settings({}, { awaitConfiguration: { timeLimitMinutes: 11 } }),
      settings({}, { sharedIPad: { maximumResidentUsers: 0 } }),
      settings({}, { macOSAccountSetup: { localAdmin: { shortName: 'x'.repeat(32) } } }),
      settings({}, { macOSAccountSetup: { localAdmin: { shortName: 'admin2', password: { length: 8 } } } }),
      settings({}, { deviceAttributes: { custom: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`a${i}`, 'v'])) } }),
      settings({}, { osRules: { iOS: { minimum: { version: '123.456.789.1' } } } }),
    ];
    for (const s of schemaInvalid) {
      expect(Value.Check(DepProfileSettings, s)).toBe(false);
      expect(problemsOf(s).length, JSON.stringify(s).slice(0, 120)).toBeGreaterThan(0);
    }
  });
});

describe('validateDepProfile: shape', () => {
  it('reports unknown fields, fields Pomona sets and wrong types, all at once', () => {
    const problems = problemsOf({ apple: { profile_name: 3, url: 'https://x', devices: [], colour: 'red' }, pomona: { webView: { mode: 'iframe' } }, extra: 1 });
    expect(problems).toEqual(expect.arrayContaining([
      { path: 'extra', message: '"extra" is not a setting of an enrollment profile' },
      { path: 'apple.url', message: 'Pomona sets "url" itself' },
      { path: 'apple.devices', message: 'Pomona sets "devices" itself' },
      { path: 'apple.colour', message: '"colour" is not a setting of an enrollment profile' },
      { path: 'apple.profile_name', message: 'must be text' },
      { path: 'pomona.webView.mode', message: 'must be one of "off", "pomona", "external"' },
    ]));
    expect(problemsOf(null)).toEqual([{ path: '(settings)', message: 'must be an object' }]);
    expect(problemsOf({})).toEqual([{ path: 'apple', message: 'is required' }]);
    expect(problemsOf(settings({}, { awaitConfiguration: { timeLimitMinutes: 2.5 } }))).toEqual([{ path: 'pomona.awaitConfiguration.timeLimitMinutes', message: 'must be a whole number' }]);
  });

  it('lists every problem, not the first only', () => {
    const problems = problemsOf(settings(
      { profile_name: ' ', is_supervised: false, is_mdm_removable: false, department: 'd'.repeat(130), support_email_address: 'nope', region: 'us', skip_setup_items: ['appleid', 'Sirri'] },
      { authentication: { enabled: true }, userAssignment: { mode: 'defined' }, awaitConfiguration: { timeLimitMinutes: 0 }, timeZone: 'Mars/Olympus' },
    ));
    expect(problems.map((p) => p.path)).toEqual([
      'apple.profile_name', 'apple.is_mdm_removable', 'apple.department', 'apple.support_email_address', 'apple.region',
      'apple.skip_setup_items[0]', 'apple.skip_setup_items[1]', 'pomona.authentication.methods', 'pomona.userAssignment.username',
      'pomona.awaitConfiguration.timeLimitMinutes', 'pomona.timeZone',
    ]);
  });
});

describe('validateDepProfile: Apple fields', () => {
  it('requires a profile name of at most 125 characters (counted as characters, after trimming)', () => {
    refusedAt(settings({ profile_name: '' }), 'apple.profile_name', '"Profile name" is required');
    refusedAt(settings({ profile_name: '   ' }), 'apple.profile_name', 'is required');
    refusedAt(settings({ profile_name: 'x'.repeat(126) }), 'apple.profile_name', 'at most 125 characters (it has 126)');
    expect(valid(settings({ profile_name: ` ${'x'.repeat(125)} ` })).value.apple.profile_name).toBe('x'.repeat(125));
    expect(valid(settings({ profile_name: '🍐'.repeat(125) })).value.apple.profile_name).toHaveLength(250); // 125 characters, 250 UTF-16 units
  });

  it('treats trimmed empty optional strings as absent', () => {
    const v = valid(settings({ department: ' ', support_phone_number: '', support_email_address: '\t', language: '', region: ' ', org_magic: '' })).value;
    expect(v.apple).not.toHaveProperty('department');
    expect(v.apple).not.toHaveProperty('support_phone_number');
    expect(v.apple).not.toHaveProperty('support_email_address');
    expect(v.apple).not.toHaveProperty('language');
    expect(v.apple).not.toHaveProperty('region');
    expect(v.apple.org_magic).toBe('pomona');
  });

  it('limits department (125), support phone (50, with digits), support e-mail (250, plausible) and org magic (256)', () => {
    refusedAt(settings({ department: 'd'.repeat(126) }), 'apple.department', '"Department" can be at most 125');
    valid(settings({ department: 'd'.repeat(125) }));
    refusedAt(settings({ support_phone_number: '1'.repeat(51) }), 'apple.support_phone_number', 'at most 50');
    refusedAt(settings({ support_phone_number: 'call the desk' }), 'apple.support_phone_number', 'must contain a phone number');
    valid(settings({ support_phone_number: '+1 (408) 555-1010 ext. 4' }));
    refusedAt(settings({ support_email_address: `${'x'.repeat(240)}@example.org` }), 'apple.support_email_address', 'at most 250');
    for (const bad of ['it', 'it@', 'it@example', 'i t@example.org', '@example.org']) refusedAt(settings({ support_email_address: bad }), 'apple.support_email_address', 'is not an e-mail address');
    valid(settings({ support_email_address: ` ${'x'.repeat(238)}@example.org ` }));
    refusedAt(settings({ org_magic: 'm'.repeat(257) }), 'apple.org_magic', 'at most 256');
    expect(valid(settings({ org_magic: 'm'.repeat(256) })).value.apple.org_magic).toHaveLength(256);
  });

  it('wants an ISO 639 language in lower case and an ISO 3166 region in capitals', () => {
    for (const ok of ['en', 'fr', 'haw', 'fre']) valid(settings({ language: ok }));
    refusedAt(settings({ language: 'EN' }), 'apple.language', 'write "en"');
    refusedAt(settings({ language: 'english' }), 'apple.language', 'ISO 639-1 or 639-2');
    refusedAt(settings({ language: 'en-US' }), 'apple.language', 'such as "en"');
    warnedAt(settings({ language: 'xq' }), 'apple.language', 'not a language code Pomona knows');
    for (const ok of ['US', 'GB', 'DE', 'JP']) valid(settings({ region: ok }));
    refusedAt(settings({ region: 'us' }), 'apple.region', 'write "US"');
    refusedAt(settings({ region: 'UK' }), 'apple.region', 'the United Kingdom is "GB"');
    refusedAt(settings({ region: 'ZZ' }), 'apple.region', 'not an ISO 3166-1 country code');
    refusedAt(settings({ region: 'AA' }), 'apple.region', 'not an ISO 3166-1 country code');
    warnedAt(settings({ region: 'US' }, { platforms: ['iOS'] }), 'apple.region', 'tvOS and macOS 11+ only');
  });

  it('allows "Removable: off" only with "Supervised: on"; removable defaults to the opposite of supervised', () => {
    refusedAt(settings({ is_supervised: false, is_mdm_removable: false }), 'apple.is_mdm_removable', '"Removable: off" requires "Supervised: on"');
    expect(valid(settings({ is_supervised: true, is_mdm_removable: false })).value.apple.is_mdm_removable).toBe(false);
    expect(valid(settings({ is_supervised: false })).value.apple.is_mdm_removable).toBe(true);
    expect(valid(settings()).value.apple).toMatchObject({ is_supervised: true, is_mdm_removable: false });
  });

  it('accepts certificates as base64 DER or PEM, and refuses what is not one X.509 certificate', () => {
    expect(valid(settings({ anchor_certs: [CERT], supervising_host_certs: [` ${OTHER_CERT}\n`] })).value.apple).toMatchObject({ anchor_certs: [CERT], supervising_host_certs: [OTHER_CERT] });
    expect(valid(settings({ anchor_certs: [CERT_PEM] })).value.apple.anchor_certs).toEqual([CERT]);
    refusedAt(settings({ anchor_certs: ['not base64!'] }), 'apple.anchor_certs[0]', 'not a base64 (DER) or PEM certificate');
    refusedAt(settings({ anchor_certs: [CERT, Buffer.from('hello certificate').toString('base64')] }), 'apple.anchor_certs[1]', '"Anchor certificates" item 2 is not an X.509 certificate');
    refusedAt(settings({ anchor_certs: [CERT_PEM + pem('push/pushcert.pem')] }), 'apple.anchor_certs[0]', 'holds 2 certificates');
    refusedAt(settings({ supervising_host_certs: [Buffer.concat([Buffer.from(CERT, 'base64'), Buffer.from([0, 0])]).toString('base64')] }), 'apple.supervising_host_certs[0]', 'extra bytes');
    refusedAt(settings({ anchor_certs: ['A'.repeat(16_388)] }), 'apple.anchor_certs[0]', 'too long for a certificate');
    refusedAt(settings({ anchor_certs: Array(21).fill(CERT) }), 'apple.anchor_certs', 'at most 20');
  });

  it('drops empty and repeated certificates, and warns about expired or unused ones', () => {
    const r = valid(settings({ anchor_certs: ['', CERT, CERT_PEM, ' '] }));
    expect(r.value.apple.anchor_certs).toEqual([CERT]);
    expect(r.warnings).toEqual([{ path: 'apple.anchor_certs[2]', message: '"Anchor certificates" item 3 repeats an earlier certificate; it is sent once' }]);
    warnedAt(settings({ anchor_certs: [EXPIRED_CERT] }), 'apple.anchor_certs[0]', 'expired on 2026-05-29');
    expect(warningsOf(settings({ anchor_certs: [EXPIRED_CERT] }), { now: () => Date.parse('2025-01-01') })).toEqual([]);
    warnedAt(settings({ is_supervised: false, supervising_host_certs: [CERT] }), 'apple.supervising_host_certs', 'unused when "Supervised" is off');
  });

  it('checks skip keys: unknown refused with the closest key, allowed on request, warnings for misfits', () => {
    refusedAt(settings({ skip_setup_items: ['AppleID', 'appleid'] }), 'apple.skip_setup_items[1]', 'write "AppleID"');
    refusedAt(settings({ skip_setup_items: ['Sirri'] }), 'apple.skip_setup_items[0]', 'did you mean "Siri"?');
    refusedAt(settings({ skip_setup_items: ['UnlockWithWatch'] }), 'apple.skip_setup_items[0]', 'Allow unknown skip keys');
    const allowed = valid(settings({ skip_setup_items: ['UnlockWithWatch'] }, { allowUnknownSkipKeys: true }));
    expect(allowed.value.apple.skip_setup_items).toEqual(['UnlockWithWatch']);
    expect(allowed.warnings[0]!.path).toBe('apple.skip_setup_items[0]');
    // positions refer to the list as given, empty entries included
    const r = valid(settings({ skip_setup_items: ['', ' Siri ', 'Siri', 'FileVault', 'Zoom'] }, { platforms: ['iOS'] }));
    expect(r.value.apple.skip_setup_items).toEqual(['Siri', 'FileVault', 'Zoom']);
    expect(r.warnings.map((w) => w.path)).toEqual(['apple.skip_setup_items[2]', 'apple.skip_setup_items[3]', 'apple.skip_setup_items[4]']);
    refusedAt(settings({ skip_setup_items: Array(101).fill('Siri') }), 'apple.skip_setup_items', 'at most 100');
  });

  it('warns when a platform-specific field meets a profile that does not target the platform', () => {
    warnedAt(settings({ is_multi_user: true }, { platforms: ['iOS'] }), 'apple.is_multi_user', 'iPads only');
    expect(warningsOf(settings({ is_multi_user: true }, { platforms: ['iPadOS'] }))).toEqual([]);
    warnedAt(settings({ auto_advance_setup: true }, { platforms: ['iOS', 'iPadOS'] }), 'apple.auto_advance_setup', 'tvOS and macOS');
    expect(warningsOf(settings({ auto_advance_setup: true }, { platforms: ['tvOS'] }))).toEqual([]);
  });
});

describe('validateDepProfile: Pomona settings', () => {
  it('needs at least one platform when the list is given', () => {
    refusedAt(settings({}, { platforms: [] }), 'pomona.platforms', 'at least one platform');
    expect(valid(settings({}, { platforms: ['macOS', 'macOS'] })).value.pomona.platforms).toEqual(['macOS']);
    expect(valid(settings()).value.pomona.platforms).toEqual(['iOS', 'iPadOS', 'macOS', 'tvOS', 'visionOS']);
  });

  it('needs a sign-in method when authentication is on', () => {
    refusedAt(settings({}, { authentication: { enabled: true } }), 'pomona.authentication.methods', '"Authentication: on" needs at least one sign-in method');
    refusedAt(settings({}, { authentication: { enabled: true, methods: [] } }), 'pomona.authentication.methods');
    expect(valid(settings({}, { authentication: { enabled: true, methods: ['saml', 'saml', 'registration-token'] } })).value.pomona.authentication)
      .toEqual({ enabled: true, methods: ['saml', 'registration-token'] });
    expect(valid(settings({}, { authentication: { methods: ['oidc'] } })).value.pomona.authentication).toEqual({ enabled: false, methods: ['oidc'] });
  });

  it('needs a user name for a defined user; staging may name its account; anonymous ignores one', () => {
    refusedAt(settings({}, { userAssignment: { mode: 'defined' } }), 'pomona.userAssignment.username', '"Defined user" needs a user name');
    refusedAt(settings({}, { userAssignment: { mode: 'defined', username: '  ' } }), 'pomona.userAssignment.username');
    refusedAt(settings({}, { userAssignment: { mode: 'defined', username: 'a\u0000b' } }), 'pomona.userAssignment.username', 'control characters');
    expect(valid(settings({}, { userAssignment: { mode: 'defined', username: ' jane@example.org ' } })).value.pomona.userAssignment).toEqual({ mode: 'defined', username: 'jane@example.org' });
    expect(valid(settings({}, { userAssignment: { mode: 'staging' } })).value.pomona.userAssignment).toEqual({ mode: 'staging' });
    expect(valid(settings()).value.pomona.userAssignment).toEqual({ mode: 'anonymous' });
    warnedAt(settings({}, { userAssignment: { mode: 'anonymous', username: 'jane' } }), 'pomona.userAssignment.username', 'unused');
    warnedAt(settings({}, { authentication: { enabled: true, methods: ['oidc'] }, userAssignment: { mode: 'defined', username: 'jane' } }), 'pomona.userAssignment.mode', 'only when authentication is off');
  });

  it('wants an https URL for an external web view, which signs the user in itself', () => {
    refusedAt(settings({}, { webView: { mode: 'external' } }), 'pomona.webView.externalUrl', 'required when the web view is external');
    refusedAt(settings({}, { webView: { mode: 'external', externalUrl: 'http://sso.example.com/enroll' } }), 'pomona.webView.externalUrl', 'must start with https://');
    refusedAt(settings({}, { webView: { mode: 'external', externalUrl: 'sso.example.com/?redirect=enroll' } }), 'pomona.webView.externalUrl', 'not a valid URL');
    refusedAt(settings({}, { webView: { mode: 'external', externalUrl: 'https://me:pw@sso.example.com/' } }), 'pomona.webView.externalUrl', 'user name or password');
    refusedAt(settings({}, { webView: { mode: 'external', externalUrl: `https://sso.example.com/${'x'.repeat(2000)}` } }), 'pomona.webView.externalUrl', 'at most 2000');
    refusedAt(
      settings({}, { webView: { mode: 'external', externalUrl: 'https://sso.example.com/enroll' }, authentication: { enabled: true, methods: ['oidc'] } }),
      'pomona.authentication.enabled', 'an external web view signs the user in itself',
    );
    expect(valid(settings({}, { webView: { mode: 'external', externalUrl: ' https://sso.example.com/?redirect=enroll ' } })).value.pomona.webView)
      .toEqual({ mode: 'external', externalUrl: 'https://sso.example.com/?redirect=enroll' });
    warnedAt(settings({ anchor_certs: [CERT] }, { webView: { mode: 'external', externalUrl: 'https://sso.example.com/' } }), 'apple.anchor_certs', 'cover sso.example.com');
    // an external URL kept while the mode is something else is not checked (the admin may switch back)
    valid(settings({}, { webView: { mode: 'off', externalUrl: 'http://old.example.com' } }));
  });

  it('checks OS version rules: version shape, build shape, minimum ≤ maximum', () => {
    for (const version of ['17', '17.4', '17.4.1', '10.15.7', '26.0']) valid(settings({}, { osRules: { iOS: { minimum: { version } } } }));
    for (const version of ['17.x', '017', '17.04', '17.4.1.2', 'v17', '0', '17.']) {
      refusedAt(settings({}, { osRules: { iOS: { minimum: { version } } } }), 'pomona.osRules.iOS.minimum.version', 'write it like 17, 17.4 or 17.4.1');
    }
    valid(settings({}, { osRules: { macOS: { minimum: { version: '14.4', build: '23E214' } } } }));
    valid(settings({}, { osRules: { iOS: { minimum: { version: '16.1', build: '20B101a' } } } }));
    refusedAt(settings({}, { osRules: { macOS: { minimum: { version: '14.4', build: '14.4' } } } }), 'pomona.osRules.macOS.minimum.build', 'not a build number');
    refusedAt(settings({}, { osRules: { macOS: { minimum: { version: '', build: '23E214' } } } }), 'pomona.osRules.macOS.minimum.build', 'needs a minimum version');
    refusedAt(settings({}, { osRules: { tvOS: { minimum: { version: '17.4' }, maximum: { version: '17.3.9' } } } }), 'pomona.osRules.tvOS.maximum.version', 'the maximum tvOS version (17.3.9) is below the minimum (17.4)');
    refusedAt(settings({}, { osRules: { visionOS: { maximum: { version: '2.x' } } } }), 'pomona.osRules.visionOS.maximum.version');
    refusedAt(settings({}, { osRules: { iOS: { minimum: { version: '17' }, message: 'm'.repeat(501) } } }), 'pomona.osRules.iOS.message', 'at most 500');
    expect(valid(settings({}, { osRules: { iPadOS: { minimum: { version: '17.0' }, maximum: { version: '17' }, message: ' Update, please ' } } })).value.pomona.osRules)
      .toEqual({ iPadOS: { minimum: { version: '17.0' }, maximum: { version: '17' }, message: 'Update, please' } });
    // empty versions mean "no rule"
    expect(valid(settings({}, { osRules: { iOS: { minimum: { version: ' ' }, maximum: { version: '' } } } })).value.pomona.osRules).toEqual({});
    warnedAt(settings({}, { osRules: { iOS: { message: 'hello' } } }), 'pomona.osRules.iOS.message', 'never shown');
    warnedAt(settings({}, { platforms: ['macOS'], osRules: { iOS: { minimum: { version: '17' } } } }), 'pomona.osRules.iOS', 'does not target iOS');
  });

  it('keeps the await-configuration time limit within 1 to 10 minutes, default 3', () => {
    expect(valid(settings()).value.pomona.awaitConfiguration).toEqual({ timeLimitMinutes: 3 });
    for (const ok of [1, 10]) expect(valid(settings({}, { awaitConfiguration: { timeLimitMinutes: ok } })).value.pomona.awaitConfiguration.timeLimitMinutes).toBe(ok);
    for (const bad of [0, 11, -1]) refusedAt(settings({}, { awaitConfiguration: { timeLimitMinutes: bad } }), 'pomona.awaitConfiguration.timeLimitMinutes', '1 to 10 minutes');
  });

  it('checks macOS account setup against what AccountConfiguration allows', () => {
    const admin = { shortName: '_pomonaadmin' };
    refusedAt(settings({}, { macOSAccountSetup: { primaryAccount: 'standard' } }), 'pomona.macOSAccountSetup.localAdmin', 'A standard primary account needs a local admin account');
    refusedAt(settings({}, { macOSAccountSetup: { primaryAccount: 'skip' } }), 'pomona.macOSAccountSetup.localAdmin', 'Skipping the primary account needs a local admin');
    const v = valid(settings({}, { macOSAccountSetup: { primaryAccount: 'skip', localAdmin: admin } })).value.pomona.macOSAccountSetup;
    expect(v).toEqual({
      primaryAccount: 'skip',
      localAdmin: { shortName: '_pomonaadmin', fullName: '_pomonaadmin', hidden: true, password: { length: 20, rotateAfterViewingMinutes: 60 } },
      prefill: { enabled: false, lock: false },
    });
    for (const bad of ['1admin', 'pomona admin', 'ädmin', '-x']) refusedAt(settings({}, { macOSAccountSetup: { localAdmin: { shortName: bad } } }), 'pomona.macOSAccountSetup.localAdmin.shortName', 'not a macOS short name');
    refusedAt(settings({}, { macOSAccountSetup: { localAdmin: { shortName: 'root' } } }), 'pomona.macOSAccountSetup.localAdmin.shortName', 'system account');
    refusedAt(settings({}, { macOSAccountSetup: { localAdmin: { shortName: ' ' } } }), 'pomona.macOSAccountSetup.localAdmin.shortName', 'is required');
    refusedAt(settings({}, { macOSAccountSetup: { localAdmin: { ...admin, password: { length: 11 } } } }), 'pomona.macOSAccountSetup.localAdmin.password.length', '12 to 64');
    refusedAt(settings({}, { macOSAccountSetup: { localAdmin: { ...admin, password: { rotateAfterViewingMinutes: 1441 } } } }), 'pomona.macOSAccountSetup.localAdmin.password.rotateAfterViewingMinutes', '0 (never) to 1440');
    valid(settings({}, { macOSAccountSetup: { localAdmin: { ...admin, password: { length: 64, rotateAfterViewingMinutes: 0 } } } }));
    refusedAt(settings({}, { macOSAccountSetup: { prefill: { lock: true } } }), 'pomona.macOSAccountSetup.prefill.lock', 'needs "Prefill');
    refusedAt(
      settings({ await_device_configured: false }, { macOSAccountSetup: { localAdmin: admin } }),
      'apple.await_device_configured', 'macOS account setup needs "Await configuration: on"',
    );
    valid(settings({ await_device_configured: false }, { macOSAccountSetup: { primaryAccount: 'admin' } }));
    warnedAt(settings({}, { platforms: ['iOS'], macOSAccountSetup: { localAdmin: admin } }), 'pomona.macOSAccountSetup', 'does not target macOS');
    warnedAt(settings({}, { macOSAccountSetup: { prefill: { enabled: true } } }), 'pomona.macOSAccountSetup.prefill', 'nothing to prefill from');
    expect(warningsOf(settings({}, { authentication: { enabled: true, methods: ['oidc'] }, macOSAccountSetup: { prefill: { enabled: true, lock: true } } }))).toEqual([]);
    warnedAt(settings({}, { authentication: { enabled: true, methods: ['oidc'] }, macOSAccountSetup: { primaryAccount: 'skip', localAdmin: admin, prefill: { enabled: true } } }), 'pomona.macOSAccountSetup.prefill', 'nothing is prefilled');
  });

  it('checks Shared iPad settings', () => {
    const shared = (sharedIPad: PomonaInput['sharedIPad']) => settings({ is_multi_user: true }, { sharedIPad });
    expect(valid(shared({ maximumResidentUsers: 8, quotaSizeMB: 4096, temporarySessionOnly: true, temporarySessionTimeoutSeconds: 0, userSessionTimeoutSeconds: 30 })).value.pomona.sharedIPad)
      .toEqual({ maximumResidentUsers: 8, quotaSizeMB: 4096, temporarySessionOnly: true, temporarySessionTimeoutSeconds: 0, userSessionTimeoutSeconds: 30 });
    refusedAt(shared({ maximumResidentUsers: 0 }), 'pomona.sharedIPad.maximumResidentUsers', '1 to 100');
    refusedAt(shared({ quotaSizeMB: 0 }), 'pomona.sharedIPad.quotaSizeMB');
    refusedAt(shared({ userSessionTimeoutSeconds: 29 }), 'pomona.sharedIPad.userSessionTimeoutSeconds', '0 (never) or 30 to');
    refusedAt(shared({ temporarySessionTimeoutSeconds: 3_000_000 }), 'pomona.sharedIPad.temporarySessionTimeoutSeconds');
    warnedAt(settings({}, { sharedIPad: { maximumResidentUsers: 4 } }), 'pomona.sharedIPad', 'unused while "Shared iPad" is off');
    warnedAt(settings({ is_multi_user: true, await_device_configured: false }, { sharedIPad: { quotaSizeMB: 1024 } }), 'pomona.sharedIPad', 'turn "Await configuration" on');
    expect(warningsOf(settings({}, { sharedIPad: {} }))).toEqual([]);
  });

  it('wants an IANA time zone (checked with Intl), fixing only its case', () => {
    expect(valid(settings({}, { timeZone: 'Europe/Berlin' })).value.pomona.timeZone).toBe('Europe/Berlin');
    expect(valid(settings({}, { timeZone: ' america/new_york ' })).value.pomona.timeZone).toBe('America/New_York');
    expect(valid(settings({}, { timeZone: 'Asia/Kolkata' })).value.pomona.timeZone).toBe('Asia/Kolkata');
    expect(valid(settings({}, { timeZone: 'UTC' })).value.pomona.timeZone).toBe('UTC');
    for (const bad of ['Mars/Olympus', '+01:00', 'Europe Berlin', 'GMT+1 hour']) refusedAt(settings({}, { timeZone: bad }), 'pomona.timeZone', 'use an IANA name');
    expect(valid(settings({}, { timeZone: '' })).value.pomona).not.toHaveProperty('timeZone');
    warnedAt(settings({}, { platforms: ['macOS'], timeZone: 'UTC' }), 'pomona.timeZone', 'iPhone, iPad and Apple TV only');
  });

  it('checks device attributes: asset tag, attribute names, values, count', () => {
    expect(valid(settings({}, { deviceAttributes: { assetTag: ' A-1 ', custom: { room: ' 101 ', floor: '', 'cost.center': 'R&D' } } })).value.pomona.deviceAttributes)
      .toEqual({ assetTag: 'A-1', custom: { room: '101', 'cost.center': 'R&D' } });
    refusedAt(settings({}, { deviceAttributes: { assetTag: 'a'.repeat(129) } }), 'pomona.deviceAttributes.assetTag', 'at most 128');
    refusedAt(settings({}, { deviceAttributes: { custom: { 'room 1': 'x' } } }), 'pomona.deviceAttributes.custom.room 1', 'not an attribute name');
    refusedAt(settings({}, { deviceAttributes: { custom: { AssetTag: 'x' } } }), 'pomona.deviceAttributes.custom.AssetTag', 'use "Asset tag"');
    refusedAt(settings({}, { deviceAttributes: { custom: { room: 'x', Room: 'y' } } }), 'pomona.deviceAttributes.custom.Room', 'repeats the attribute "room"');
    refusedAt(settings({}, { deviceAttributes: { custom: { room: 'x'.repeat(257) } } }), 'pomona.deviceAttributes.custom.room', 'at most 256');
    refusedAt(settings({}, { deviceAttributes: { custom: { ' ': 'x' } } }), 'pomona.deviceAttributes.custom', 'has no name');
  });

  it('checks the organization group against the known ones when the caller lists them', () => {
    const s = settings({}, { organizationGroupId: 'og-7' });
    expect(valid(s).value.pomona.organizationGroupId).toBe('og-7');
    expect(problemsOf(s, { organizationGroupIds: ['og-1', 'og-2'] })).toEqual([{ path: 'pomona.organizationGroupId', message: 'there is no organization group "og-7"' }]);
    valid(s, { organizationGroupIds: new Set(['og-7']) });
    refusedAt(settings({}, { organizationGroupId: 'o'.repeat(129) }), 'pomona.organizationGroupId', 'at most 128');
  });

  it('documents its defaults in the resolved value', () => {
    expect(resolveDepProfile(settings())).toEqual({
      apple: {
        profile_name: 'Staff iPads', is_supervised: true, is_mandatory: true, is_mdm_removable: false, allow_pairing: true,
        await_device_configured: true, auto_advance_setup: false, is_multi_user: false, is_return_to_service: false,
        do_not_use_profile_from_backup: false, org_magic: 'pomona', anchor_certs: [], supervising_host_certs: [], skip_setup_items: [],
      },
      pomona: {
        platforms: ['iOS', 'iPadOS', 'macOS', 'tvOS', 'visionOS'], authentication: { enabled: false, methods: [] },
        userAssignment: { mode: 'anonymous' }, osRules: {}, webView: { mode: 'off' },
        macOSAccountSetup: { primaryAccount: 'admin', prefill: { enabled: false, lock: false } },
        awaitConfiguration: { timeLimitMinutes: 3 }, sharedIPad: { temporarySessionOnly: false },
        deviceAttributes: { custom: {} }, allowUnknownSkipKeys: false,
      },
    });
    // the resolved value is valid input again and resolves to itself
    const resolved = valid(settings({ department: ' IT ' }, { timeZone: 'utc' })).value;
    expect(valid(resolved).value).toEqual(resolved);
  });
});

describe('toAppleProfile', () => {
  it("builds NanoDEP's example body, key for key and in its order", () => {
    // the example with its placeholders ("(Optional) en") replaced by real values
    const filled: Record<string, unknown> = {
      ...example,
      profile_name: 'Human readable name',
      configuration_web_url: 'https://sso.example.com/?redirect=enroll',
      department: 'IT Department',
      language: 'en',
      org_magic: 'ACME-1',
      region: 'US',
      support_phone_number: '+1 408 555 1010',
      support_email_address: 'support@example.com',
    };
    const s: Settings = {
      apple: {
        profile_name: 'Human readable name', allow_pairing: true, auto_advance_setup: false, await_device_configured: false,
        department: 'IT Department', is_supervised: false, is_multi_user: false, is_mandatory: false, is_mdm_removable: true,
        language: 'en', org_magic: 'ACME-1', region: 'US', support_phone_number: '+1 408 555 1010', support_email_address: 'support@example.com',
        anchor_certs: [], supervising_host_certs: [], skip_setup_items: ['AppleID', 'Android'],
      },
      pomona: { webView: { mode: 'external', externalUrl: 'https://sso.example.com/?redirect=enroll' } },
    };
    const built = toAppleProfile(s, { url: example.url as string, devices: example.devices as string[] });
    const { anchor_certs: _a, supervising_host_certs: _s, ...expected } = filled; // empty lists are left out
    expect(JSON.stringify(built)).toBe(JSON.stringify(expected));
    for (const key of Object.keys(built)) expect(appleSchema.properties, key).toHaveProperty(key);
    for (const key of appleSchema.required) expect(built).toHaveProperty(key);
  });

  it('sends only Apple fields, every key Apple requires, and no empty strings or undefined values', () => {
    const s = settings(
      { department: ' ', support_phone_number: '', language: '', region: ' ', org_magic: '', skip_setup_items: ['', 'AppleID'], anchor_certs: [' '] },
      { timeZone: 'UTC', organizationGroupId: 'og-1', deviceAttributes: { assetTag: 'A' }, authentication: { enabled: false, methods: ['oidc'] } },
    );
    const body = toAppleProfile(s, URLS);
    expect(body).toEqual({
      profile_name: 'Staff iPads', url: URLS.url, allow_pairing: true, auto_advance_setup: false, await_device_configured: true,
      is_supervised: true, is_multi_user: false, is_mandatory: true, is_mdm_removable: false, org_magic: 'pomona', skip_setup_items: ['AppleID'],
    });
    expect(JSON.stringify(body)).toBe(JSON.stringify(JSON.parse(JSON.stringify(body)))); // no undefined anywhere
  });

  it('never emits an empty string, whatever mix of blank fields it is given', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    const blank = () => pick(['', ' ', '\t', '\n ', undefined]);
    let built = 0;
    for (let i = 0; i < 300; i++) {
      const s = settings(
        {
          profile_name: pick(['Macs', ' Macs ', '']), department: pick([blank(), 'IT']), support_phone_number: pick([blank(), '555 1010']),
          support_email_address: pick([blank(), 'it@example.org']), language: pick([blank(), 'en']), region: pick([blank(), 'US']),
          org_magic: pick([blank(), 'ACME']), skip_setup_items: pick([undefined, [], ['', ' '], ['AppleID', '']]),
          anchor_certs: pick([undefined, [], [' '], [CERT, '']]), supervising_host_certs: pick([undefined, [''], [OTHER_CERT]]),
        },
        { webView: pick([{ mode: 'off' as const }, { mode: 'pomona' as const }, { mode: 'external' as const, externalUrl: pick(['https://sso.example.com', ' ']) }]) },
      );
      if (!validateDepProfile(s).ok) continue;
      const body = toAppleProfile(s, { ...URLS, devices: pick([undefined, ['SERIAL1']]) });
      built++;
      for (const [path, value] of strings(body)) expect(value.trim(), path).not.toBe('');
      for (const [key, value] of Object.entries(body)) {
        expect(value, key).not.toBeUndefined();
        if (Array.isArray(value) && key !== 'devices') expect(value.length, key).toBeGreaterThan(0);
      }
    }
    expect(built).toBeGreaterThan(50);
  });

  it("sets configuration_web_url to Pomona's web view when authentication or Pomona's pages are on, else leaves it out", () => {
    const off = settings();
    expect(usesPomonaWebView(off)).toBe(false);
    expect(toAppleProfile(off, URLS)).not.toHaveProperty('configuration_web_url');
    const auth = settings({}, { authentication: { enabled: true, methods: ['oidc'] } });
    expect(usesPomonaWebView(auth)).toBe(true);
    expect(toAppleProfile(auth, URLS).configuration_web_url).toBe(URLS.configurationWebUrl);
    const pages = settings({}, { webView: { mode: 'pomona' } });
    expect(toAppleProfile(pages, URLS).configuration_web_url).toBe(URLS.configurationWebUrl);
    expect(thrownMessage(() => toAppleProfile(pages, { url: URLS.url }), DepProfileError)).toBe('configuration_web_url: is required');
    const external = settings({}, { webView: { mode: 'external', externalUrl: 'https://sso.example.com/enroll' } });
    expect(usesPomonaWebView(external)).toBe(false);
    expect(toAppleProfile(external, URLS).configuration_web_url).toBe('https://sso.example.com/enroll');
  });

  it('checks the URLs Pomona passes: https (http only on loopback), at most 2000 characters', () => {
    expect(thrownMessage(() => toAppleProfile(settings(), { url: 'http://mdm.example.org/enroll/ade' }), DepProfileError)).toContain('url: must be an https URL');
    expect(thrownMessage(() => toAppleProfile(settings(), { url: '' }), DepProfileError)).toBe('url: is required');
    expect(thrownMessage(() => toAppleProfile(settings(), { url: 'not a url' }), DepProfileError)).toContain('not a valid URL');
    expect(thrownMessage(() => toAppleProfile(settings(), { url: `https://mdm.example.org/${'x'.repeat(2000)}` }), DepProfileError)).toContain('at most 2000');
    expect(toAppleProfile(settings(), { url: 'http://127.0.0.1:8080/enroll/ade' }).url).toBe('http://127.0.0.1:8080/enroll/ade');
    expect(toAppleProfile(settings(), { url: 'http://localhost:8080/enroll/ade' }).url).toBe('http://localhost:8080/enroll/ade');
  });

  it('sends devices only when given, each serial once, at most 1000', () => {
    expect(toAppleProfile(settings(), URLS)).not.toHaveProperty('devices');
    expect(toAppleProfile(settings(), { ...URLS, devices: [] }).devices).toEqual([]);
    expect(toAppleProfile(settings(), { ...URLS, devices: ['C02X', ' C02X ', 'F4Y'] }).devices).toEqual(['C02X', 'F4Y']);
    expect(thrownMessage(() => toAppleProfile(settings(), { ...URLS, devices: ['C02 X'] }), DepProfileError)).toContain('devices:');
    expect(thrownMessage(() => toAppleProfile(settings(), { ...URLS, devices: Array.from({ length: 1001 }, (_, i) => `S${i}`) }), DepProfileError)).toContain('at most 1000');
  });

  it('refuses invalid settings with every problem', () => {
    const err = (() => {
      try {
        toAppleProfile(settings({ profile_name: '', region: 'usa' }), URLS);
      } catch (e) {
        return e as DepProfileError;
      }
      throw new Error('expected a DepProfileError');
    })();
    expect(err).toBeInstanceOf(DepProfileError);
    expect(err.statusCode).toBe(400);
    expect(err.problems.map((p) => p.path)).toEqual(['apple.profile_name', 'apple.region']);
  });

  it('keeps a fixed key order whatever order the settings come in, and sends the iOS 26 flags only when on', () => {
    const a = toAppleProfile({ apple: { profile_name: 'P', region: 'US', department: 'IT', is_return_to_service: true, do_not_use_profile_from_backup: false } }, URLS);
    const b = toAppleProfile({ apple: { do_not_use_profile_from_backup: false, is_return_to_service: true, department: 'IT', region: 'US', profile_name: 'P' } }, URLS);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(Object.keys(a)).toEqual([
      'profile_name', 'url', 'allow_pairing', 'auto_advance_setup', 'await_device_configured', 'department', 'is_supervised',
      'is_multi_user', 'is_mandatory', 'is_mdm_removable', 'is_return_to_service', 'org_magic', 'region',
    ]);
    expect(a.is_return_to_service).toBe(true);
    expect(a).not.toHaveProperty('do_not_use_profile_from_backup');
  });
});

describe('appleProfileChanged', () => {
  const base = settings({ department: 'IT', skip_setup_items: ['AppleID', 'Siri'], anchor_certs: [CERT, OTHER_CERT] }, { timeZone: 'UTC' });

  it('ignores Pomona-only changes', () => {
    expect(appleProfileChanged(base, base)).toBe(false);
    const pomonaOnly = settings(base.apple, {
      timeZone: 'Europe/Berlin', organizationGroupId: 'og-2', awaitConfiguration: { timeLimitMinutes: 9 },
      osRules: { iOS: { minimum: { version: '17' } } }, userAssignment: { mode: 'defined', username: 'jane' },
      macOSAccountSetup: { localAdmin: { shortName: '_admin' } }, deviceAttributes: { assetTag: 'X' },
      authentication: { enabled: false, methods: ['oidc'] }, platforms: ['macOS'],
    });
    expect(appleProfileChanged(base, pomonaOnly)).toBe(false);
  });

  it('ignores order, whitespace, PEM vs base64 and explicit defaults', () => {
    const same = settings({
      profile_name: ' Staff iPads ', department: 'IT ', skip_setup_items: ['Siri', 'AppleID', 'Siri'], anchor_certs: [OTHER_CERT, CERT_PEM],
      is_supervised: true, is_mdm_removable: false, org_magic: 'pomona', language: '', supervising_host_certs: [],
    });
    expect(appleProfileChanged(base, same)).toBe(false);
    expect(appleProfileChanged(base, resolveDepProfile(base))).toBe(false);
  });

  it('sees changes to Apple fields', () => {
    expect(appleProfileChanged(base, settings({ ...base.apple, department: 'Sales' }))).toBe(true);
    expect(appleProfileChanged(base, settings({ ...base.apple, skip_setup_items: ['AppleID'] }))).toBe(true);
    expect(appleProfileChanged(base, settings({ ...base.apple, is_mandatory: false }))).toBe(true);
    expect(appleProfileChanged(base, settings({ ...base.apple, anchor_certs: [CERT] }))).toBe(true);
  });

  it('sees web-view changes, since they add, remove or change configuration_web_url', () => {
    const auth = settings(base.apple, { authentication: { enabled: true, methods: ['oidc'] } });
    const pages = settings(base.apple, { webView: { mode: 'pomona' } });
    const external = (url: string) => settings(base.apple, { webView: { mode: 'external', externalUrl: url } });
    expect(appleProfileChanged(base, auth)).toBe(true);
    expect(appleProfileChanged(auth, pages)).toBe(false); // both use Pomona's web view
    expect(appleProfileChanged(base, external('https://a.example.com'))).toBe(true);
    expect(appleProfileChanged(external('https://a.example.com'), external('https://b.example.com'))).toBe(true);
    expect(appleProfileChanged(base, settings(base.apple, { webView: { mode: 'off', externalUrl: 'https://a.example.com' } }))).toBe(false);
  });
});
