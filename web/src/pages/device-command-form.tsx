/**
 * Sends one MDM command to a device: the request types the server validates (src/apple/commands.ts),
 * each with the fields it takes, or any other request type as JSON. Commands that erase, lock or
 * power the device off ask once more, saying what the device will do.
 */
import { useState, type FormEvent } from 'react';
import { api, messageOf, unwrap } from '../api/client';
import { ConfirmDialog, Modal } from '../components/confirm';
import { fileBase64 } from '../components/file-base64';
import { ErrorBanner, Field } from '../components/ui';

type FieldSpec =
  | { key: string; label: string; kind: 'text' | 'pin' | 'list' | 'file'; hint?: string; required?: boolean }
  | { key: string; label: string; kind: 'bool'; hint?: string }
  | { key: string; label: string; kind: 'select'; options: string[]; hint?: string };

interface CommandSpec {
  type: string;
  label: string;
  description: string;
  fields: FieldSpec[];
  /** what the device will do, when it cannot be taken back */
  warning?: string;
}

const PIN_HINT = 'Six digits. Macs need it to unlock; leave empty for other devices.';

/** One-time settings offered in the form: the simple ones (an item and a value). */
const SETTINGS: { item: string; label: string; value: 'text' | 'bool'; key: string }[] = [
  { item: 'DeviceName', label: 'Device name', value: 'text', key: 'DeviceName' },
  { item: 'HostName', label: 'Host name (macOS)', value: 'text', key: 'HostName' },
  { item: 'TimeZone', label: 'Time zone (iOS, tvOS; IANA name)', value: 'text', key: 'TimeZone' },
  { item: 'Bluetooth', label: 'Bluetooth', value: 'bool', key: 'Enabled' },
  { item: 'DataRoaming', label: 'Data roaming', value: 'bool', key: 'Enabled' },
  { item: 'VoiceRoaming', label: 'Voice roaming', value: 'bool', key: 'Enabled' },
  { item: 'PersonalHotspot', label: 'Personal Hotspot', value: 'bool', key: 'Enabled' },
  { item: 'DiagnosticSubmission', label: 'Diagnostic submission', value: 'bool', key: 'Enabled' },
  { item: 'AppAnalytics', label: 'App analytics', value: 'bool', key: 'Enabled' },
];

export const COMMANDS: CommandSpec[] = [
  {
    type: 'DeviceInformation', label: 'Device information', description: 'Asks the device for its attributes (name, OS, capacity, network addresses…).',
    fields: [{ key: 'Queries', label: 'Queries', kind: 'list', hint: 'One key per line, e.g. DeviceName, OSVersion, BatteryLevel. Empty: a common set.' }],
  },
  { type: 'SecurityInfo', label: 'Security information', description: 'FileVault, System Integrity Protection, passcode, bootstrap token and firewall state.', fields: [] },
  { type: 'ProfileList', label: 'Installed profiles', description: 'Lists the configuration profiles on the device.', fields: [{ key: 'ManagedOnly', label: 'Only the profiles Pomona installed', kind: 'bool' }] },
  {
    type: 'InstalledApplicationList', label: 'Installed apps', description: 'Lists the apps on the device.',
    fields: [
      { key: 'Identifiers', label: 'Bundle identifiers', kind: 'list', hint: 'One per line. Empty: every app.' },
      { key: 'ManagedAppsOnly', label: 'Only managed apps', kind: 'bool' },
    ],
  },
  { type: 'InstallProfile', label: 'Install a profile', description: 'Installs a configuration profile file (.mobileconfig, signed or not).', fields: [{ key: 'Payload', label: 'Profile file', kind: 'file', required: true }] },
  { type: 'RemoveProfile', label: 'Remove a profile', description: 'Removes an installed profile by its identifier.', fields: [{ key: 'Identifier', label: 'Profile identifier (PayloadIdentifier)', kind: 'text', required: true }] },
  {
    type: 'Settings', label: 'Change a setting', description: 'Applies a one-time setting; the device reports each setting’s outcome.', fields: [],
  },
  {
    type: 'DeviceLock', label: 'Lock', description: 'Locks the screen now.',
    fields: [
      { key: 'Message', label: 'Message on the Lock Screen', kind: 'text' },
      { key: 'PhoneNumber', label: 'Phone number on the Lock Screen', kind: 'text' },
      { key: 'PIN', label: 'Find My PIN (macOS)', kind: 'pin', hint: PIN_HINT },
    ],
    warning: 'The device locks at once; its user needs the passcode (a Mac: the PIN) to use it again.',
  },
  {
    type: 'RestartDevice', label: 'Restart', description: 'Restarts the device.',
    fields: [{ key: 'NotifyUser', label: 'Let the user choose when (macOS 11.3+)', kind: 'bool' }],
    warning: 'The device restarts; unsaved work of its user may be lost.',
  },
  { type: 'ShutDownDevice', label: 'Shut down', description: 'Turns the device off.', fields: [], warning: 'The device turns off and stays off until someone turns it on.' },
  {
    type: 'EraseDevice', label: 'Erase', description: 'Erases all content and settings.',
    fields: [
      { key: 'PIN', label: 'Find My PIN (macOS)', kind: 'pin', hint: PIN_HINT },
      { key: 'PreserveDataPlan', label: 'Keep the cellular data plan', kind: 'bool' },
      { key: 'DisallowProximitySetup', label: 'Disallow Quick Start from a nearby device', kind: 'bool' },
      { key: 'ObliterationBehavior', label: 'Obliteration (Macs)', kind: 'select', options: ['Default', 'DoNotObliterate', 'ObliterateWithWarning', 'Always'] },
    ],
    warning: 'Every app, account and file on the device is deleted. This cannot be undone.',
  },
];

