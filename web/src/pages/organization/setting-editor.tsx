/**
 * Shows and edits one group setting in words and controls that fit its type (the catalogue is
 * src/org/group-settings.ts; the server validates and its message is shown in place). A setting
 * this console does not know yet is edited as JSON.
 */
import { useState } from 'react';
import { FormActions, useFormSubmit } from '../../components/form-submit';
import { Field } from '../../components/ui';
import type { Setting } from './group-settings-panel';

const AUTH_METHODS = [
  ['local', 'Local users (Pomona passwords)'],
  ['ldap', 'LDAP directory'],
  ['saml', 'SAML single sign-on'],
  ['oidc', 'OpenID Connect single sign-on'],
  ['registration-token', 'Registration token'],
] as const;
const OWNERSHIP = [
  ['corporate-dedicated', 'Corporate, dedicated to one user'],
  ['corporate-shared', 'Corporate, shared'],
  ['employee-owned', 'Employee-owned (BYOD)'],
] as const;

type Kind = 'boolean' | 'methods' | 'ownership' | 'lines' | 'lines-or-all' | 'terms' | 'json';
const KIND: Record<string, Kind> = {
  'enrollment.userEnrollmentAllowed': 'boolean',
  'enrollment.webEnrollmentAllowed': 'boolean',
  'enrollment.registrationTokenRequired': 'boolean',
  'enrollment.authenticationMethods': 'methods',
  'enrollment.defaultOwnership': 'ownership',
  'enrollment.termsOfUse': 'terms',
  'abm.visibleProfiles': 'lines-or-all',
  'alerts.recipients': 'lines',
};
const kindOf = (key: string): Kind => KIND[key] ?? 'json';

export function describeValue(key: string, value: unknown): string {
  switch (kindOf(key)) {
    case 'boolean':
      return value ? 'Yes' : 'No';
    case 'ownership':
      return OWNERSHIP.find(([v]) => v === value)?.[1] ?? String(value);
    case 'methods':
    case 'lines':
      return Array.isArray(value) && value.length ? value.join(', ') : 'None';
    case 'lines-or-all':
      return value === null ? 'Every profile of the ABM servers serving it' : Array.isArray(value) && value.length ? value.join(', ') : 'None';
    case 'terms': {
      const t = value as { version: number; text: string } | null;
      return t ? `Version ${t.version} (${t.text.length.toLocaleString()} characters)` : 'None';
    }
    default:
      return JSON.stringify(value);
  }
}

export function SettingEditor({ setting, onSave, onCancel }: { setting: Setting; onSave(value: unknown): Promise<void>; onCancel(): void }) {
  const kind = kindOf(setting.key);
  const v = setting.value;
  const [bool, setBool] = useState(Boolean(v));
  const [choice, setChoice] = useState(typeof v === 'string' ? v : OWNERSHIP[0][0]);
  const [methods, setMethods] = useState<string[]>(Array.isArray(v) ? (v as string[]) : []);
  const [lines, setLines] = useState(Array.isArray(v) ? (v as string[]).join('\n') : '');
  const [all, setAll] = useState(v === null);
  const terms = v as { version: number; text: string } | null;
  const [termsOn, setTermsOn] = useState(terms !== null);
  const [version, setVersion] = useState(terms?.version ?? 1);
  const [text, setText] = useState(terms?.text ?? '');
  const [json, setJson] = useState(JSON.stringify(v, null, 2));

  const value = (): unknown => {
    const list = lines.split('\n').map((l) => l.trim()).filter(Boolean);
    switch (kind) {
      case 'boolean':
        return bool;
      case 'ownership':
        return choice;
      case 'methods':
        return methods;
      case 'lines':
        return list;
      case 'lines-or-all':
        return all ? null : list;
      case 'terms':
        return termsOn ? { version, text } : null;
      default:
        return JSON.parse(json) as unknown;
    }
  };
  const submit = useFormSubmit(async () => onSave(value()));
  const error = submit.error;
  const id = 'setting-value';
  return (
    <form onSubmit={submit.onSubmit}>
      <p className="muted">{setting.description}. Saving sets it at this group; groups below inherit it unless they override it.</p>
      {kind === 'boolean' && (
        <Field id={id} label="Value" error={error}>
          <select id={id} value={bool ? 'yes' : 'no'} onChange={(e) => setBool(e.target.value === 'yes')}>
            <option value="yes">Yes</option>
            <option value="no">No</option>
          </select>
        </Field>
      )}
      {kind === 'ownership' && (
        <Field id={id} label="Ownership" error={error}>
          <select id={id} value={choice} onChange={(e) => setChoice(e.target.value)}>
            {OWNERSHIP.map(([o, label]) => (
              <option key={o} value={o}>
                {label}
              </option>
            ))}
          </select>
        </Field>
      )}
      {kind === 'methods' && (
        <fieldset>
          <legend>Sign-in methods</legend>
          {AUTH_METHODS.map(([m, label]) => (
            <label key={m} className="check">
              <input type="checkbox" checked={methods.includes(m)} onChange={(e) => setMethods(e.target.checked ? [...methods, m] : methods.filter((x) => x !== m))} />
              {label}
            </label>
          ))}
          {error && <p className="field-error" role="alert">{error}</p>}
        </fieldset>
      )}
      {(kind === 'lines' || kind === 'lines-or-all') && (
        <>
          {kind === 'lines-or-all' && (
            <label className="check">
              <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
              Offer every profile of the ABM servers serving this group
            </label>
          )}
          {!(kind === 'lines-or-all' && all) && (
            <Field id={id} label={kind === 'lines' ? 'E-mail addresses' : 'Profile ids'} hint="One a line." error={error}>
              <textarea id={id} value={lines} onChange={(e) => setLines(e.target.value)} />
            </Field>
          )}
          {kind === 'lines-or-all' && all && error && <p className="field-error" role="alert">{error}</p>}
        </>
      )}
      {kind === 'terms' && (
        <>
          <label className="check">
            <input type="checkbox" checked={termsOn} onChange={(e) => setTermsOn(e.target.checked)} />
            Users accept terms of use before enrolling
          </label>
          {termsOn && (
            <>
              <Field id="terms-version" label="Version" hint="Raise it when the text changes: users accept the new version.">
                <input id="terms-version" type="number" min={1} value={version} onChange={(e) => setVersion(Number(e.target.value))} />
              </Field>
              <Field id={id} label="Text" error={error}>
                <textarea id={id} value={text} onChange={(e) => setText(e.target.value)} rows={8} />
              </Field>
            </>
          )}
          {!termsOn && error && <p className="field-error" role="alert">{error}</p>}
        </>
      )}
      {kind === 'json' && (
        <Field id={id} label="Value (JSON)" error={error}>
          <textarea id={id} className="mono" value={json} onChange={(e) => setJson(e.target.value)} />
        </Field>
      )}
      <FormActions label="Save here" busy={submit.busy} onCancel={onCancel} />
    </form>
  );
}
