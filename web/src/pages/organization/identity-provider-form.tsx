/**
 * Adds or edits an LDAP, SAML or OpenID Connect provider with the fields each needs. Settings
 * this form does not show are kept as they are; the secret is never shown back, and left blank it
 * is kept. The server's validation problems appear next to their fields.
 */
import { useState } from 'react';
import { api, ApiError, unwrap } from '../../api/client';
import { Modal } from '../../components/confirm';
import { FormActions, useFormSubmit } from '../../components/form-submit';
import { ErrorBanner, Field } from '../../components/ui';
import { GroupSelect, useSubtree } from './org-common';
import type { Provider } from './identity-providers-tab';

type Kind = 'ldap' | 'saml' | 'oidc';
type Spec = { name: string; label: string; hint?: string; type?: 'text' | 'lines' | 'pem' | 'bool' | 'secret' | 'secret-pem' };

/** The fields of each kind (config keys; `a.b` for nested ones). */
const FIELDS: Record<Kind, Spec[]> = {
  ldap: [
    { name: 'urls', label: 'Server URLs', hint: 'ldap://host:389 or ldaps://host:636, one a line, tried in order.', type: 'lines' },
    { name: 'startTls', label: 'Upgrade ldap:// connections with StartTLS', type: 'bool' },
    { name: 'bindDn', label: 'Bind DN', hint: 'The service account that searches the directory; empty for an anonymous bind.' },
    { name: 'bindPassword', label: 'Bind password', type: 'secret' },
    { name: 'userSearchBase', label: 'User search base', hint: 'e.g. ou=people,dc=example,dc=com' },
    { name: 'userFilter', label: 'User filter', hint: '{username} is replaced; default (&(objectClass=person)(uid={username})).' },
    { name: 'attributes.username', label: 'User name attribute', hint: 'Default uid; Active Directory: sAMAccountName.' },
    { name: 'attributes.email', label: 'E-mail attribute', hint: 'Default mail.' },
    { name: 'tls.caPem', label: 'CA certificate (PEM)', hint: "The CA that issued the server's certificate, if not a public one.", type: 'pem' },
  ],
  saml: [
    { name: 'idpEntityId', label: 'IdP entity ID', hint: 'The Issuer of its assertions.' },
    { name: 'idpSsoUrl', label: 'IdP single sign-on URL', hint: 'Its SingleSignOnService location for the HTTP-Redirect binding.' },
    { name: 'idpCertificates', label: 'IdP signing certificates (PEM)', hint: 'Several during a rollover.', type: 'pem' },
    { name: 'signAuthnRequests', label: 'Sign authentication requests', type: 'bool' },
    { name: 'spPrivateKey', label: 'Signing private key (PEM)', type: 'secret-pem' },
    { name: 'spCertificate', label: 'Signing certificate (PEM)', hint: 'Published in the metadata.', type: 'pem' },
  ],
  oidc: [
    { name: 'issuer', label: 'Issuer', hint: 'Discovery reads <issuer>/.well-known/openid-configuration.' },
    { name: 'clientId', label: 'Client ID' },
    { name: 'clientSecret', label: 'Client secret', hint: 'Empty for a public client.', type: 'secret' },
    { name: 'scopes', label: 'Scopes', hint: 'One a line; default openid, email, profile.', type: 'lines' },
    { name: 'requestGroupsScope', label: 'Ask for the groups scope', type: 'bool' },
  ],
};
/** Computed by Pomona: shown, never sent back. */
const COMPUTED = ['spEntityId', 'acsUrl', 'id', 'redirectUri'];

const getPath = (o: Record<string, unknown>, path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);
function setPath(o: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = o;
  for (const k of keys.slice(0, -1)) at = (at[k] && typeof at[k] === 'object' ? at[k] : (at[k] = {})) as Record<string, unknown>;
  if (value === undefined) delete at[keys.at(-1)!];
  else at[keys.at(-1)!] = value;
}
const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);
const splitPem = (text: string) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? (text.trim() ? [text.trim()] : []);

