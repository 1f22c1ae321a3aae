/**
 * The audit log: who did what to which object, when, from where and with what outcome. Filters
 * live in the URL; pages come from the server by cursor (newest first); the CSV export takes the
 * same filter, so what is exported is what is shown, all pages of it.
 */
import { Fragment, useState } from 'react';
import { api, messageOf, unwrap, type paths } from '../api/client';
import { Badge, EmptyState, ErrorBanner, Notice, PageHeader, Progress, Spinner, When, type Tone } from '../components/ui';
import { useLoad } from '../components/use-load';
import { useQueryState } from '../router';
import { useSession } from '../session';
import { saveFile } from '../components/save-file';
import './audit-log.css';

type Query = NonNullable<paths['/api/v1/audit-events']['get']['parameters']['query']>;
type AuditEvent = paths['/api/v1/audit-events']['get']['responses'][200]['content']['application/json']['events'][number];
const LIMIT = 50;
const OUTCOME_TONE: Record<string, Tone> = { success: 'good', failure: 'bad', denied: 'warn' };
const FILTERS = ['actor', 'action', 'target'] as const;

/** datetime-local value ↔ epoch ms (the admin's own time zone) */
const toLocalInput = (ms: string | undefined) => (ms ? new Date(Number(ms) - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16) : '');
const fromLocalInput = (v: string) => (v ? String(new Date(v).getTime()) : null);

export function AuditLog(_: { params: Record<string, string> }) {
  const { can } = useSession();
  return (
    <>
      <PageHeader title="Audit log" subtitle="Every change and sign-in, by whom, from where, and whether it succeeded." />
      {can('admin') ? <AuditEvents /> : <Notice>The audit log is for administrators; your role cannot read it.</Notice>}
    </>
  );
}

