/**
 * The devices Apple Business Manager assigned to our MDM servers, up to 100,000 of them: searched,
 * filtered and sorted on the server (the filters live in the URL), exported as CSV with the same
 * filter, and — for admins who may operate — given, moved to or relieved of an enrollment profile
 * in bulk with a result per device. Each serial leads to the device's ADE timeline.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { api, messageOf, unwrap, type paths } from '../api/client';
import { ConfirmDialog, Modal } from '../components/confirm';
import { DataTable, type Column } from '../components/data-table';
import { fileNameOf, saveFile } from '../components/save-file';
import { plural } from '../components/plural';
import { StatusBadge } from '../components/status-badge';
import { Badge, EmptyState, ErrorBanner, Notice, PageHeader, Progress, Spinner, When } from '../components/ui';
import { FilterSelect, useSettledSearch } from '../components/list-filters';
import { useLoad } from '../components/use-load';
import { Link, useQueryState } from '../router';
import { useSession } from '../session';
import { LIFECYCLE, PROFILE_STATUS, lifecycleStatus, profileStatus } from './device-labels';
import './abm-devices.css';

type Query = NonNullable<paths['/api/v1/abm-devices']['get']['parameters']['query']>;
export type AbmDevice = paths['/api/v1/abm-devices']['get']['responses'][200]['content']['application/json']['items'][number];
type Server = paths['/api/v1/abm-servers']['get']['responses'][200]['content']['application/json']['items'][number];
type Profile = paths['/api/v1/abm-servers/{id}/profiles']['get']['responses'][200]['content']['application/json']['items'][number];
type Outcome = paths['/api/v1/abm-devices/assign']['post']['responses'][200]['content']['application/json']['results'][number];

const PAGE = 50;
const PAGE_SIZES = [25, 50, 100, 200];
/** Rows per page, from the address (any size the API takes; the menu offers a few). */
const pageSize = (qs: Record<string, string>) => Math.min(1000, Math.max(1, Number(qs.limit) || PAGE));
/** Serials per assign/remove request: small enough that progress moves, large enough to stay quick. */
const BATCH = 100;
/** The API takes at most this many serials a request; "select all matching" stops there too. */
const MAX_SELECTION = 10_000;

const FILTER_KEYS = ['q', 'server', 'profile', 'profileStatus', 'lifecycle', 'state'] as const;

/** The list's query from the address: the same filter drives the list and the CSV export. */
function filterOf(qs: Record<string, string>): Query {
  return {
    search: qs.q || undefined,
    server: qs.server || undefined,
    profile: qs.profile || undefined,
    profileStatus: (qs.profileStatus || undefined) as Query['profileStatus'],
    lifecycle: (qs.lifecycle || undefined) as Query['lifecycle'],
    state: (qs.state || undefined) as Query['state'],
  };
}

/** Servers and their profiles, for the filters, the profile names in the table and the assign dialog. */
function useCatalogue() {
  return useLoad(async () => {
    const { items: servers } = await unwrap(api.GET('/api/v1/abm-servers'));
    const lists = await Promise.all(servers.map((s) => unwrap(api.GET('/api/v1/abm-servers/{id}/profiles', { params: { path: { id: s.id } } }))));
    const profiles = lists.flatMap((l) => l.items);
    return { servers, profiles, serverName: new Map(servers.map((s) => [s.id, s.name])) };
  }, []);
}
type Catalogue = NonNullable<ReturnType<typeof useCatalogue>['data']>;

/** What Pomona assigns to the device: its profile, its server's default, or nothing after a removal. */
export function profileLabel(d: AbmDevice, profiles: Pick<Profile, 'id' | 'name' | 'isDefault' | 'abmServerId'>[] | undefined): { text: string; muted?: boolean } {
  if (!d.automaticAssignment && d.profileId === null) return { text: 'None (removed by an admin)', muted: true };
  if (d.profileId) return { text: profiles?.find((p) => p.id === d.profileId)?.name ?? d.profileId };
  const def = profiles?.find((p) => p.abmServerId === d.abmServerId && p.isDefault);
  return def ? { text: `${def.name} (default)` } : { text: 'Server default — none defined', muted: true };
}