export function ProviderForm({ provider, onClose, onSaved }: { provider?: Provider; onClose(): void; onSaved(): void }) {
  const subtree = useSubtree();
  const [kind, setKind] = useState<Kind>((provider?.kind as Kind) ?? 'ldap');
  const [name, setName] = useState(provider?.name ?? '');
  const [groupId, setGroupId] = useState(provider?.groupId ?? subtree[0]!.id);
  const [enabled, setEnabled] = useState(provider?.enabled ?? true);
  const [consoleSignIn, setConsoleSignIn] = useState(provider?.consoleSignIn ?? false);
  const initial = (spec: Spec): string | boolean => {
    const v = provider ? getPath(provider.config, spec.name) : undefined;
    if (spec.type === 'bool') return Boolean(v);
    if (Array.isArray(v)) return v.join('\n');
    return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
  };
  const [values, setValues] = useState<Record<string, string | boolean>>(() => Object.fromEntries(Object.values(FIELDS).flat().map((s) => [s.name, initial(s)])));

  const config = (): Record<string, unknown> => {
    const out: Record<string, unknown> = structuredClone(provider && provider.kind === kind ? provider.config : {});
    for (const k of COMPUTED) delete out[k];
    for (const spec of FIELDS[kind]) {
      const v = values[spec.name];
      if (spec.type === 'bool') setPath(out, spec.name, v ? true : undefined);
      else if (spec.type === 'secret' || spec.type === 'secret-pem') setPath(out, spec.name, v ? v : undefined);
      else if (spec.type === 'lines') setPath(out, spec.name, lines(String(v)).length ? lines(String(v)) : undefined);
      else if (spec.name === 'idpCertificates') setPath(out, spec.name, splitPem(String(v)));
      else setPath(out, spec.name, String(v).trim() || undefined);
    }
    return out;
  };
  const submit = useFormSubmit(async () => {
    if (provider) await unwrap(api.PATCH('/api/v1/identity-providers/{id}', { params: { path: { id: provider.id } }, body: { name, enabled, consoleSignIn, config: config() } }));
    else {
      const created = await unwrap(api.POST('/api/v1/identity-providers', { body: { groupId, kind, name, config: config() } }));
      if (!enabled || consoleSignIn) await unwrap(api.PATCH('/api/v1/identity-providers/{id}', { params: { path: { id: created.id } }, body: { enabled, consoleSignIn } }));
    }
    onSaved();
    onClose();
  });
  const problems = submit.failure instanceof ApiError ? submit.failure.problems : [];
  const problemFor = (field: string) => {
    const keys = field.split('.');
    return problems.find((p) => keys.every((k) => p.path.includes(k)))?.message;
  };
  const unplaced = problems.filter((p) => !FIELDS[kind].some((s) => s.name.split('.').every((k) => p.path.includes(k))));
  const set = (k: string, v: string | boolean) => setValues({ ...values, [k]: v });

  return (
    <Modal title={provider ? `Edit ${provider.name}` : 'Add identity provider'} onClose={onClose} wide>
      <form onSubmit={submit.onSubmit} className="idp-form">
        {submit.error && (problems.length === 0 || unplaced.length > 0) && <ErrorBanner error={[submit.error, ...unplaced.map((p) => `${p.path}: ${p.message}`)].join(' · ')} />}
        <div className="form-grid">
          <Field id="idp-kind" label="Kind">
            <select id="idp-kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)} disabled={!!provider}>
              <option value="ldap">LDAP directory</option>
              <option value="saml">SAML 2.0</option>
              <option value="oidc">OpenID Connect</option>
            </select>
          </Field>
          <Field id="idp-name" label="Name">
            <input id="idp-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
          </Field>
          {!provider && (
            <Field id="idp-group" label="Organization group" hint="Its whole subtree can use the provider.">
              <GroupSelect id="idp-group" value={groupId} onChange={setGroupId} groups={subtree} />
            </Field>
          )}
        </div>
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
        </label>
        {kind !== 'ldap' && (
          <label className="check">
            <input type="checkbox" checked={consoleSignIn} onChange={(e) => setConsoleSignIn(e.target.checked)} /> Admins may sign in to this console through it
          </label>
        )}
        <fieldset>
          <legend>{kind === 'ldap' ? 'Directory' : kind === 'saml' ? 'Identity provider (IdP)' : 'OpenID Provider'}</legend>
          {FIELDS[kind].map((spec) => {
            const id = `idp-${spec.name.replace('.', '-')}`;
            if (spec.type === 'bool')
              return (
                <label key={spec.name} className="check">
                  <input type="checkbox" checked={Boolean(values[spec.name])} onChange={(e) => set(spec.name, e.target.checked)} /> {spec.label}
                </label>
              );
            const secret = spec.type === 'secret' || spec.type === 'secret-pem';
            const hint = secret && provider?.secretSet ? 'Stored, never shown; leave empty to keep it.' : spec.hint;
            return (
              <Field key={spec.name} id={id} label={spec.label} hint={hint} error={problemFor(spec.name)}>
                {spec.type === 'lines' || spec.type === 'pem' || spec.type === 'secret-pem' ? (
                  <textarea id={id} className={spec.type === 'lines' ? undefined : 'mono'} rows={spec.type === 'lines' ? 2 : 4} autoComplete="off" spellCheck={false} value={String(values[spec.name])} onChange={(e) => set(spec.name, e.target.value)} />
                ) : (
                  <input id={id} type={spec.type === 'secret' ? 'password' : 'text'} autoComplete="off" value={String(values[spec.name])} onChange={(e) => set(spec.name, e.target.value)} />
                )}
              </Field>
            );
          })}
        </fieldset>
        {provider && Object.keys(provider.endpoints).length > 0 && (
          <fieldset>
            <legend>Register these at the provider</legend>
            <dl className="facts">
              {Object.entries(provider.endpoints).map(([k, v]) => (
                <div key={k} className="fact-row">
                  <dt>{k}</dt>
                  <dd>
                    <code>{v}</code>
                  </dd>
                </div>
              ))}
            </dl>
          </fieldset>
        )}
        {!provider && kind !== 'ldap' && <p className="muted">After saving, edit the provider to see the URLs to register at the {kind === 'saml' ? 'IdP (entity ID, ACS URL, metadata)' : 'OpenID Provider (redirect URI)'}.</p>}
        <FormActions label={provider ? 'Save changes' : 'Add provider'} busy={submit.busy} onCancel={onClose} />
      </form>
    </Modal>
  );
}
