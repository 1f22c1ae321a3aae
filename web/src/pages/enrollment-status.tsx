/**
 * Where every device and every enrollment attempt stands, for the group chosen in the switcher:
 * devices per lifecycle state (ABM devices not enrolled yet included), enrollment attempts
 * (staging records) per state — abandoned ones first in mind — and both per group. Each count
 * links to its list: device states to the device list, attempt states to the list below.
 */
import { api, unwrap, type paths } from '../api/client';
import { DataTable, type Column } from '../components/data-table';
import { EmptyState, ErrorBanner, PageHeader, Spinner, When } from '../components/ui';
import { useLoad } from '../components/use-load';
import { Link, useQueryState } from '../router';
import { useSession } from '../session';
import { ENROLLMENT_METHOD, LIFECYCLE, LIFECYCLE_HINT, label } from './device-labels';
import './devices.css';

type GroupSummary = paths['/api/v1/lifecycle/summary']['get']['responses'][200]['content']['application/json']['groups'][number];
type Pending = paths['/api/v1/pending-enrollments']['get']['responses'][200]['content']['application/json']['items'][number];
type PendingState = NonNullable<NonNullable<paths['/api/v1/pending-enrollments']['get']['parameters']['query']>['state']>;

const STATES = Object.keys(LIFECYCLE) as (keyof GroupSummary['here'] & string)[];

/** Enrollment attempts in the order they move, abandoned last (and shown first below). */
const STAGING: { state: PendingState; label: string; hint: string }[] = [
  { state: 'started', label: 'Signing in', hint: 'enrollment page opened, nobody signed in yet' },
  { state: 'authenticated', label: 'Signed in', hint: 'signed in; no profile issued yet' },
  { state: 'profile-issued', label: 'Profile issued', hint: 'profile downloaded; the device has not checked in yet' },
  { state: 'enrolled', label: 'Enrolled', hint: 'the device checked in' },
  { state: 'incomplete', label: 'Abandoned', hint: 'not finished in time: sign-in after 60 minutes, an issued profile after 7 days' },
];

/** Attempts listed for the chosen state, newest first (the counts above are exact). */
const READ = 500;

export function EnrollmentStatus(_: { params: Record<string, string> }) {
  const session = useSession();
  const [qs, setQs] = useQueryState();
  const shown = (STAGING.find((s) => s.state === qs.staging) ?? STAGING[4]!).state;
  const summary = useLoad(async () => (await unwrap(api.GET('/api/v1/lifecycle/summary'))).groups, []);
  const staging = useLoad(async () => (await unwrap(api.GET('/api/v1/pending-enrollments/summary'))).items, []);
  const listed = useLoad(async () => (await unwrap(api.GET('/api/v1/pending-enrollments', { params: { query: { state: shown, limit: READ } } }))).items, [shown]);

  const groups = summary.data ?? [];
  const top = groups[0];
  const groupName = (id: string | null) => (id ? (groups.find((g) => g.id === id)?.name ?? session.groups.find((g) => g.id === id)?.name ?? id) : '—');
  const count = (state: PendingState) => (staging.data ?? []).reduce((n, c) => (c.state === state ? n + c.count : n), 0).toLocaleString();
  const inProgress: PendingState[] = ['started', 'authenticated', 'profile-issued'];
  const stagingIn = (g: GroupSummary, states: PendingState[]) =>
    (staging.data ?? []).reduce((n, c) => (c.groupId && states.includes(c.state as PendingState) && within(groups, c.groupId, g.id) ? n + c.count : n), 0);

  const columns: Column<GroupSummary>[] = [
    {
      key: 'group', header: 'Group',
      render: (g) => (
        <span className="group-name" style={{ paddingLeft: `${(g.depth - (top?.depth ?? 0)) * 1.1}rem` }}>
          {g.name} <span className="muted">({g.groupId})</span>
        </span>
      ),
    },
    ...STATES.map((state) => ({
      key: state, header: LIFECYCLE[state]!.label, className: 'num',
      render: (g: GroupSummary) => (g.subtree[state] ? <Link to={`/devices?group=${encodeURIComponent(g.id)}&lifecycle=${state}`} aria-label={`${g.subtree[state]} ${LIFECYCLE[state]!.label.toLowerCase()} in ${g.name}`}>{g.subtree[state].toLocaleString()}</Link> : <span className="muted">0</span>),
    })),
    { key: 'total', header: 'Devices', className: 'num', render: (g) => <Link to={`/devices?group=${encodeURIComponent(g.id)}`}>{g.subtree.total.toLocaleString()}</Link> },
    { key: 'attempts', header: 'Attempts under way', className: 'num', render: (g) => stagingIn(g, inProgress).toLocaleString() },
    {
      key: 'abandoned', header: 'Abandoned', className: 'num',
      render: (g) => {
        const n = stagingIn(g, ['incomplete']);
        return n ? (
          <Link to={`/enrollment-status?staging=incomplete&group=${encodeURIComponent(g.id)}#attempts`} aria-label={`${n} abandoned in ${g.name}`} onClick={(e) => (e.preventDefault(), setQs({ staging: 'incomplete', group: g.id }))}>
            {n.toLocaleString()}
          </Link>
        ) : (
          <span className="muted">0</span>
        );
      },
    },
  ];
  const attemptsGroup = groups.find((g) => g.id === qs.group);
  const attempts = listed.data?.filter((p) => !attemptsGroup || (p.groupId !== null && within(groups, p.groupId, attemptsGroup.id)));

  return (
    <>
      <PageHeader
        title="Enrollment status"
        subtitle={
          <>
            Devices and enrollment attempts in <strong>{session.group.name}</strong> and the groups below it, by where they stand.
          </>
        }
      />
      <ErrorBanner error={summary.error ?? staging.error ?? listed.error} />
      <section aria-labelledby="device-states">
        <h2 id="device-states">Devices by lifecycle state</h2>
        {!top ? (
          <Spinner label="Counting devices…" />
        ) : (
          <div className="state-cards">
            {STATES.map((state) => (
              <Link key={state} className="state-card" to={`/devices?lifecycle=${state}`} aria-label={`${top.subtree[state]} ${LIFECYCLE[state]!.label}: ${LIFECYCLE_HINT[state]}`}>
                <span className="count">{top.subtree[state].toLocaleString()}</span>
                <strong>{LIFECYCLE[state]!.label}</strong>
                <span className="hint">{LIFECYCLE_HINT[state]}</span>
              </Link>
            ))}
          </div>
        )}
      </section>
      <section aria-labelledby="staging-states">
        <h2 id="staging-states">Enrollment attempts</h2>
        <p className="muted">Web enrollment, user enrollment and the ADE sign-in page keep a record of each attempt from the first page to the device’s first check-in.</p>
        {!staging.data ? (
          <Spinner label="Counting enrollment attempts…" />
        ) : (
          <div className="state-cards">
            {STAGING.map((s) => (
              <Link
                key={s.state}
                className={`state-card${s.state === 'incomplete' ? ' abandoned' : ''}`}
                to={`/enrollment-status?staging=${s.state}#attempts`}
                aria-current={s.state === shown ? 'true' : undefined}
                aria-label={`${count(s.state)} ${s.label}: ${s.hint}`}
                onClick={(e) => (e.preventDefault(), setQs({ staging: s.state }))}
              >
                <span className="count">{count(s.state)}</span>
                <strong>{s.label}</strong>
                <span className="hint">{s.hint}</span>
              </Link>
            ))}
          </div>
        )}
      </section>
      <section aria-labelledby="per-group" className="per-group">
        <h2 id="per-group">By group</h2>
        {groups.length > 0 && <DataTable caption="Devices and enrollment attempts per group (each group with the groups below it)" columns={columns} rows={groups} rowKey={(g) => g.id} />}
      </section>
      <Attempts state={shown} items={attempts} groupName={groupName} group={attemptsGroup?.name} onAllGroups={() => setQs({ group: undefined })} />
    </>
  );
}

