/**
 * Who administers Pomona: admin accounts with their role and scope (the group whose subtree they
 * act in), and API tokens for scripts — each never wider than the admin who creates it. A token's
 * secret is shown once, at creation.
 */
import { useState } from 'react';
import { api, unwrap, type paths } from '../../api/client';
import { ConfirmDialog, Modal } from '../../components/confirm';
import { FormActions, useFormSubmit } from '../../components/form-submit';
import { DataTable } from '../../components/data-table';
import { Badge, EmptyState, ErrorBanner, Field, Notice, Spinner, When } from '../../components/ui';
import { useLoad } from '../../components/use-load';
import { useSession } from '../../session';
import { GroupSelect, SecretOnce, groupLabel, roleLabel, useSubtree } from './org-common';

type Admin = paths['/api/v1/admins']['get']['responses'][200]['content']['application/json']['items'][number];
type ApiToken = paths['/api/v1/api-tokens']['get']['responses'][200]['content']['application/json']['tokens'][number];
type TokenRole = paths['/api/v1/api-tokens']['post']['requestBody']['content']['application/json']['role'];

const ROLES = [
  ['administrator', 'Administrator — everything in its scope'],
  ['operator', 'Operator — devices, commands, enrollment; no configuration'],
  ['read-only', 'Read-only — sees, changes nothing'],
] as const;

export function AdminsTab() {
  const { can, role } = useSession();
  if (!can('admin')) return <Notice>Admin accounts and API tokens are managed by administrators; your role ({role}) cannot see them.</Notice>;
  return (
    <>
      <Admins />
      <ApiTokens />
    </>
  );
}

