/**
 * The organization tree: pick a group to see its settings (inherited or overridden, and from
 * where); administrators create, rename, move and delete groups. The switcher's list follows
 * every change (session.reloadGroups).
 */
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { ConfirmDialog, Modal } from '../../components/confirm';
import { FormActions, useFormSubmit } from '../../components/form-submit';
import { plural } from '../../components/plural';
import { ErrorBanner, Field } from '../../components/ui';
import { useQueryState } from '../../router';
import { useSession, type Group } from '../../session';
import { GroupSelect, subtreeOf, useSubtree } from './org-common';
import { GroupSettingsPanel } from './group-settings-panel';

type Dialog = { kind: 'create' } | { kind: 'rename' } | { kind: 'move' } | { kind: 'delete' } | null;

export function GroupsTab() {
  const session = useSession();
  const subtree = useSubtree();
  const [query, setQuery] = useQueryState();
  const selected = subtree.find((g) => g.id === query.group) ?? subtree[0]!;
  const [dialog, setDialog] = useState<Dialog>(null);
  const isAdmin = session.can('admin');
  const afterChange = async (select?: string) => {
    await session.reloadGroups();
    if (select) setQuery({ group: select });
  };
  // The top of what the switcher shows is moved or deleted from above it (the request is scoped to it).
  const isTop = selected.id === subtree[0]!.id;
  const children = subtree.filter((g) => g.parentId === selected.id);

  return (
    <div className="org-groups">
      <nav className="panel group-tree" aria-label="Organization groups">
        <h2>Groups</h2>
        <ul role="list">
          {subtree.map((g) => (
            <li key={g.id} style={{ paddingLeft: `${(g.depth - subtree[0]!.depth) * 1.1}rem` }}>
              <button type="button" className="tree-item" aria-current={g.id === selected.id ? 'true' : undefined} onClick={() => setQuery({ group: g.id })}>
                {g.name} <span className="muted">{g.groupId}</span>
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <div className="group-detail">
        <section className="panel" aria-labelledby="group-title">
          <div className="panel-head">
            <div>
              <h2 id="group-title">{selected.name}</h2>
              <p className="muted">
                Group ID <code>{selected.groupId}</code> · {selected.breadcrumb.join(' › ')} · {plural(children.length, 'child group')}
              </p>
            </div>
            {isAdmin && (
              <div className="actions">
                <button type="button" className="primary" onClick={() => setDialog({ kind: 'create' })}>
                  Add child group
                </button>
                <button type="button" onClick={() => setDialog({ kind: 'rename' })}>
                  Rename
                </button>
                {!isTop && (
                  <>
                    <button type="button" onClick={() => setDialog({ kind: 'move' })}>
                      Move
                    </button>
                    <button type="button" className="danger" onClick={() => setDialog({ kind: 'delete' })}>
                      Delete
                    </button>
                  </>
                )}
              </div>
            )}
          </div>
        </section>
        <GroupSettingsPanel key={selected.id} group={selected} />
      </div>
      {dialog?.kind === 'create' && <GroupForm title={`New group under ${selected.name}`} onClose={() => setDialog(null)} onSave={async (v) => afterChange((await unwrap(api.POST('/api/v1/organization-groups', { body: { parentId: selected.id, ...v } }))).id)} />}
      {dialog?.kind === 'rename' && <GroupForm title={`Rename ${selected.name}`} initial={selected} onClose={() => setDialog(null)} onSave={async (v) => afterChange((await unwrap(api.PATCH('/api/v1/organization-groups/{id}', { params: { path: { id: selected.id } }, body: v }))).id)} />}
      {dialog?.kind === 'move' && <MoveDialog group={selected} groups={subtree} onClose={() => setDialog(null)} onMoved={() => afterChange()} />}
      {dialog?.kind === 'delete' && (
        <ConfirmDialog
          title={`Delete ${selected.name}?`}
          confirmLabel="Delete group"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await unwrap(api.DELETE('/api/v1/organization-groups/{id}', { params: { path: { id: selected.id } } }));
            await afterChange(selected.parentId ?? undefined);
          }}
        >
          <p>
            The group <strong>{selected.name}</strong> ({selected.groupId}) and the settings overridden at it are removed. Its Group ID can no longer be typed at enrollment.
          </p>
          <p>
            Pomona refuses while the group still holds child groups, devices, ABM servers, or admins and API tokens scoped to it, or while users, directory mappings, active registration tokens, identity providers, attached profiles or DEP profiles still lead to it — the message says which; move them first.
            {children.length > 0 && <strong> It has {plural(children.length, 'child group')} now.</strong>}
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function GroupForm({ title, initial, onSave, onClose }: { title: string; initial?: Group; onSave(v: { name: string; groupId: string }): Promise<void>; onClose(): void }) {
  const [name, setName] = useState(initial?.name ?? '');
  const [groupId, setGroupId] = useState(initial?.groupId ?? '');
  const form = useFormSubmit(async () => {
    await onSave({ name, groupId });
    onClose();
  });
  const error = form.error;
  const idProblem = error && /Group ID/.test(error) ? error : undefined;
  return (
    <Modal title={title} onClose={onClose}>
      <form onSubmit={form.onSubmit}>
        <Field id="group-name" label="Name" error={!idProblem ? error : undefined}>
          <input id="group-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} autoFocus />
        </Field>
        <Field id="group-code" label="Group ID" hint="The short code users type at enrollment: 2 to 32 letters, digits, - or _." error={idProblem}>
          <input id="group-code" value={groupId} onChange={(e) => setGroupId(e.target.value)} required minLength={2} maxLength={32} />
        </Field>
        <FormActions label="Save" busy={form.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}

function MoveDialog({ group, groups, onMoved, onClose }: { group: Group; groups: Group[]; onMoved(): Promise<void>; onClose(): void }) {
  // Not into itself or its own subtree; its current parent would change nothing.
  const inside = new Set(subtreeOf(groups, group.id).map((g) => g.id));
  const targets = groups.filter((g) => !inside.has(g.id) && g.id !== group.parentId);
  const [parentId, setParentId] = useState(targets[0]?.id ?? '');
  const parent = groups.find((g) => g.id === parentId);
  return (
    <ConfirmDialog
      title={`Move ${group.name}`}
      confirmLabel="Move group"
      danger={false}
      onClose={onClose}
      onConfirm={async () => {
        await unwrap(api.POST('/api/v1/organization-groups/{id}/move', { params: { path: { id: group.id } }, body: { parentId } }));
        await onMoved();
      }}
    >
      {targets.length === 0 ? (
        <ErrorBanner error="There is no other group to move it under." />
      ) : (
        <>
          <Field id="move-parent" label="New parent group">
            <GroupSelect id="move-parent" value={parentId} onChange={setParentId} groups={targets} />
          </Field>
          <p>
            {group.name} moves with its whole subtree, devices included, under <strong>{parent?.name}</strong>. Settings it does not override are then inherited from its new parents, and admins scoped above it may lose sight of it.
          </p>
        </>
      )}
    </ConfirmDialog>
  );
}