export function AbmDevices(_: { params: Record<string, string> }) {
  const session = useSession();
  const canOperate = session.can('operate');
  const [qs, setQs] = useQueryState();
  const filter = filterOf(qs);
  const sort = (qs.sort || 'serial_number') as NonNullable<Query['sort']>;
  const order = qs.order === 'desc' ? 'desc' : 'asc';
  const offset = Number(qs.offset) || 0;
  const limit = pageSize(qs);
  const filterKey = JSON.stringify(filter);

  const catalogue = useCatalogue();
  const list = useLoad(
    () => unwrap(api.GET('/api/v1/abm-devices', { params: { query: { ...filter, sort, order, limit, offset } } })),
    [filterKey, sort, order, offset, limit],
  );

  // Selected serial → its ABM server (assign and remove act per server).
  const [selected, setSelected] = useState(new Map<string, string>());
  useEffect(() => setSelected(new Map()), [filterKey]);
  const [dialog, setDialog] = useState<'assign' | 'remove' | null>(null);
  const [run, setRun] = useState<BulkJob | null>(null);
  const [selecting, setSelecting] = useState<{ done: number; total: number } | null>(null);
  const [selectError, setSelectError] = useState<string>();

  const rows = list.data?.items ?? [];
  const total = list.data?.total ?? 0;
  const filtered = FILTER_KEYS.some((k) => qs[k]);
  const setFilter = (changes: Record<string, string | undefined>) => setQs({ ...changes, offset: undefined });

  const onSelection = (next: Set<string>) => {
    const m = new Map<string, string>();
    for (const serial of next) m.set(serial, selected.get(serial) ?? rows.find((r) => r.serialNumber === serial)?.abmServerId ?? '');
    setSelected(m);
  };

  /** Every device the filter matches, read a page at a time (the API assigns serials it is given). */
  const selectAllMatching = async () => {
    setSelectError(undefined);
    const want = Math.min(total, MAX_SELECTION);
    const m = new Map<string, string>();
    setSelecting({ done: 0, total: want });
    try {
      for (let at = 0; at < want; at += 1000) {
        const page = await unwrap(api.GET('/api/v1/abm-devices', { params: { query: { ...filter, sort: 'serial_number', limit: Math.min(1000, want - at), offset: at } } }));
        for (const d of page.items) m.set(d.serialNumber, d.abmServerId);
        setSelecting({ done: m.size, total: want });
        if (page.items.length === 0) break;
      }
      setSelected(m);
    } catch (err) {
      setSelectError(messageOf(err));
    } finally {
      setSelecting(null);
    }
  };

  const columns = useMemo<Column<AbmDevice>[]>(() => {
    const c = catalogue.data;
    return [
      {
        key: 'serial', header: 'Serial number', sort: 'serial_number',
        render: (d) => (
          <>
            <Link to={`/abm-devices/${encodeURIComponent(d.serialNumber)}`} className="mono" aria-label={`${d.serialNumber} timeline`}>
              {d.serialNumber}
            </Link>
            {(d.description || d.assetTag) && <div className="muted abm-note">{[d.description, d.assetTag && `tag ${d.assetTag}`].filter(Boolean).join(' · ')}</div>}
          </>
        ),
      },
      { key: 'model', header: 'Model', sort: 'model', render: (d) => <>{d.model ?? '—'}<div className="muted abm-note">{[d.deviceFamily, d.os].filter(Boolean).join(' · ')}</div></> },
      ...(c && c.servers.length > 1 ? [{ key: 'server', header: 'ABM server', render: (d: AbmDevice) => c.serverName.get(d.abmServerId) ?? d.abmServerId }] : []),
      {
        key: 'profile', header: 'Enrollment profile',
        render: (d) => {
          const p = profileLabel(d, c?.profiles);
          return <span className={p.muted ? 'muted' : undefined}>{p.text}</span>;
        },
      },
      {
        key: 'status', header: 'At Apple', sort: 'profile_status',
        render: (d) => {
          if (d.removedAt) return <Badge tone="bad" title="no longer assigned to this MDM server in ABM">Removed from ABM</Badge>;
          return <StatusBadge status={profileStatus(d.profileStatus)} />;
        },
      },
      {
        key: 'assignment', header: 'Last assignment',
        render: (d) => {
          if (d.assignment.inProgress) return <Badge tone="info">Assigning…</Badge>;
          if (!d.assignment.lastResult) return <span className="muted">—</span>;
          if (d.assignment.lastResult === 'SUCCESS') return <Badge tone="good">Succeeded</Badge>;
          return (
            <>
              <Badge tone="bad">{d.assignment.lastResult}</Badge>
              {d.assignment.lastError && <div className="abm-note abm-failure">{d.assignment.lastError}</div>}
            </>
          );
        },
      },
      {
        key: 'lifecycle', header: 'Lifecycle',
        render: (d) => {
          const l = lifecycleStatus(d.lifecycleState);
          return d.deviceId ? (
            <Link to={`/devices/${encodeURIComponent(d.deviceId)}`} title="Open the enrolled device">
              <Badge tone={l.tone}>{l.label}</Badge>
            </Link>
          ) : (
            <StatusBadge status={l} />
          );
        },
      },
      { key: 'added', header: 'Added to ABM', sort: 'device_assigned_date', className: 'abm-when', render: (d) => <When at={d.deviceAssignedDate ?? d.firstSeenAt} /> },
    ];
  }, [catalogue.data]);

  const noServers = catalogue.data && catalogue.data.servers.length === 0;
  const targets = [...selected].map(([serial, serverId]) => ({ serial, serverId }));

  return (
    <>
      <PageHeader
        title="ABM devices"
        subtitle={
          <>
            Devices Apple Business Manager assigned to your MDM servers{session.atScopeRoot ? '' : <> in <strong>{session.group.name}</strong></>}. Open a serial number for
            the device’s enrollment timeline.
          </>
        }
        actions={<CsvExport filter={filter} total={list.data?.total} />}
      />
      <ErrorBanner error={catalogue.error ?? list.error} />
      {noServers ? (
        <EmptyState
          title={session.atScopeRoot ? 'No ABM server connected yet' : `No ABM server serves ${session.group.name}`}
          action={<Link to="/abm-servers" className="button primary">Go to ABM servers</Link>}
        >
          {session.atScopeRoot
            ? 'Connect Pomona to Apple Business Manager first: add an ABM server, upload its public key to Apple and the token file Apple gives back. Its devices appear here after the first sync.'
            : 'Devices are listed under the organization group of their ABM server. Choose a group higher up at the top of the page, or place an ABM server in this group.'}
        </EmptyState>
      ) : (
        <>
          <Filters qs={qs} catalogue={catalogue.data} onChange={setFilter} onClear={filtered ? () => setFilter(Object.fromEntries(FILTER_KEYS.map((k) => [k, undefined]))) : undefined} />
          {canOperate && (
            <BulkBar
              selected={selected.size}
              total={total}
              pageSelected={rows.length > 0 && rows.every((r) => selected.has(r.serialNumber))}
              selecting={selecting}
              error={selectError}
              onSelectAll={() => void selectAllMatching()}
              onAssign={() => setDialog('assign')}
              onRemove={() => setDialog('remove')}
              onClear={() => setSelected(new Map())}
            />
          )}
          {!list.data && !list.error ? (
            <Spinner label="Loading devices…" />
          ) : list.data && total === 0 ? (
            filtered ? (
              <EmptyState title="No devices match these filters">
                Try a shorter search or fewer filters.
              </EmptyState>
            ) : (
              <EmptyState title="No devices from Apple yet" action={<Link to="/abm-servers" className="button">Sync an ABM server</Link>}>
                Assign devices to your Pomona MDM server in Apple Business Manager; they appear here after the next sync (or sync now from ABM servers).
              </EmptyState>
            )
          ) : (
            list.data && (
              <DataTable
                caption="ABM devices"
                columns={columns}
                rows={rows}
                rowKey={(d) => d.serialNumber}
                total={total}
                offset={offset}
                limit={limit}
                onPage={(o) => setQs({ offset: o || undefined })}
                sort={{ key: sort, order }}
                onSort={(key, o) => setQs({ sort: key === 'serial_number' ? undefined : key, order: o === 'asc' ? undefined : o, offset: undefined })}
                selection={canOperate ? { selected: new Set(selected.keys()), onChange: onSelection } : undefined}
                loading={list.loading}
              />
            )
          )}
        </>
      )}
      {dialog === 'assign' && catalogue.data && (
        <AssignDialog targets={targets} catalogue={catalogue.data} onClose={() => setDialog(null)} onStart={(job) => (setDialog(null), setRun(job))} />
      )}
      {dialog === 'remove' && (
        <ConfirmDialog
          title={`Remove the enrollment profile from ${plural(selected.size, 'device')}?`}
          confirmLabel="Remove profile"
          onConfirm={() => setRun({ kind: 'remove', targets })}
          onClose={() => setDialog(null)}
        >
          <p>
            Pomona asks Apple to remove their enrollment profile. Until you assign them a profile again, these devices will not enroll with Pomona when they go through
            Setup Assistant, and Pomona will not assign its default profile to them.
          </p>
          <p className="muted">Devices that are already enrolled stay enrolled; this only affects their next Setup Assistant.</p>
        </ConfirmDialog>
      )}
      {run && (
        <BulkRun
          job={run}
          onClose={() => {
            setRun(null);
            setSelected(new Map());
            void list.reload();
          }}
        />
      )}
    </>
  );
}

