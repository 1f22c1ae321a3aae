/**
 * The commands sent to one device, newest first, with their status; a command's answer opens
 * readably (per channel: status, times, the device's result). While an answer is awaited the
 * list refreshes itself, so a command sent from the form shows its result when the device answers.
 */
import { useState } from 'react';
import { api, unwrap, type paths } from '../api/client';
import { Modal } from '../components/confirm';
import { DataTable, type Column } from '../components/data-table';
import { PlistView } from '../components/plist-view';
import { Badge, EmptyState, ErrorBanner, Spinner, When, type Tone } from '../components/ui';
import { useLoad, usePoll, type Loaded } from '../components/use-load';

export type DeviceCommand = paths['/api/v1/devices/{id}/commands']['get']['responses'][200]['content']['application/json']['commands'][number];

const STATUS: Record<string, { label: string; tone: Tone; hint: string }> = {
  Pending: { label: 'Waiting for the device', tone: 'info', hint: 'queued; the device runs it when it next checks in' },
  Acknowledged: { label: 'Done', tone: 'good', hint: 'the device ran the command' },
  Error: { label: 'Error', tone: 'bad', hint: 'the device could not run it; see its answer' },
  CommandFormatError: { label: 'Format error', tone: 'bad', hint: 'the device did not understand the command' },
  NotNow: { label: 'Not now', tone: 'warn', hint: 'the device was busy or locked; it is offered again at the next check-in' },
  Cleared: { label: 'Dropped', tone: 'neutral', hint: 'dropped by a re-enrollment or a retirement before the device ran it' },
};

/** Look again while a recent command awaits its answer (not forever for a device that is off). */
const POLL_WHILE_MS = 5 * 60_000;

export function CommandStatus({ status }: { status: string }) {
  const s = STATUS[status] ?? { label: status, tone: 'neutral' as const, hint: '' };
  return (
    <Badge tone={s.tone} title={s.hint}>
      {s.label}
    </Badge>
  );
}

export function DeviceCommands({ commands, onMore }: { commands: Loaded<DeviceCommand[]>; onMore?(): void }) {
  const [open, setOpen] = useState<DeviceCommand | null>(null);
  const rows = commands.data ?? [];
  const waiting = rows.some((c) => c.status === 'Pending' && Date.now() - c.queuedAt < POLL_WHILE_MS);
  usePoll(() => void commands.reload(), 1500, waiting);

  const columns: Column<DeviceCommand>[] = [
    { key: 'type', header: 'Command', render: (c) => <span className="mono">{c.requestType}</span> },
    { key: 'status', header: 'Status', render: (c) => <CommandStatus status={c.status} /> },
    { key: 'queued', header: 'Sent', render: (c) => <When at={c.queuedAt} /> },
    { key: 'answered', header: 'Answered', render: (c) => <When at={c.answeredAt} empty="Not yet" /> },
    { key: 'by', header: 'By', render: (c) => c.createdBy ?? <span className="muted">Pomona</span> },
    {
      key: 'result', header: 'Result',
      render: (c) =>
        c.result === null || c.result === undefined ? (
          <span className="muted">—</span>
        ) : (
          <button type="button" className="link" onClick={() => setOpen(c)} aria-label={`Result of ${c.requestType} sent ${new Date(c.queuedAt).toLocaleString()}`}>
            View result
          </button>
        ),
    },
  ];

  return (
    <section className="panel" aria-labelledby="commands-title">
      <h2 id="commands-title">Commands</h2>
      <ErrorBanner error={commands.error} />
      {commands.loading && !commands.data ? (
        <Spinner label="Loading commands…" />
      ) : rows.length === 0 ? (
        <EmptyState title="No commands yet">Commands Pomona or an admin sends to this device appear here with the device’s answers.</EmptyState>
      ) : (
        <>
          <DataTable caption="Commands sent to this device" columns={columns} rows={rows} rowKey={(c) => `${c.commandUuid}:${c.enrollmentId}`} />
          {onMore && (
            <p>
              <button type="button" className="link" onClick={onMore}>
                Show older commands
              </button>
            </p>
          )}
        </>
      )}
      {open && <CommandResult uuid={open.commandUuid} title={open.requestType} onClose={() => setOpen(null)} />}
    </section>
  );
}

/** One command with its answer from each channel it went to (GET /api/v1/commands/:uuid). */
function CommandResult({ uuid, title, onClose }: { uuid: string; title: string; onClose(): void }) {
  const state = useLoad(() => unwrap(api.GET('/api/v1/commands/{uuid}', { params: { path: { uuid } } })), [uuid]);
  const c = state.data;
  return (
    <Modal title={`${title} — result`} onClose={onClose} wide>
      <ErrorBanner error={state.error} />
      {!c && !state.error && <Spinner label="Loading the answer…" />}
      {c && (
        <div className="command-result">
          <dl className="facts">
            <dt>Command</dt>
            <dd className="mono">{c.commandUuid}</dd>
            <dt>Sent</dt>
            <dd>
              <When at={c.createdAt} /> by {c.createdBy ?? 'Pomona'}
            </dd>
          </dl>
          {c.results.map((r) => (
            <section key={r.enrollmentId} className="result-channel">
              <h3>
                <CommandStatus status={r.status} /> <span className="muted mono">{r.enrollmentId}</span>
              </h3>
              <p className="muted">
                Answered <When at={r.answeredAt} empty="not yet" />
                {r.notNowCount > 0 && ` · postponed ${r.notNowCount}× (NotNow)`}
              </p>
              {r.result === null || r.result === undefined ? <p className="muted">No answer yet.</p> : <PlistView value={r.result} />}
            </section>
          ))}
        </div>
      )}
    </Modal>
  );
}