function Admins() {
  const { groups, name } = useSession();
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/admins')), []);
  const [creating, setCreating] = useState(false);
  const [toggling, setToggling] = useState<Admin | null>(null);
  const items = loaded.data?.items;
  return (
    <section className="panel" aria-labelledby="admins-title">
      <div className="panel-head">
        <h2 id="admins-title">Admins</h2>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New admin
        </button>
      </div>
      <ErrorBanner error={loaded.error} />
      {!items && !loaded.error && <Spinner />}
      {items && items.length === 0 && <EmptyState title="No other admins in this scope">Add one with a role and the group whose subtree they manage.</EmptyState>}
      {items && items.length > 0 && (
        <DataTable
          caption="Admins"
          rows={items}
          rowKey={(a) => a.id}
          columns={[
            { key: 'user', header: 'User name', render: (a) => <strong>{a.username}</strong> },
            { key: 'role', header: 'Role', render: (a) => roleLabel(a.role) },
            { key: 'scope', header: 'Scope', render: (a) => groupLabel(groups, a.scopeGroupId) },
            { key: 'state', header: 'State', render: (a) => (a.disabledAt ? <Badge tone="bad">Disabled</Badge> : <Badge tone="good">Active</Badge>) },
            { key: 'created', header: 'Created', render: (a) => <When at={a.createdAt} /> },
            {
              key: 'act',
              header: 'Actions',
              // Your own account is changed by another administrator (the server refuses it too).
              render: (a) => (a.username === name ? <span className="muted">you</span> : <button type="button" className="link" onClick={() => setToggling(a)} aria-label={`${a.disabledAt ? 'Enable' : 'Disable'} ${a.username}`}>{a.disabledAt ? 'Enable' : 'Disable'}</button>),
            },
          ]}
        />
      )}
      {creating && <CreateAdmin onClose={() => setCreating(false)} onCreated={() => void loaded.reload()} />}
      {toggling && (
        <ConfirmDialog
          title={`${toggling.disabledAt ? 'Enable' : 'Disable'} ${toggling.username}?`}
          confirmLabel={toggling.disabledAt ? 'Enable admin' : 'Disable admin'}
          danger={!toggling.disabledAt}
          onClose={() => setToggling(null)}
          onConfirm={async () => {
            await unwrap(api.PATCH('/api/v1/admins/{id}', { params: { path: { id: toggling.id } }, body: { disabled: !toggling.disabledAt } }));
            await loaded.reload();
          }}
        >
          <p>{toggling.disabledAt ? `${toggling.username} can sign in to the console again.` : `${toggling.username} is signed out and can no longer sign in. Their API tokens are not affected: revoke them below if needed.`}</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function CreateAdmin({ onClose, onCreated }: { onClose(): void; onCreated(): void }) {
  const subtree = useSubtree();
  const [form, setForm] = useState({ username: '', password: '', role: 'read-only' as Admin['role'], scope: subtree[0]!.id });
  const submit = useFormSubmit(async () => {
    await unwrap(api.POST('/api/v1/admins', { body: { ...form, role: form.role as (typeof ROLES)[number][0] } }));
    onCreated();
    onClose();
  });
  return (
    <Modal title="New admin" onClose={onClose}>
      <form onSubmit={submit.onSubmit}>
        <ErrorBanner error={submit.error} />
        <Field id="ad-user" label="User name">
          <input id="ad-user" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} required autoComplete="off" autoFocus />
        </Field>
        <Field id="ad-password" label="Password" hint="At least 12 characters.">
          <input id="ad-password" type="password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} required autoComplete="new-password" />
        </Field>
        <RoleAndScope role={form.role} scope={form.scope} onChange={(role, scope) => setForm({ ...form, role, scope })} />
        <FormActions label="Create admin" busyLabel="Creating…" busy={submit.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}

function RoleAndScope({ role, scope, onChange, extraRoles = [] }: { role: string; scope: string; onChange(role: string, scope: string): void; extraRoles?: (readonly [string, string])[] }) {
  const subtree = useSubtree();
  return (
    <>
      <Field id="role" label="Role" hint="Never more than your own.">
        <select id="role" value={role} onChange={(e) => onChange(e.target.value, scope)}>
          {[...ROLES, ...extraRoles].map(([r, label]) => (
            <option key={r} value={r}>
              {label}
            </option>
          ))}
        </select>
      </Field>
      <Field id="scope" label="Scope" hint="The organization group whose subtree it acts in.">
        <GroupSelect id="scope" value={scope} onChange={(v) => onChange(role, v)} groups={subtree} />
      </Field>
    </>
  );
}

function ApiTokens() {
  const { groups } = useSession();
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/api-tokens')), []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const tokens = loaded.data?.tokens;
  return (
    <section className="panel" aria-labelledby="tokens-title">
      <div className="panel-head">
        <h2 id="tokens-title">API tokens</h2>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New API token
        </button>
      </div>
      <p className="muted">For scripts and integrations: send it as “Authorization: Bearer …”.</p>
      {created && <SecretOnce label={`API token “${created.name}”`} secret={created.secret} />}
      <ErrorBanner error={loaded.error} />
      {!tokens && !loaded.error && <Spinner />}
      {tokens && tokens.length === 0 && <EmptyState title="No API tokens">Create one for a script or an integration, with the least role and the narrowest scope it needs.</EmptyState>}
      {tokens && tokens.length > 0 && (
        <DataTable
          caption="API tokens"
          rows={tokens}
          rowKey={(t) => t.id}
          columns={[
            { key: 'name', header: 'Name', render: (t) => <strong>{t.name}</strong> },
            { key: 'prefix', header: 'Prefix', render: (t) => <code>{t.prefix}…</code> },
            { key: 'role', header: 'Role', render: (t) => roleLabel(t.role) },
            { key: 'scope', header: 'Scope', render: (t) => groupLabel(groups, t.scopeGroupId) },
            { key: 'used', header: 'Last used', render: (t) => <When at={t.lastUsedAt} empty="never" /> },
            { key: 'expires', header: 'Expires', render: (t) => <When at={t.expiresAt} empty="never" /> },
            { key: 'state', header: 'State', render: (t) => (t.revokedAt ? <Badge tone="neutral">Revoked</Badge> : t.expiresAt !== null && t.expiresAt < Date.now() ? <Badge tone="warn">Expired</Badge> : <Badge tone="good">Active</Badge>) },
            { key: 'act', header: 'Actions', render: (t) => (t.revokedAt ? null : <button type="button" className="link" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.name}`}>Revoke</button>) },
          ]}
        />
      )}
      {creating && (
        <CreateToken
          onClose={() => setCreating(false)}
          onCreated={(name, secret) => {
            setCreated({ name, secret });
            void loaded.reload();
          }}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke ${revoking.name}?`}
          confirmLabel="Revoke token"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await unwrap(api.DELETE('/api/v1/api-tokens/{id}', { params: { path: { id: revoking.id } } }));
            await loaded.reload();
          }}
        >
          <p>
            Every script or integration using {revoking.name} ({revoking.prefix}…, {roleLabel(revoking.role)} in {groupLabel(groups, revoking.scopeGroupId)}) is refused from now on. This cannot be undone: create a new token if it is still needed.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function CreateToken({ onClose, onCreated }: { onClose(): void; onCreated(name: string, secret: string): void }) {
  const subtree = useSubtree();
  const [name, setName] = useState('');
  const [role, setRole] = useState<string>('read-only');
  const [scope, setScope] = useState(subtree[0]!.id);
  const [days, setDays] = useState('90');
  const submit = useFormSubmit(async () => {
    const expiresAt = days ? Date.now() + Number(days) * 86_400_000 : null;
    const res = await unwrap(api.POST('/api/v1/api-tokens', { body: { name, role: role as TokenRole, scope, expiresAt } }));
    onCreated(res.name, res.secret);
    onClose();
  });
  return (
    <Modal title="New API token" onClose={onClose}>
      <form onSubmit={submit.onSubmit}>
        <ErrorBanner error={submit.error} />
        <Field id="tok-name" label="Name" hint="What uses it, e.g. “inventory sync”.">
          <input id="tok-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} autoFocus />
        </Field>
        <RoleAndScope role={role} scope={scope} onChange={(r, s) => (setRole(r), setScope(s))} extraRoles={[['custom-enrollment', 'Custom enrollment — only the ADE custom-enrollment endpoint']]} />
        <Field id="tok-days" label="Expires after (days)" hint="Empty: never expires.">
          <input id="tok-days" type="number" min={1} value={days} onChange={(e) => setDays(e.target.value)} />
        </Field>
        <FormActions label="Create token" busyLabel="Creating…" busy={submit.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}