function Filters({ qs, catalogue, onChange, onClear }: { qs: Record<string, string>; catalogue: Catalogue | undefined; onChange(c: Record<string, string | undefined>): void; onClear?(): void }) {
  // The change merges into the address as it is by then (another filter may have changed meanwhile).
  const search = useSettledSearch(qs.q ?? '', (q) => onChange({ q }));
  const profiles = catalogue?.profiles.filter((p) => !qs.server || p.abmServerId === qs.server) ?? [];
  return (
    <form className="toolbar abm-filters" role="search" aria-label="Filter devices" onSubmit={(e) => (e.preventDefault(), search.commitNow())}>
      <label>
        Search
        <input type="search" value={search.text} onChange={(e) => search.setText(e.target.value)} placeholder="Serial, model, description, asset tag" />
      </label>
      {catalogue && catalogue.servers.length > 1 && (
        <FilterSelect label="ABM server" any="All servers" value={qs.server} options={catalogue.servers.map((s: Server) => [s.id, s.name])} onChange={(v) => onChange({ server: v, profile: undefined })} />
      )}
      <FilterSelect
        label="Enrollment profile"
        any="Any profile"
        value={qs.profile}
        options={profiles.map((p: Profile) => [p.id, `${p.name}${catalogue && catalogue.servers.length > 1 && !qs.server ? ` — ${catalogue.serverName.get(p.abmServerId)}` : ''}`])}
        onChange={(v) => onChange({ profile: v })}
      />
      <FilterSelect label="Status at Apple" any="Any status" value={qs.profileStatus} options={Object.entries(PROFILE_STATUS).map(([k, v]) => [k, v.label])} onChange={(v) => onChange({ profileStatus: v })} />
      <FilterSelect label="Lifecycle" any="Any state" value={qs.lifecycle} options={Object.entries(LIFECYCLE).map(([k, v]) => [k, v.label])} onChange={(v) => onChange({ lifecycle: v })} />
      <FilterSelect label="In ABM" any="In ABM or removed" value={qs.state} options={[['active', 'In ABM now'], ['removed', 'Removed from ABM']]} onChange={(v) => onChange({ state: v })} />
      <FilterSelect label="Per page" value={String(pageSize(qs))} options={[...new Set([...PAGE_SIZES, pageSize(qs)])].sort((a, b) => a - b).map((n) => [String(n), String(n)])} onChange={(v) => onChange({ limit: v === String(PAGE) ? undefined : v })} />
      {onClear && (
        <button type="button" className="ghost" onClick={onClear}>
          Clear filters
        </button>
      )}
    </form>
  );
}

