/**
 * A device's answer (a plist, which the API gives as JSON; data as base64) shown as people read
 * it: dictionaries as key/value lists, arrays numbered, long arrays folded, values typed.
 */
import type { ReactNode } from 'react';
import './plist-view.css';

const FOLD_AFTER = 20;

export function PlistView({ value }: { value: unknown }) {
  return <div className="plist">{node(value, 0)}</div>;
}

function node(value: unknown, depth: number): ReactNode {
  if (value === null || value === undefined) return <span className="muted">none</span>;
  if (typeof value === 'boolean') return <span className="plist-bool">{value ? 'true' : 'false'}</span>;
  if (typeof value === 'number') return <span className="plist-number">{value.toLocaleString()}</span>;
  if (typeof value === 'string') return <span className="plist-string">{value === '' ? <span className="muted">(empty)</span> : value}</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span className="muted">(empty list)</span>;
    const items = value.map((v, i) => (
      <li key={i}>
        {node(v, depth + 1)}
      </li>
    ));
    const list = <ol className="plist-array">{items}</ol>;
    if (value.length <= FOLD_AFTER) return list;
    return (
      <details>
        <summary>{value.length.toLocaleString()} items</summary>
        {list}
      </details>
    );
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return <span className="muted">(empty)</span>;
    return (
      <dl className="plist-dict">
        {entries.map(([k, v]) => (
          <div key={k} className="plist-entry">
            <dt>{k}</dt>
            <dd>{node(v, depth + 1)}</dd>
          </div>
        ))}
      </dl>
    );
  }
  return String(value);
}
