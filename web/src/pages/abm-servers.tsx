/**
 * ABM servers: each is one MDM server in Apple Business Manager with its token and its devices.
 * The table says at a glance which token needs attention and whether a sync runs (polled while
 * one does); the chosen server's panel holds every action, each shown only to admins whose role
 * allows it, and each destructive one confirmed with what it does.
 */
import { useState, type ReactNode } from 'react';
import { api, messageOf, unwrap } from '../api/client';
import { ConfirmDialog } from '../components/confirm';
import { DataTable, type Column } from '../components/data-table';
import { Badge, EmptyState, ErrorBanner, Notice, PageHeader, Progress, Spinner, When, relative } from '../components/ui';
import { useLoad, usePoll } from '../components/use-load';
import { plural } from '../components/plural';
import { StatusBadge, type Status } from '../components/status-badge';
import { Link, navigate, useQueryState } from '../router';
import { useSession } from '../session';
import { downloadPublicKey, TokenUpload, type AbmServer } from './abm-token-upload';
import { CreateServer, EditServer } from './abm-server-form';
import './abm-servers.css';

interface Row extends AbmServer {
  devices: number | null;
  profiles: number | null;
}

/** The server list with each server's device and profile counts (a few servers per installation). */
async function loadServers(): Promise<Row[]> {
  const { items } = await unwrap(api.GET('/api/v1/abm-servers'));
  return Promise.all(
    items.map(async (s) => {
      const [devices, profiles] = await Promise.all([
        unwrap(api.GET('/api/v1/abm-devices', { params: { query: { server: s.id, state: 'active', limit: 1 } } })).then((r) => r.total, () => null),
        unwrap(api.GET('/api/v1/abm-servers/{id}/profiles', { params: { path: { id: s.id } } })).then((r) => r.items.length, () => null),
      ]);
      return { ...s, devices, profiles };
    }),
  );
}

/** The token's state in words and colour: good, expiring within the warning window, or broken. */
export function tokenStatus(s: AbmServer, now = Date.now()): Status {
  const expires = s.tokenExpiresAt;
  switch (s.tokenState) {
    case 'no-token':
      return { tone: 'neutral', label: 'No token', hint: 'Upload the server token from Apple Business Manager to connect.' };
    case 'ok':
      return { tone: 'good', label: expires ? `Valid, expires ${relative(expires, now)}` : 'Valid' };
    case 'expiring':
      return { tone: 'warn', label: expires ? `Expires ${relative(expires, now)}` : 'Expiring', hint: 'Download a new token from Apple Business Manager and upload it here before it expires.' };
    case 'expired':
      return { tone: 'bad', label: 'Expired', hint: 'Syncs and assignments stopped. Download a new token from Apple Business Manager and upload it.' };
    case 'rejected':
      return { tone: 'bad', label: 'Rejected by Apple', hint: 'Apple no longer accepts this token (revoked or replaced). Download a new one and upload it.' };
    case 'terms-not-accepted':
      return { tone: 'bad', label: 'Terms not accepted', hint: 'Apple has new terms and conditions: an administrator must accept them in Apple Business Manager.' };
  }
}

function SyncCell({ s }: { s: AbmServer }) {
  if (s.sync.running) {
    return <Progress label={`Syncing: ${plural(s.sync.devices, 'device')}`} />;
  }
  if (s.sync.requested) return <Badge tone="info">{s.sync.requested === 'full' ? 'Full sync queued' : 'Sync queued'}</Badge>;
  if (s.sync.lastError) return <Badge tone="bad" title={s.sync.lastError}>Last sync failed</Badge>;
  if (s.tokenState === 'no-token') return <span className="muted">—</span>;
  return <span className="muted">{s.sync.nextSyncAt ? `Next ${relative(s.sync.nextSyncAt)}` : 'Idle'}</span>;
}

type Dialog = { kind: 'create' } | { kind: 'edit'; server: Row } | { kind: 'token'; server: AbmServer } | { kind: 'delete'; server: Row } | { kind: 'reset'; server: Row };