function BulkBar(p: {
  selected: number; total: number; pageSelected: boolean; selecting: { done: number; total: number } | null; error?: string;
  onSelectAll(): void; onAssign(): void; onRemove(): void; onClear(): void;
}) {
  if (p.selecting) return <Progress value={p.selecting.total ? p.selecting.done / p.selecting.total : undefined} label={`Selecting ${p.selecting.done.toLocaleString()} of ${p.selecting.total.toLocaleString()} matching devices…`} />;
  if (p.selected === 0) return <ErrorBanner error={p.error} />;
  const more = p.pageSelected && p.selected < Math.min(p.total, MAX_SELECTION);
  return (
    <div className="bulk-bar" role="region" aria-label="Bulk actions">
      <strong>{p.selected.toLocaleString()} selected</strong>
      {more && (
        <button type="button" className="link" onClick={p.onSelectAll}>
          Select all {Math.min(p.total, MAX_SELECTION).toLocaleString()} matching devices{p.total > MAX_SELECTION ? ' (the first 10,000)' : ''}
        </button>
      )}
      <span className="spacer" />
      <button type="button" className="primary" onClick={p.onAssign}>Assign or move profile…</button>
      <button type="button" onClick={p.onRemove}>Remove profile…</button>
      <button type="button" className="ghost" onClick={p.onClear}>Clear selection</button>
    </div>
  );
}

