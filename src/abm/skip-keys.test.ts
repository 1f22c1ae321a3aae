import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEGIN, END, parseSkipKeysYaml, renderSkipKeysBlock } from '../../scripts/gen-skip-keys.js';
import { checkSkipKeys, closestSkipKey, compareVersions, isKnownSkipKey, SKIP_KEYS, skipKey, skipKeysFor } from './skip-keys.js';

const yaml = readFileSync(new URL('../../test/fixtures/abm/skipkeys.yaml', import.meta.url), 'utf8');
const source = readFileSync(new URL('./skip-keys.ts', import.meta.url), 'utf8');
const keysOf = (list: { key: string }[]) => list.map((k) => k.key);

describe('the skip-key table', () => {
  it('holds the 46 keys of the YAML, each once, in its order', () => {
    // independent of the generator's parser: every list item of the YAML starts with "- key: "
    const inYaml = [...yaml.matchAll(/^- key: (\S+)$/gm)].map((m) => m[1]);
    expect(inYaml).toHaveLength(46);
    expect(keysOf([...SKIP_KEYS])).toEqual(inYaml);
    expect(new Set(keysOf([...SKIP_KEYS])).size).toBe(46);
  });

  it('is what the generator makes from the fixture (regenerate with scripts/gen-skip-keys.ts)', () => {
    const committed = source.slice(source.indexOf(BEGIN) + BEGIN.length, source.indexOf(END)).trim();
    expect(committed).toBe(renderSkipKeysBlock(parseSkipKeysYaml(yaml)));
  });

  it('agrees with a hand-made reading of the YAML (apple-dep-api.md §6) for a dozen keys', () => {
    expect(skipKey('AppleID')?.platforms).toEqual({ iOS: { since: '7.0' }, macOS: { since: '10.9' }, tvOS: { since: '10.2' } });
    expect(skipKey('Accessibility')?.platforms).toEqual({ macOS: { since: '11.0', notAlwaysSkippable: true } });
    expect(skipKey('DisplayTone')?.platforms).toEqual({ iOS: { since: '9.3.2', deprecated: '15.0' }, macOS: { since: '10.13.6', deprecated: '12.0' } });
    expect(skipKey('Location')?.platforms).toEqual({ iOS: { since: '7.0' }, macOS: { since: '10.11' }, tvOS: { since: '10.2' } });
    expect(skipKey('Passcode')?.platforms).toEqual({ iOS: { since: '7.0' }, macOS: { since: '10.9' } });
    expect(skipKey('Restore')?.platforms).toEqual({ iOS: { since: '7.0' }, macOS: { since: '10.9' } });
    expect(skipKey('Privacy')?.platforms).toEqual({ iOS: { since: '11.3' }, macOS: { since: '10.13.4' }, tvOS: { since: '11.3' } });
    expect(skipKey('Siri')?.platforms).toEqual({ iOS: { since: '7.0' }, macOS: { since: '10.12' }, tvOS: { since: '10.2' } });
    expect(skipKey('TapToSetup')?.platforms).toEqual({ tvOS: { since: '10.2', notAlwaysSkippable: true } });
    expect(skipKey('ScreenSaver')?.platforms).toEqual({ tvOS: { since: '10.2' } });
    expect(skipKey('TermsOfAddress')?.platforms).toEqual({ iOS: { since: '16.0', notAlwaysSkippable: true }, macOS: { since: '13.0', notAlwaysSkippable: true } });
    expect(skipKey('Zoom')?.platforms).toEqual({ iOS: { since: '8.3', deprecated: '17.0' } });
    expect(skipKey('WebContentFiltering')?.platforms).toEqual({ iOS: { since: '18.2' } });
    expect(skipKey('FileVault')?.platforms).toEqual({ macOS: { since: '10.10' } });
    expect(skipKey('TVRoom')?.platforms).toEqual({ tvOS: { since: '11.4' } });
  });

  it('gives every key a short description of its own', () => {
    for (const k of SKIP_KEYS) {
      expect(k.description.length, k.key).toBeGreaterThan(10);
      expect(k.description.length, k.key).toBeLessThanOrEqual(80);
      expect(k.description).not.toMatch(/^The key to/);
    }
  });

  it('knows the keys case-sensitively and is not fooled by AutoAdvance or UnlockWithWatch', () => {
    expect(isKnownSkipKey('AppleID')).toBe(true);
    expect(isKnownSkipKey('appleid')).toBe(false);
    expect(isKnownSkipKey('AutoAdvance')).toBe(false); // a profile boolean, not a skip key
    expect(isKnownSkipKey('UnlockWithWatch')).toBe(false); // sent by Fleet, newer than the YAML
  });
});