/** Whether group `id` lies in the subtree at `top` (parent links of the summary's groups). */
function within(groups: GroupSummary[], id: string, top: string): boolean {
  for (let g = groups.find((x) => x.id === id); g; g = g.parentId ? groups.find((x) => x.id === g!.parentId) : undefined) if (g.id === top) return true;
  return false;
}

function Attempts({ state, items, groupName, group, onAllGroups }: { state: PendingState; items: Pending[] | undefined; groupName(id: string | null): string; group?: string; onAllGroups(): void }) {
  const s = STAGING.find((x) => x.state === state)!;
  const columns: Column<Pending>[] = [
    { key: 'started', header: 'Started', render: (p) => <When at={p.createdAt} /> },
    { key: 'type', header: 'Enrollment type', render: (p) => label(ENROLLMENT_METHOD, p.mode) },
    { key: 'group', header: 'Group', render: (p) => (p.groupId ? groupName(p.groupId) : <span className="muted">not placed yet</span>) },
    { key: 'platform', header: 'Platform', render: (p) => p.platform ?? <span className="muted">—</span> },
    {
      key: 'where', header: state === 'incomplete' ? 'Abandoned' : 'Last step',
      render: (p) =>
        state === 'incomplete' ? (
          <>
            expired <When at={p.expiresAt} />
          </>
        ) : state === 'enrolled' ? (
          <When at={p.completedAt} />
        ) : (
          <When at={p.updatedAt} />
        ),
    },
    { key: 'device', header: 'Device', render: (p) => (p.deviceId ? <Link to={`/devices/${encodeURIComponent(p.deviceId)}`}>Open device</Link> : <span className="muted">none yet</span>) },
    { key: 'from', header: 'From', render: (p) => (p.sourceAddress ? <span className="mono">{p.sourceAddress}</span> : <span className="muted">—</span>) },
  ];
  return (
    <section id="attempts" aria-labelledby="attempts-title">
      <h2 id="attempts-title">
        {s.label} attempts <span className="muted">— {s.hint}</span>
      </h2>
      {group && (
        <p className="filter-chip">
          Only group <strong>{group}</strong> and the groups below it.{' '}
          <button type="button" className="link" onClick={onAllGroups}>
            Show every group
          </button>
        </p>
      )}
      {!items ? null : items.length === 0 ? (
        <EmptyState title={`No ${s.label.toLowerCase()} attempts`}>
          {state === 'incomplete'
            ? 'Nobody gave up half-way. Attempts not finished in time show here, so you can follow up with their users.'
            : 'Attempts in this state show here as people enroll.'}
        </EmptyState>
      ) : (
        <>
          <DataTable caption={`${s.label} enrollment attempts`} columns={columns} rows={items} rowKey={(p) => p.id} />
          {items.length >= READ && <p className="muted">The newest {READ} are shown.</p>}
        </>
      )}
    </section>
  );
}
