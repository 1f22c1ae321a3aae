/**
 * End users: search a page at a time on the server, create local users, disable or enable them,
 * and assign the Managed Apple Account user enrollment uses.
 */
import { useState } from 'react';
import { api, messageOf, unwrap, type paths } from '../../api/client';
import { ConfirmDialog, Modal } from '../../components/confirm';
import { FormActions, useFormSubmit } from '../../components/form-submit';
import { DataTable } from '../../components/data-table';
import { Badge, EmptyState, ErrorBanner, Field, Spinner, When } from '../../components/ui';
import { useLoad } from '../../components/use-load';
import { useQueryState } from '../../router';
import { useSession } from '../../session';
import { GroupSelect, groupLabel, useSubtree } from './org-common';

type User = paths['/api/v1/users']['get']['responses'][200]['content']['application/json']['items'][number];
const LIMIT = 50;

export function UsersTab() {
  const { can, groups } = useSession();
  const [query, setQuery] = useQueryState();
  const search = query.q ?? '';
  const offset = Number(query.offset ?? 0);
  const [typed, setTyped] = useState(search);
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/users', { params: { query: { search: search || undefined, limit: LIMIT, offset } } })), [search, offset]);
  const [creating, setCreating] = useState(false);
  const [toggling, setToggling] = useState<User | null>(null);
  const [appleId, setAppleId] = useState<User | null>(null);
  const isAdmin = can('admin');

  const status = (u: User) => (u.disabled ? <Badge tone="bad">Disabled</Badge> : u.locked ? <Badge tone="warn">Locked (failed sign-ins)</Badge> : <Badge tone="good">Active</Badge>);
  return (
    <>
      <div className="toolbar">
        <form
          className="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ q: typed, offset: null });
          }}
        >
          <label>
            Search users
            <input type="search" value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="Name, display name or e-mail" />
          </label>
          <button type="submit">Search</button>
        </form>
        {isAdmin && (
          <button type="button" className="primary push-right" onClick={() => setCreating(true)}>
            New local user
          </button>
        )}
      </div>
      <ErrorBanner error={loaded.error} />
      {!loaded.data && !loaded.error && <Spinner />}
      {loaded.data && loaded.data.total === 0 && (
        <EmptyState title={search ? `No user matches “${search}”` : 'No users yet'}>
          {search
            ? 'Try part of the user name, the display name or the e-mail address.'
            : 'Users appear when they first sign in through an identity provider, or create local users here. Their default group decides where their devices enroll.'}
        </EmptyState>
      )}
      {loaded.data && loaded.data.total > 0 && (
        <DataTable
          caption="Users"
          rows={loaded.data.items}
          rowKey={(u) => u.id}
          total={loaded.data.total}
          offset={offset}
          limit={LIMIT}
          onPage={(o) => setQuery({ offset: o || null })}
          loading={loaded.loading}
          columns={[
            { key: 'user', header: 'User', render: (u) => (<><strong>{u.username}</strong>{u.displayName && <div className="muted">{u.displayName}</div>}</>) },
            { key: 'email', header: 'E-mail', render: (u) => u.email ?? <span className="muted">—</span> },
            { key: 'source', header: 'Source', render: (u) => (u.source === 'local' ? 'Local' : u.source) },
            { key: 'group', header: 'Default group', render: (u) => groupLabel(groups, u.defaultGroupId) },
            { key: 'status', header: 'Status', render: status },
            { key: 'last', header: 'Last sign-in', render: (u) => <When at={u.lastSignInAt} empty="never" /> },
            {
              key: 'actions',
              header: 'Actions',
              render: (u) => (
                <div className="row-actions">
                  <button type="button" className="link" onClick={() => setAppleId(u)} aria-label={`Managed Apple Account of ${u.username}`}>
                    Managed Apple Account
                  </button>
                  {isAdmin && (
                    <button type="button" className="link" onClick={() => setToggling(u)} aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.username}`}>
                      {u.disabled ? 'Enable' : 'Disable'}
                    </button>
                  )}
                </div>
              ),
            },
          ]}
        />
      )}
      {creating && <CreateUser onClose={() => setCreating(false)} onCreated={() => void loaded.reload()} />}
      {toggling && (
        <ConfirmDialog
          title={`${toggling.disabled ? 'Enable' : 'Disable'} ${toggling.username}?`}
          confirmLabel={toggling.disabled ? 'Enable user' : 'Disable user'}
          danger={!toggling.disabled}
          onClose={() => setToggling(null)}
          onConfirm={async () => {
            await unwrap(api.PATCH('/api/v1/users/{id}', { params: { path: { id: toggling.id } }, body: { disabled: !toggling.disabled } }));
            await loaded.reload();
          }}
        >
          {toggling.disabled ? (
            <p>{toggling.username} can sign in and enroll devices again.</p>
          ) : (
            <p>
              {toggling.username} can no longer sign in — locally or through an identity provider — so cannot enroll new devices. Devices already enrolled stay enrolled. You can enable the user again at any time.
            </p>
          )}
        </ConfirmDialog>
      )}
      {appleId && <ManagedAppleIdDialog user={appleId} canEdit={isAdmin} onClose={() => setAppleId(null)} />}
    </>
  );
}

function CreateUser({ onClose, onCreated }: { onClose(): void; onCreated(): void }) {
  const subtree = useSubtree();
  const [form, setForm] = useState({ username: '', displayName: '', email: '', password: '', pin: '', defaultGroupId: subtree[0]!.id });
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const submit = useFormSubmit(async () => {
    await unwrap(api.POST('/api/v1/users', { body: { username: form.username, password: form.password, defaultGroupId: form.defaultGroupId, displayName: form.displayName || undefined, email: form.email || undefined, pin: form.pin || undefined } }));
    onCreated();
    onClose();
  });
  const error = submit.error;
  const about = (word: string) => (error && error.toLowerCase().includes(word) ? error : undefined);
  const shown = about('user name') ?? about('password') ?? about('pin');
  return (
    <Modal title="New local user" onClose={onClose}>
      <form onSubmit={submit.onSubmit}>
        {!shown && <ErrorBanner error={error} />}
        <Field id="u-name" label="User name" error={about('user name')}>
          <input id="u-name" value={form.username} onChange={set('username')} required autoFocus autoComplete="off" />
        </Field>
        <Field id="u-display" label="Display name">
          <input id="u-display" value={form.displayName} onChange={set('displayName')} />
        </Field>
        <Field id="u-email" label="E-mail">
          <input id="u-email" type="email" value={form.email} onChange={set('email')} />
        </Field>
        <Field id="u-password" label="Password" hint="At least 12 characters." error={about('password')}>
          <input id="u-password" type="password" value={form.password} onChange={set('password')} required autoComplete="new-password" />
        </Field>
        <Field id="u-pin" label="PIN (optional)" hint="4 to 8 digits, stored hashed like the password." error={about('pin')}>
          <input id="u-pin" inputMode="numeric" value={form.pin} onChange={set('pin')} />
        </Field>
        <Field id="u-group" label="Default enrollment group" hint="Where the user's devices enroll unless a user-group mapping says otherwise.">
          <GroupSelect id="u-group" value={form.defaultGroupId} onChange={(v) => setForm({ ...form, defaultGroupId: v })} groups={subtree} />
        </Field>
        <FormActions label="Create user" busyLabel="Creating…" busy={submit.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}

function ManagedAppleIdDialog({ user, canEdit, onClose }: { user: User; canEdit: boolean; onClose(): void }) {
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/users/{id}/managed-apple-id', { params: { path: { id: user.id } } })), [user.id]);
  const [value, setValue] = useState<string>();
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState(false);
  const save = async (managedAppleId: string | null) => {
    setError(undefined);
    try {
      await unwrap(api.PUT('/api/v1/users/{id}/managed-apple-id', { params: { path: { id: user.id } }, body: { managedAppleId } }));
      setSaved(true);
      setValue(undefined);
      await loaded.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const d = loaded.data;
  const source = { assigned: 'assigned by an admin', email: "the user's e-mail address from their directory", none: 'none: this user cannot use user enrollment' };
  return (
    <Modal title={`Managed Apple Account of ${user.username}`} onClose={onClose}>
      <ErrorBanner error={loaded.error} />
      {!d && !loaded.error && <Spinner />}
      {d && (
        <>
          <dl className="facts">
            <dt>Used at user enrollment</dt>
            <dd>{d.effective ?? '—'}</dd>
            <dt>Comes from</dt>
            <dd>{source[d.source]}</dd>
          </dl>
          {saved && <p role="status" className="muted">Saved.</p>}
          {canEdit && (
            <form
              className="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                void save(value ?? d.assigned ?? '');
              }}
            >
              <Field id="apple-id" label="Assigned Managed Apple Account" hint="An account from Apple Business Manager; one account belongs to one user." error={error}>
                <input id="apple-id" type="email" value={value ?? d.assigned ?? ''} onChange={(e) => setValue(e.target.value)} />
              </Field>
              <div className="dialog-actions">
                {d.assigned && (
                  <button type="button" onClick={() => void save(null)}>
                    Remove assignment
                  </button>
                )}
                <button type="submit" className="primary">
                  Save
                </button>
              </div>
            </form>
          )}
        </>
      )}
    </Modal>
  );
}
