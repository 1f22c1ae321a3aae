/**
 * User groups (local ones, and directory groups seen at sign-in) and the organization group each
 * maps to: a user in a mapped group enrolls there; when several map, the lowest rank wins.
 */
import { useState } from 'react';
import { api, unwrap, type paths } from '../../api/client';
import { Modal } from '../../components/confirm';
import { FormActions, useFormSubmit } from '../../components/form-submit';
import { DataTable } from '../../components/data-table';
import { EmptyState, ErrorBanner, Field, Spinner } from '../../components/ui';
import { useLoad } from '../../components/use-load';
import { useSession } from '../../session';
import { GroupSelect, groupLabel, useSubtree } from './org-common';

type UserGroup = paths['/api/v1/user-groups']['get']['responses'][200]['content']['application/json']['items'][number];

export function UserGroupsTab() {
  const { can, groups } = useSession();
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/user-groups')), []);
  const [mapping, setMapping] = useState<UserGroup | null>(null);
  const [name, setName] = useState('');
  const isAdmin = can('admin');
  const create = useFormSubmit(async () => {
    await unwrap(api.POST('/api/v1/user-groups', { body: { name } }));
    setName('');
    await loaded.reload();
  });
  const items = loaded.data?.items;
  return (
    <>
      <p className="muted">A user whose user group maps to an organization group enrolls there; with several mappings, the lowest rank wins. Unmapped users enroll into their default group.</p>
      {isAdmin && (
        <form className="toolbar" onSubmit={create.onSubmit}>
          <Field id="ug-name" label="New local user group" error={create.error}>
            <input id="ug-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
          </Field>
          <button type="submit" className="primary" disabled={create.busy}>
            Create user group
          </button>
        </form>
      )}
      <ErrorBanner error={loaded.error} />
      {!items && !loaded.error && <Spinner />}
      {items && items.length === 0 && <EmptyState title="No user groups yet">Directory groups appear here when their members first sign in through LDAP, SAML or OpenID Connect; you can also create local groups above. Then map each to the organization group its users enroll into.</EmptyState>}
      {items && items.length > 0 && (
        <DataTable
          caption="User groups"
          rows={items}
          rowKey={(g) => g.id}
          columns={[
            { key: 'name', header: 'User group', render: (g) => <strong>{g.name}</strong> },
            { key: 'source', header: 'Source', render: (g) => (g.source === 'local' ? 'Local' : g.source) },
            { key: 'maps', header: 'Enrolls into', render: (g) => (g.organization_group_id ? groupLabel(groups, g.organization_group_id) : <span className="muted">Not mapped</span>) },
            { key: 'rank', header: 'Rank', className: 'num', render: (g) => g.rank ?? '—' },
            ...(isAdmin
              ? [{ key: 'act', header: 'Actions', render: (g: UserGroup) => (<button type="button" className="link" onClick={() => setMapping(g)} aria-label={`Change mapping of ${g.name}`}>Change mapping</button>) }]
              : []),
          ]}
        />
      )}
      {mapping && <MappingDialog group={mapping} onClose={() => setMapping(null)} onSaved={() => void loaded.reload()} />}
    </>
  );
}

function MappingDialog({ group, onClose, onSaved }: { group: UserGroup; onClose(): void; onSaved(): void }) {
  const subtree = useSubtree();
  const [target, setTarget] = useState(group.organization_group_id ?? '');
  const [rank, setRank] = useState(group.rank ?? 100);
  const form = useFormSubmit(async () => {
    await unwrap(api.PUT('/api/v1/user-groups/{id}/mapping', { params: { path: { id: group.id } }, body: { organizationGroupId: target || null, rank } }));
    onSaved();
    onClose();
  });
  return (
    <Modal title={`Mapping of ${group.name}`} onClose={onClose}>
      <form onSubmit={form.onSubmit}>
        <ErrorBanner error={form.error} />
        <Field id="map-group" label="Enrolls into" hint="Its members' devices enroll into this organization group.">
          <GroupSelect id="map-group" value={target} onChange={setTarget} groups={subtree} empty="Not mapped (default group of each user)" />
        </Field>
        <Field id="map-rank" label="Rank" hint="0 to 10000; when a user is in several mapped groups, the lowest rank wins.">
          <input id="map-rank" type="number" min={0} max={10000} value={rank} onChange={(e) => setRank(Number(e.target.value))} disabled={!target} />
        </Field>
        <FormActions label="Save mapping" busy={form.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}