function AuditEvents() {
  const [q, setQ] = useQueryState();
  const filter: Query = {
    actor: q.actor || undefined,
    action: q.action || undefined,
    target: q.target || undefined,
    outcome: (q.outcome || undefined) as Query['outcome'],
    since: q.since ? Number(q.since) : undefined,
    until: q.until ? Number(q.until) : undefined,
  };
  // Cursors of the pages before this one, so "Previous" goes back without re-counting.
  const [cursors, setCursors] = useState<number[]>([]);
  const cursor = cursors.at(-1);
  const key = JSON.stringify(filter);
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/audit-events', { params: { query: { ...filter, limit: LIMIT, cursor } } })), [key, cursor]);
  const [open, setOpen] = useState<Set<number>>(new Set());
  const [draft, setDraft] = useState<Record<string, string>>(() => ({ actor: q.actor ?? '', action: q.action ?? '', target: q.target ?? '' }));
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<string>();

  const apply = (changes: Record<string, string | null>) => {
    setCursors([]);
    setQ(changes);
  };
  const toggle = (id: number) => {
    const next = new Set(open);
    next.has(id) ? next.delete(id) : next.add(id);
    setOpen(next);
  };
  const exportCsv = async () => {
    setExporting(true);
    setExportError(undefined);
    try {
      const text = await unwrap(api.GET('/api/v1/audit-events.csv', { params: { query: filter }, parseAs: 'text' }));
      saveFile(`pomona-audit-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.csv`, text as unknown as string, 'text/csv');
    } catch (err) {
      setExportError(messageOf(err));
    } finally {
      setExporting(false);
    }
  };
  const events = loaded.data?.events;
  const filtered = Object.values(filter).some((v) => v !== undefined);

  return (
    <>
      <form
        className="toolbar audit-filters"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          apply({ actor: draft.actor, action: draft.action, target: draft.target });
        }}
      >
        {FILTERS.map((f) => (
          <label key={f}>
            {f[0]!.toUpperCase() + f.slice(1)}
            <input value={draft[f]} onChange={(e) => setDraft({ ...draft, [f]: e.target.value })} placeholder={f === 'actor' ? 'user:ada, token:…' : f === 'action' ? 'org.group.create' : 'an id'} />
          </label>
        ))}
        <label>
          Outcome
          <select value={q.outcome ?? ''} onChange={(e) => apply({ outcome: e.target.value })}>
            <option value="">Any</option>
            <option value="success">Success</option>
            <option value="failure">Failure</option>
            <option value="denied">Denied</option>
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={toLocalInput(q.since)} onChange={(e) => apply({ since: fromLocalInput(e.target.value) })} />
        </label>
        <label>
          Until
          <input type="datetime-local" value={toLocalInput(q.until)} onChange={(e) => apply({ until: fromLocalInput(e.target.value) })} />
        </label>
        <button type="submit" className="primary">
          Apply filters
        </button>
        {filtered && (
          <button
            type="button"
            className="ghost"
            onClick={() => {
              setDraft({ actor: '', action: '', target: '' });
              apply({ actor: null, action: null, target: null, outcome: null, since: null, until: null });
            }}
          >
            Clear
          </button>
        )}
        <button type="button" className="push-right" onClick={() => void exportCsv()} disabled={exporting}>
          Export CSV
        </button>
      </form>
      <p className="muted hint-line">Actor, action and target match exactly (e.g. action org.setting.set).</p>
      {exporting && <Progress label="Exporting every matching event…" />}
      <ErrorBanner error={exportError ?? loaded.error} />
      {!events && !loaded.error && <Spinner />}
      {events && events.length === 0 && (
        <EmptyState title={filtered ? 'No event matches these filters' : 'No events yet'}>{filtered ? 'Widen the time range or clear a filter.' : 'Sign-ins and every change made through the console or the API appear here.'}</EmptyState>
      )}
      {events && events.length > 0 && (
        <div className="table-wrap" aria-busy={loaded.loading || undefined}>
          <table className="audit-table">
            <caption className="visually-hidden">Audit events</caption>
            <thead>
              <tr>
                <th>When</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Target</th>
                <th>Outcome</th>
                <th>Source</th>
                <th>
                  <span className="visually-hidden">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <Fragment key={e.id}>
                  <tr data-event={e.action}>
                    <td>
                      <When at={e.at} />
                    </td>
                    <td>{e.actor}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td className="target">{e.target ?? <span className="muted">—</span>}</td>
                    <td>
                      <Badge tone={OUTCOME_TONE[e.outcome]}>{e.outcome}</Badge>
                    </td>
                    <td>{e.source ?? <span className="muted">—</span>}</td>
                    <td>
                      {e.details && (
                        <button type="button" className="link" aria-expanded={open.has(e.id)} aria-controls={`details-${e.id}`} onClick={() => toggle(e.id)}>
                          {open.has(e.id) ? 'Hide details' : 'Details'}
                        </button>
                      )}
                    </td>
                  </tr>
                  {open.has(e.id) && <DetailsRow event={e} />}
                </Fragment>
              ))}
            </tbody>
          </table>
          <nav className="pager" aria-label="Pages">
            <span>
              Page {cursors.length + 1} · newest first
            </span>
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              Newer
            </button>
            <button type="button" disabled={!loaded.data?.nextCursor} onClick={() => setCursors([...cursors, loaded.data!.nextCursor!])}>
              Older
            </button>
          </nav>
        </div>
      )}
    </>
  );
}

function DetailsRow({ event }: { event: AuditEvent }) {
  return (
    <tr className="details-row" id={`details-${event.id}`}>
      <td colSpan={7}>
        <dl className="facts">
          <dt>Event</dt>
          <dd>
            #{event.id} at {new Date(event.at).toISOString()}
          </dd>
          {Object.entries(event.details ?? {}).map(([k, v]) => (
            <Fragment key={k}>
              <dt>{k}</dt>
              <dd>
                <code>{typeof v === 'string' ? v : JSON.stringify(v)}</code>
              </dd>
            </Fragment>
          ))}
        </dl>
      </td>
    </tr>
  );
}
