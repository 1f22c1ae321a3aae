/**
 * One ADE device: what Apple Business Manager says about it, and its way from ABM to enrolled —
 * added, profile assigned and pushed, web view, sign-in, terms, profile delivered, identity,
 * first check-in, await-configuration steps and the release — each with its time, failures in
 * red with their reason. Refreshes itself while the device is still on its way.
 */
import { api, ApiError, unwrap, type paths } from '../api/client';
import { StatusBadge } from '../components/status-badge';
import { Badge, EmptyState, ErrorBanner, Notice, PageHeader, Spinner, When, relative } from '../components/ui';
import { useLoad, usePoll } from '../components/use-load';
import { Link } from '../router';
import { profileLabel, type AbmDevice } from './abm-devices';
import { lifecycleStatus, profileStatus } from './device-labels';
import './abm-devices.css';

type Entry = paths['/api/v1/abm-devices/{serial}/timeline']['get']['responses'][200]['content']['application/json']['items'][number];

/** A 404 is an answer here (Pomona may know the serial only from one side), not an error. */
async function orNone<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T | null> {
  try {
    return await unwrap(call);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export function AbmDeviceTimeline({ params }: { params: Record<string, string> }) {
  const serial = params.serial ?? '';
  const { data, error, reload } = useLoad(async () => {
    const path = { serial };
    const [device, timeline, servers] = await Promise.all([
      orNone(api.GET('/api/v1/abm-devices/{serial}', { params: { path } })),
      orNone(api.GET('/api/v1/abm-devices/{serial}/timeline', { params: { path } })),
      unwrap(api.GET('/api/v1/abm-servers')),
    ]);
    const server = device ? servers.items.find((s) => s.id === device.abmServerId) : undefined;
    const profiles = server ? (await unwrap(api.GET('/api/v1/abm-servers/{id}/profiles', { params: { path: { id: server.id } } }))).items : [];
    return { device, items: timeline?.items ?? null, server, profiles };
  }, [serial]);
  // Still on its way (or waiting for its release): keep the story current.
  const moving = !!data && (!data.device || ['registered', 'enrolling'].includes(data.device.lifecycleState) || !!data.items?.some((e) => e.outcome === 'waiting'));
  usePoll(() => void reload(), 5000, moving);

  const d = data?.device;
  return (
    <>
      <p className="abm-note">
        <Link to="/abm-devices">← ABM devices</Link>
      </p>
      <PageHeader
        title={`ADE timeline · ${serial}`}
        subtitle={d ? [d.model, d.description, d.os].filter(Boolean).join(' · ') : undefined}
        actions={
          d?.deviceId ? (
            <Link to={`/devices/${encodeURIComponent(d.deviceId)}`} className="button primary">
              Open the enrolled device
            </Link>
          ) : undefined
        }
      />
      <ErrorBanner error={error} />
      {!data ? (
        !error && <Spinner label="Loading the device…" />
      ) : !d && !data.items ? (
        <EmptyState title="Pomona knows nothing of this serial number" action={<Link to="/abm-devices" className="button">Back to ABM devices</Link>}>
          It is not in Apple Business Manager for any of your ABM servers (in this organization group), and no device with it tried to enroll. Check the serial
          number, or sync the ABM server it was assigned to.
        </EmptyState>
      ) : (
        <div className="timeline-layout">
          <section className="panel" aria-labelledby="facts-title">
            <h2 id="facts-title">In Apple Business Manager</h2>
            {d ? <Facts device={d} serverName={data.server?.name} profiles={data.profiles} /> : <Notice tone="warning">Not in Apple Business Manager for your ABM servers.</Notice>}
          </section>
          <section className="panel" aria-labelledby="timeline-title">
            <h2 id="timeline-title">Timeline</h2>
            {data.items && data.items.length > 0 ? (
              <Timeline items={data.items} />
            ) : (
              <p className="muted">Nothing has happened yet beyond the ABM record. The timeline fills in once the device goes through Setup Assistant.</p>
            )}
          </section>
        </div>
      )}
    </>
  );
}

function Facts({ device: d, serverName, profiles }: { device: AbmDevice; serverName?: string; profiles: Parameters<typeof profileLabel>[1] }) {
  const life = lifecycleStatus(d.lifecycleState);
  const profile = profileLabel(d, profiles);
  const a = d.assignment;
  return (
    <dl className="facts">
      <dt>Lifecycle</dt>
      <dd>
        {/* The enrolled device is a link at the top of the page ("Open the enrolled device"). */}
        <Badge tone={life.tone}>{life.label}</Badge> <span className="muted">{life.hint}</span>
      </dd>
      <dt>In ABM</dt>
      <dd>{d.removedAt ? <Badge tone="bad">Removed <When at={d.removedAt} /></Badge> : <Badge tone="good">Yes</Badge>}</dd>
      <dt>ABM server</dt>
      <dd>{serverName ?? d.abmServerId}</dd>
      <dt>Added</dt>
      <dd>
        <When at={d.deviceAssignedDate ?? d.firstSeenAt} />
        {d.deviceAssignedBy && <span className="muted"> by {d.deviceAssignedBy}</span>}
      </dd>
      <dt>Model</dt>
      <dd>{[d.model, d.deviceFamily, d.color].filter(Boolean).join(' · ') || '—'}</dd>
      {d.assetTag && (
        <>
          <dt>Asset tag</dt>
          <dd>{d.assetTag}</dd>
        </>
      )}
      <dt>Enrollment profile</dt>
      <dd className={profile.muted ? 'muted' : undefined}>{profile.text}</dd>
      <dt>Status at Apple</dt>
      <dd>
        <StatusBadge status={profileStatus(d.profileStatus)} />
        {d.appleProfileUuid && <div className="mono abm-note muted">{d.appleProfileUuid}</div>}
      </dd>
      <dt>Last assignment</dt>
      <dd>
        {a.inProgress ? (
          <Badge tone="info">Assigning…</Badge>
        ) : !a.lastResult ? (
          <span className="muted">—</span>
        ) : a.lastResult === 'SUCCESS' ? (
          <>
            <Badge tone="good">Succeeded</Badge> <When at={a.attemptedAt} />
          </>
        ) : (
          <>
            <Badge tone="bad">{a.lastResult}</Badge> <When at={a.attemptedAt} />
            {a.lastError && <div className="abm-failure">{a.lastError}</div>}
            {a.retryAt && <div className="muted">Pomona retries {relative(a.retryAt)}.</div>}
          </>
        )}
      </dd>
      <dt>Last change at Apple</dt>
      <dd>
        {d.lastOpType ?? '—'} <When at={d.lastOpDate} empty="" />
      </dd>
    </dl>
  );
}

/** Steps come seconds apart: the timeline shows seconds. */
const STAMP = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

const MARK: Record<Entry['outcome'], { sign: string; label: string }> = {
  done: { sign: '✓', label: 'done' },
  failed: { sign: '✕', label: 'failed' },
  waiting: { sign: '…', label: 'waiting' },
};

function Timeline({ items }: { items: Entry[] }) {
  return (
    <ol className="timeline" aria-label="ADE timeline, oldest first">
      {items.map((e, i) => (
        <li key={i} className={e.outcome} data-outcome={e.outcome}>
          <span className="mark" aria-label={MARK[e.outcome].label} role="img">
            {MARK[e.outcome].sign}
          </span>
          <time dateTime={new Date(e.at).toISOString()} title={new Date(e.at).toISOString()}>
            {STAMP.format(new Date(e.at))}
          </time>
          <div className="body">
            <span className="step">{e.step}</span>
            {e.outcome === 'failed' && (
              <>
                {' '}
                <Badge tone="bad">Failed</Badge>
              </>
            )}
            {e.detail && <div className="detail">{e.detail}</div>}
          </div>
        </li>
      ))}
    </ol>
  );
}
