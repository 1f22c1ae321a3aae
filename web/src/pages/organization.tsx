/**
 * Organization: the group tree with its inherited settings, users and user groups, identity
 * providers, registration tokens, and admins with their API tokens — one tab each (in the URL, so
 * a tab can be bookmarked), each tab in its own file under ./organization/.
 */
import type { KeyboardEvent } from 'react';
import { PageHeader } from '../components/ui';
import { useQueryState } from '../router';
import { useSession } from '../session';
import { GroupsTab } from './organization/groups-tab';
import { UsersTab } from './organization/users-tab';
import { UserGroupsTab } from './organization/user-groups-tab';
import { IdentityProvidersTab } from './organization/identity-providers-tab';
import { RegistrationTokensTab } from './organization/registration-tokens-tab';
import { AdminsTab } from './organization/admins-tab';
import './organization.css';

const TABS = [
  { id: 'groups', label: 'Groups', Tab: GroupsTab },
  { id: 'users', label: 'Users', Tab: UsersTab },
  { id: 'user-groups', label: 'User groups', Tab: UserGroupsTab },
  { id: 'identity-providers', label: 'Identity providers', Tab: IdentityProvidersTab },
  { id: 'registration-tokens', label: 'Registration tokens', Tab: RegistrationTokensTab },
  { id: 'admins', label: 'Admins & API tokens', Tab: AdminsTab },
] as const;

export function Organization(_: { params: Record<string, string> }) {
  const [query, setQuery] = useQueryState();
  const { group } = useSession();
  const current = TABS.find((t) => t.id === query.tab) ?? TABS[0];
  // Arrow keys move between tabs, as in any tab list.
  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (!step) return;
    const next = TABS[(TABS.indexOf(current) + step + TABS.length) % TABS.length]!;
    setQuery({ tab: next.id === 'groups' ? null : next.id });
    document.getElementById(`tab-${next.id}`)?.focus();
  };
  const { Tab } = current;
  return (
    <>
      <PageHeader title="Organization" subtitle={<>Showing {group.breadcrumb.join(' › ')} and everything below it.</>} />
      <div className="tabs" role="tablist" aria-label="Organization" onKeyDown={onKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            id={`tab-${t.id}`}
            type="button"
            role="tab"
            aria-selected={t === current}
            aria-controls="org-tabpanel"
            tabIndex={t === current ? 0 : -1}
            onClick={() => setQuery({ tab: t.id === 'groups' ? null : t.id })}
          >
            {t.label}
          </button>
        ))}
      </div>
      <section id="org-tabpanel" role="tabpanel" aria-labelledby={`tab-${current.id}`}>
        <Tab />
      </section>
    </>
  );
}
