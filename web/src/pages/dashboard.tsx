/**
 * What needs attention first, then how the fleet is doing: ABM tokens and the push certificate
 * (expiring, expired, refused, terms not accepted), sync errors, failed or throttled assignments,
 * devices waiting in Setup Assistant too long, open alerts; then the ADE funnel, platforms, OS
 * versions and new devices per day — all for the organization group chosen in the switcher.
 */
import type { ReactNode } from 'react';
import { api, unwrap, type paths } from '../api/client';
import { plural } from '../components/plural';
import type { AbmServer } from './abm-token-upload';
import { BarChart, ColumnChart } from '../components/bar-chart';
import { Badge, ErrorBanner, PageHeader, Spinner, relative, type Tone } from '../components/ui';
import { useLoad } from '../components/use-load';
import { Link } from '../router';
import { useSession } from '../session';

type PushCert = paths['/api/v1/push-certificate']['get']['responses'][200]['content']['application/json'];
type Counts = paths['/api/v1/dashboard']['get']['responses'][200]['content']['application/json'];
type OpenAlert = paths['/api/v1/alerts']['get']['responses'][200]['content']['application/json']['open'][number];

interface Attention {
  tone: Tone;
  text: ReactNode;
  to: string;
  action: string;
}

const DAY = 86_400_000;

/**
 * Push certificate: null when there is none, undefined when this admin may not read it (scoped
 * below the root, or refused); any other failure is the server's message on the page.
 */
async function pushCertificate(global: boolean): Promise<PushCert | null | undefined> {
  if (!global) return undefined;
  const res = await api.GET('/api/v1/push-certificate');
  if (res.response.status === 404) return null;
  if (res.response.status === 403) return undefined;
  return unwrap(Promise.resolve(res));
}

export function Dashboard(_: { params: Record<string, string> }) {
  const session = useSession();
  const global = session.scopeGroupId === 'global' && session.atScopeRoot;
  const { data, error } = useLoad(async () => {
    const [counts, servers, alerts, push] = await Promise.all([
      unwrap(api.GET('/api/v1/dashboard')),
      unwrap(api.GET('/api/v1/abm-servers')),
      unwrap(api.GET('/api/v1/alerts', { params: { query: { limit: 10 } } })),
      pushCertificate(global),
    ]);
    return { counts, servers: servers.items, alerts: alerts.open, push };
  }, [global]);

  return (
    <>
      <PageHeader title="Dashboard" subtitle={<>Organization group: {session.group.name}</>} />
      <ErrorBanner error={error} />
      {!data ? (
        !error && <Spinner />
      ) : (
        <>
          <AttentionPanel items={attention(data.counts, data.servers, data.push)} alerts={data.alerts} />
          <div className="grid charts">
            <section className="panel" aria-labelledby="funnel-title">
              <h2 id="funnel-title">ADE funnel</h2>
              <Funnel counts={data.counts} />
            </section>
            <section className="panel" aria-labelledby="new-title">
              <h2 id="new-title">Devices enrolled per day</h2>
              <p className="muted">First enrollments over the last 30 days (UTC).</p>
              <ColumnChart title="Devices enrolled per day" points={days(data.counts)} />
            </section>
            <section className="panel" aria-labelledby="platform-title">
              <h2 id="platform-title">Devices by platform</h2>
              {data.counts.byPlatform.length === 0 ? (
                <p className="muted">No managed devices yet. They appear here once they enroll.</p>
              ) : (
                <BarChart title="Devices by platform" bars={data.counts.byPlatform.map((p) => ({ label: p.platform ?? 'Unknown', value: p.count }))} />
              )}
            </section>
            <section className="panel" aria-labelledby="os-title">
              <h2 id="os-title">Devices by OS version</h2>
              {data.counts.byOsVersion.length === 0 ? (
                <p className="muted">No OS versions reported yet.</p>
              ) : (
                <BarChart title="Devices by OS version" bars={data.counts.byOsVersion.map((o) => ({ label: `${o.platform ?? 'Unknown'} ${o.osVersion ?? '(version unknown)'}`, value: o.count }))} />
              )}
            </section>
          </div>
        </>
      )}
    </>
  );
}

