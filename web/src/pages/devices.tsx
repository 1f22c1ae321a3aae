/**
 * Every device of the chosen organization group: enrolled ones and those only known from Apple
 * Business Manager. The server pages, filters and orders the list (by serial number: the one
 * order it can stream from an index over 100,000 devices); the filters live in the address so a
 * filtered list can be shared, and the enrollment status page links into it.
 */
import { api, unwrap, type paths } from '../api/client';
import { DataTable, type Column } from '../components/data-table';
import { StatusBadge } from '../components/status-badge';
import { EmptyState, ErrorBanner, PageHeader, Spinner, When } from '../components/ui';
import { FilterSelect, useSettledSearch } from '../components/list-filters';
import { useLoad } from '../components/use-load';
import { Link, useQueryState } from '../router';
import { useSession } from '../session';
import { ENROLLMENT_METHOD, LIFECYCLE, OWNERSHIP, PLATFORMS, label, lifecycleStatus } from './device-labels';
import './devices.css';

type Query = NonNullable<paths['/api/v1/devices']['get']['parameters']['query']>;
export type DeviceRow = paths['/api/v1/devices']['get']['responses'][200]['content']['application/json']['devices'][number];

const PAGE = 50;
const FILTER_KEYS = ['q', 'platform', 'lifecycle', 'ownership', 'enrollmentMethod', 'group'] as const;

function filterOf(qs: Record<string, string>): Query {
  const many = (k: string) => (qs[k] ? [qs[k]!] : undefined);
  return { q: qs.q || undefined, platform: many('platform'), lifecycle: many('lifecycle'), ownership: many('ownership'), enrollmentMethod: many('enrollmentMethod'), group: qs.group || undefined };
}

export function Devices(_: { params: Record<string, string> }) {
  const session = useSession();
  const [qs, setQs] = useQueryState();
  const filter = filterOf(qs);
  const offset = Number(qs.offset) || 0;
  const filterKey = JSON.stringify(filter);
  const list = useLoad(() => unwrap(api.GET('/api/v1/devices', { params: { query: { ...filter, limit: PAGE, offset } } })), [filterKey, offset]);
  const setFilter = (changes: Record<string, string | undefined>) => setQs({ ...changes, offset: undefined });
  const filtered = FILTER_KEYS.some((k) => qs[k]);
  const groupName = (id: string) => session.groups.find((g) => g.id === id)?.name ?? id;
  const rows = list.data?.devices ?? [];

  const columns: Column<DeviceRow>[] = [
    {
      key: 'device', header: 'Device',
      render: (d) => {
        const name = d.deviceName ?? d.modelName ?? d.serialNumber ?? 'User-enrolled device';
        return (
          <div className="device-cell">
            {d.id ? <Link to={`/devices/${encodeURIComponent(d.id)}`}>{name}</Link> : <Link to={`/abm-devices/${encodeURIComponent(d.serialNumber ?? '')}`} title="Known from Apple Business Manager only: open its ADE timeline">{name}</Link>}
            <span className="muted mono">{d.serialNumber ?? (d.udid ? d.udid : 'no serial number (user enrollment)')}</span>
          </div>
        );
      },
    },
    { key: 'platform', header: 'Platform', render: (d) => d.platform ?? <span className="muted">—</span> },
    { key: 'model', header: 'Model', render: (d) => d.modelName ?? d.productName ?? d.model ?? <span className="muted">—</span> },
    { key: 'os', header: 'OS', render: (d) => (d.osVersion ? `${d.osVersion}${d.buildVersion ? ` (${d.buildVersion})` : ''}` : <span className="muted">—</span>) },
    {
      key: 'state', header: 'Lifecycle',
      render: (d) => <StatusBadge status={lifecycleStatus(d.lifecycleState)} />,
    },
    { key: 'ownership', header: 'Ownership', render: (d) => label(OWNERSHIP, d.ownership) },
    { key: 'method', header: 'Enrolled by', render: (d) => (d.id ? label(ENROLLMENT_METHOD, d.enrollmentMethod, 'Enrollment profile') : <span className="muted">Not enrolled</span>) },
    { key: 'group', header: 'Group', render: (d) => groupName(d.organizationGroupId) },
    { key: 'seen', header: 'Last seen', render: (d) => <When at={d.lastSeenAt} empty="Never" /> },
  ];

  return (
    <>
      <PageHeader
        title="Devices"
        subtitle={
          <>
            Enrolled devices and those waiting in Apple Business Manager, in <strong>{session.group.name}</strong> and the groups below it. Ordered by serial number.
          </>
        }
      />
      <Filters qs={qs} onChange={setFilter} groupName={groupName} />
      <ErrorBanner error={list.error} />
      {list.loading && !list.data ? (
        <Spinner label="Loading devices…" />
      ) : rows.length === 0 && !list.loading ? (
        filtered ? (
          <EmptyState
            title="No devices match these filters"
            action={
              <button type="button" onClick={() => setQs(Object.fromEntries(FILTER_KEYS.map((k) => [k, undefined])))}>
                Clear filters
              </button>
            }
          >
            Try another search or fewer filters.
          </EmptyState>
        ) : (
          <EmptyState title="No devices yet">
            Devices appear here when they enroll (web enrollment, a downloaded profile, or Automated Device Enrollment) or when an ABM server
            syncs the devices Apple assigned to it. Add an ABM server under <Link to="/abm-servers">ABM servers</Link>, or share the enrollment
            address from <Link to="/organization">Organization</Link>.
          </EmptyState>
        )
      ) : (
        <DataTable
          caption="Devices"
          columns={columns}
          rows={rows}
          rowKey={(d) => d.id ?? `abm:${d.serialNumber}`}
          total={list.data?.total}
          offset={offset}
          limit={PAGE}
          onPage={(o) => setQs({ offset: o || undefined })}
          loading={list.loading}
        />
      )}
    </>
  );
}

function Filters({ qs, onChange, groupName }: { qs: Record<string, string>; onChange(c: Record<string, string | undefined>): void; groupName(id: string): string }) {
  const search = useSettledSearch(qs.q ?? '', (q) => onChange({ q }));
  const select = (key: string, title: string, any: string, options: [string, string][]) => (
    <FilterSelect label={title} any={any} value={qs[key]} options={options} onChange={(v) => onChange({ [key]: v })} />
  );
  return (
    <>
      <form className="toolbar device-filters" role="search" aria-label="Filter devices" onSubmit={(e) => (e.preventDefault(), search.commitNow())}>
        <label>
          Search
          <input type="search" value={search.text} onChange={(e) => search.setText(e.target.value)} placeholder="Serial number, UDID or name" />
        </label>
        {select('platform', 'Platform', 'Any platform', PLATFORMS.map((p) => [p, p]))}
        {select('lifecycle', 'Lifecycle', 'Any state', Object.entries(LIFECYCLE).map(([k, v]) => [k, v.label]))}
        {select('ownership', 'Ownership', 'Any ownership', Object.entries(OWNERSHIP))}
        {select('enrollmentMethod', 'Enrollment type', 'Any type', Object.entries(ENROLLMENT_METHOD))}
      </form>
      {qs.group && (
        <p className="filter-chip">
          Only group <strong>{groupName(qs.group)}</strong> and the groups below it.{' '}
          <button type="button" className="link" onClick={() => onChange({ group: undefined })}>
            Remove this filter
          </button>
        </p>
      )}
    </>
  );
}
