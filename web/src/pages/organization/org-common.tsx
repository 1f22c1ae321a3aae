/** Pieces the organization tabs share: the groups of the switcher's subtree, a group picker, a secret shown once. */
import { useState } from 'react';
import { useSession, type Group } from '../../session';

/** A group and everything below it, in tree order. */
export function subtreeOf(groups: Group[], rootId: string): Group[] {
  const inside = new Set([rootId]);
  // Groups come parents first, so one pass finds every descendant.
  return groups.filter((g) => {
    if (g.id !== rootId && !(g.parentId !== null && inside.has(g.parentId))) return false;
    inside.add(g.id);
    return true;
  });
}

/** The switcher's group and everything below it (the session lists the admin's whole subtree). */
export function useSubtree(): Group[] {
  const { groups, group } = useSession();
  return subtreeOf(groups, group.id);
}

export function groupLabel(groups: Group[], id: string | null | undefined): string {
  if (!id) return '—';
  const g = groups.find((x) => x.id === id);
  return g ? g.breadcrumb.join(' › ') : id;
}

/** A <select> of organization groups, indented as a tree. */
export function GroupSelect({ id, value, onChange, groups, empty }: { id: string; value: string; onChange(v: string): void; groups: Group[]; empty?: string }) {
  const top = groups[0]?.depth ?? 0;
  return (
    <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
      {empty !== undefined && <option value="">{empty}</option>}
      {groups.map((g) => (
        <option key={g.id} value={g.id}>
          {'\u00a0\u00a0'.repeat(g.depth - top)}
          {g.name} ({g.groupId})
        </option>
      ))}
    </select>
  );
}

/** A secret the server shows once: copy it now, it cannot be shown again. */
export function SecretOnce({ label, secret, children }: { label: string; secret: string; children?: React.ReactNode }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(secret);
    setCopied(true);
  };
  return (
    <div className="secret-once notice success" role="status">
      <p>
        <strong>{label}</strong> — copy it now: it is shown only this once and cannot be retrieved later.
      </p>
      <div className="secret-row">
        <code aria-label={label}>{secret}</code>
        <button type="button" onClick={() => void copy().catch(() => setCopied(false))}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      {children}
    </div>
  );
}

/** "administrator" → "Administrator" */
export const roleLabel = (role: string) => role.charAt(0).toUpperCase() + role.slice(1).replace(/-/g, ' ');
