/**
 * Who is signed in, what their role lets them do, and which organization group the console is
 * looking at. Pages ask `can('operate')` before offering an action, so a read-only admin is never
 * shown a button the server would refuse; the server checks again whatever the console shows.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { api, configureApi, unwrap } from './api/client';

export type Permission = 'read' | 'operate' | 'admin' | 'enroll' | 'custom-enrollment';

export interface Group {
  id: string;
  name: string;
  groupId: string;
  parentId: string | null;
  depth: number;
  breadcrumb: string[];
}

export interface Session {
  name: string;
  role: string;
  kind: 'user' | 'token';
  /** the group the admin's scope starts at */
  scopeGroupId: string;
  permissions: string[];
  /** the admin's whole subtree, root first */
  groups: Group[];
  /** the group chosen in the switcher: every page shows this subtree */
  group: Group;
  chooseGroup(id: string): void;
  can(p: Permission): boolean;
  /** whether the switcher sits at the admin's own scope (installation-wide pages need the root) */
  atScopeRoot: boolean;
  signOut(): Promise<void>;
  reloadGroups(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in console');
  return s;
}

const GROUP_KEY = 'pomona.group';

type Who = { name: string; role: string; kind: 'user' | 'token'; scopeGroupId: string; permissions: string[]; csrfToken?: string };

/**
 * Loads the session; renders `signedOut` (the sign-in page) when there is none. When the API
 * answers 401 mid-session (expired, signed out elsewhere, password changed) the sign-in page
 * comes back with `expired` set; the address is left alone, so signing in again shows the same page.
 */
export function SessionProvider({ children, signedOut }: { children: React.ReactNode; signedOut: (onSignedIn: () => void, expired: boolean) => React.ReactNode }) {
  const [who, setWho] = useState<Who | null | undefined>(undefined);
  const [expired, setExpired] = useState(false);
  const [groups, setGroups] = useState<Group[]>([]);
  const [groupId, setGroupId] = useState<string | null>(() => window.localStorage.getItem(GROUP_KEY));

  const loadGroups = useCallback(async () => {
    // The switcher lists the admin's whole subtree, whatever is chosen now: the empty header asks for it.
    const { items } = await unwrap(api.GET('/api/v1/organization-groups', { headers: { 'x-pomona-group': '' } }));
    setGroups(items);
  }, []);

  const load = useCallback(async () => {
    configureApi({
      onUnauthorized: () => {
        setExpired(true);
        setWho(null);
      },
    });
    const res = await api.GET('/api/v1/session', { headers: { 'x-pomona-group': '' } });
    if (!res.data) {
      setWho(null);
      return;
    }
    configureApi({ csrfToken: res.data.csrfToken });
    await loadGroups();
    setExpired(false);
    setWho(res.data as Who);
  }, [loadGroups]);

  useEffect(() => {
    void load().catch(() => setWho(null));
  }, [load]);

  const value = useMemo<Session | null>(() => {
    if (!who || groups.length === 0) return null;
    const group = groups.find((g) => g.id === groupId) ?? groups.find((g) => g.id === who.scopeGroupId) ?? groups[0]!;
    // Set while rendering, not in an effect: the pages' own effects (their first loads) run before
    // this provider's would, and must already carry the chosen group.
    configureApi({ group: group.id === who.scopeGroupId ? undefined : group.id });
    return {
      ...who,
      groups,
      group,
      atScopeRoot: group.id === who.scopeGroupId,
      chooseGroup(id) {
        window.localStorage.setItem(GROUP_KEY, id);
        setGroupId(id);
      },
      can: (p) => who.permissions.includes(p),
      async signOut() {
        await api.DELETE('/api/v1/session', { headers: { 'x-pomona-group': '' } });
        configureApi({ csrfToken: undefined, group: undefined });
        setExpired(false);
        setWho(null);
      },
      reloadGroups: loadGroups,
    };
  }, [who, groups, groupId, loadGroups]);

  if (who === undefined) return <div className="boot" aria-busy="true" />;
  if (who === null || !value) return <>{signedOut(() => void load().catch(() => setWho(null)), expired)}</>;
  // Keyed by group: switching remounts the pages, so nothing from the previous branch lingers.
  return (
    <SessionContext.Provider value={value} key={value.group.id}>
      {children}
    </SessionContext.Provider>
  );
}
