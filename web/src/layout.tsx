/**
 * The frame around every page: navigation, the organization-group switcher (every page shows the
 * chosen subtree) and who is signed in. A skip link and landmarks keep it usable from the keyboard.
 */
import type { ReactNode } from 'react';
import { Link, mayLeave, useLocation } from './router';
import { useSession } from './session';
import { NAV } from './nav';

export function Layout({ children }: { children: ReactNode }) {
  const { path } = useLocation();
  const session = useSession();
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            ◉
          </span>{' '}
          Pomona
        </div>
        <nav aria-label="Sections">
          <ul>
            {NAV.map((n) => {
              const current = n.path === '/' ? path === '/' : path === n.path || path.startsWith(n.path + '/');
              return (
                <li key={n.path}>
                  <Link to={n.path} aria-current={current ? 'page' : undefined}>
                    {n.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
      </aside>
      <div className="main-column">
        <header className="topbar">
          <GroupSwitcher />
          <div className="who">
            <span>
              {session.name} <span className="muted">· {session.role}</span>
            </span>
            <button type="button" className="ghost" onClick={() => void session.signOut()}>
              Sign out
            </button>
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}

function GroupSwitcher() {
  const { groups, group, chooseGroup } = useSession();
  return (
    <label className="group-switcher">
      <span>Organization group</span>
      {/* Another group remounts the page: unsaved edits are asked about first (the select stays as it was when kept). */}
      <select value={group.id} onChange={(e) => mayLeave() && chooseGroup(e.target.value)} data-testid="group-switcher">
        {groups.map((g) => (
          <option key={g.id} value={g.id}>
            {'\u00a0\u00a0'.repeat(g.depth - (groups[0]?.depth ?? 0))}
            {g.name} ({g.groupId})
          </option>
        ))}
      </select>
    </label>
  );
}
