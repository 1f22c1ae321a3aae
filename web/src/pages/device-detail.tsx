/**
 * One device: what it is (hardware and OS as it last reported them), how and to whom it is
 * enrolled, its commands and their answers, its Mac secrets; and what an operator may do with
 * it — push it now, send a command, release it from Setup Assistant, move it to another group,
 * hand it to a user, retire it. Actions the admin's role may not take are not shown.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { api, messageOf, unwrap, type paths } from '../api/client';
import { ConfirmDialog, Modal } from '../components/confirm';
import { DataTable, type Column } from '../components/data-table';
import { FormActions, useFormSubmit } from '../components/form-submit';
import { plural } from '../components/plural';
import { StatusBadge } from '../components/status-badge';
import { Badge, ErrorBanner, Field, Notice, PageHeader, Spinner, When, relative } from '../components/ui';
import { useLoad } from '../components/use-load';
import { Link } from '../router';
import { useSession } from '../session';
import { SendCommandDialog } from './device-command-form';
import { DeviceCommands } from './device-commands';
import { ENROLLMENT_METHOD, OWNERSHIP, label, lifecycleStatus } from './device-labels';
import { DeviceSecurity } from './device-security';
import './devices.css';

type Detail = paths['/api/v1/devices/{id}']['get']['responses'][200]['content']['application/json'];
type Enrollment = Detail['enrollments'][number];

const COMMANDS_PAGE = 20;
type Dialog = 'command' | 'release' | 'move' | 'user' | 'retire' | null;

/** DeviceInformation keys worth a line of their own, in the order people look for them. */
const INFO_FACTS: [string, string, (v: unknown) => ReactNode][] = [
  ['ModelNumber', 'Model number', String],
  ['DeviceCapacity', 'Capacity', (v) => `${Number(v).toFixed(0)} GB`],
  ['AvailableDeviceCapacity', 'Available', (v) => `${Number(v).toFixed(1)} GB`],
  ['IsSupervised', 'Supervised', (v) => (v ? 'Yes' : 'No')],
  ['IsActivationLockEnabled', 'Activation Lock', (v) => (v ? 'On' : 'Off')],
  ['IsAppleSilicon', 'Apple silicon', (v) => (v ? 'Yes' : 'No')],
  ['WiFiMAC', 'Wi-Fi address', String],
  ['BluetoothMAC', 'Bluetooth address', String],
  ['IMEI', 'IMEI', String],
  ['TimeZone', 'Time zone', String],
];

