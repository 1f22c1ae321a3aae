/**
 * Identity providers configured per organization group (LDAP, SAML 2.0, OpenID Connect), with
 * their secrets sealed apart from the rest of the settings. A group uses its own providers and
 * those of its ancestors. The SSO steps keep their state in the database (sign_in_flows), so
 * the IdP's answer may reach any node.
 *
 * Each SSO sign-in has a purpose, kept with its state: whoever started it (the admin console,
 * the enrollment pages) finishes it, whatever the IdP's answer claims. A provider serves admins
 * signing in to the console only when an admin turned `consoleSignIn` on for it.
 */
import { randomUUID } from 'node:crypto';
import { ServiceError, type FieldProblem } from '../service-error.js';
import type { SecretBox } from '../pki/secret-box.js';
import type { Identity } from './idp/identity.js';
import { LdapDirectory, redactLdapConfig, validateLdapConfig, type LdapConfig } from './idp/ldap-directory.js';
import type { SamlConfig, SamlProvider } from './idp/saml-provider.js';
import { OidcRelyingParty, validateOidcConfig, type OidcConfig, type OidcPendingLogin } from './idp/oidc-provider.js';
import { safeRedirectPath } from './idp/safe-redirect.js';
import { OrgGroupError, type OrgGroupService } from './org-group-service.js';
import type { IdentityProviderRow, IdentityProviderStore } from './identity-provider-store.js';
import type { Scope } from './scope.js';

export type ProviderKind = 'ldap' | 'saml' | 'oidc';

/** Who started an SSO sign-in, and so who finishes it. */
export type SsoPurpose = 'console' | 'enrollment';

/** The end of an SSO sign-in, with what was kept from its start. */
export interface SsoResult {
  identity: Identity;
  /** a same-origin path (anything else was replaced by `/`) */
  returnTo: string;
  purpose: SsoPurpose;
}

interface FlowData {
  purpose?: SsoPurpose;
  returnTo?: string;
}

/** The one secret field of each kind: sealed, never returned, kept when an update leaves it out. */
const SECRET_FIELD: Record<ProviderKind, string> = { ldap: 'bindPassword', saml: 'spPrivateKey', oidc: 'clientSecret' };

export class IdentityProviderError extends ServiceError {
  constructor(code: 'not_found' | 'invalid', message: string, problems: FieldProblem[] = []) {
    super(code, code, message, problems);
  }
}

export interface IdentityProviderView {
  id: string;
  groupId: string;
  kind: ProviderKind;
  name: string;
  enabled: boolean;
  /** admins may sign in to the console through it (SAML and OIDC) */
  consoleSignIn: boolean;
  /** settings without the secret */
  config: Record<string, unknown>;
  secretSet: boolean;
  /** for SAML: what to register at the IdP; for OIDC: the redirect URI */
  endpoints: Record<string, string>;
}

const FLOW_TTL_MS = 15 * 60_000;

export class IdentityProviderService {
  readonly #now: () => number;
  readonly #base: string;
  readonly #oidc = new Map<string, { updatedAt: number; rp: OidcRelyingParty }>();
  /** http issuers on loopback (tests against a local OpenID Provider) */
  readonly #insecureLoopback: boolean;

  constructor(
    private readonly store: IdentityProviderStore,
    private readonly groups: OrgGroupService,
    private readonly secrets: SecretBox,
    opts: { publicUrl: string; now?: () => number; allowInsecureLoopback?: boolean },
  ) {
    this.#now = opts.now ?? Date.now;
    this.#base = opts.publicUrl.replace(/\/$/, '');
    this.#insecureLoopback = opts.allowInsecureLoopback ?? false;
  }

  endpoints(kind: ProviderKind, id: string): Record<string, string> {
    if (kind === 'saml') return { spEntityId: `${this.#base}/sso/saml/${id}`, acsUrl: `${this.#base}/sso/saml/${id}/acs`, metadataUrl: `${this.#base}/sso/saml/${id}/metadata` };
    if (kind === 'oidc') return { redirectUri: `${this.#base}/sso/oidc/${id}/callback` };
    return {};
  }

  async create(input: { groupId: string; kind: ProviderKind; name: string; config: Record<string, unknown> }): Promise<IdentityProviderView> {
    await this.groups.mustExist(input.groupId);
    const id = randomUUID();
    const { settings, secret } = await this.#check(input.kind, id, input.config, undefined);
    const now = this.#now();
    await this.store.insert({
      id, organization_group_id: input.groupId, kind: input.kind, name: checkName(input.name), config_json: JSON.stringify(settings),
      secrets_enc: secret === undefined ? null : this.secrets.seal(secret), enabled: 1, created_at: now, updated_at: now,
    });
    return this.view(id);
  }

