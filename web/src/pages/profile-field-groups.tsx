/**
 * The profile form's compound fields: OS version rules (a row per platform), certificate lists
 * pasted as PEM, and free device attributes as name/value rows. Each control's id is the API's
 * path for it, so its problem shows beside it.
 */
import { useContext } from 'react';
import { FieldError, Form, getAt } from './profile-fields';

export interface AttributeRow {
  name: string;
  value: string;
}

const OS_RULE_FIELDS = [
  { key: 'minimum.version', label: 'Minimum version', placeholder: 'e.g. 17.4' },
  { key: 'minimum.build', label: 'Minimum build', placeholder: 'optional, e.g. 21E236' },
  { key: 'maximum.version', label: 'Maximum version', placeholder: 'e.g. 26' },
  { key: 'message', label: 'Message to the user', placeholder: 'Default: a generic message' },
] as const;

/** One row per targeted platform: a table reads better than five repeated blocks of four fields. */
export function OsRules({ platforms, labels }: { platforms: string[]; labels: Record<string, string> }) {
  const f = useContext(Form)!;
  return (
    <div className="table-wrap">
      <table className="os-rules">
        <thead>
          <tr>
            <th>Platform</th>
            {OS_RULE_FIELDS.map((c) => (
              <th key={c.key}>{c.label}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {platforms.map((p) => {
            return (
              <tr key={p} id={`pomona.osRules.${p}`}>
                <th scope="row">{labels[p]}</th>
                {OS_RULE_FIELDS.map((c) => {
                  const path = `pomona.osRules.${p}.${c.key}`;
                  const error = f.error(path);
                  return (
                    <td key={c.key} className={c.key === 'message' ? 'os-message' : undefined}>
                      <input
                        id={path}
                        aria-label={`${c.label} for ${labels[p]}`}
                        placeholder={c.placeholder}
                        value={String(getAt(f.draft, path) ?? '')}
                        readOnly={f.readOnly}
                        aria-invalid={error ? true : undefined}
                        onChange={(e) => f.set(path, e.target.value)}
                      />
                      <FieldError id={`${path}-error`} message={error} />
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function CertArea({ id, label, hint, value, error, readOnly, onChange }: { id: string; label: string; hint: string; value: string; error?: string; readOnly: boolean; onChange(v: string): void }) {
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <textarea id={id} value={value} readOnly={readOnly} rows={3} spellCheck={false} className="mono" onChange={(e) => onChange(e.target.value)} aria-describedby={error ? `${id}-error` : undefined} />
      <small className="hint">{hint}</small>
      <FieldError id={`${id}-error`} message={error} />
    </div>
  );
}

export function AttributeRows({ rows, readOnly, errorOf, onChange }: { rows: AttributeRow[]; readOnly: boolean; errorOf(name: string): string | undefined; onChange(rows: AttributeRow[]): void }) {
  const edit = (i: number, part: 'name' | 'value', v: string) => onChange(rows.map((r, j) => (j === i ? { ...r, [part]: v } : r)));
  return (
    <fieldset className="inline-set" id="pomona.deviceAttributes.custom">
      <legend>Device attributes</legend>
      <p className="muted">Free attributes recorded for each device enrolled with this profile (names of letters, digits, “_”, “-”, “.”).</p>
      {rows.length === 0 && <p className="muted">None.</p>}
      {rows.map((r, i) => {
        const error = errorOf(r.name.trim());
        return (
          <div key={i} className="attr-row">
            <input aria-label={`Attribute ${i + 1} name`} placeholder="name" value={r.name} readOnly={readOnly} onChange={(e) => edit(i, 'name', e.target.value)} aria-invalid={error ? true : undefined} />
            <input aria-label={`Attribute ${i + 1} value`} placeholder="value" value={r.value} readOnly={readOnly} onChange={(e) => edit(i, 'value', e.target.value)} />
            {!readOnly && (
              <button type="button" className="ghost" aria-label={`Remove attribute ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
                Remove
              </button>
            )}
            <FieldError message={error} />
          </div>
        );
      })}
      {!readOnly && (
        <button type="button" onClick={() => onChange([...rows, { name: '', value: '' }])}>
          Add attribute
        </button>
      )}
    </fieldset>
  );
}
