/**
 * Enrollment (ADE) profiles of one ABM server: which is the default new devices get, how many
 * devices each carries and whether Apple has its current version. Deleting one says where its
 * devices go (the server's default) before it happens.
 */
import { useState } from 'react';
import { api, messageOf, unwrap, type paths } from '../api/client';
import { ConfirmDialog } from '../components/confirm';
import { DataTable, type Column } from '../components/data-table';
import { Badge, EmptyState, ErrorBanner, Notice, PageHeader, Spinner, When } from '../components/ui';
import { useLoad } from '../components/use-load';
import { plural } from '../components/plural';
import { StatusBadge, type Status } from '../components/status-badge';
import { Link, navigate, useQueryState } from '../router';
import { useSession } from '../session';
import './enrollment-profiles.css';

export type DepProfile = paths['/api/v1/dep-profiles/{id}']['get']['responses'][200]['content']['application/json'];

/** Whether Apple has the profile's current version, in words. */
export function appleStatus(p: DepProfile): Status {
  if (p.apple.upToDate) return { tone: 'good', label: 'Defined at Apple' };
  if (p.apple.defineError) return { tone: 'bad', label: 'Apple refused it', hint: p.apple.defineError };
  return { tone: 'warn', label: 'Not yet at Apple', hint: 'Pomona defines it at Apple once the server has a token (on the next sync or assignment run).' };
}

/** The confirmation text of deleting a profile: how many devices move, and to which profile. */
export function DeleteProfileDialog({ profile, defaultProfile, onDeleted, onClose }: { profile: DepProfile; defaultProfile?: DepProfile; onDeleted(moved: number): Promise<void> | void; onClose(): void }) {
  const target = defaultProfile ? `the default profile “${defaultProfile.name}”` : 'the server’s default profile';
  return (
    <ConfirmDialog
      title={`Delete the profile “${profile.name}”?`}
      confirmLabel="Delete profile"
      onClose={onClose}
      onConfirm={async () => {
        const out = await unwrap(api.DELETE('/api/v1/dep-profiles/{id}', { params: { path: { id: profile.id } } }));
        await onDeleted(out.movedDevices);
      }}
    >
      {profile.devices > 0 ? (
        <p>
          Its <strong>{plural(profile.devices, 'device')}</strong> move to {target}: Pomona asks Apple to assign that profile to them on the next
          assignment run, and they use it the next time they go through Setup Assistant. Devices that already enrolled stay enrolled.
        </p>
      ) : (
        <p>No devices use it, so none move. New devices keep getting {target}.</p>
      )}
      <p>The profile stays in Apple’s records until Apple removes it; Pomona no longer uses it.</p>
    </ConfirmDialog>
  );
}

