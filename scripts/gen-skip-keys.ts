// Regenerates the data block of src/abm/skip-keys.ts from Apple's skip-key YAML
// (apple/device-management `other/skipkeys.yaml`, copied to test/fixtures/abm/skipkeys.yaml).
//
//   node bin/run-ts.js scripts/gen-skip-keys.ts [path/to/skipkeys.yaml]
//
// Only the lines between the BEGIN/END GENERATED markers are rewritten. The one-line descriptions
// are ours (plain words for admins), kept here so a new Apple key cannot slip in without one.
// The YAML is small and regular, so a line parser does; the test re-parses the fixture with it and
// compares the result with the committed table.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export type YamlPlatform = 'iOS' | 'macOS' | 'tvOS';
const PLATFORMS: readonly YamlPlatform[] = ['iOS', 'macOS', 'tvOS'];

export interface ParsedAvailability {
  since: string;
  deprecated?: string;
  notAlwaysSkippable?: true;
}
export interface ParsedSkipKey {
  key: string;
  platforms: Partial<Record<YamlPlatform, ParsedAvailability>>;
}

type OsFields = Record<string, string>;

export const DESCRIPTIONS: Readonly<Record<string, string>> = {
  Accessibility: 'Skips the Accessibility options pane on Macs.',
  ActionButton: 'Skips choosing what the Action button does.',
  Android: 'Hides the "Move from Android" choice when restoring data.',
  Appearance: 'Skips choosing a light or dark look.',
  AppleID: 'Skips signing in with an Apple Account and iCloud.',
  AppStore: 'Skips the App Store introduction.',
  Biometric: 'Skips setting up Touch ID or Face ID.',
  CameraButton: 'Skips the Camera Control introduction.',
  DeviceToDeviceMigration: 'Skips transferring data directly from another iPhone or iPad.',
  Diagnostics: 'Skips the question about sharing analytics with Apple.',
  DisplayTone: 'Skips the True Tone display pane.',
  EnableLockdownMode: 'Skips the offer to turn on Lockdown Mode.',
  FileVault: 'Skips the offer to turn on FileVault disk encryption.',
  HomeButtonSensitivity: 'Skips adjusting the Home button click (iPhone 7, 8 and SE).',
  iCloudDiagnostics: 'Skips the question about sharing iCloud analytics.',
  iCloudStorage: 'Skips storing Desktop and Documents in iCloud.',
  iMessageAndFaceTime: 'Skips setting up iMessage and FaceTime.',
  Intelligence: 'Skips the Apple Intelligence pane.',
  Keyboard: 'Skips choosing keyboards.',
  Location: 'Skips the Location Services pane, which leaves them off.',
  MessagingActivationUsingPhoneNumber: 'Skips activating iMessage with the phone number.',
  OnBoarding: 'Skips the introductory tips (Home, Control Center, multitasking).',
  Passcode: 'Skips creating a passcode.',
  Payment: 'Skips setting up Apple Pay.',
  Privacy: 'Skips the Data & Privacy information pane.',
  Restore: 'Skips restoring from a backup or another computer.',
  RestoreCompleted: 'Skips the pane shown after a restore finishes.',
  Safety: 'Skips the Safety pane.',
  ScreenSaver: 'Skips the Apple TV aerial screen saver pane.',
  ScreenTime: 'Skips setting up Screen Time.',
  SIMSetup: 'Skips adding a cellular plan.',
  Siri: 'Skips setting up Siri.',
  SoftwareUpdate: 'Skips the offer of a mandatory software update.',
  SpokenLanguage: 'Skips choosing the dictation language.',
  TapToSetup: 'Skips setting up an Apple TV by tapping an iPhone.',
  TermsOfAddress: 'Skips choosing how the device addresses the user.',
  TOS: 'Skips the Terms and Conditions.',
  TVHomeScreenSync: 'Skips syncing the Home Screen with other Apple TVs.',
  TVProviderSignIn: 'Skips signing in to a TV provider.',
  TVRoom: 'Skips choosing the room the Apple TV is in.',
  UpdateCompleted: 'Skips the pane shown after a software update finishes.',
  Wallpaper: 'Skips choosing a wallpaper on Macs.',
  WatchMigration: 'Skips pairing or moving an Apple Watch.',
  WebContentFiltering: 'Skips the web content filtering pane.',
  Welcome: 'Skips the Get Started pane.',
  Zoom: 'Skips the Display Zoom pane.',
};

const unquote = (v: string) => v.trim().replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
const indentOf = (line: string) => line.length - line.trimStart().length;

/** Reads `supportedOS:` blocks (OS names one level in, fields one level further). */
function readSupportedOs(lines: string[], start: number, baseIndent: number): [Record<string, OsFields>, number] {
  const out: Record<string, OsFields> = {};
  let os: string | undefined;
  let i = start;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    const indent = indentOf(line);
    if (indent <= baseIndent) break;
    const m = /^(\s*)([\w-]+):\s*(.*)$/.exec(line);
    if (!m) throw new Error(`skipkeys.yaml line ${i + 1}: cannot read "${line}"`);
    if (indent === baseIndent + 2) {
      os = m[2]!;
      out[os] = {};
    } else if (indent === baseIndent + 4 && os) {
      out[os]![m[2]!] = unquote(m[3]!);
    }
  }
  return [out, i];
}