describe('skipKeysFor', () => {
  it('lists the keys of a platform; iPadOS uses the iOS list; visionOS has no data', () => {
    const mac = keysOf(skipKeysFor('macOS'));
    expect(mac).toContain('FileVault');
    expect(mac).toContain('Accessibility');
    expect(mac).not.toContain('Android');
    expect(keysOf(skipKeysFor('iPadOS'))).toEqual(keysOf(skipKeysFor('iOS')));
    expect(keysOf(skipKeysFor('tvOS'))).toEqual(['AppleID', 'Diagnostics', 'Location', 'Privacy', 'ScreenSaver', 'Siri', 'TapToSetup', 'TOS', 'TVHomeScreenSync', 'TVProviderSignIn', 'TVRoom']);
    expect(skipKeysFor('visionOS')).toEqual([]);
  });

  it('filters by OS version: introduced at or before it, not yet deprecated', () => {
    const ios16 = keysOf(skipKeysFor('iOS', '16.4'));
    expect(ios16).toContain('Zoom');
    expect(ios16).toContain('Safety');
    expect(ios16).not.toContain('ActionButton');
    expect(ios16).not.toContain('DisplayTone');
    const ios17 = keysOf(skipKeysFor('iOS', '17'));
    expect(ios17).not.toContain('Zoom');
    expect(ios17).toContain('ActionButton');
    expect(keysOf(skipKeysFor('macOS', '10.12.4'))).toContain('Biometric');
    expect(keysOf(skipKeysFor('macOS', '10.12.3'))).not.toContain('Biometric');
  });

  it('compares versions numerically', () => {
    expect(compareVersions('10.13.6', '10.14')).toBe(-1);
    expect(compareVersions('17', '17.0.0')).toBe(0);
    expect(compareVersions('9.3.2', '10')).toBe(-1);
    expect(compareVersions('18.2', '18.10')).toBe(-1);
  });
});

describe('closestSkipKey', () => {
  it('finds case mistakes first, then near spellings, else nothing', () => {
    expect(closestSkipKey('appleid')).toBe('AppleID');
    expect(closestSkipKey('TOs')).toBe('TOS');
    expect(closestSkipKey('Sirri')).toBe('Siri');
    expect(closestSkipKey('Biometrics')).toBe('Biometric');
    expect(closestSkipKey('ScreenTme')).toBe('ScreenTime');
    expect(closestSkipKey('Xylophone')).toBeUndefined();
  });
});

describe('checkSkipKeys', () => {
  it('accepts known keys with no remarks', () => {
    expect(checkSkipKeys(['AppleID', 'Android', 'FileVault'])).toEqual({ keys: ['AppleID', 'Android', 'FileVault'], errors: [], warnings: [] });
  });

  it('refuses a case mistake, naming the right key, even when unknown keys are allowed', () => {
    for (const allowUnknown of [false, true]) {
      const r = checkSkipKeys(['appleid'], { allowUnknown });
      expect(r.errors).toEqual([{ index: 0, key: 'appleid', message: '"appleid" is not a skip key: skip keys are case-sensitive, write "AppleID"' }]);
      expect(r.keys).toEqual([]);
    }
  });

  it('refuses an unknown key with the closest known one, or lets it through with a warning when allowed', () => {
    const refused = checkSkipKeys(['AppleID', 'Sirri']);
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors[0]).toMatchObject({ index: 1, key: 'Sirri' });
    expect(refused.errors[0]!.message).toContain('did you mean "Siri"?');
    expect(refused.errors[0]!.message).toContain('Allow unknown skip keys');

    const allowed = checkSkipKeys(['UnlockWithWatch'], { allowUnknown: true });
    expect(allowed.errors).toEqual([]);
    expect(allowed.keys).toEqual(['UnlockWithWatch']);
    expect(allowed.warnings[0]!.message).toContain('not in Apple\'s skip-key list');
  });

  it('refuses malformed keys and AutoAdvance whatever the options', () => {
    const r = checkSkipKeys(['', 'Apple ID', 'AutoAdvance'], { allowUnknown: true });
    expect(r.errors.map((e) => e.index)).toEqual([0, 1, 2]);
    expect(r.errors[2]!.message).toContain('auto_advance_setup');
    expect(r.keys).toEqual([]);
  });

  it('drops duplicates with a warning', () => {
    const r = checkSkipKeys(['Siri', 'Siri']);
    expect(r.keys).toEqual(['Siri']);
    expect(r.warnings).toEqual([{ index: 1, key: 'Siri', message: '"Siri" is listed twice; it is sent once' }]);
  });

  it('warns about keys that do nothing on the targeted platforms, and deprecated ones', () => {
    const ios = checkSkipKeys(['FileVault', 'Zoom', 'AppleID'], { platforms: ['iOS', 'iPadOS'] });
    expect(ios.errors).toEqual([]);
    expect(ios.keys).toEqual(['FileVault', 'Zoom', 'AppleID']);
    expect(ios.warnings.map((w) => w.message)).toEqual([
      '"FileVault" does nothing on iOS, iPadOS: it applies to macOS 10.10+ only',
      '"Zoom" is deprecated since iOS 17.0: newer systems no longer show that pane',
    ]);
    // all platforms targeted: FileVault applies to the Macs
    expect(checkSkipKeys(['FileVault']).warnings).toEqual([]);
    // visionOS alone: no data, so no applicability warnings
    expect(checkSkipKeys(['FileVault'], { platforms: ['visionOS'] }).warnings).toEqual([]);
  });
});
