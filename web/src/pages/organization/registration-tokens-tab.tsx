/**
 * Registration tokens: a code a user types (or a link carries) to enroll a device into a group,
 * optionally for one platform, one user, a number of uses, and with that user's password as a
 * second factor. The code is shown once, at creation; the list shows only its prefix and status.
 */
import { useEffect, useState } from 'react';
import { api, messageOf, unwrap, type paths } from '../../api/client';
import { ConfirmDialog, Modal } from '../../components/confirm';
import { FormActions, useFormSubmit } from '../../components/form-submit';
import { DataTable } from '../../components/data-table';
import { Badge, EmptyState, ErrorBanner, Field, Spinner, When, type Tone } from '../../components/ui';
import { useLoad } from '../../components/use-load';
import { useSession } from '../../session';
import { GroupSelect, SecretOnce, groupLabel, useSubtree } from './org-common';

type Token = paths['/api/v1/registration-tokens']['get']['responses'][200]['content']['application/json']['items'][number];
type CreateBody = paths['/api/v1/registration-tokens']['post']['requestBody']['content']['application/json'];
const PLATFORMS = ['iOS', 'iPadOS', 'macOS', 'tvOS', 'visionOS'] as const;

const tone = (status: string): Tone => (/revoked|expired|used/.test(status) ? 'neutral' : 'good');