function resolveOs(defaults: Record<string, OsFields>, own: Record<string, OsFields> | undefined, os: YamlPlatform): ParsedAvailability | undefined {
  const base = defaults[os] ?? {};
  const fields = own?.[os] ?? {};
  const since = fields.introduced ?? base.introduced;
  if (!since || since === 'n/a') return undefined;
  const skippable = fields['always-skippable'] ?? base['always-skippable'] ?? 'true';
  return {
    since,
    ...(fields.deprecated && { deprecated: fields.deprecated }),
    ...(skippable === 'false' && { notAlwaysSkippable: true as const }),
  };
}

/** Parses Apple's skipkeys.yaml; a key without a per-OS entry inherits the payload's defaults. */
export function parseSkipKeysYaml(text: string): ParsedSkipKey[] {
  const lines = text.split(/\r?\n/);
  let defaults: Record<string, OsFields> = {};
  const raw: { key: string; os?: Record<string, OsFields> }[] = [];
  let section: 'payload' | 'payloadkeys' | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^payload:\s*$/.test(line)) section = 'payload';
    else if (/^payloadkeys:\s*$/.test(line)) section = 'payloadkeys';
    else if (/^[^\s-]/.test(line)) section = undefined;
    else if (section === 'payload' && /^ {2}supportedOS:\s*$/.test(line)) {
      [defaults, i] = readSupportedOs(lines, i + 1, 2);
      i--;
    } else if (section === 'payloadkeys') {
      const key = /^- key:\s*(\S+)\s*$/.exec(line);
      if (key) raw.push({ key: unquote(key[1]!) });
      else if (/^ {2}supportedOS:\s*$/.test(line)) {
        const current = raw.at(-1);
        if (!current) throw new Error(`skipkeys.yaml line ${i + 1}: supportedOS before any key`);
        [current.os, i] = readSupportedOs(lines, i + 1, 2);
        i--;
      }
    }
  }
  if (!defaults.iOS) throw new Error('skipkeys.yaml: no payload.supportedOS defaults');
  return raw.map(({ key, os }) => {
    const platforms: ParsedSkipKey['platforms'] = {};
    for (const p of PLATFORMS) {
      const a = resolveOs(defaults, os, p);
      if (a) platforms[p] = a;
    }
    return { key, platforms };
  });
}

const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The TypeScript lines between the markers. */
export function renderSkipKeysBlock(keys: ParsedSkipKey[]): string {
  const known = new Set(keys.map((k) => k.key));
  const missing = keys.filter((k) => !DESCRIPTIONS[k.key]).map((k) => k.key);
  if (missing.length) throw new Error(`no description for ${missing.join(', ')}: add one to DESCRIPTIONS`);
  const stale = Object.keys(DESCRIPTIONS).filter((k) => !known.has(k));
  if (stale.length) throw new Error(`descriptions for keys not in the YAML: ${stale.join(', ')}`);
  const rows = keys.map(({ key, platforms }) => {
    const parts = PLATFORMS.filter((p) => platforms[p]).map((p) => {
      const a = platforms[p]!;
      const fields = [`since: ${q(a.since)}`];
      if (a.deprecated) fields.push(`deprecated: ${q(a.deprecated)}`);
      if (a.notAlwaysSkippable) fields.push('notAlwaysSkippable: true');
      return `${p}: { ${fields.join(', ')} }`;
    });
    return `  { key: ${q(key)}, description: ${q(DESCRIPTIONS[key]!)}, platforms: { ${parts.join(', ')} } },`;
  });
  return ['export const SKIP_KEYS: readonly SkipKey[] = [', ...rows, '];'].join('\n');
}

export const BEGIN = '// BEGIN GENERATED by scripts/gen-skip-keys.ts — do not edit by hand';
export const END = '// END GENERATED';

/** Replaces the block between the markers in the module's source. */
export function spliceBlock(source: string, block: string): string {
  const start = source.indexOf(BEGIN);
  const end = source.indexOf(END);
  if (start < 0 || end < start) throw new Error('skip-keys.ts: generated-block markers not found');
  return `${source.slice(0, start + BEGIN.length)}\n${block}\n${source.slice(end)}`;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const root = resolve(import.meta.dirname, '..');
  const yamlPath = resolve(process.argv[2] ?? resolve(root, 'test/fixtures/abm/skipkeys.yaml'));
  const target = resolve(root, 'src/abm/skip-keys.ts');
  const keys = parseSkipKeysYaml(readFileSync(yamlPath, 'utf8'));
  writeFileSync(target, spliceBlock(readFileSync(target, 'utf8'), renderSkipKeysBlock(keys)));
  console.log(`${keys.length} skip keys written to ${target}`);
}