export interface BulkJob {
  kind: 'assign' | 'remove';
  targets: { serial: string; serverId: string }[];
  /** assign: the profile (null: each server's default) and, for a named profile, its server */
  profile?: { id: string | null; serverId?: string; name: string };
}

function AssignDialog({ targets, catalogue, onClose, onStart }: { targets: BulkJob['targets']; catalogue: Catalogue; onClose(): void; onStart(j: BulkJob): void }) {
  const servers = new Set(targets.map((t) => t.serverId));
  const [choice, setChoice] = useState('');
  const profile = catalogue.profiles.find((p) => p.id === choice);
  const elsewhere = profile ? targets.filter((t) => t.serverId !== profile.abmServerId).length : 0;
  const offered = catalogue.servers.filter((s) => servers.has(s.id));
  return (
    <Modal title={`Assign a profile to ${plural(targets.length, 'device')}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!choice) return;
          onStart({ kind: 'assign', targets, profile: profile ? { id: profile.id, serverId: profile.abmServerId, name: profile.name } : { id: null, name: 'their server’s default profile' } });
        }}
      >
        <div className="field">
          <label htmlFor="assign-profile">Enrollment profile</label>
          <select id="assign-profile" value={choice} onChange={(e) => setChoice(e.target.value)} required>
            <option value="">Choose a profile…</option>
            <option value="default">Each server’s default profile</option>
            {offered.map((s) => (
              <optgroup key={s.id} label={s.name}>
                {catalogue.profiles.filter((p) => p.abmServerId === s.id).map((p) => (
                  <option key={p.id} value={p.id}>{p.name}{p.isDefault ? ' (default)' : ''}</option>
                ))}
              </optgroup>
            ))}
          </select>
          <small className="hint">
            Pomona tells Apple now; the devices get this profile the next time they go through Setup Assistant, and stay on it when it is edited. Devices already on
            another profile move to this one.
          </small>
        </div>
        {elsewhere > 0 && (
          <Notice tone="warning">
            {elsewhere.toLocaleString()} of the selected devices belong to another ABM server, whose devices cannot take this profile; they will be skipped.
          </Notice>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="primary" disabled={!choice}>Assign profile</button>
        </div>
      </form>
    </Modal>
  );
}

const RESULT_TEXT: Record<string, string> = {
  SUCCESS: 'Done', NOT_ACCESSIBLE: 'Not accessible', FAILED: 'Failed at Apple', THROTTLED: 'Throttled by Apple', NOT_FOUND: 'Not found', BUSY: 'Busy', ERROR: 'Error', SKIPPED: 'Skipped',
};

/** Runs a bulk job a batch at a time, showing progress, then each device's result (problems first). */
function BulkRun({ job, onClose }: { job: BulkJob; onClose(): void }) {
  const [results, setResults] = useState<Outcome[]>([]);
  const [finished, setFinished] = useState(false);
  const [stop, setStop] = useState(false);
  const [closeWhenDone, setCloseWhenDone] = useState(false);
  const stopRef = useRef(false);
  const started = useRef(false);
  useEffect(() => {
    // Once per job: development's StrictMode runs effects twice, and a request is not undone.
    if (started.current) return;
    started.current = true;
    void (async () => {
      const skipped = job.profile?.serverId ? job.targets.filter((t) => t.serverId !== job.profile!.serverId) : [];
      if (skipped.length) setResults(skipped.map((t) => ({ serial: t.serial, result: 'SKIPPED', error: 'on another ABM server than the profile' })));
      const byServer = new Map<string, string[]>();
      for (const t of job.targets) if (!skipped.includes(t)) byServer.set(t.serverId, [...(byServer.get(t.serverId) ?? []), t.serial]);
      for (const [serverId, serials] of byServer) {
        for (let i = 0; i < serials.length && !stopRef.current; i += BATCH) {
          const batch = serials.slice(i, i + BATCH);
          let out: Outcome[];
          try {
            const call =
              job.kind === 'assign'
                ? api.POST('/api/v1/abm-devices/assign', { body: { serverId, serials: batch, profileId: job.profile?.id ?? null } })
                : api.POST('/api/v1/abm-devices/remove', { body: { serverId, serials: batch } });
            out = (await unwrap(call)).results;
          } catch (err) {
            out = batch.map((serial) => ({ serial, result: 'ERROR', error: messageOf(err) }));
          }
          setResults((r) => [...r, ...out]);
        }
      }
      setFinished(true);
    })();
  }, [job]);
  const requestStop = () => {
    stopRef.current = true;
    setStop(true);
  };
  // Escape closes the dialog at once: the run stops after its current batch, then the list reloads.
  useEffect(() => {
    if (finished && closeWhenDone) onClose();
  }, [finished, closeWhenDone, onClose]);

  const verb = job.kind === 'assign' ? `Assigning ${job.profile?.name ?? ''}` : 'Removing the profile';
  const failed = results.filter((r) => r.result !== 'SUCCESS');
  const ok = results.length - failed.length;
  const shown = [...failed, ...results.filter((r) => r.result === 'SUCCESS')];
  return (
    <Modal title={job.kind === 'assign' ? 'Assign profile' : 'Remove profile'} onClose={() => (finished ? onClose() : (requestStop(), setCloseWhenDone(true)))} wide>
      {!finished ? (
        <>
          <Progress value={results.length / job.targets.length} label={`${verb}… ${results.length.toLocaleString()} of ${plural(job.targets.length, 'device')}`} />
          {stop && <p className="muted">Stopping after the current batch…</p>}
        </>
      ) : (
        <Notice tone={failed.length ? (ok ? 'warning' : 'error') : 'success'}>
          {ok.toLocaleString()} of {job.targets.length.toLocaleString()} {job.kind === 'assign' ? 'assigned' : 'removed'}
          {failed.length > 0 && <>; {failed.length.toLocaleString()} not — see why below</>}
          {results.length < job.targets.length && <> ({(job.targets.length - results.length).toLocaleString()} not attempted: stopped)</>}.
        </Notice>
      )}
      {results.length > 0 && (
        <div className="table-wrap bulk-results">
          <table>
            <caption className="visually-hidden">Result per device</caption>
            <thead>
              <tr>
                <th>Serial number</th>
                <th>Result</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => (
                <tr key={r.serial}>
                  <td className="mono">{r.serial}</td>
                  <td>
                    <Badge tone={r.result === 'SUCCESS' ? 'good' : r.result === 'SKIPPED' ? 'neutral' : 'bad'}>{RESULT_TEXT[r.result] ?? r.result}</Badge>
                  </td>
                  <td className={r.error ? 'abm-failure' : 'muted'}>{r.error ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="dialog-actions">
        {!finished ? (
          <button type="button" disabled={stop} onClick={requestStop}>Stop</button>
        ) : (
          <button type="button" className="primary" onClick={onClose} autoFocus>Done</button>
        )}
      </div>
    </Modal>
  );
}

/** The CSV of everything the filter matches, streamed from the server with a running count. */
function CsvExport({ filter, total }: { filter: Query; total: number | undefined }) {
  const [progress, setProgress] = useState<{ rows: number; abort: AbortController } | null>(null);
  const [error, setError] = useState<string>();
  const start = async () => {
    const abort = new AbortController();
    setError(undefined);
    setProgress({ rows: 0, abort });
    try {
      const res = await api.GET('/api/v1/abm-devices.csv', { params: { query: filter }, parseAs: 'stream', signal: abort.signal });
      // A refusal throws with the server's message; the body of an answer is read as it streams in.
      if (!res.response.ok || !res.data) return void (await unwrap(Promise.resolve(res)));
      const reader = (res.data as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      const parts: string[] = [];
      let lines = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        parts.push(text);
        for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
        setProgress({ rows: Math.max(0, lines - 1), abort });
      }
      parts.push(decoder.decode());
      saveFile(fileNameOf(res.response, 'abm-devices.csv'), parts.join(''), 'text/csv');
    } catch (err) {
      if (!abort.signal.aborted) setError(messageOf(err));
    } finally {
      setProgress(null);
    }
  };
  if (progress) {
    return (
      <div className="csv-progress">
        <Progress
          value={total ? Math.min(1, progress.rows / total) : undefined}
          label={`Downloading CSV… ${total !== undefined ? `${progress.rows.toLocaleString()} of ${plural(total, 'device')}` : plural(progress.rows, 'device')}`}
        />
        <button type="button" onClick={() => progress.abort.abort()}>Cancel</button>
      </div>
    );
  }
  return (
    <>
      {error && <span className="abm-failure" role="alert">{error}</span>}
      <button type="button" onClick={() => void start()} disabled={total === 0}>
        Export CSV{total !== undefined ? ` (${total.toLocaleString()})` : ''}
      </button>
    </>
  );
}
