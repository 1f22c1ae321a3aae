/**
 * The settings of an ABM server as a form: creating one (then the guided token upload follows)
 * and editing one — its name, organization group, sync interval and DEP service URL. Both send
 * only what the admin filled in or changed, and show the API's refusal in the dialog.
 */
import { useState, type ReactNode } from 'react';
import { api, ApiError, unwrap } from '../api/client';
import { Modal } from '../components/confirm';
import { FormActions, useFormSubmit } from '../components/form-submit';
import { ErrorBanner, Field } from '../components/ui';
import { useSession } from '../session';
import type { AbmServer } from './abm-token-upload';

interface Values {
  name: string;
  /** '' = no group: the server serves the whole tree (a global admin's choice only) */
  group: string;
  baseUrl: string;
  interval: string;
}

/** The refusal's message for one field, when the API named it (a problem, or a schema refusal "body/field …"). */
function problemAt(failure: unknown, field: string): string | undefined {
  if (!(failure instanceof ApiError)) return undefined;
  const problem = failure.problems.find((p) => p.path.replace(/^\/?(body\/)?/, '') === field);
  if (problem) return problem.message;
  return failure.code === 'invalid_request' && failure.message.startsWith(`body/${field} `) ? failure.message : undefined;
}

function ServerFields({ values, onChange, failure, nameHint, advancedOpen }: { values: Values; onChange(v: Values): void; failure: unknown; nameHint: string; advancedOpen?: boolean }) {
  const session = useSession();
  // Only an admin whose tree starts at the root may leave a server without a group (the API says so too).
  const mayBeUngrouped = session.groups[0]?.parentId === null && session.groups[0]?.id === session.scopeGroupId;
  const set = (change: Partial<Values>) => onChange({ ...values, ...change });
  const errors = { name: problemAt(failure, 'name'), group: problemAt(failure, 'organizationGroupId'), interval: problemAt(failure, 'syncIntervalMinutes'), baseUrl: problemAt(failure, 'baseUrl') };
  // A control with a message in place points at it, so a screen reader reads it with the field.
  const described = (id: string, error: string | undefined) => (error ? { 'aria-invalid': true, 'aria-describedby': `${id}-error` } : {});
  return (
    <>
      <Field id="server-name" label="Name" hint={nameHint} error={errors.name}>
        <input id="server-name" {...described('server-name', errors.name)} required maxLength={100} value={values.name} onChange={(e) => set({ name: e.target.value })} autoFocus />
      </Field>
      <Field id="server-group" label="Organization group" hint="Admins of this group and its subgroups see the server; enrolled devices join it unless a profile says otherwise." error={errors.group}>
        <select id="server-group" {...described('server-group', errors.group)} value={values.group} onChange={(e) => set({ group: e.target.value })}>
          {(mayBeUngrouped || values.group === '') && <option value="">Whole organization (no group)</option>}
          {session.groups.map((g) => (
            <option key={g.id} value={g.id}>
              {g.breadcrumb.join(' › ') || g.name}
            </option>
          ))}
        </select>
      </Field>
      <Field id="server-interval" label="Sync every (minutes)" hint="How often Pomona asks Apple for changed devices: 5 to 10080 (a week); default 30." error={errors.interval}>
        <input id="server-interval" {...described('server-interval', errors.interval)} type="number" min={5} max={10080} value={values.interval} onChange={(e) => set({ interval: e.target.value })} placeholder="30" />
      </Field>
      <details className="advanced" open={advancedOpen || !!errors.baseUrl}>
        <summary>Advanced</summary>
        <Field id="server-base-url" label="DEP service URL" hint="Leave empty for Apple’s https://mdmenrollment.apple.com (change only for testing)." error={errors.baseUrl}>
          <input id="server-base-url" {...described('server-base-url', errors.baseUrl)} type="url" value={values.baseUrl} onChange={(e) => set({ baseUrl: e.target.value })} placeholder="https://mdmenrollment.apple.com" />
        </Field>
      </details>
    </>
  );
}

