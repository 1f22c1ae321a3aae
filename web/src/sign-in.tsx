/**
 * The console's sign-in: username and password (local admins), and a button per identity
 * provider an admin may sign in through (SAML/OIDC; the server sends the browser there and back).
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api, messageOf, unwrap } from './api/client';
import { Field } from './components/ui';

/** `expired`: the session ended while the console was open; signing in again returns to the same page. */
export function SignIn({ onSignedIn, expired = false }: { onSignedIn(): void; expired?: boolean }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [providers, setProviders] = useState<{ id: string; name: string }[]>([]);

  useEffect(() => {
    document.title = 'Sign in · Pomona';
    void api.GET('/api/v1/session/sso/providers').then((r) => setProviders((r.data?.items ?? []) as { id: string; name: string }[]));
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await unwrap(api.POST('/api/v1/session', { body: { username, password } }));
      onSignedIn();
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };

  const returnTo = window.location.pathname + window.location.search;
  return (
    <main className="sign-in" id="main">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">
          <span className="logo" aria-hidden="true">
            ◉
          </span>{' '}
          Pomona
        </h1>
        <p className="subtitle">Sign in to manage your Apple devices.</p>
        {expired && !error && (
          <div className="notice warning" role="status">
            Your session has ended. Sign in again to go back to the page you were on.
          </div>
        )}
        {error && (
          <div className="notice error" role="alert">
            {error}
          </div>
        )}
        <Field label="Username" id="username">
          <input id="username" name="username" autoComplete="username" required autoFocus value={username} onChange={(e) => setUsername(e.target.value)} />
        </Field>
        <Field label="Password" id="password">
          <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <button type="submit" className="primary wide" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {providers.length > 0 && (
          <div className="sso">
            <p className="muted">or</p>
            {providers.map((p) => (
              <a key={p.id} className="button wide" href={`/api/v1/session/sso/${encodeURIComponent(p.id)}/start?returnTo=${encodeURIComponent(returnTo)}`}>
                Sign in with {p.name}
              </a>
            ))}
          </div>
        )}
      </form>
    </main>
  );
}