export function EnrollmentProfiles(_: { params: Record<string, string> }) {
  const session = useSession();
  const isAdmin = session.can('admin');
  const [query, setQuery] = useQueryState();
  const servers = useLoad(async () => (await unwrap(api.GET('/api/v1/abm-servers'))).items, []);
  const serverId = query.server ?? servers.data?.[0]?.id;
  const server = servers.data?.find((s) => s.id === serverId);
  const profiles = useLoad(async () => (serverId ? (await unwrap(api.GET('/api/v1/abm-servers/{id}/profiles', { params: { path: { id: serverId } } }))).items : undefined), [serverId]);
  const [deleting, setDeleting] = useState<DepProfile>();
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<string>();
  /** the profile being made the default: its row's buttons wait (one request, not one a click) */
  const [working, setWorking] = useState<string>();

  const rows = profiles.data ?? [];
  const defaultProfile = rows.find((p) => p.isDefault);

  const makeDefault = async (p: DepProfile) => {
    setError(undefined);
    setNotice(undefined);
    setWorking(p.id);
    try {
      await unwrap(api.POST('/api/v1/dep-profiles/{id}/default', { params: { path: { id: p.id } } }));
      setNotice(`“${p.name}” is now the default: new devices of ${server?.name ?? 'this server'} get it.`);
      await profiles.reload();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setWorking(undefined);
    }
  };

  const columns: Column<DepProfile>[] = [
    {
      key: 'name',
      header: 'Name',
      render: (p) => (
        <>
          <Link to={`/profiles/${p.id}`} className="profile-name">
            {p.name}
          </Link>{' '}
          {p.isDefault && (
            <Badge tone="info" title="New devices of this server get this profile">
              Default
            </Badge>
          )}
          {p.settings.apple.profile_name !== p.name && <div className="muted small">Shown on devices as “{p.settings.apple.profile_name}”</div>}
        </>
      ),
    },
    { key: 'devices', header: 'Devices', className: 'num', render: (p) => <Link to={`/abm-devices?server=${p.abmServerId}&profile=${p.id}`}>{p.devices.toLocaleString()}</Link> },
    {
      key: 'apple',
      header: 'At Apple',
      render: (p) => <StatusBadge status={appleStatus(p)} />,
    },
    { key: 'skips', header: 'Skipped panes', className: 'num', render: (p) => p.settings.apple.skip_setup_items?.length ?? 0 },
    { key: 'updated', header: 'Last changed', render: (p) => <When at={p.updatedAt} /> },
    ...(isAdmin
      ? [
          {
            key: 'actions',
            header: 'Actions',
            render: (p: DepProfile) => (
              <div className="row-actions">
                {!p.isDefault && (
                  <button type="button" disabled={!!working} onClick={() => void makeDefault(p)} aria-label={`Make “${p.name}” the default`}>
                    {working === p.id ? 'Working…' : 'Make default'}
                  </button>
                )}
                {!p.isDefault && (
                  <button type="button" className="ghost danger-text" disabled={!!working} onClick={() => setDeleting(p)} aria-label={`Delete “${p.name}”`}>
                    Delete
                  </button>
                )}
              </div>
            ),
          },
        ]
      : []),
  ];

  return (
    <div className="enrollment-profiles">
      <PageHeader
        title="Enrollment profiles"
        subtitle="What a device from Apple Business Manager shows and does in Setup Assistant. Each ABM server has its own; the default one goes to every new device."
        actions={
          isAdmin &&
          serverId && (
            <button type="button" className="primary" onClick={() => navigate(`/profiles/new?server=${serverId}`)}>
              New profile
            </button>
          )
        }
      />
      <ErrorBanner error={servers.error ?? profiles.error ?? error} />
      {notice && <Notice tone="success">{notice}</Notice>}
      {servers.data === undefined ? (
        <Spinner />
      ) : servers.data.length === 0 ? (
        <EmptyState title="No ABM servers yet" action={<Link to="/abm-servers">Go to ABM servers</Link>}>
          Enrollment profiles belong to an ABM server. Connect Pomona to Apple Business Manager first.
        </EmptyState>
      ) : (
        <>
          <div className="toolbar">
            <label>
              ABM server
              <select
                value={serverId}
                onChange={(e) => {
                  // what was said about the other server's profiles no longer applies
                  setNotice(undefined);
                  setError(undefined);
                  setQuery({ server: e.target.value });
                }}
              >
                {servers.data.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            </label>
            {server && server.tokenState === 'no-token' && <span className="muted">This server has no token yet: profiles are sent to Apple once it has one.</span>}
          </div>
          {profiles.data === undefined ? (
            <Spinner />
          ) : rows.length === 0 ? (
            <EmptyState
              title="No enrollment profiles on this server"
              action={
                isAdmin && (
                  <button type="button" className="primary" onClick={() => navigate(`/profiles/new?server=${serverId}`)}>
                    Create the first profile
                  </button>
                )
              }
            >
              Devices of {server?.name} get no profile until there is one. The first profile you create becomes the default, which every new device gets.
            </EmptyState>
          ) : (
            <DataTable caption={`Enrollment profiles of ${server?.name ?? 'the server'}`} columns={columns} rows={rows} rowKey={(p) => p.id} loading={profiles.loading} />
          )}
        </>
      )}
      {deleting && (
        <DeleteProfileDialog
          profile={deleting}
          defaultProfile={defaultProfile}
          onClose={() => setDeleting(undefined)}
          onDeleted={async (moved) => {
            setNotice(`Deleted “${deleting.name}”. ${plural(moved, 'device')} moved to “${defaultProfile?.name ?? 'the default'}”.`);
            await profiles.reload();
          }}
        />
      )}
    </div>
  );
}