/** The dialog around the fields: its intro, the refusal and Cancel / submit. */
function ServerDialog({ title, intro, values, onChange, submit, label, busyLabel, onClose, nameHint, advancedOpen }: {
  title: string;
  intro: ReactNode;
  values: Values;
  onChange(v: Values): void;
  submit: ReturnType<typeof useFormSubmit>;
  label: string;
  busyLabel: string;
  onClose(): void;
  nameHint: string;
  advancedOpen?: boolean;
}) {
  const fieldProblem = ['name', 'organizationGroupId', 'syncIntervalMinutes', 'baseUrl'].some((f) => problemAt(submit.failure, f));
  return (
    <Modal title={title} onClose={onClose}>
      <form onSubmit={submit.onSubmit} noValidate>
        <p className="muted">{intro}</p>
        <ServerFields values={values} onChange={onChange} failure={submit.failure} nameHint={nameHint} advancedOpen={advancedOpen} />
        {!fieldProblem && <ErrorBanner error={submit.error} />}
        <FormActions label={label} busyLabel={busyLabel} busy={submit.busy} onCancel={onClose} disabled={!values.name.trim()} />
      </form>
    </Modal>
  );
}

export function CreateServer({ onClose, onCreated }: { onClose(): void; onCreated(s: AbmServer): void }) {
  const session = useSession();
  const [values, setValues] = useState<Values>({ name: '', group: session.group.id, baseUrl: '', interval: '' });
  const submit = useFormSubmit(async () => {
    const created = await unwrap(
      api.POST('/api/v1/abm-servers', {
        body: {
          name: values.name.trim(),
          ...(values.group ? { organizationGroupId: values.group } : {}),
          ...(values.baseUrl.trim() ? { baseUrl: values.baseUrl.trim() } : {}),
          ...(values.interval ? { syncIntervalMinutes: Number(values.interval) } : {}),
        },
      }),
    );
    onCreated(created);
  });
  return (
    <ServerDialog
      title="Add ABM server"
      intro="Pomona creates a key pair for the server. Next you upload its public key to Apple Business Manager and bring back the token."
      nameHint="How this connection is called in Pomona, e.g. the name of the MDM server in Apple Business Manager."
      values={values}
      onChange={setValues}
      submit={submit}
      label="Create and continue"
      busyLabel="Creating…"
      onClose={onClose}
    />
  );
}

const APPLE_URL = 'https://mdmenrollment.apple.com';

export function EditServer({ server, onClose, onSaved }: { server: AbmServer; onClose(): void; onSaved(s: AbmServer): Promise<void> | void }) {
  const initial: Values = {
    name: server.name,
    group: server.organizationGroupId ?? '',
    baseUrl: server.baseUrl === APPLE_URL ? '' : server.baseUrl,
    interval: String(server.syncIntervalMinutes),
  };
  const [values, setValues] = useState<Values>(initial);
  const submit = useFormSubmit(async () => {
    // Only what changed: a group left alone is not checked against this admin's scope again.
    const body: { name?: string; organizationGroupId?: string | null; baseUrl?: string | null; syncIntervalMinutes?: number } = {};
    if (values.name.trim() !== initial.name) body.name = values.name.trim();
    if (values.group !== initial.group) body.organizationGroupId = values.group || null;
    if (values.baseUrl.trim() !== initial.baseUrl) body.baseUrl = values.baseUrl.trim() || null;
    if (values.interval !== initial.interval) body.syncIntervalMinutes = values.interval ? Number(values.interval) : 30;
    const saved = Object.keys(body).length ? await unwrap(api.PATCH('/api/v1/abm-servers/{id}', { params: { path: { id: server.id } }, body })) : server;
    await onSaved(saved);
  });
  return (
    <ServerDialog
      title={`Edit ${server.name}`}
      intro="The token, key and device list stay as they are."
      nameHint="How this connection is called in Pomona; Apple Business Manager keeps its own name."
      values={values}
      onChange={setValues}
      submit={submit}
      label="Save changes"
      busyLabel="Saving…"
      onClose={onClose}
      advancedOpen={initial.baseUrl !== ''}
    />
  );
}
