/**
 * A small router over the History API: the console has a dozen flat pages, so a table of
 * patterns (`/devices/:id`) is all it needs. Query strings hold list filters, so a filtered list
 * can be bookmarked, shared and reloaded.
 */
import { createContext, useContext, useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

interface Location {
  path: string;
  query: URLSearchParams;
}

const read = (): Location => ({ path: window.location.pathname, query: new URLSearchParams(window.location.search) });
const LocationContext = createContext<Location>(read());

/** Pages with unsaved edits: each asks before the console leaves them (see useLeaveGuard). */
const leaveGuards = new Set<() => boolean>();

/** Whether the page may be left now: true, or what the admin answered a page with unsaved edits. */
export function mayLeave(): boolean {
  for (const allow of leaveGuards) if (!allow()) return false;
  return true;
}

/**
 * Goes to another address in the console. A page with unsaved edits is asked first when the
 * path changes (a query change stays on the page); `force` skips that, for a page leaving itself
 * after it saved or deleted what was being edited.
 */
export function navigate(to: string, opts: { replace?: boolean; force?: boolean } = {}): void {
  const leaving = new URL(to, window.location.href).pathname !== window.location.pathname;
  if (leaving && !opts.force && !mayLeave()) return;
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  // Another page starts at its top (Back and Forward keep the browser's own scroll restoration).
  if (leaving && !opts.replace) window.scrollTo(0, 0);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/**
 * While `active`, leaving the page through the console's links asks `question` first (closing the
 * tab or reloading is the browser's beforeunload, which the page sets up itself).
 */
export function useLeaveGuard(active: boolean, question: string): void {
  useEffect(() => {
    if (!active) return;
    const allow = () => window.confirm(question);
    leaveGuards.add(allow);
    return () => {
      leaveGuards.delete(allow);
    };
  }, [active, question]);
}

export function RouterProvider({ children }: { children: React.ReactNode }) {
  const [location, setLocation] = useState(read);
  useEffect(() => {
    const update = () => setLocation(read());
    window.addEventListener('popstate', update);
    return () => window.removeEventListener('popstate', update);
  }, []);
  return <LocationContext.Provider value={location}>{children}</LocationContext.Provider>;
}

export function useLocation(): Location {
  return useContext(LocationContext);
}

/** The query string as a record, and a setter that merges changes into the URL (empty values removed). */
export function useQueryState(): [Record<string, string>, (changes: Record<string, string | number | undefined | null>) => void] {
  const { path, query } = useLocation();
  const values = Object.fromEntries(query.entries());
  const set = (changes: Record<string, string | number | undefined | null>) => {
    const next = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined || v === null || v === '') next.delete(k);
      else next.set(k, String(v));
    }
    const qs = next.toString();
    navigate(path + (qs ? `?${qs}` : ''), { replace: true });
  };
  return [values, set];
}

/** Matches a path against `/a/:b/c`; the parameters, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i]!.startsWith(':')) params[p[i]!.slice(1)] = decodeURIComponent(s[i]!);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}

/** An in-app link: a real <a href> (middle-click, copy link work), navigated without a reload. */
export function Link({ to, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    rest.onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} {...rest} onClick={onClick} />;
}