export function RegistrationTokensTab() {
  const { can, groups, group } = useSession();
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/registration-tokens')), []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ token: string; view: Token } | null>(null);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const canOperate = can('operate');
  const items = loaded.data?.items;
  const userNames = useUserNames(items?.map((t) => t.userId));
  return (
    <>
      <div className="toolbar">
        <p className="muted grow">Tokens of {group.name} and the groups below it.</p>
        {canOperate && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New registration token
          </button>
        )}
      </div>
      {created && (
        <SecretOnce label="Registration token" secret={created.token}>
          <p className="muted">
            Enrolls into {groupLabel(groups, created.view.groupId)}
            {created.view.platform ? `, ${created.view.platform} only` : ''}; expires <When at={created.view.expiresAt} />. The user types it when signing in to enroll, e.g. at{' '}
            <code>
              {window.location.origin}/enroll/web?group={groups.find((g) => g.id === created.view.groupId)?.groupId ?? ''}
            </code>
            .
          </p>
        </SecretOnce>
      )}
      <ErrorBanner error={loaded.error} />
      {!items && !loaded.error && <Spinner />}
      {items && items.length === 0 && <EmptyState title="No registration tokens">Create one to let a user enroll a device into a group without an identity provider — or require one in the group's enrollment.registrationTokenRequired setting.</EmptyState>}
      {items && items.length > 0 && (
        <DataTable
          caption="Registration tokens"
          rows={items}
          rowKey={(t) => t.id}
          columns={[
            { key: 'prefix', header: 'Token', render: (t) => <code>{t.prefix}…</code> },
            { key: 'group', header: 'Group', render: (t) => groupLabel(groups, t.groupId) },
            { key: 'platform', header: 'Platform', render: (t) => t.platform ?? 'Any' },
            { key: 'user', header: 'User', render: (t) => (t.userId ? (userNames[t.userId] ?? '…') : <span className="muted">Anyone</span>) },
            { key: 'factor', header: 'Sign-in', render: (t) => (t.twoFactor ? 'Token + password' : 'Token only') },
            { key: 'uses', header: 'Uses', className: 'num', render: (t) => `${t.uses}${t.maxUses === null ? '' : ` / ${t.maxUses}`}` },
            { key: 'expires', header: 'Expires', render: (t) => <When at={t.expiresAt} /> },
            { key: 'status', header: 'Status', render: (t) => <Badge tone={tone(t.status)}>{t.status}</Badge> },
            { key: 'by', header: 'Created by', render: (t) => t.createdBy },
            ...(canOperate
              ? [{ key: 'act', header: 'Actions', render: (t: Token) => (tone(t.status) === 'neutral' ? null : <button type="button" className="link" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.prefix}`}>Revoke</button>) }]
              : []),
          ]}
        />
      )}
      {creating && (
        <CreateToken
          onClose={() => setCreating(false)}
          onCreated={(token, view) => {
            setCreated({ token, view });
            void loaded.reload();
          }}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke token ${revoking.prefix}…?`}
          confirmLabel="Revoke token"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await unwrap(api.DELETE('/api/v1/registration-tokens/{id}', { params: { path: { id: revoking.id } } }));
            await loaded.reload();
          }}
        >
          <p>Nobody can enroll with this token any more. Devices already enrolled with it stay enrolled.</p>
        </ConfirmDialog>
      )}
    </>
  );
}

function CreateToken({ onClose, onCreated }: { onClose(): void; onCreated(token: string, view: Token): void }) {
  const subtree = useSubtree();
  const [groupId, setGroupId] = useState(subtree[0]!.id);
  const [platform, setPlatform] = useState('');
  const [uses, setUses] = useState<'single' | 'many'>('single');
  const [twoFactor, setTwoFactor] = useState(false);
  const [hours, setHours] = useState(72);
  const [username, setUsername] = useState('');
  const [userError, setUserError] = useState<string>();
  /** The user named, found by exact user name (the list searches by substring). */
  const findUser = async (): Promise<string | undefined> => {
    const name = username.trim();
    if (!name) return undefined;
    const { items } = await unwrap(api.GET('/api/v1/users', { params: { query: { search: name, limit: 50 } } }));
    const found = items.find((u) => u.username.toLowerCase() === name.toLowerCase());
    if (!found) throw new Error(`no user named “${name}” in this scope`);
    return found.id;
  };
  const form = useFormSubmit(async () => {
    setUserError(undefined);
    let userId: string | undefined;
    try {
      userId = await findUser();
    } catch (err) {
      return setUserError(messageOf(err));
    }
    if (twoFactor && !userId) return setUserError('A two-factor token belongs to one user: their password is the second factor.');
    const body: CreateBody = { groupId, userId, platform: (platform || undefined) as CreateBody['platform'], maxUses: uses === 'single' ? 1 : null, twoFactor, expiresInHours: hours };
    const res = await unwrap(api.POST('/api/v1/registration-tokens', { body }));
    onCreated(res.token, res.registrationToken);
    onClose();
  });
  return (
    <Modal title="New registration token" onClose={onClose}>
      <form onSubmit={form.onSubmit}>
        <ErrorBanner error={form.error} />
        <Field id="rt-group" label="Enrolls into">
          <GroupSelect id="rt-group" value={groupId} onChange={setGroupId} groups={subtree} />
        </Field>
        <Field id="rt-platform" label="Platform">
          <select id="rt-platform" value={platform} onChange={(e) => setPlatform(e.target.value)}>
            <option value="">Any platform</option>
            {PLATFORMS.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </Field>
        <fieldset>
          <legend>Uses</legend>
          <label className="check">
            <input type="radio" name="rt-uses" checked={uses === 'single'} onChange={() => setUses('single')} /> One device (single use)
          </label>
          <label className="check">
            <input type="radio" name="rt-uses" checked={uses === 'many'} onChange={() => setUses('many')} /> Any number of devices until it expires
          </label>
        </fieldset>
        <fieldset>
          <legend>Sign-in</legend>
          <label className="check">
            <input type="radio" name="rt-factor" checked={!twoFactor} onChange={() => setTwoFactor(false)} /> Single factor: the token alone
          </label>
          <label className="check">
            <input type="radio" name="rt-factor" checked={twoFactor} onChange={() => setTwoFactor(true)} /> Two factors: the token and the user's password
          </label>
        </fieldset>
        <Field id="rt-user" label={twoFactor ? 'User' : 'User (optional)'} hint="The user name of the only user who may enroll with it." error={userError}>
          <input id="rt-user" value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" required={twoFactor} />
        </Field>
        <Field id="rt-hours" label="Expires after (hours)" hint="Up to 8760 (one year).">
          <input id="rt-hours" type="number" min={1} max={8760} value={hours} onChange={(e) => setHours(Number(e.target.value))} />
        </Field>
        <FormActions label="Create token" busyLabel="Creating…" busy={form.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}

/** The user names of the users tokens are bound to (the list carries only their ids). */
function useUserNames(ids: (string | null)[] | undefined): Record<string, string> {
  const [names, setNames] = useState<Record<string, string>>({});
  const missing = [...new Set(ids ?? [])].filter((id): id is string => id !== null && !(id in names));
  const key = missing.join(',');
  useEffect(() => {
    if (!key) return;
    void Promise.all(key.split(',').map((id) => unwrap(api.GET('/api/v1/users/{id}', { params: { path: { id } } })).then((u) => [id, u.username] as const, () => [id, 'unknown user'] as const))).then((pairs) =>
      setNames((n) => ({ ...n, ...Object.fromEntries(pairs) })),
    );
  }, [key]);
  return names;
}
