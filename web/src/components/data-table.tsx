/**
 * A list that pages, sorts and filters on the server (lists reach 100,000 ABM devices): the
 * page shows `rows`, the table says which slice of `total` it is and asks for another page or
 * order through `onPage` / `onSort`. Rows are selectable for bulk actions when `selection` is given.
 */
import type { ReactNode } from 'react';

export interface Column<T> {
  key: string;
  header: string;
  render(row: T): ReactNode;
  /** the server's sort key, when this column can be sorted */
  sort?: string;
  className?: string;
}

export interface DataTableProps<T> {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey(row: T): string;
  /** all matching rows on the server, when known */
  total?: number;
  offset?: number;
  limit?: number;
  onPage?(offset: number): void;
  sort?: { key: string; order: 'asc' | 'desc' };
  onSort?(key: string, order: 'asc' | 'desc'): void;
  selection?: { selected: Set<string>; onChange(next: Set<string>): void };
  loading?: boolean;
}

export function DataTable<T>({ caption, columns, rows, rowKey, total, offset = 0, limit = rows.length, onPage, sort, onSort, selection, loading }: DataTableProps<T>) {
  const keys = rows.map(rowKey);
  const allSelected = !!selection && keys.length > 0 && keys.every((k) => selection.selected.has(k));
  const toggleAll = () => {
    if (!selection) return;
    const next = new Set(selection.selected);
    for (const k of keys) allSelected ? next.delete(k) : next.add(k);
    selection.onChange(next);
  };
  const toggle = (k: string) => {
    if (!selection) return;
    const next = new Set(selection.selected);
    next.has(k) ? next.delete(k) : next.add(k);
    selection.onChange(next);
  };
  return (
    <div className="table-wrap" aria-busy={loading || undefined}>
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {selection && (
              <th className="select">
                <input type="checkbox" aria-label="Select all on this page" checked={allSelected} onChange={toggleAll} />
              </th>
            )}
            {columns.map((c) => (
              <th key={c.key} className={c.className} aria-sort={sort && c.sort && sort.key === c.sort ? (sort.order === 'asc' ? 'ascending' : 'descending') : undefined}>
                {c.sort && onSort ? (
                  <button type="button" className="sort" onClick={() => onSort(c.sort!, sort && sort.key === c.sort && sort.order === 'asc' ? 'desc' : 'asc')}>
                    {c.header}
                    <span aria-hidden="true">{sort?.key === c.sort ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                  </button>
                ) : (
                  c.header
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const k = rowKey(row);
            return (
              <tr key={k} className={selection?.selected.has(k) ? 'selected' : undefined}>
                {selection && (
                  <td className="select">
                    <input type="checkbox" aria-label={`Select ${k}`} checked={selection.selected.has(k)} onChange={() => toggle(k)} />
                  </td>
                )}
                {columns.map((c) => (
                  <td key={c.key} className={c.className}>
                    {c.render(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      {total !== undefined && onPage && <Pager total={total} offset={offset} limit={limit} onPage={onPage} />}
    </div>
  );
}

export function Pager({ total, offset, limit, onPage }: { total: number; offset: number; limit: number; onPage(offset: number): void }) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  return (
    <nav className="pager" aria-label="Pages">
      <span>
        {from.toLocaleString()}–{to.toLocaleString()} of {total.toLocaleString()}
      </span>
      <button type="button" disabled={offset === 0} onClick={() => onPage(Math.max(0, offset - limit))}>
        Previous
      </button>
      <button type="button" disabled={offset + limit >= total} onClick={() => onPage(offset + limit)}>
        Next
      </button>
    </nav>
  );
}
