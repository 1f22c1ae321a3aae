import { useEffect, useRef } from 'react';
import { Layout } from './layout';
import { match, RouterProvider, useLocation } from './router';
import { ROUTES } from './routes';
import { NAV } from './nav';
import { SessionProvider } from './session';
import { SignIn } from './sign-in';
import { EmptyState } from './components/ui';
import { Link } from './router';

function CurrentPage() {
  const { path } = useLocation();
  const first = useRef(true);
  // A new page: the keyboard (and a screen reader) starts at its content, not on the link that was
  // clicked or on <body> — unless the page has put the focus in its content itself.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const main = document.getElementById('main');
    if (main && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  }, [path]);
  useEffect(() => {
    const label = NAV.find((n) => (n.path === '/' ? path === '/' : path.startsWith(n.path)))?.label;
    document.title = label ? `${label} · Pomona` : 'Pomona';
  }, [path]);
  for (const r of ROUTES) {
    const params = match(r.path, path);
    if (params) return <r.page params={params} />;
  }
  return (
    <EmptyState title="Page not found" action={<Link to="/">Go to the dashboard</Link>}>
      There is no console page at {path}.
    </EmptyState>
  );
}

export function App() {
  return (
    <RouterProvider>
      <SessionProvider signedOut={(onSignedIn, expired) => <SignIn onSignedIn={onSignedIn} expired={expired} />}>
        <Layout>
          <CurrentPage />
        </Layout>
      </SessionProvider>
    </RouterProvider>
  );
}
