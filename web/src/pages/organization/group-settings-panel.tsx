/**
 * A group's settings as they apply at it: each value with where it comes from (set here,
 * inherited from a named ancestor, or the default), and for administrators an editor to override
 * it here or clear the override so the group inherits again.
 */
import { useState } from 'react';
import { api, unwrap, type paths } from '../../api/client';
import { ConfirmDialog, Modal } from '../../components/confirm';
import { Badge, ErrorBanner, Spinner } from '../../components/ui';
import { useLoad } from '../../components/use-load';
import { useSession, type Group } from '../../session';
import { SettingEditor, describeValue } from './setting-editor';

export type Setting = paths['/api/v1/organization-groups/{id}/settings']['get']['responses'][200]['content']['application/json']['items'][number];

export function GroupSettingsPanel({ group }: { group: Group }) {
  const { can } = useSession();
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/organization-groups/{id}/settings', { params: { path: { id: group.id } } })), [group.id]);
  const [editing, setEditing] = useState<Setting | null>(null);
  const [clearing, setClearing] = useState<Setting | null>(null);
  const items = loaded.data?.items;
  return (
    <section className="panel" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings at {group.name}</h2>
      <p className="muted">A value set at a group applies to its whole subtree unless a lower group overrides it. Alert recipients are set here too.</p>
      <ErrorBanner error={loaded.error} />
      {!items && !loaded.error && <Spinner />}
      {items && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Settings of {group.name}</caption>
            <thead>
              <tr>
                <th>Setting</th>
                <th>Value</th>
                <th>Where from</th>
                {can('admin') && (
                  <th>
                    <span className="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.key} data-setting={s.key}>
                  <th scope="row" className="setting-name">
                    <code>{s.key}</code>
                    <small>{s.description}</small>
                  </th>
                  <td>{describeValue(s.key, s.value)}</td>
                  <td>
                    <SourceBadge setting={s} />
                  </td>
                  {can('admin') && (
                    <td>
                      <div className="row-actions">
                        <button type="button" onClick={() => setEditing(s)} aria-label={`${s.source.kind === 'here' ? 'Change' : 'Override'} ${s.key}`}>
                          {s.source.kind === 'here' ? 'Change' : 'Override'}
                        </button>
                        {s.source.kind === 'here' && (
                          <button type="button" className="link" onClick={() => setClearing(s)} aria-label={`Clear override of ${s.key}`}>
                            Clear override
                          </button>
                        )}
                      </div>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && (
        <Modal title={`${editing.key} at ${group.name}`} onClose={() => setEditing(null)} wide>
          <SettingEditor
            setting={editing}
            onCancel={() => setEditing(null)}
            onSave={async (value) => {
              await unwrap(api.PUT('/api/v1/organization-groups/{id}/settings/{key}', { params: { path: { id: group.id, key: editing.key } }, body: { value } }));
              setEditing(null);
              await loaded.reload();
            }}
          />
        </Modal>
      )}
      {clearing && (
        <ConfirmDialog
          title={`Clear the override of ${clearing.key}?`}
          confirmLabel="Clear override"
          danger={false}
          onClose={() => setClearing(null)}
          onConfirm={async () => {
            await unwrap(api.DELETE('/api/v1/organization-groups/{id}/settings/{key}', { params: { path: { id: group.id, key: clearing.key } } }));
            await loaded.reload();
          }}
        >
          <p>
            {group.name} and the groups below it that do not override it will use the value set higher up (or the default) instead of <strong>{describeValue(clearing.key, clearing.value)}</strong>.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function SourceBadge({ setting }: { setting: Setting }) {
  const s = setting.source;
  if (s.kind === 'here') return <Badge tone="info">Overridden here</Badge>;
  if (s.kind === 'inherited')
    return (
      <Badge tone="neutral" title={`set at ${s.groupName}`}>
        Inherited from {s.groupName}
      </Badge>
    );
  return <Badge tone="neutral">Default</Badge>;
}