  async update(id: string, input: { name?: string; enabled?: boolean; consoleSignIn?: boolean; config?: Record<string, unknown> }): Promise<IdentityProviderView> {
    const row = await this.#row(id);
    const set: Parameters<IdentityProviderStore['update']>[1] = { updated_at: this.#now() };
    if (input.name !== undefined) set.name = checkName(input.name);
    if (input.enabled !== undefined) set.enabled = input.enabled ? 1 : 0;
    if (input.consoleSignIn !== undefined) {
      if (input.consoleSignIn && row.kind !== 'saml' && row.kind !== 'oidc') {
        throw new IdentityProviderError('invalid', 'admins sign in to the console through SAML or OpenID Connect providers only');
      }
      set.console_sign_in = input.consoleSignIn ? 1 : 0;
    }
    if (input.config) {
      const kept = row.secrets_enc ? this.secrets.openString(row.secrets_enc) : undefined;
      const { settings, secret } = await this.#check(row.kind as ProviderKind, id, input.config, kept);
      set.config_json = JSON.stringify(settings);
      set.secrets_enc = secret === undefined ? null : this.secrets.seal(secret);
    }
    await this.store.update(id, set);
    this.#oidc.delete(id);
    return this.view(id);
  }

  async delete(id: string): Promise<void> {
    if (!(await this.store.delete(id))) throw new IdentityProviderError('not_found', 'no such identity provider');
    this.#oidc.delete(id);
  }

  async view(id: string): Promise<IdentityProviderView> {
    return this.#view(await this.#row(id));
  }

  /** The enabled SAML and OIDC providers admins may sign in to the console through. */
  async consoleProviders(): Promise<IdentityProviderView[]> {
    return (await this.store.forConsole()).map((r) => this.#view(r));
  }

  /**
   * The enabled providers a group uses: its own first, then its ancestors'. With `within`, only
   * those configured inside that scope (an admin of a branch does not see the providers above it).
   */
  async forGroup(groupId: string, within?: Scope): Promise<IdentityProviderView[]> {
    // The group and its ancestors, nearest first, from its materialized path (one read, not the whole tree).
    const lineage = await this.groups.lineage(groupId);
    if (!lineage) throw new OrgGroupError('not_found', 'no such organization group');
    const ids = lineage.reverse();
    const visible = within ? (await this.groups.tree(within)).map((g) => g.id) : ids;
    const rows = (await this.store.inGroups(ids.filter((i) => visible.includes(i)))).filter((r) => r.enabled === 1);
    rows.sort((a, b) => ids.indexOf(a.organization_group_id) - ids.indexOf(b.organization_group_id));
    return rows.map((r) => this.#view(r));
  }

  async directory(id: string): Promise<LdapDirectory> {
    const row = await this.#row(id, 'ldap');
    return new LdapDirectory(this.#config(row) as unknown as LdapConfig, { providerId: id });
  }

  /**
   * The IdP URL to send the browser to; `returnTo` must be a same-origin path (anything else
   * becomes `/`). The purpose (default: enrollment) and the return path are kept server-side.
   */
  async startSso(id: string, returnTo: unknown, opts: { purpose?: SsoPurpose } = {}): Promise<{ redirectUrl: string }> {
    const row = await this.#row(id);
    const flow: FlowData = { purpose: opts.purpose ?? 'enrollment', returnTo: safeRedirectPath(returnTo, '/') };
    if (row.kind === 'saml') {
      const back = flow.returnTo!;
      return (await this.#saml(row, flow)).startLogin({ relayState: back.length <= 80 ? back : '/' }).then((r) => ({ redirectUrl: r.redirectUrl }));
    }
    if (row.kind === 'oidc') {
      const { redirectUrl, pending } = await this.#rp(row).startLogin();
      await this.store.saveFlow(pending.state, id, { ...flow, pending }, this.#now() + FLOW_TTL_MS);
      return { redirectUrl };
    }
    throw new IdentityProviderError('invalid', 'this provider signs users in with a password, not a redirect');
  }

  async finishSaml(id: string, form: { SAMLResponse: string; RelayState?: string }): Promise<SsoResult> {
    let flow: FlowData | undefined;
    const provider = await this.#saml(await this.#row(id, 'saml'), undefined, (data) => (flow = data));
    const { identity, relayState } = await provider.finishLogin(form);
    // The stored return path wins; RelayState (which the browser carries) is the fallback.
    return { identity, returnTo: safeRedirectPath(flow?.returnTo ?? relayState, '/'), purpose: flow?.purpose ?? 'enrollment' };
  }

  async finishOidc(id: string, callbackUrl: string): Promise<SsoResult> {
    const row = await this.#row(id, 'oidc');
    const state = new URL(callbackUrl, this.#base).searchParams.get('state') ?? '';
    const flow = (await this.store.consumeFlow(state, id, this.#now())) as (FlowData & { pending: OidcPendingLogin }) | undefined;
    // An unknown or spent state is handed on as an empty pending login, so the refusal reads the same.
    const identity = await this.#rp(row).finishLogin(callbackUrl, flow?.pending ?? { state: '', nonce: '', codeVerifier: '', createdAt: 0 });
    return { identity, returnTo: safeRedirectPath(flow?.returnTo, '/'), purpose: flow?.purpose ?? 'enrollment' };
  }

  /** Provider metadata for SAML (what the IdP administrator imports). */
  async samlMetadata(id: string): Promise<string> {
    return (await this.#saml(await this.#row(id, 'saml'))).metadata();
  }

  /**
   * node-saml and its XML stack cost ~13 MB of memory: loaded only once a SAML provider is used.
   * A request saved keeps `flow`; a response's request, when consumed, hands its flow to `onFlow`.
   */
  async #saml(row: IdentityProviderRow, flow: FlowData = {}, onFlow?: (flow: FlowData) => void): Promise<SamlProvider> {
    const { SamlProvider } = await import('./idp/saml-provider.js');
    return new SamlProvider(this.#config(row) as unknown as SamlConfig, {
      providerId: row.id,
      now: this.#now,
      requestStore: {
        save: (requestId, expiresAt) => this.store.saveFlow(`saml:${requestId}`, row.id, flow, expiresAt),
        consume: async (requestId) => {
          const data = (await this.store.consumeFlow(`saml:${requestId}`, row.id, this.#now())) as FlowData | undefined;
          if (data) onFlow?.(data);
          return data !== undefined;
        },
      },
    });
  }

  /** One relying party per provider and configuration, so discovery is not repeated on every sign-in. */
  #rp(row: IdentityProviderRow): OidcRelyingParty {
    const cached = this.#oidc.get(row.id);
    if (cached && cached.updatedAt === row.updated_at) return cached.rp;
    const rp = new OidcRelyingParty(this.#config(row) as unknown as OidcConfig, { now: this.#now, allowInsecureLoopback: this.#insecureLoopback });
    this.#oidc.set(row.id, { updatedAt: row.updated_at, rp });
    return rp;
  }

  /** The full configuration of a provider, secret and computed endpoints included. */
  #config(row: IdentityProviderRow): Record<string, unknown> {
    const kind = row.kind as ProviderKind;
    const config: Record<string, unknown> = { ...JSON.parse(row.config_json), ...this.#computed(kind, row.id) };
    if (row.secrets_enc) config[SECRET_FIELD[kind]] = this.secrets.openString(row.secrets_enc);
    return config;
  }

  #computed(kind: ProviderKind, id: string): Record<string, unknown> {
    const e = this.endpoints(kind, id);
    if (kind === 'saml') return { spEntityId: e.spEntityId, acsUrl: e.acsUrl };
    if (kind === 'oidc') return { id, redirectUri: e.redirectUri };
    return {};
  }

  /** Validates a configuration as its module does; splits off the secret. */
  async #check(kind: ProviderKind, id: string, input: Record<string, unknown>, keptSecret: string | undefined) {
    if (!['ldap', 'saml', 'oidc'].includes(kind)) throw new IdentityProviderError('invalid', 'the kind must be ldap, saml or oidc');
    const { [SECRET_FIELD[kind]]: given, ...settings } = input;
    for (const k of Object.keys(this.#computed(kind, id))) delete settings[k];
    const secret = typeof given === 'string' && given !== '' ? given : keptSecret;
    const full = { ...settings, ...this.#computed(kind, id), ...(secret !== undefined ? { [SECRET_FIELD[kind]]: secret } : {}) };
    const problems =
      kind === 'ldap' ? validateLdapConfig(full) : kind === 'saml' ? (await import('./idp/saml-provider.js')).validateSamlConfig(full) : validateOidcConfig(full);
    if (problems.length) throw new IdentityProviderError('invalid', problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems);
    return { settings, secret };
  }

  #view(r: IdentityProviderRow): IdentityProviderView {
    const kind = r.kind as ProviderKind;
    const config = JSON.parse(r.config_json) as Record<string, unknown>;
    return {
      id: r.id, groupId: r.organization_group_id, kind, name: r.name, enabled: r.enabled === 1, consoleSignIn: r.console_sign_in === 1,
      config: kind === 'ldap' ? (redactLdapConfig(config as unknown as LdapConfig) as unknown as Record<string, unknown>) : config,
      secretSet: r.secrets_enc !== null, endpoints: this.endpoints(kind, r.id),
    };
  }

  async #row(id: string, kind?: ProviderKind): Promise<IdentityProviderRow> {
    const row = await this.store.get(id);
    if (!row || (kind && row.kind !== kind)) throw new IdentityProviderError('not_found', `no such ${kind ?? 'identity'} provider`);
    return row;
  }
}

function checkName(name: string): string {
  const n = name.trim();
  if (!n || n.length > 100) throw new IdentityProviderError('invalid', 'the name must be 1 to 100 characters');
  return n;
}
