/**
 * The controls of a filtered list whose filters live in the address: a search box that asks the
 * server once typing settles, and a drop-down whose empty choice means no filter.
 */
import { useEffect, useRef, useState } from 'react';

/**
 * The search box's text, committed to the address once typing settles for `delay` ms. When the
 * address changes under it (Back, Forward, "Clear filters") the box shows what the address says,
 * not the text typed before.
 */
export function useSettledSearch(value: string, commit: (q: string | undefined) => void, delay = 300) {
  const [text, setText] = useState(value);
  const latest = useRef(commit);
  latest.current = commit;
  // What the box last committed: an address equal to it is the box's own change coming back.
  const committed = useRef(value);
  useEffect(() => {
    if (value === committed.current) return;
    committed.current = value;
    setText(value);
  }, [value]);
  const commitNow = (q = text) => {
    committed.current = q;
    latest.current(q || undefined);
  };
  useEffect(() => {
    if (text === committed.current) return;
    const t = setTimeout(() => commitNow(text), delay);
    return () => clearTimeout(t);
  }, [text]); // eslint-disable-line react-hooks/exhaustive-deps
  return { text, setText, commitNow: () => commitNow() };
}

/** A filter's drop-down: `any` is the empty choice (no filter). */
export function FilterSelect({ label, any, value, options, onChange }: { label: string; any?: string; value: string | undefined; options: [string, string][]; onChange(v: string | undefined): void }) {
  return (
    <label>
      {label}
      <select value={value ?? ''} onChange={(e) => onChange(e.target.value || undefined)}>
        {any !== undefined && <option value="">{any}</option>}
        {options.map(([k, text]) => (
          <option key={k} value={k}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}
