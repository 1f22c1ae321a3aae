/**
 * The profile editor's form plumbing: the draft is the API's settings object edited by dotted
 * path (`pomona.osRules.iOS.minimum.version`), the same paths the API names in its problems,
 * so each field finds its own message by its path — which is also its element id.
 */
import { createContext, useContext, type ReactNode } from 'react';
import { Field } from '../components/ui';

type Obj = Record<string, unknown>;

export function getAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Obj)[key];
  }
  return cur;
}

/** A copy of `obj` with `path` set; '' and undefined remove the key (the API reads both as "not set"). */
export function setAt<T>(obj: T, path: string, value: unknown): T {
  const [key, ...rest] = path.split('.');
  const here = (obj && typeof obj === 'object' ? { ...(obj as Obj) } : {}) as Obj;
  if (rest.length === 0) {
    if (value === '' || value === undefined) delete here[key!];
    else here[key!] = value;
  } else {
    here[key!] = setAt(here[key!], rest.join('.'), value);
  }
  return here as T;
}

/** Drops empty objects left behind by cleared fields, except at `keep` paths (a toggled-on section). */
export function prune(value: unknown, keep: Set<string>, path = ''): unknown {
  if (Array.isArray(value) || value === null || typeof value !== 'object') return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value as Obj)) {
    const p = path ? `${path}.${k}` : k;
    const pruned = prune(v, keep, p);
    if (pruned && typeof pruned === 'object' && !Array.isArray(pruned) && Object.keys(pruned).length === 0 && !keep.has(p)) continue;
    out[k] = pruned;
  }
  return out;
}

export interface FormCtx {
  draft: unknown;
  set(path: string, value: unknown): void;
  /** the API's message for a path, if any */
  error(path: string): string | undefined;
  /** a read-only admin sees the settings without controls that change them */
  readOnly: boolean;
}

export const Form = createContext<FormCtx | null>(null);

function useForm(): FormCtx {
  const f = useContext(Form);
  if (!f) throw new Error('field outside the profile form');
  return f;
}

export function TextField({ path, label, hint, type = 'text', placeholder, list, maxLength, className }: { path: string; label: string; hint?: ReactNode; type?: string; placeholder?: string; list?: string; maxLength?: number; className?: string }) {
  const f = useForm();
  const error = f.error(path);
  return (
    <div className={className}>
      <Field id={path} label={label} hint={hint} error={error}>
        <input
          id={path}
          type={type}
          value={String(getAt(f.draft, path) ?? '')}
          placeholder={placeholder}
          list={list}
          maxLength={maxLength}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${path}-error` : undefined}
          readOnly={f.readOnly}
          onChange={(e) => f.set(path, e.target.value)}
        />
      </Field>
    </div>
  );
}

export function NumberField({ path, label, hint, min, max, placeholder }: { path: string; label: string; hint?: ReactNode; min?: number; max?: number; placeholder?: string }) {
  const f = useForm();
  const error = f.error(path);
  const v = getAt(f.draft, path);
  return (
    <Field id={path} label={label} hint={hint} error={error}>
      <input
        id={path}
        type="number"
        inputMode="numeric"
        min={min}
        max={max}
        placeholder={placeholder}
        value={typeof v === 'number' ? v : ''}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${path}-error` : undefined}
        readOnly={f.readOnly}
        onChange={(e) => f.set(path, e.target.value === '' ? undefined : Number(e.target.value))}
      />
    </Field>
  );
}

/** A checkbox showing the API's default while the admin has not chosen. */
export function CheckField({ path, label, hint, def = false }: { path: string; label: string; hint?: ReactNode; def?: boolean }) {
  const f = useForm();
  const error = f.error(path);
  const v = getAt(f.draft, path);
  return (
    <div className={`check-field${error ? ' invalid' : ''}`}>
      <label className="check">
        <input id={path} type="checkbox" checked={typeof v === 'boolean' ? v : def} disabled={f.readOnly} aria-describedby={error ? `${path}-error` : undefined} onChange={(e) => f.set(path, e.target.checked)} />
        <span>
          <span className="check-label">{label}</span>
          {hint && <small className="hint">{hint}</small>}
        </span>
      </label>
      <FieldError id={`${path}-error`} message={error} />
    </div>
  );
}

export function SelectField({ path, label, hint, options, def }: { path: string; label: string; hint?: ReactNode; options: { value: string; label: string }[]; def?: string }) {
  const f = useForm();
  const error = f.error(path);
  return (
    <Field id={path} label={label} hint={hint} error={error}>
      <select id={path} value={String(getAt(f.draft, path) ?? def ?? '')} disabled={f.readOnly} aria-describedby={error ? `${path}-error` : undefined} onChange={(e) => f.set(path, e.target.value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** The API's message about a field, in place (nothing when there is none). */
export function FieldError({ id, message }: { id?: string; message?: string }) {
  if (!message) return null;
  return (
    <small className="field-error" role="alert" id={id}>
      {message}
    </small>
  );
}

/** A section of the form; the API's message about the section as a whole shows at its top. */
export function Section({ id, title, intro, children }: { id: string; title: string; intro?: ReactNode; children: ReactNode }) {
  const f = useForm();
  const error = f.error(id);
  return (
    <fieldset id={id} className="profile-section" tabIndex={-1}>
      <legend>{title}</legend>
      {intro && <p className="muted section-intro">{intro}</p>}
      <FieldError message={error} />
      {children}
    </fieldset>
  );
}