const OTHER = 'other';

/** The command as the API takes it, from the form's values. */
async function buildCommand(spec: CommandSpec, values: Record<string, string | boolean | File | undefined>): Promise<Record<string, unknown>> {
  const command: Record<string, unknown> = { RequestType: spec.type };
  for (const f of spec.fields) {
    const v = values[f.key];
    if (f.kind === 'bool') {
      if (v === true) command[f.key] = true;
    } else if (f.kind === 'list') {
      const items = String(v ?? '').split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
      if (items.length) command[f.key] = items;
    } else if (f.kind === 'file') {
      if (v instanceof File) command[f.key] = await fileBase64(v);
    } else if (typeof v === 'string' && v.trim()) {
      command[f.key] = v.trim();
    }
  }
  return command;
}

export function SendCommandDialog({ deviceId, deviceName, onSent, onClose }: { deviceId: string; deviceName: string; onSent(requestType: string, pushed: boolean): void; onClose(): void }) {
  const [type, setType] = useState(COMMANDS[0]!.type);
  const [values, setValues] = useState<Record<string, string | boolean | File | undefined>>({});
  const [setting, setSetting] = useState(SETTINGS[0]!.item);
  const [raw, setRaw] = useState({ requestType: '', json: '{}' });
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<Record<string, unknown> | null>(null);
  const spec = COMMANDS.find((c) => c.type === type);
  const set = (key: string, v: string | boolean | File | undefined) => setValues((old) => ({ ...old, [key]: v }));

  const command = async (): Promise<Record<string, unknown>> => {
    if (type === OTHER) {
      let extra: unknown;
      try {
        extra = JSON.parse(raw.json || '{}');
      } catch {
        throw new Error('the command keys are not valid JSON');
      }
      if (!extra || typeof extra !== 'object' || Array.isArray(extra)) throw new Error('the command keys must be a JSON object, e.g. {"Key": "value"}');
      return { ...(extra as object), RequestType: raw.requestType.trim() };
    }
    if (type === 'Settings') {
      const s = SETTINGS.find((x) => x.item === setting)!;
      const v = values[`setting:${s.item}`];
      return { RequestType: 'Settings', Settings: [{ Item: s.item, [s.key]: s.value === 'bool' ? v === true : String(v ?? '').trim() }] };
    }
    return buildCommand(spec!, values);
  };

  const send = async (body: Record<string, unknown>) => {
    const out = await unwrap(api.POST('/api/v1/commands', { body: { devices: [deviceId], command: body as { RequestType: string } } }));
    onSent(out.requestType, (out.pushes ?? []).some((p) => p.status === 'sent'));
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const body = await command();
      if (spec?.warning) setConfirming(body);
      else await send(body);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={`Send a command to ${deviceName}`} onClose={onClose} wide>
      <form onSubmit={(e) => void submit(e)} className="command-form">
        <Field id="command-type" label="Command" hint={spec?.description ?? 'Any request type the device supports; its keys as JSON (data as base64).'}>
          <select id="command-type" value={type} onChange={(e) => (setType(e.target.value), setValues({}), setError(undefined))}>
            {COMMANDS.map((c) => (
              <option key={c.type} value={c.type}>
                {c.label} ({c.type})
              </option>
            ))}
            <option value={OTHER}>Other request type…</option>
          </select>
        </Field>
        {spec?.fields.map((f) => <CommandField key={`${type}.${f.key}`} id={`${type}-${f.key}`} field={f} value={values[f.key]} onChange={(v) => set(f.key, v)} />)}
        {type === 'Settings' && (
          <SettingField setting={setting} onSetting={setSetting} value={values[`setting:${setting}`]} onChange={(v) => set(`setting:${setting}`, v)} />
        )}
        {type === OTHER && (
          <>
            <Field id="raw-type" label="Request type" hint="As Apple names it, e.g. ClearPasscode, ScheduleOSUpdate.">
              <input id="raw-type" required pattern="[A-Za-z][A-Za-z0-9.]{0,99}" value={raw.requestType} onChange={(e) => setRaw({ ...raw, requestType: e.target.value })} />
            </Field>
            <Field id="raw-json" label="Command keys (JSON)" hint="Everything but RequestType.">
              <textarea id="raw-json" className="mono" value={raw.json} onChange={(e) => setRaw({ ...raw, json: e.target.value })} />
            </Field>
          </>
        )}
        {spec?.warning && <p className="notice warning">{spec.warning}</p>}
        <ErrorBanner error={error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={spec?.warning ? 'danger' : 'primary'} disabled={busy}>
            {busy ? 'Sending…' : 'Send command'}
          </button>
        </div>
      </form>
      {confirming && spec && (
        <ConfirmDialog title={`${spec.label} ${deviceName}?`} confirmLabel={`${spec.label} now`} onConfirm={() => send(confirming)} onClose={() => setConfirming(null)}>
          <p>{spec.warning}</p>
          <p className="muted">Pomona queues {spec.type} and pushes the device; it runs the command the next time it checks in.</p>
        </ConfirmDialog>
      )}
    </Modal>
  );
}

function CommandField({ id, field, value, onChange }: { id: string; field: FieldSpec; value: string | boolean | File | undefined; onChange(v: string | boolean | File | undefined): void }) {
  if (field.kind === 'bool') {
    return (
      <label className="check" htmlFor={id}>
        <input id={id} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />
        <span>{field.label}</span>
      </label>
    );
  }
  const required = 'required' in field && field.required;
  return (
    <Field id={id} label={field.label + (required ? '' : ' (optional)')} hint={field.hint}>
      {field.kind === 'select' ? (
        <select id={id} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value || undefined)}>
          <option value="">Device default</option>
          {field.options.map((o) => (
            <option key={o}>{o}</option>
          ))}
        </select>
      ) : field.kind === 'list' ? (
        <textarea id={id} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value)} />
      ) : field.kind === 'file' ? (
        <input id={id} type="file" accept=".mobileconfig,application/x-apple-aspen-config" required={required} onChange={(e) => onChange(e.target.files?.[0])} />
      ) : (
        <input
          id={id}
          required={required}
          inputMode={field.kind === 'pin' ? 'numeric' : undefined}
          pattern={field.kind === 'pin' ? '[0-9]{6}' : undefined}
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

function SettingField({ setting, onSetting, value, onChange }: { setting: string; onSetting(s: string): void; value: string | boolean | File | undefined; onChange(v: string | boolean): void }) {
  const s = SETTINGS.find((x) => x.item === setting)!;
  return (
    <>
      <Field id="setting-item" label="Setting">
        <select id="setting-item" value={setting} onChange={(e) => onSetting(e.target.value)}>
          {SETTINGS.map((x) => (
            <option key={x.item} value={x.item}>
              {x.label}
            </option>
          ))}
        </select>
      </Field>
      {s.value === 'bool' ? (
        <label className="check" htmlFor="setting-value">
          <input id="setting-value" type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />
          <span>Turn {s.label.toLowerCase()} on (unchecked: off)</span>
        </label>
      ) : (
        <Field id="setting-value" label={s.label}>
          <input id="setting-value" required value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value)} />
        </Field>
      )}
    </>
  );
}
