/**
 * Setup Assistant panes to skip, grouped by platform (a tab each), every key with the OS version
 * that first honours it, the one that dropped the pane, and what skipping it does in plain words
 * — from the API's catalogue (GET /api/v1/skip-keys). Keys Pomona does not know yet (Apple adds
 * some every year) can be added by hand when the profile allows them.
 */
import { useState } from 'react';
import { api, unwrap, type paths } from '../api/client';
import { Badge, ErrorBanner, Spinner } from '../components/ui';
import { useLoad } from '../components/use-load';
import { plural } from '../components/plural';

type Catalogue = paths['/api/v1/skip-keys']['get']['responses'][200]['content']['application/json'];
type SkipKey = Catalogue['items'][number];
type KeyPlatform = 'iOS' | 'macOS' | 'tvOS';

const TABS: { platform: KeyPlatform; label: string; targets: string[] }[] = [
  { platform: 'iOS', label: 'iPhone & iPad', targets: ['iOS', 'iPadOS'] },
  { platform: 'macOS', label: 'Mac', targets: ['macOS'] },
  { platform: 'tvOS', label: 'Apple TV', targets: ['tvOS'] },
];

const OS_NAME: Record<KeyPlatform, string> = { iOS: 'iOS/iPadOS', macOS: 'macOS', tvOS: 'tvOS' };

