/**
 * Identity providers (LDAP, SAML, OpenID Connect) the switcher's group uses: its own and those
 * configured higher up. Administrators add and edit them (the secret is write-only: left blank it
 * is kept), test an LDAP connection, and choose which may sign admins in to the console.
 */
import { useState } from 'react';
import { api, messageOf, unwrap, type paths } from '../../api/client';
import { ConfirmDialog } from '../../components/confirm';
import { DataTable } from '../../components/data-table';
import { Badge, EmptyState, ErrorBanner, Notice, Spinner } from '../../components/ui';
import { useLoad } from '../../components/use-load';
import { useSession } from '../../session';
import { groupLabel } from './org-common';
import { ProviderForm } from './identity-provider-form';

export type Provider = paths['/api/v1/identity-providers/{id}']['patch']['responses'][200]['content']['application/json'];
type TestResult = paths['/api/v1/identity-providers/{id}/test']['post']['responses'][200]['content']['application/json'];
const KIND_LABEL: Record<string, string> = { ldap: 'LDAP', saml: 'SAML 2.0', oidc: 'OpenID Connect' };

export function IdentityProvidersTab() {
  const { can, group, groups } = useSession();
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/organization-groups/{id}/identity-providers', { params: { path: { id: group.id } } })), [group.id]);
  const [editing, setEditing] = useState<Provider | 'new' | null>(null);
  const [removing, setRemoving] = useState<Provider | null>(null);
  const [testing, setTesting] = useState<{ p: Provider; result?: TestResult; error?: string } | null>(null);
  const isAdmin = can('admin');
  const items = loaded.data?.items;

  const test = async (p: Provider) => {
    setTesting({ p });
    try {
      setTesting({ p, result: await unwrap(api.POST('/api/v1/identity-providers/{id}/test', { params: { path: { id: p.id } }, body: {} })) });
    } catch (err) {
      setTesting({ p, error: messageOf(err) });
    }
  };

  return (
    <>
      <div className="toolbar">
        <p className="muted grow">Providers of {group.name} and of the groups above it. Users sign in through them to enroll; with “console sign-in”, admins scoped at or below the provider's group sign in to this console through it.</p>
        {isAdmin && (
          <button type="button" className="primary" onClick={() => setEditing('new')}>
            Add identity provider
          </button>
        )}
      </div>
      {testing && (
        <div aria-live="polite">
          {!testing.result && !testing.error && <Spinner label={`Testing ${testing.p.name}…`} />}
          {testing.error && <Notice tone="error">Test of {testing.p.name} failed: {testing.error}</Notice>}
          {testing.result && (
            <Notice tone={testing.result.ok ? 'success' : 'error'}>
              {testing.result.ok ? `${testing.p.name}: connected, bound and searched.` : `${testing.p.name}: ${testing.result.error ?? 'the test failed'}`}
              <LdapTestDetails details={testing.result.details} />
            </Notice>
          )}
        </div>
      )}
      <ErrorBanner error={loaded.error} />
      {!items && !loaded.error && <Spinner />}
      {items && items.length === 0 && (
        <EmptyState title="No identity provider yet">Without one, users sign in with local Pomona accounts. Add an LDAP directory to check passwords against it, or SAML / OpenID Connect for single sign-on; then allow the method in the group's enrollment.authenticationMethods setting.</EmptyState>
      )}
      {items && items.length > 0 && (
        <DataTable
          caption="Identity providers"
          rows={items}
          rowKey={(p) => p.id}
          columns={[
            { key: 'name', header: 'Name', render: (p) => <strong>{p.name}</strong> },
            { key: 'kind', header: 'Kind', render: (p) => KIND_LABEL[p.kind] ?? p.kind },
            { key: 'group', header: 'Configured at', render: (p) => (p.groupId === group.id ? 'this group' : groupLabel(groups, p.groupId)) },
            { key: 'state', header: 'State', render: (p) => (p.enabled ? <Badge tone="good">Enabled</Badge> : <Badge tone="neutral">Disabled</Badge>) },
            { key: 'console', header: 'Console sign-in', render: (p) => (p.consoleSignIn ? 'Yes' : 'No') },
            { key: 'secret', header: 'Secret', render: (p) => (p.secretSet ? 'Stored' : <span className="muted">None</span>) },
            ...(isAdmin
              ? [
                  {
                    key: 'act',
                    header: 'Actions',
                    render: (p: Provider) => (
                      <div className="row-actions">
                        <button type="button" className="link" onClick={() => setEditing(p)} aria-label={`Edit ${p.name}`}>
                          Edit
                        </button>
                        {p.kind === 'ldap' && (
                          <button type="button" className="link" onClick={() => void test(p)} aria-label={`Test ${p.name}`}>
                            Test
                          </button>
                        )}
                        <button type="button" className="link danger-text" onClick={() => setRemoving(p)} aria-label={`Remove ${p.name}`}>
                          Remove
                        </button>
                      </div>
                    ),
                  },
                ]
              : []),
          ]}
        />
      )}
      {editing && <ProviderForm provider={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} onSaved={() => void loaded.reload()} />}
      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.name}?`}
          confirmLabel="Remove provider"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await unwrap(api.DELETE('/api/v1/identity-providers/{id}', { params: { path: { id: removing.id } } }));
            await loaded.reload();
          }}
        >
          <p>
            Users of {groupLabel(groups, removing.groupId)} and its subtree can no longer sign in through {removing.name} ({KIND_LABEL[removing.kind]}) to enroll{removing.consoleSignIn ? ', and admins can no longer sign in to the console through it' : ''}. Users it created stay, with their devices. Its stored secret is deleted.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

/** Each server tried, how it was protected, and what was found (the LDAP test's details). */
function LdapTestDetails({ details }: { details: unknown }) {
  const d = (details ?? {}) as { servers?: { url: string; ok: boolean; security?: string; certificateVerified?: boolean; error?: string }[]; boundAs?: string; userSearchBase?: string; groupSearchBase?: string };
  const security = (s: { security?: string; certificateVerified?: boolean }) =>
    s.security === 'none' ? 'unencrypted' : s.security ? `${s.security === 'ldaps' ? 'LDAPS' : 'StartTLS'}${s.certificateVerified === false ? ', certificate NOT verified' : ''}` : '';
  return (
    <ul className="test-details">
      {d.servers?.map((s) => (
        <li key={s.url}>
          {s.ok ? '✓' : '✗'} <code>{s.url}</code> {security(s) && `(${security(s)})`} {s.error && `— ${s.error}`}
        </li>
      ))}
      {d.boundAs && <li>Bound as {d.boundAs}</li>}
      {d.userSearchBase && <li>User search base found: {d.userSearchBase}</li>}
      {d.groupSearchBase && <li>Group search base found: {d.groupSearchBase}</li>}
    </ul>
  );
}