function AttentionPanel({ items, alerts }: { items: Attention[]; alerts: OpenAlert[] }) {
  return (
    <section className="panel attention" aria-labelledby="attention-title">
      <h2 id="attention-title">Needs attention</h2>
      {items.length === 0 && alerts.length === 0 ? (
        <p className="muted">
          <Badge tone="good">All clear</Badge> Tokens, the push certificate, syncs, assignments and devices in Setup Assistant are fine.
        </p>
      ) : (
        <ul className="attention-list">
          {items.map((a, i) => (
            <li key={i}>
              <Badge tone={a.tone}>{a.tone === 'bad' ? 'Action needed' : 'Warning'}</Badge> <span>{a.text}</span> <Link to={a.to}>{a.action}</Link>
            </li>
          ))}
          {alerts.map((a) => (
            <li key={a.key}>
              <Badge tone={a.severity === 'critical' ? 'bad' : 'warn'}>Alert</Badge> <span>{a.summary}</span>{' '}
              {a.raisedAt !== null && <span className="muted">raised {relative(a.raisedAt)}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** What is wrong now, worst first, from live facts (the alert job may not have run yet). */
function attention(c: Counts, servers: AbmServer[], push: PushCert | null | undefined): Attention[] {
  const out: Attention[] = [];
  const now = Date.now();
  if (push === null) out.push({ tone: 'bad', text: 'No APNs push certificate: devices cannot be woken up.', to: '/settings', action: 'Upload one' });
  else if (push?.expired) out.push({ tone: 'bad', text: 'The APNs push certificate has expired: devices no longer receive pushes.', to: '/settings', action: 'Renew it' });
  else if (push && push.expiresInDays <= 30) out.push({ tone: 'warn', text: `The APNs push certificate expires ${relative(push.notAfter, now)}.`, to: '/settings', action: 'Renew it' });
  for (const s of servers) {
    const name = <strong>{s.name}</strong>;
    // The server's own panel, where its token upload and sync are.
    const to = `/abm-servers?server=${encodeURIComponent(s.id)}`;
    switch (s.tokenState) {
      case 'expired':
        out.push({ tone: 'bad', text: <>The ABM token of {name} has expired: no syncs or assignments.</>, to, action: 'Upload a new token' });
        break;
      case 'rejected':
        out.push({ tone: 'bad', text: <>Apple refuses the ABM token of {name}.</>, to, action: 'Upload a new token' });
        break;
      case 'terms-not-accepted':
        out.push({ tone: 'bad', text: <>New Apple terms and conditions must be accepted in Apple Business Manager before {name} can sync.</>, to, action: 'See the server' });
        break;
      case 'no-token':
        out.push({ tone: 'warn', text: <>{name} has no ABM token yet.</>, to, action: 'Upload its token' });
        break;
      case 'expiring':
        out.push({ tone: 'warn', text: <>The ABM token of {name} expires {s.tokenExpiresAt ? relative(s.tokenExpiresAt, now) : 'soon'}.</>, to, action: 'Renew it' });
        break;
    }
    if (s.sync.lastError && !s.sync.running) out.push({ tone: 'warn', text: <>The last sync of {name} failed: {s.sync.lastError}</>, to, action: 'See the server' });
  }
  const { failed, throttled } = c.assignments;
  const overdue = c.awaitingConfiguration.overdue;
  if (failed > 0) out.push({ tone: 'bad', text: `${plural(failed, 'ABM device')} could not be assigned ${failed === 1 ? 'its' : 'their'} enrollment profile.`, to: '/abm-devices?assignResult=FAILED', action: failed === 1 ? 'See it' : 'See them' });
  if (throttled > 0) out.push({ tone: 'warn', text: `${plural(throttled, 'profile assignment')} ${throttled === 1 ? 'was' : 'were'} throttled by Apple and will be retried.`, to: '/abm-devices?assignResult=THROTTLED', action: throttled === 1 ? 'See it' : 'See them' });
  if (overdue > 0) {
    out.push({ tone: 'warn', text: `${plural(overdue, 'device')} ${overdue === 1 ? 'has' : 'have'} waited in Setup Assistant for more than ${c.stuckAfterMinutes} minutes.`, to: '/enrollment-status', action: overdue === 1 ? 'See it' : 'See them' });
  }
  return out.sort((a, b) => (a.tone === 'bad' ? 0 : 1) - (b.tone === 'bad' ? 0 : 1));
}

function Funnel({ counts }: { counts: Counts }) {
  const f = counts.funnel;
  if (f.inAbm === 0) {
    return (
      <p className="muted">
        No devices from Apple Business Manager yet. <Link to="/abm-servers">Connect an ABM server</Link> and sync it.
      </p>
    );
  }
  const pct = (n: number) => `${Math.round((n / f.inAbm) * 100)} %`;
  return (
    <BarChart
      title="ADE funnel"
      tone="good"
      bars={[
        { label: 'In ABM', value: f.inAbm },
        { label: 'Profile assigned', value: f.assigned, note: pct(f.assigned) },
        { label: 'Pushed to device', value: f.pushed, note: pct(f.pushed) },
        { label: 'Enrolled', value: f.enrolled, note: pct(f.enrolled) },
      ]}
    />
  );
}

function days(c: Counts): { label: string; value: number }[] {
  const byDay = new Map(c.newDevicesPerDay.map((d) => [d.day, d.count]));
  const fmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
  return Array.from({ length: 30 }, (_, i) => {
    const day = c.since + i * DAY;
    return { label: fmt.format(day), value: byDay.get(day) ?? 0 };
  });
}