export function SkipKeyPicker({
  selected,
  onChange,
  platforms,
  errorOf,
  allowUnknown,
  onAllowUnknown,
  readOnly,
}: {
  selected: string[];
  onChange(keys: string[]): void;
  /** the profile's target platforms: tabs for others are still there, after them */
  platforms: string[];
  /** the API's message about a selected key (by its index in `selected`) */
  errorOf(index: number): string | undefined;
  allowUnknown: boolean;
  onAllowUnknown(on: boolean): void;
  readOnly: boolean;
}) {
  const catalogue = useLoad(async () => unwrap(api.GET('/api/v1/skip-keys')), []);
  const tabs = [...TABS].sort((a, b) => Number(b.targets.some((t) => platforms.includes(t))) - Number(a.targets.some((t) => platforms.includes(t))));
  const [tab, setTab] = useState<KeyPlatform>(tabs[0]!.platform);
  const [custom, setCustom] = useState('');
  const chosen = new Set(selected);

  if (catalogue.error) return <ErrorBanner error={catalogue.error} />;
  if (!catalogue.data) return <Spinner label="Loading the skip keys…" />;
  const known = new Map(catalogue.data.items.map((k) => [k.key, k]));
  const keysOf = (p: KeyPlatform) => catalogue.data!.items.filter((k) => k.platforms[p]);
  const toggle = (key: string, on: boolean) => onChange(on ? [...selected, key] : selected.filter((k) => k !== key));
  const addCustom = () => {
    const key = custom.trim();
    if (!key || chosen.has(key)) return;
    toggle(key, true);
    setCustom('');
  };
  const setMany = (keys: string[], on: boolean) => onChange(on ? [...selected, ...keys.filter((k) => !chosen.has(k))] : selected.filter((k) => !keys.includes(k)));
  const unknown = selected.map((k, i) => ({ k, i })).filter(({ k }) => !known.has(k));
  const current = keysOf(tab);
  // Messages about keys of another tab still show: listed above the tabs, with the key's name.
  const keyErrors = selected.map((k, i) => ({ k, e: errorOf(i) })).filter((x): x is { k: string; e: string } => !!x.e);

  return (
    <div className="skip-keys">
      <p className="muted">
        {selected.length === 0 ? 'No panes are skipped: the user sees every pane of Setup Assistant.' : `${plural(selected.length, 'pane')} skipped: ${selected.join(', ')}.`}
      </p>
      {keyErrors.length > 0 && (
        <ul className="field-error" role="alert">
          {keyErrors.map(({ k, e }) => (
            <li key={k}>
              {k}: {e}
            </li>
          ))}
        </ul>
      )}
      <div className="tabs" role="tablist" aria-label="Platforms" onKeyDown={(e) => arrowKeys(e, tabs.map((t) => t.platform), tab, setTab)}>
        {tabs.map((t) => {
          const n = keysOf(t.platform).filter((k) => chosen.has(k.key)).length;
          return (
            <button key={t.platform} type="button" role="tab" id={`skip-tab-${t.platform}`} tabIndex={tab === t.platform ? 0 : -1} aria-selected={tab === t.platform} aria-controls="skip-panel" onClick={() => setTab(t.platform)}>
              {t.label} <span className="muted">({n}/{keysOf(t.platform).length})</span>
              {!t.targets.some((x) => platforms.includes(x)) && <span className="muted"> · not targeted</span>}
            </button>
          );
        })}
      </div>
      <div role="tabpanel" id="skip-panel" aria-labelledby={`skip-tab-${tab}`}>
        {!readOnly && (
          <div className="actions skip-bulk">
            <button type="button" onClick={() => setMany(current.filter((k) => !k.platforms[tab]!.deprecated).map((k) => k.key), true)}>
              Skip all current {OS_NAME[tab]} panes
            </button>
            <button type="button" onClick={() => setMany(current.map((k) => k.key), false)}>
              Clear {OS_NAME[tab]} panes
            </button>
          </div>
        )}
        <ul className="skip-list">
          {current.map((k) => (
            <SkipKeyRow key={k.key} k={k} platform={tab} checked={chosen.has(k.key)} readOnly={readOnly} onToggle={(on) => toggle(k.key, on)} />
          ))}
        </ul>
        {platforms.includes('visionOS') && <p className="muted">Apple publishes no skip-key data for visionOS; keys that visionOS knows are sent as they are.</p>}
      </div>

      <div className="skip-unknown">
        <label className="check">
          <input type="checkbox" id="pomona.allowUnknownSkipKeys" checked={allowUnknown} disabled={readOnly} onChange={(e) => onAllowUnknown(e.target.checked)} />
          <span>
            <span className="check-label">Allow keys Pomona does not know</span>
            <small className="hint">Apple adds skip keys with each major OS release. Without this, a key missing from the list above is refused.</small>
          </span>
        </label>
        {unknown.length > 0 && (
          <ul className="chips" aria-label="Other skip keys">
            {unknown.map(({ k }) => (
              <li key={k}>
                <code>{k}</code>
                {!readOnly && (
                  <button type="button" className="ghost" aria-label={`Remove ${k}`} onClick={() => toggle(k, false)}>
                    ×
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        {allowUnknown && !readOnly && (
          <div className="add-key">
            <label htmlFor="custom-skip-key">Another skip key</label>
            <input
              id="custom-skip-key"
              value={custom}
              onChange={(e) => setCustom(e.target.value)}
              // Enter adds the key, as the button does: the field sits inside the profile form, which Enter would otherwise save.
              onKeyDown={(e) => {
                if (e.key !== 'Enter') return;
                e.preventDefault();
                addCustom();
              }}
              placeholder="e.g. a key new in this year’s OS"
            />
            <button type="button" disabled={!custom.trim() || chosen.has(custom.trim())} onClick={addCustom}>
              Add key
            </button>
          </div>
        )}
      </div>
    </div>
  );
}

/** Left/right arrows move between tabs (the tab list is one stop for Tab, as WAI-ARIA tabs are). */
function arrowKeys<T extends string>(e: React.KeyboardEvent, order: T[], current: T, choose: (t: T) => void) {
  const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
  if (!step) return;
  e.preventDefault();
  const next = order[(order.indexOf(current) + step + order.length) % order.length]!;
  choose(next);
  document.getElementById(`skip-tab-${next}`)?.focus();
}

function SkipKeyRow({ k, platform, checked, readOnly, onToggle }: { k: SkipKey; platform: KeyPlatform; checked: boolean; readOnly: boolean; onToggle(on: boolean): void }) {
  const a = k.platforms[platform]!;
  const id = `skip-${platform}-${k.key}`;
  return (
    <li className={a.deprecated ? 'deprecated' : undefined}>
      <input id={id} type="checkbox" checked={checked} disabled={readOnly} onChange={(e) => onToggle(e.target.checked)} aria-describedby={`${id}-desc`} />
      <label htmlFor={id}>
        <span className="skip-key">{k.key}</span>{' '}
        <span className="skip-since">
          {OS_NAME[platform]} {a.since}+{a.deprecated && ` · pane gone since ${a.deprecated}`}
        </span>
        {a.notAlwaysSkippable && (
          <Badge tone="warn" title="The pane can appear before the device has downloaded its profile, so skipping it is best effort.">
            best effort
          </Badge>
        )}
      </label>
      <small id={`${id}-desc`} className="hint">
        {k.description}
      </small>
    </li>
  );
}