export function DeviceDetail({ params }: { params: Record<string, string> }) {
  const session = useSession();
  const id = params.id!;
  const path = { params: { path: { id } } };
  const detail = useLoad(() => unwrap(api.GET('/api/v1/devices/{id}', path)), [id]);
  const [commandsLimit, setCommandsLimit] = useState(COMMANDS_PAGE);
  const commands = useLoad(async () => (await unwrap(api.GET('/api/v1/devices/{id}/commands', { ...path, params: { ...path.params, query: { limit: commandsLimit } } }))).commands, [id, commandsLimit]);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [notice, setNotice] = useState<{ tone: 'success' | 'error' | 'info'; text: ReactNode }>();
  const [pushing, setPushing] = useState(false);
  // An answer can change the device (DeviceInformation, DeviceConfigured…): read it again when one arrives.
  const pending = commands.data?.filter((c) => c.status === 'Pending').length ?? 0;
  const pendingBefore = useRef(pending);
  useEffect(() => {
    if (pending < pendingBefore.current) void detail.reload();
    pendingBefore.current = pending;
  }, [pending]); // eslint-disable-line react-hooks/exhaustive-deps

  if (detail.error) {
    const gone = detail.error && !detail.data;
    return (
      <>
        <PageHeader title="Device" />
        <ErrorBanner error={detail.error} />
        {gone && (
          <p>
            <Link to="/devices">Back to the device list</Link>
          </p>
        )}
      </>
    );
  }
  if (!detail.data) return <Spinner label="Loading the device…" />;
  const { device, enrollments } = detail.data;
  const channel = enrollments.find((e) => e.channel === 'device' && e.status !== 'removed') ?? enrollments.find((e) => e.channel === 'device');
  const name = device.deviceName ?? device.modelName ?? device.serialNumber ?? device.id;
  const canOperate = session.can('operate');
  const managed = device.lifecycleState === 'enrolling' || device.lifecycleState === 'enrolled';
  // The notice shows with the device as it now is.
  const done = async (text: ReactNode) => {
    await detail.reload();
    setNotice({ tone: 'success', text });
  };

  const pushNow = async () => {
    setPushing(true);
    try {
      const { pushes } = await unwrap(api.POST('/api/v1/devices/{id}/push', path));
      const sent = pushes.filter((p) => p.status === 'sent').length;
      setNotice(
        pushes.length === 0
          ? { tone: 'error', text: 'The device has no channel to push: it is not enrolled.' }
          : sent === pushes.length
            ? { tone: 'success', text: `Push sent to ${sent === 1 ? 'the device' : plural(sent, 'channel')}. It checks in and runs whatever is queued.` }
            : { tone: 'error', text: `Push not delivered: ${pushes.map((p) => `${p.enrollmentId}: ${p.status}${p.reason ? ` (${p.reason})` : ''}`).join('; ')}` },
      );
      // The push is recorded on the channel (its last push and result): read the device again too.
      await Promise.all([detail.reload(), commands.reload()]);
    } catch (err) {
      setNotice({ tone: 'error', text: messageOf(err) });
    } finally {
      setPushing(false);
    }
  };

  return (
    <>
      <p className="breadcrumb">
        <Link to="/devices">Devices</Link> /
      </p>
      <PageHeader
        title={name}
        subtitle={
          <>
            <StatusBadge status={lifecycleStatus(device.lifecycleState)} /> {[device.modelName ?? device.productName, device.platform && device.osVersion ? `${device.platform} ${device.osVersion}` : device.osVersion, device.serialNumber].filter(Boolean).join(' · ')}
          </>
        }
        actions={
          !canOperate ? (
            <span className="muted">View only: actions on devices need an operator or administrator role.</span>
          ) : (
            <>
              {managed && (
                <button type="button" onClick={() => void pushNow()} disabled={pushing}>
                  {pushing ? 'Pushing…' : 'Push now'}
                </button>
              )}
              {managed && (
                <button type="button" className="primary" onClick={() => setDialog('command')}>
                  Send command…
                </button>
              )}
              {channel?.awaitingConfiguration && managed && (
                <button type="button" onClick={() => setDialog('release')}>
                  Release from Setup Assistant…
                </button>
              )}
              <button type="button" onClick={() => setDialog('move')}>
                Move to group…
              </button>
              <button type="button" onClick={() => setDialog('user')}>
                Assign user…
              </button>
              {device.lifecycleState !== 'removed' && (
                <button type="button" className="danger" onClick={() => setDialog('retire')}>
                  Retire…
                </button>
              )}
            </>
          )
        }
      />
      {notice && <Notice tone={notice.tone}>{notice.text}</Notice>}
      <div className="device-panels">
        <div className="device-column">
          <Hardware detail={detail.data} />
          <DeviceSecurity detail={detail.data} />
        </div>
        <EnrollmentFacts detail={detail.data} channel={channel} />
      </div>
      <SetupPlan deviceId={device.id} detail={detail.data} />
      <DeviceCommands commands={commands} onMore={commands.data && commands.data.length >= commandsLimit ? () => setCommandsLimit(commandsLimit + COMMANDS_PAGE) : undefined} />
      {enrollments.length > 1 && <Channels enrollments={enrollments} />}

      {dialog === 'command' && (
        <SendCommandDialog
          deviceId={device.id}
          deviceName={name}
          onClose={() => setDialog(null)}
          onSent={(type, pushed) => {
            setDialog(null);
            setNotice({ tone: 'success', text: `${type} queued${pushed ? ' and the device pushed' : ''}. Its answer appears under Commands when the device checks in.` });
            // The push that went with it is one of the device's facts too.
            void Promise.all([detail.reload(), commands.reload()]);
          }}
        />
      )}
      {dialog === 'release' && (
        <ConfirmDialog
          title={`Release ${name} from Setup Assistant?`}
          confirmLabel="Release now"
          danger={false}
          onConfirm={async () => {
            await unwrap(api.POST('/api/v1/devices/{id}/release', path));
            await done('Released: DeviceConfigured is queued. The device leaves the Remote Management pane and finishes setup.');
            await commands.reload();
          }}
          onClose={() => setDialog(null)}
        >
          <p>
            Pomona sends DeviceConfigured now: the device leaves Setup Assistant’s Remote Management pane and the user finishes setting it up. Steps of
            its setup plan not answered yet still run, ahead of DeviceConfigured in its queue. The release is recorded in the audit log.
          </p>
        </ConfirmDialog>
      )}
      {dialog === 'move' && <MoveDialog deviceId={device.id} name={name} current={device.organizationGroupId} onClose={() => setDialog(null)} onMoved={(g) => void done(`Moved to ${g}.`)} />}
      {dialog === 'user' && <UserDialog deviceId={device.id} name={name} onClose={() => setDialog(null)} onAssigned={(u) => void done(`Assigned to ${u}.`)} />}
      {dialog === 'retire' && (
        <ConfirmDialog
          title={`Retire ${name}?`}
          confirmLabel="Retire device"
          onConfirm={async () => {
            await unwrap(api.POST('/api/v1/devices/{id}/retire', path));
            await done('Retired. Pomona no longer manages this device.');
            await commands.reload();
          }}
          onClose={() => setDialog(null)}
        >
          <p>Pomona stops managing this device, as if it had removed its MDM profile:</p>
          <ul>
            <li>its enrollment ends and the commands still queued for it are dropped;</li>
            <li>its next check-in is refused; it stays in the list as removed, with its history;</li>
            <li>nothing is erased — send Erase first if the device is still in hand.</li>
          </ul>
          <p>A new enrollment brings it back. The retirement is recorded in the audit log.</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function Hardware({ detail }: { detail: Detail }) {
  const { device } = detail;
  const info = (detail.information && typeof detail.information === 'object' ? (detail.information as Record<string, unknown>) : {}) as Record<string, unknown>;
  return (
    <section className="panel" aria-labelledby="hardware-title">
      <h2 id="hardware-title">Hardware and OS</h2>
      <dl className="facts">
        <Fact term="Name">{device.deviceName}</Fact>
        <Fact term="Model">{device.modelName && device.productName ? `${device.modelName} (${device.productName})` : (device.modelName ?? device.productName)}</Fact>
        <Fact term="Platform">{device.platform}</Fact>
        <Fact term="OS">{device.osVersion && `${device.osVersion}${device.buildVersion ? ` (${device.buildVersion})` : ''}`}</Fact>
        <Fact term="Serial number">{device.serialNumber && <span className="mono">{device.serialNumber}</span>}</Fact>
        <Fact term="UDID">{device.udid && <span className="mono">{device.udid}</span>}</Fact>
        {INFO_FACTS.filter(([k]) => info[k] !== undefined && info[k] !== null && info[k] !== '').map(([k, term, show]) => (
          <Fact key={k} term={term}>
            {show(info[k])}
          </Fact>
        ))}
      </dl>
      {Object.keys(info).length === 0 && <p className="muted">The device has not answered DeviceInformation yet; send it from Send command.</p>}
    </section>
  );
}

function EnrollmentFacts({ detail, channel }: { detail: Detail; channel?: Enrollment }) {
  const session = useSession();
  const { device } = detail;
  const user = useLoad(async () => (device.userId ? unwrap(api.GET('/api/v1/users/{id}', { params: { path: { id: device.userId } } })) : null), [device.userId]);
  const group = session.groups.find((g) => g.id === device.organizationGroupId);
  const type = channel ? `${channel.type}${channel.ade ? ' · Automated Device Enrollment' : ''}` : null;
  return (
    <section className="panel" aria-labelledby="enrollment-title">
      <h2 id="enrollment-title">Enrollment</h2>
      <dl className="facts">
        <Fact term="Lifecycle">
          <StatusBadge status={lifecycleStatus(device.lifecycleState)} /> {device.lifecycleChangedAt && <span className="muted">since <When at={device.lifecycleChangedAt} /></span>}
        </Fact>
        <Fact term="Type">{type}</Fact>
        <Fact term="Enrolled by">{label(ENROLLMENT_METHOD, device.enrollmentMethod, 'Enrollment profile')}</Fact>
        <Fact term="User">
          {device.userId ? (user.data ? `${user.data.displayName ?? user.data.username} (${user.data.username})` : user.error ? device.userId : '…') : null}
        </Fact>
        <Fact term="Group">{group ? group.breadcrumb.join(' › ') || group.name : device.organizationGroupId}</Fact>
        <Fact term="Ownership">{device.ownership && label(OWNERSHIP, device.ownership)}</Fact>
        <Fact term="Registration token">{device.registrationTokenStatus === 'not applicable' ? <span className="muted">None used</span> : device.registrationTokenStatus}</Fact>
        <Fact term="Apple Business Manager">{device.abmStatus === 'in-abm' ? 'Assigned to Pomona' : device.abmStatus === 'removed-from-abm' ? 'Removed from ABM' : <span className="muted">Not in ABM</span>}</Fact>
        <Fact term="First seen">
          <When at={device.createdAt} />
        </Fact>
        <Fact term="Last check-in">{device.lastSeenAt ? <span title={new Date(device.lastSeenAt).toISOString()}>{relative(device.lastSeenAt)}</span> : <span className="muted">Never</span>}</Fact>
        {channel && (
          <>
            <Fact term="Push">
              {channel.pushTokenInvalid ? (
                <Badge tone="bad" title="APNs said the token is no longer valid">Token invalid</Badge>
              ) : channel.hasPushToken ? (
                <>
                  {channel.lastPushAt ? <>Last push {relative(channel.lastPushAt)}{channel.lastPushResult ? ` (${channel.lastPushResult})` : ''}</> : 'Ready, never pushed'}
                </>
              ) : (
                <span className="muted">No push token yet</span>
              )}
            </Fact>
            <Fact term="Awaiting configuration">{channel.awaitingConfiguration ? <Badge tone="warn">In Setup Assistant</Badge> : 'No'}</Fact>
          </>
        )}
      </dl>
    </section>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <>
      <dt>{term}</dt>
      <dd>{children === null || children === undefined || children === '' ? <span className="muted">—</span> : children}</dd>
    </>
  );
}

/** The await-configuration plan of the device, when it has one; read again with the device. */
function SetupPlan({ deviceId, detail }: { deviceId: string; detail: Detail }) {
  const plan = useLoad(async () => {
    const res = await api.GET('/api/v1/devices/{id}/setup-plan', { params: { path: { id: deviceId } } });
    if (res.response.status === 404) return null;
    return unwrap(Promise.resolve(res));
  }, [deviceId, detail]);
  const p = plan.data;
  // No plan (404) is nothing to show; a read that failed otherwise says why.
  if (plan.error) return <ErrorBanner error={`The setup plan could not be read: ${plan.error}`} />;
  if (!p) return null;
  const answered = p.steps.filter((s) => s.status === 'acknowledged').length;
  return (
    <section className="panel" aria-labelledby="plan-title">
      <h2 id="plan-title">Setup plan (await configuration)</h2>
      <p>
        <Badge tone={p.status === 'running' ? 'info' : p.status === 'released' ? 'good' : 'neutral'}>{p.status}</Badge> {answered} of {plural(p.steps.length, 'step')} done
        {p.reason && ` · ${p.reason}`} · started <When at={p.startedAt} />
        {p.status === 'running' && <> · released at the latest <When at={p.deadlineAt} /></>}
      </p>
      <ol className="plan-steps">
        {p.steps.map((s) => (
          <li key={s.position}>
            {s.label} <Badge tone={s.status === 'acknowledged' ? 'good' : s.status === 'error' || s.status === 'timed-out' ? 'bad' : 'neutral'}>{s.status}</Badge>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Channels({ enrollments }: { enrollments: Enrollment[] }) {
  const columns: Column<Enrollment>[] = [
    { key: 'id', header: 'Channel', render: (e) => <span className="mono">{e.id}</span> },
    { key: 'type', header: 'Type', render: (e) => e.type },
    { key: 'user', header: 'User', render: (e) => e.userShortName ?? <span className="muted">—</span> },
    { key: 'status', header: 'Status', render: (e) => e.status },
    { key: 'seen', header: 'Last check-in', render: (e) => <When at={e.lastSeenAt} empty="Never" /> },
  ];
  return (
    <section className="panel" aria-labelledby="channels-title">
      <h2 id="channels-title">Channels</h2>
      <DataTable caption="MDM channels of this device" columns={columns} rows={enrollments} rowKey={(e) => e.id} />
    </section>
  );
}

/** A small form in a modal: the server's refusal in place, the button busy while it works. */
function FormModal(p: { title: string; submitLabel: string; busyLabel: string; disabled?: boolean; onSubmit(): Promise<void>; onClose(): void; children: ReactNode }) {
  const submit = useFormSubmit(p.onSubmit);
  return (
    <Modal title={p.title} onClose={p.onClose}>
      <form onSubmit={submit.onSubmit}>
        {p.children}
        <ErrorBanner error={submit.error} />
        <FormActions label={p.submitLabel} busyLabel={p.busyLabel} busy={submit.busy} disabled={p.disabled} onCancel={p.onClose} />
      </form>
    </Modal>
  );
}

function MoveDialog({ deviceId, name, current, onClose, onMoved }: { deviceId: string; name: string; current: string; onClose(): void; onMoved(group: string): void }) {
  const { groups } = useSession();
  const [to, setTo] = useState(groups.find((g) => g.id !== current)?.id ?? current);
  const base = groups[0]?.depth ?? 0;
  const submit = async () => {
    await unwrap(api.POST('/api/v1/devices/{id}/organization-group', { params: { path: { id: deviceId } }, body: { groupId: to } }));
    onClose();
    onMoved(groups.find((g) => g.id === to)?.name ?? to);
  };
  return (
    <FormModal title={`Move ${name} to another group`} submitLabel="Move device" busyLabel="Moving…" disabled={to === current} onSubmit={submit} onClose={onClose}>
      <Field id="move-group" label="Organization group" hint="The device takes the settings and configuration profiles of its new group; the move is recorded in the audit log.">
        <select id="move-group" value={to} onChange={(e) => setTo(e.target.value)}>
          {groups.map((g) => (
            <option key={g.id} value={g.id} disabled={g.id === current}>
              {'\u00a0\u00a0'.repeat(g.depth - base)}
              {g.name} ({g.groupId}){g.id === current ? ' — current' : ''}
            </option>
          ))}
        </select>
      </Field>
    </FormModal>
  );
}

function UserDialog({ deviceId, name, onClose, onAssigned }: { deviceId: string; name: string; onClose(): void; onAssigned(user: string): void }) {
  const [search, setSearch] = useState('');
  const [chosen, setChosen] = useState<string>();
  const [typed, setTyped] = useState('');
  // Typing settles for a moment before asking the server.
  useEffect(() => {
    const t = setTimeout(() => setTyped(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);
  const users = useLoad(() => unwrap(api.GET('/api/v1/users', { params: { query: { search: typed || undefined, limit: 8 } } })), [typed]);
  const items = users.data?.items ?? [];
  const submit = async () => {
    const u = items.find((x) => x.id === chosen);
    if (!u) throw new Error('choose a user');
    await unwrap(api.POST('/api/v1/devices/{id}/user', { params: { path: { id: deviceId } }, body: { userId: u.id } }));
    onClose();
    onAssigned(u.displayName ?? u.username);
  };
  return (
    <FormModal title={`Assign ${name} to a user`} submitLabel="Assign user" busyLabel="Assigning…" disabled={!items.some((x) => x.id === chosen)} onSubmit={submit} onClose={onClose}>
      <p>For instance a device enrolled to the staging user, now handed to the person who uses it. The change is recorded in the audit log.</p>
      <Field id="assign-user" label="Find a user" hint="User name, display name or e-mail.">
        <input id="assign-user" type="search" value={search} onChange={(e) => setSearch(e.target.value)} autoComplete="off" />
      </Field>
      <ErrorBanner error={users.error} />
      <fieldset className="user-choices">
        <legend>
          User{users.data && users.data.total > items.length ? ` (first ${items.length} of ${users.data.total.toLocaleString()}: type more to narrow)` : ''}
        </legend>
        {items.length === 0 && !users.loading && <p className="muted">No user matches{typed ? ` “${typed}”` : ''}.</p>}
        {items.map((u) => (
          <label key={u.id} className="check">
            <input type="radio" name="assign-user-choice" value={u.id} checked={chosen === u.id} onChange={() => setChosen(u.id)} />
            <span>
              {u.displayName ?? u.username} <span className="muted">({u.username}{u.email ? `, ${u.email}` : ''})</span>
            </span>
          </label>
        ))}
      </fieldset>
    </FormModal>
  );
}