export function AbmServers(_: { params: Record<string, string> }) {
  const session = useSession();
  const isAdmin = session.can('admin');
  const [query, setQuery] = useQueryState();
  const servers = useLoad(loadServers, []);
  const [dialog, setDialog] = useState<Dialog>();
  const [notice, setNotice] = useState<{ tone: 'success' | 'error' | 'info'; text: string }>();

  const rows = servers.data ?? [];
  const busy = rows.some((s) => s.sync.running || s.sync.requested);
  usePoll(() => void servers.reload(), 1500, busy);

  const selected = rows.find((s) => s.id === query.server) ?? (rows.length === 1 ? rows[0] : undefined);

  const columns: Column<Row>[] = [
    {
      key: 'name',
      header: 'Name',
      render: (s) => (
        <>
          <Link to={`/abm-servers?server=${s.id}`} aria-current={selected?.id === s.id ? 'true' : undefined} className="server-name">
            {s.name}
          </Link>
          {s.apple.serverName && s.apple.serverName !== s.name && <div className="muted small">In ABM: {s.apple.serverName}</div>}
        </>
      ),
    },
    {
      key: 'account',
      header: 'Apple account',
      // The panel below repeats it: narrow screens leave it out of the table.
      className: 'hide-narrow',
      render: (s) =>
        s.apple.orgName || s.apple.adminId ? (
          <>
            <div>{s.apple.orgName ?? '—'}</div>
            <div className="muted small">{s.apple.adminId}</div>
          </>
        ) : (
          <span className="muted">Not known yet</span>
        ),
    },
    { key: 'devices', header: 'Devices', className: 'num', render: (s) => (s.devices === null ? '—' : <Link to={`/abm-devices?server=${s.id}`}>{s.devices.toLocaleString()}</Link>) },
    { key: 'profiles', header: 'Profiles', className: 'num', render: (s) => (s.profiles === null ? '—' : <Link to={`/profiles?server=${s.id}`}>{s.profiles}</Link>) },
    {
      key: 'lastSync',
      header: 'Last sync',
      render: (s) => (s.sync.lastSyncAt ? <span title={new Date(s.sync.lastSyncAt).toISOString()}>{relative(s.sync.lastSyncAt)}</span> : <span className="muted">Never</span>),
    },
    {
      key: 'token',
      header: 'Token',
      render: (s) => <StatusBadge status={tokenStatus(s)} />,
    },
    { key: 'sync', header: 'Sync', className: 'sync-cell', render: (s) => <SyncCell s={s} /> },
  ];

  const afterToken = (server: AbmServer) => {
    setDialog(undefined);
    setNotice({ tone: 'success', text: `${server.name} is connected to Apple Business Manager. The first sync starts in a moment.` });
    setQuery({ server: server.id });
    void servers.reload();
  };

  return (
    <div className="abm-servers">
      <PageHeader
        title="ABM servers"
        subtitle="Each one is an MDM server in Apple Business Manager: its token lets Pomona fetch the devices assigned to it and give them an enrollment profile."
        actions={
          isAdmin &&
          rows.length > 0 && (
            <button type="button" className="primary" onClick={() => setDialog({ kind: 'create' })}>
              Add ABM server
            </button>
          )
        }
      />
      <ErrorBanner error={servers.error} />
      {notice && <Notice tone={notice.tone}>{notice.text}</Notice>}
      {servers.data === undefined ? (
        <Spinner />
      ) : rows.length === 0 ? (
        <EmptyState
          title="No ABM servers yet"
          action={
            isAdmin && (
              <button type="button" className="primary" onClick={() => setDialog({ kind: 'create' })}>
                Add ABM server
              </button>
            )
          }
        >
          Add an ABM server to connect Pomona to Apple Business Manager: you download its public key, add an MDM server in Apple Business Manager with it, and upload the token Apple gives you back.
          {!isAdmin && ' An administrator can do this.'}
        </EmptyState>
      ) : (
        <>
          <DataTable caption="ABM servers" columns={columns} rows={rows} rowKey={(s) => s.id} loading={servers.loading} />
          {selected ? (
            <ServerPanel
              key={selected.id}
              server={selected}
              reload={servers.reload}
              onDialog={setDialog}
              onNotice={setNotice}
            />
          ) : (
            <p className="muted pick-hint">Choose a server by its name to see its details and actions.</p>
          )}
        </>
      )}

      {dialog?.kind === 'create' && (
        <CreateServer
          onClose={() => setDialog(undefined)}
          onCreated={(s) => {
            setQuery({ server: s.id });
            void servers.reload();
            // The guided token upload follows at once: a server without a token does nothing.
            setDialog({ kind: 'token', server: s });
          }}
        />
      )}
      {dialog?.kind === 'edit' && (
        <EditServer
          server={dialog.server}
          onClose={() => setDialog(undefined)}
          onSaved={async (saved) => {
            setDialog(undefined);
            setNotice({ tone: 'success', text: `Saved the settings of ${saved.name}.` });
            await servers.reload();
          }}
        />
      )}
      {dialog?.kind === 'token' && (
        <TokenUpload
          server={dialog.server}
          onClose={() => {
            setDialog(undefined);
            // A new key pair may have been prepared on the way: the panel says so.
            void servers.reload();
          }}
          onDone={afterToken}
        />
      )}
      {dialog?.kind === 'delete' && (
        <ConfirmDialog
          title={`Delete ${dialog.server.name}?`}
          confirmLabel="Delete ABM server"
          onClose={() => setDialog(undefined)}
          onConfirm={async () => {
            await unwrap(api.DELETE('/api/v1/abm-servers/{id}', { params: { path: { id: dialog.server.id } } }));
            setQuery({ server: undefined });
            setNotice({ tone: 'success', text: `Deleted ${dialog.server.name}.` });
            await servers.reload();
          }}
        >
          <p>Pomona forgets this connection to Apple Business Manager:</p>
          <ul>
            <li>
              its {dialog.server.devices === null ? 'device records' : plural(dialog.server.devices, 'device record')} and{' '}
              {dialog.server.profiles === null ? 'enrollment profiles' : plural(dialog.server.profiles, 'enrollment profile')} are deleted, with its token and key;
            </li>
            <li>devices that already enrolled stay enrolled and managed;</li>
            <li>devices that have not enrolled yet can no longer enroll through this server — Apple still hands them this server’s profile until you change their MDM server in Apple Business Manager.</li>
          </ul>
          <p>Nothing changes in Apple Business Manager. To connect again you create the server anew and upload a new token.</p>
        </ConfirmDialog>
      )}
      {dialog?.kind === 'reset' && (
        <ConfirmDialog
          title={`Reset the sync cursor of ${dialog.server.name}?`}
          confirmLabel="Reset cursor"
          danger={false}
          onClose={() => setDialog(undefined)}
          onConfirm={async () => {
            await unwrap(api.POST('/api/v1/abm-servers/{id}/reset-cursor', { params: { path: { id: dialog.server.id } } }));
            setNotice({ tone: 'info', text: `The cursor of ${dialog.server.name} is reset: a full sync starts in a moment.` });
            await servers.reload();
          }}
        >
          <p>
            Pomona forgets where the last sync stopped and fetches every device of this server from Apple again ({dialog.server.devices?.toLocaleString() ?? 'all'} devices known now). Devices
            Apple no longer lists are marked as removed. Use this when the device list looks wrong; a normal sync is enough otherwise.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function ServerPanel({ server: s, reload, onDialog, onNotice }: { server: Row; reload(): Promise<void>; onDialog(d: Dialog): void; onNotice(n: { tone: 'success' | 'error' | 'info'; text: string } | undefined): void }) {
  const session = useSession();
  const isAdmin = session.can('admin');
  const canOperate = session.can('operate');
  const [working, setWorking] = useState<string>();
  const [account, setAccount] = useState<Record<string, unknown>>();
  const token = tokenStatus(s);
  const noToken = s.tokenState === 'no-token';
  // Why the sync buttons are off, in words next to them.
  const syncBlocked = noToken ? 'Upload a token first.' : s.sync.running ? 'A sync is running: wait for it to finish.' : s.sync.requested ? 'A sync is queued and starts in a moment.' : undefined;

  const act = async (label: string, fn: () => Promise<string | void>) => {
    setWorking(label);
    onNotice(undefined);
    try {
      const text = await fn();
      if (text) onNotice({ tone: 'success', text });
      await reload();
    } catch (err) {
      onNotice({ tone: 'error', text: `${label}: ${messageOf(err)}` });
    } finally {
      setWorking(undefined);
    }
  };
  const sync = (full: boolean) =>
    act(full ? 'Full sync' : 'Sync now', async () => {
      await unwrap(api.POST('/api/v1/abm-servers/{id}/sync', { params: { path: { id: s.id } }, body: { full } }));
      return `${full ? 'A full sync' : 'A sync'} of ${s.name} starts in a moment.`;
    });
  const test = () =>
    act('Test connection', async () => {
      const out = await unwrap(api.POST('/api/v1/abm-servers/{id}/test', { params: { path: { id: s.id } } }));
      setAccount(out.account);
    });

  return (
    <section className="panel server-panel" aria-labelledby="server-panel-title">
      <div className="panel-head">
        <h2 id="server-panel-title">{s.name}</h2>
        <Badge tone={token.tone}>{token.label}</Badge>
      </div>
      {token.hint && <Notice tone={token.tone === 'bad' ? 'error' : token.tone === 'warn' ? 'warning' : 'info'}>{token.hint}</Notice>}
      {s.lastError && !noToken && (
        <Notice tone="error">
          Apple’s last error (<When at={s.lastError.at} />): {s.lastError.message ?? s.lastError.code}
        </Notice>
      )}
      <div className="server-grid">
        <dl className="facts">
          <dt>MDM server in ABM</dt>
          <dd>{s.apple.serverName ?? <span className="muted">not known yet</span>}</dd>
          <dt>Organization</dt>
          <dd>{s.apple.orgName ?? '—'}</dd>
          <dt>Apple account</dt>
          <dd>{s.apple.adminId ?? '—'}</dd>
          <dt>Token expires</dt>
          <dd>
            <When at={s.tokenExpiresAt} />
          </dd>
          <dt>Token uploaded</dt>
          <dd>
            <When at={s.tokenUploadedAt} />
          </dd>
          {s.stagedKey && (
            <>
              <dt>New key pair</dt>
              <dd>prepared, waiting for a token encrypted to it (the current token keeps working)</dd>
            </>
          )}
          <dt>Organization group</dt>
          <dd>{session.groups.find((g) => g.id === s.organizationGroupId)?.name ?? (s.organizationGroupId ? s.organizationGroupId : 'Whole organization')}</dd>
        </dl>
        <dl className="facts">
          <dt>Last sync</dt>
          <dd>
            <When at={s.sync.lastSyncAt} empty="never" />
          </dd>
          <dt>Last success with Apple</dt>
          <dd>
            <When at={s.lastSuccessAt} empty="never" />
          </dd>
          <dt>Next sync</dt>
          <dd>{s.sync.nextSyncAt ? <When at={s.sync.nextSyncAt} /> : '—'} <span className="muted">(every {s.syncIntervalMinutes} min)</span></dd>
          <dt>Device list</dt>
          <dd>{s.sync.fetchComplete ? 'complete' : noToken ? '—' : 'not fully fetched yet'}</dd>
          <dt>DEP service</dt>
          <dd className="mono">{s.baseUrl}</dd>
        </dl>
      </div>
      {s.sync.running && <Progress label={`${s.sync.kind === 'full' ? 'Full sync' : 'Sync'} running since ${s.sync.startedAt ? relative(s.sync.startedAt) : 'now'}: ${plural(s.sync.pages, 'page')}, ${plural(s.sync.devices, 'device')} so far`} />}
      {s.sync.lastError && !s.sync.running && <Notice tone="error">The last sync failed: {s.sync.lastError}</Notice>}
      {account && (
        <Notice tone="success">
          Connection works. Apple says: MDM server “{String(account.server_name ?? '')}”, organization “{String(account.org_name ?? '')}”, administrator {String(account.admin_id ?? '')}.
        </Notice>
      )}

      <div className="action-groups">
        <ActionGroup title="Connection">
          {isAdmin && (
            <button type="button" className={noToken ? 'primary' : undefined} onClick={() => onDialog({ kind: 'token', server: s })}>
              {noToken ? 'Upload token' : 'Upload new token'}
            </button>
          )}
          <button type="button" onClick={() => void act('Download public key', () => downloadPublicKey(s))}>
            Download public key
          </button>
          {canOperate && !noToken && (
            <button type="button" disabled={!!working} onClick={() => void test()}>
              {working === 'Test connection' ? 'Testing…' : 'Test connection'}
            </button>
          )}
        </ActionGroup>
        {canOperate && (
          <ActionGroup title="Sync" note={syncBlocked} noteId="sync-blocked">
            <button type="button" disabled={!!syncBlocked || !!working} onClick={() => void sync(false)} aria-describedby={syncBlocked ? 'sync-blocked' : undefined}>
              Sync now
            </button>
            <button type="button" disabled={!!syncBlocked || !!working} onClick={() => void sync(true)} aria-describedby={syncBlocked ? 'sync-blocked' : undefined}>
              Full sync
            </button>
            {isAdmin && (
              <button type="button" disabled={noToken || s.sync.running} onClick={() => onDialog({ kind: 'reset', server: s })}>
                Reset cursor
              </button>
            )}
          </ActionGroup>
        )}
        <ActionGroup title="Enrollment profiles">
          <Link className="button" to={`/profiles?server=${s.id}`}>
            View profiles
          </Link>
          {isAdmin && (
            <button type="button" onClick={() => navigate(`/profiles/new?server=${s.id}`)}>
              Add profile
            </button>
          )}
        </ActionGroup>
        {isAdmin && (
          <ActionGroup title="Server">
            <button type="button" onClick={() => onDialog({ kind: 'edit', server: s })}>
              Edit server
            </button>
            <button type="button" className="danger" onClick={() => onDialog({ kind: 'delete', server: s })}>
              Delete ABM server
            </button>
          </ActionGroup>
        )}
      </div>
    </section>
  );
}

function ActionGroup({ title, note, noteId, children }: { title: string; note?: string; noteId?: string; children: ReactNode }) {
  return (
    <div className="action-group" role="group" aria-label={title}>
      <h3>{title}</h3>
      <div className="actions">{children}</div>
      {note && (
        <small id={noteId} className="muted">
          {note}
        </small>
      )}
    </div>
  );
}
