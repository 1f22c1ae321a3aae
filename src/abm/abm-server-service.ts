/**
 * ABM servers: one per virtual MDM server in Apple Business/School Manager. Creates the key pair
 * whose public key the admin uploads to Apple, reads the token Apple gives back, keeps the OAuth
 * secrets and the shared DEP session sealed, and hands out DEP clients that record how each
 * call went (that outcome is the token state admins see).
 */
import { randomUUID } from 'node:crypto';
import { ServiceError, type ServiceErrorKind } from '../service-error.js';
import type { SecretBox } from '../pki/secret-box.js';
import { isUniqueViolation } from '../db/database.js';
import { createKeyExchangeCertificate } from '../pki/ca.js';
import { DepError } from './dep-errors.js';
import type { AccountDetail } from './dep-types.js';
import type { DepApi, DepClientFactory } from './dep-api.js';
import type { AbmServerRow, AbmServerStore } from './abm-server-store.js';
import type { LeaseStore } from '../jobs/lease-store.js';
import { abmLeaseName } from './abm-sync-job.js';
import { readServerTokenFile, ServerTokenError, type ServerTokens } from './server-token.js';
import { tokenState, type TokenState } from './token-state.js';
import type { Scope } from '../org/scope.js';

export const APPLE_DEP_URL = 'https://mdmenrollment.apple.com';

type AbmServerErrorCode = 'not_found' | 'conflict' | 'invalid' | 'consumer_key_mismatch' | 'no_token' | 'token_expired';
const KIND: Record<AbmServerErrorCode, ServiceErrorKind> = {
  not_found: 'not_found', conflict: 'conflict', invalid: 'invalid', consumer_key_mismatch: 'conflict', no_token: 'conflict', token_expired: 'invalid',
};

export class AbmServerError extends ServiceError {
  constructor(code: AbmServerErrorCode, message: string) {
    super(code, KIND[code], message);
  }
}

export interface AbmServerView {
  id: string;
  name: string;
  organizationGroupId: string | null;
  baseUrl: string;
  syncIntervalMinutes: number;
  tokenState: TokenState;
  tokenExpiresAt: number | null;
  tokenUploadedAt: number | null;
  consumerKey: string | null;
  stagedKey: boolean;
  apple: { serverName: string | null; serverUuid: string | null; orgName: string | null; adminId: string | null; pageLimit: number | null };
  lastSuccessAt: number | null;
  lastError: { at: number; code: string | null; message: string | null } | null;
  sync: {
    running: boolean;
    kind: string | null;
    startedAt: number | null;
    pages: number;
    devices: number;
    lastSyncAt: number | null;
    lastResult: unknown;
    lastError: string | null;
    requested: string | null;
    nextSyncAt: number | null;
    cursorAt: number | null;
    fetchComplete: boolean;
  };
  createdAt: number;
}

export interface AbmServerServiceOptions {
  store: AbmServerStore;
  secrets: SecretBox;
  clients: DepClientFactory;
  /** a sync runs while its node holds the server's lease (a dead node's run shows as stopped) */
  leases: LeaseStore;
  now?: () => number;
  /** days before expiry a token shows as expiring */
  expiryWarningDays?: number;
  /** validity of the self-signed certificate carrying the public key */
  keyValidityDays?: number;
}

export class AbmServerService {
  readonly #now: () => number;

  constructor(private readonly o: AbmServerServiceOptions) {
    this.#now = o.now ?? Date.now;
  }

  async create(input: { name: string; baseUrl?: string; syncIntervalMinutes?: number; organizationGroupId?: string }): Promise<AbmServerView> {
    const name = input.name.trim();
    if (!name || name.length > 100) throw new AbmServerError('invalid', 'the name must be 1 to 100 characters');
    if (await this.o.store.byName(name)) throw new AbmServerError('conflict', `an ABM server named "${name}" already exists`);
    const baseUrl = input.baseUrl === undefined ? null : checkBaseUrl(input.baseUrl);
    const pair = await this.#newKeyPair(name);
    const now = this.#now();
    const id = randomUUID();
    await this.o.store.insert({
      id,
      name,
      organization_group_id: input.organizationGroupId ?? null,
      base_url: baseUrl,
      sync_interval_minutes: checkInterval(input.syncIntervalMinutes ?? 30),
      cert_pem: pair.certPem,
      key_enc: this.o.secrets.seal(pair.keyPem),
      fetch_complete: 0,
      sync_pages: 0,
      sync_devices: 0,
      created_at: now,
      updated_at: now,
    });
    return this.view(id);
  }

  async update(id: string, input: { name?: string; baseUrl?: string | null; syncIntervalMinutes?: number; organizationGroupId?: string | null }): Promise<AbmServerView> {
    const row = await this.#row(id);
    const set: Parameters<AbmServerStore['update']>[1] = { updated_at: this.#now() };
    if (input.name !== undefined) {
      const name = input.name.trim();
      if (!name || name.length > 100) throw new AbmServerError('invalid', 'the name must be 1 to 100 characters');
      const other = await this.o.store.byName(name);
      if (other && other.id !== id) throw new AbmServerError('conflict', `an ABM server named "${name}" already exists`);
      set.name = name;
    }
    if (input.baseUrl !== undefined) {
      set.base_url = input.baseUrl === null ? null : checkBaseUrl(input.baseUrl);
      set.session_enc = null; // a session belongs to the service that issued it
    }
    if (input.syncIntervalMinutes !== undefined) {
      set.sync_interval_minutes = checkInterval(input.syncIntervalMinutes);
      set.next_sync_at = Math.min(row.next_sync_at ?? Infinity, this.#now() + set.sync_interval_minutes * 60_000);
    }
    if (input.organizationGroupId !== undefined) set.organization_group_id = input.organizationGroupId;
    await this.o.store.update(id, set);
    return this.view(id);
  }

  /** Every server, or those whose organization group lies in `within`. */
  async list(within?: Scope): Promise<AbmServerView[]> {
    return Promise.all((await this.o.store.list(within?.prefix)).map((r) => this.#view(r)));
  }

  async view(id: string): Promise<AbmServerView> {
    return this.#view(await this.#row(id));
  }

  async delete(id: string): Promise<void> {
    if (!(await this.o.store.delete(id))) throw new AbmServerError('not_found', 'no such ABM server');
  }

  /**
   * Asks for a sync on the next tick of whichever node runs it. A full sync is refused while a
   * sync runs (it would restart the run from scratch); a plain one is queued behind it.
   */
  async requestSync(id: string, kind: 'sync' | 'full'): Promise<{ queued: boolean; running: boolean }> {
    const server = await this.view(id);
    if (server.tokenState === 'no-token') throw new AbmServerError('no_token', `ABM server "${server.name}" has no server token yet: upload the token file from Apple Business Manager first`);
    if (kind === 'full' && server.sync.running) {
      throw new AbmServerError('conflict', `a sync of "${server.name}" is running (${server.sync.pages} pages, ${server.sync.devices} devices so far); start the full sync when it has finished`);
    }
    const keep = server.sync.requested === 'full' ? 'full' : kind;
    await this.o.store.update(id, { sync_requested: keep, sync_requested_at: this.#now(), updated_at: this.#now() });
    return { queued: true, running: server.sync.running };
  }

  /** Forgets the cursor so the next run fetches every device again (and marks those Apple no longer lists). */
  async resetCursor(id: string): Promise<void> {
    const server = await this.view(id);
    if (server.sync.running) throw new AbmServerError('conflict', `a sync of "${server.name}" is running; reset the cursor when it has finished`);
    await this.o.store.update(id, { cursor: null, cursor_at: null, fetch_complete: 0, full_fetch_started_at: null, sync_requested: 'full', sync_requested_at: this.#now(), updated_at: this.#now() });
  }

  /** The certificate to upload to Apple: the staged one while a key change is under way. */
  async publicKey(id: string): Promise<{ name: string; certPem: string; staged: boolean }> {
    const row = await this.#row(id);
    return { name: row.name, certPem: row.staged_cert_pem ?? row.cert_pem, staged: row.staged_cert_pem !== null };
  }

  /** A new key pair that replaces the current one only when a token encrypted to it is uploaded. */
  async stageNewKey(id: string): Promise<{ certPem: string }> {
    const row = await this.#row(id);
    const pair = await this.#newKeyPair(row.name);
    await this.o.store.update(id, { staged_cert_pem: pair.certPem, staged_key_enc: this.o.secrets.seal(pair.keyPem), updated_at: this.#now() });
    return { certPem: pair.certPem };
  }

  /**
   * Stores the token from Apple's file. A token for another MDM server (a different consumer key)
   * is refused unless forced: it would silently switch this server to another device set.
   */
  async uploadToken(id: string, file: Buffer, opts: { force?: boolean } = {}): Promise<{ server: AbmServerView; replacedServer: boolean }> {
    const row = await this.#row(id);
    const keys = [{ certPem: row.cert_pem, keyPem: this.o.secrets.openString(row.key_enc) }];
    if (row.staged_cert_pem && row.staged_key_enc) keys.push({ certPem: row.staged_cert_pem, keyPem: this.o.secrets.openString(row.staged_key_enc) });
    let read: { tokens: ServerTokens; keyIndex: number };
    try {
      read = readServerTokenFile(file, keys);
    } catch (err) {
      if (err instanceof ServerTokenError) throw new AbmServerError('invalid', err.message);
      throw err;
    }
    const { tokens, keyIndex } = read;
    const now = this.#now();
    if (tokens.accessTokenExpiry <= now) {
      throw new AbmServerError('token_expired', `this token expired on ${new Date(tokens.accessTokenExpiry).toISOString()}; download a new one from Apple Business Manager`);
    }
    const replacedServer = row.consumer_key !== null && row.consumer_key !== tokens.consumerKey;
    if (replacedServer && !opts.force) {
      throw new AbmServerError(
        'consumer_key_mismatch',
        'this token belongs to a different MDM server in Apple Business Manager than the one this ABM server was connected to; upload it with force to switch (the device list will be fetched again)',
      );
    }
    // One MDM server in ABM, one Pomona ABM server: two syncing the same devices would fight over them.
    const holder = await this.o.store.byConsumerKey(tokens.consumerKey);
    if (holder && holder.id !== id) {
      throw new AbmServerError('conflict', `this token is already connected to the ABM server "${holder.name}"; upload it there, or delete that server first`);
    }
    const promote = keyIndex === 1;
    const alreadyConnected = () => new AbmServerError('conflict', 'this token is already connected to another ABM server; upload it there, or delete that server first');
    await this.o.store.update(id, {
      ...(promote ? { cert_pem: row.staged_cert_pem!, key_enc: row.staged_key_enc!, staged_cert_pem: null, staged_key_enc: null } : {}),
      consumer_key: tokens.consumerKey,
      tokens_enc: this.o.secrets.seal(JSON.stringify(tokens)),
      token_expires_at: tokens.accessTokenExpiry,
      token_uploaded_at: now,
      session_enc: null,
      last_error_at: null,
      last_error_code: null,
      last_error_message: null,
      ...(replacedServer ? { cursor: null, cursor_at: null, fetch_complete: 0, full_fetch_started_at: null, sync_requested: 'full' } : { sync_requested: row.sync_requested ?? 'sync' }),
      sync_requested_at: now,
      updated_at: now,
    }).catch((err) => {
      // The unique index settles two uploads of one token to two servers at the same moment.
      throw isUniqueViolation(err) ? alreadyConnected() : err;
    });
    if (replacedServer) await this.o.store.forgetAppleProfiles(id);
    return { server: await this.view(id), replacedServer };
  }

  /** `GET /account`: proves the token works and refreshes what Apple says about the server. */
  async testConnection(id: string): Promise<AccountDetail> {
    const account = await (await this.client(id)).account();
    const limit = account.urls?.find((u) => u.uri === '/server/devices')?.limit;
    await this.o.store.update(id, {
      account_json: JSON.stringify(account),
      apple_server_uuid: account.server_uuid ?? null,
      apple_server_name: account.server_name ?? null,
      org_name: account.org_name ?? null,
      admin_id: account.admin_id ?? account.facilitator_id ?? null,
      page_limit: limit?.maximum ?? limit?.default ?? null,
      updated_at: this.#now(),
    });
    return account;
  }

  /** A DEP client for this server whose every call's outcome is recorded on the server. */
  async client(id: string): Promise<DepApi> {
    const row = await this.#row(id);
    if (!row.tokens_enc) throw new AbmServerError('no_token', `ABM server "${row.name}" has no server token yet: upload the token file from Apple Business Manager`);
    const tokens = JSON.parse(this.o.secrets.openString(row.tokens_enc)) as ServerTokens;
    const client = this.o.clients({
      baseUrl: row.base_url ?? APPLE_DEP_URL,
      credentials: { consumerKey: tokens.consumerKey, consumerSecret: tokens.consumerSecret, accessToken: tokens.accessToken, accessSecret: tokens.accessSecret },
      sessions: {
        load: async () => {
          const sealed = await this.o.store.loadSession(id);
          return sealed ? this.o.secrets.openString(sealed) : undefined;
        },
        save: (token) => this.o.store.saveSession(id, token ? this.o.secrets.seal(token) : null),
      },
    });
    return this.#recording(id, client, row);
  }

  #recording(id: string, client: DepApi, row: AbmServerRow): DepApi {
    // Failing state is cleared by the first success; afterwards successes are written at most once a minute.
    let lastWritten = row.last_error_at !== null && (row.last_success_at ?? 0) < row.last_error_at ? 0 : (row.last_success_at ?? 0);
    const ok = async () => {
      const now = this.#now();
      if (now - lastWritten < 60_000) return;
      lastWritten = now;
      await this.o.store.update(id, { last_success_at: now });
    };
    const failed = async (err: unknown) => {
      if (!(err instanceof DepError)) return;
      lastWritten = 0;
      await this.o.store.update(id, { last_error_at: this.#now(), last_error_code: err.code ?? err.kind, last_error_message: err.message });
    };
    return new Proxy(client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          try {
            const out = await value.apply(target, args);
            await ok();
            return out;
          } catch (err) {
            await failed(err);
            throw err;
          }
        };
      },
    });
  }

  async #row(id: string): Promise<AbmServerRow> {
    const row = await this.o.store.get(id);
    if (!row) throw new AbmServerError('not_found', 'no such ABM server');
    return row;
  }

  #newKeyPair(name: string) {
    return createKeyExchangeCertificate({ commonName: `Pomona ABM ${name}`.slice(0, 64), organization: 'Pomona', days: this.o.keyValidityDays ?? 365 });
  }

  async #view(r: AbmServerRow): Promise<AbmServerView> {
    const now = this.#now();
    const running = r.sync_started_at !== null && (await this.o.leases.holderOf(abmLeaseName(r.id), now)) !== undefined;
    return {
      id: r.id,
      name: r.name,
      organizationGroupId: r.organization_group_id,
      baseUrl: r.base_url ?? APPLE_DEP_URL,
      syncIntervalMinutes: r.sync_interval_minutes,
      tokenState: tokenState(
        { hasToken: r.tokens_enc !== null, tokenExpiresAt: r.token_expires_at, lastSuccessAt: r.last_success_at, lastErrorAt: r.last_error_at, lastErrorCode: r.last_error_code },
        now,
        this.o.expiryWarningDays,
      ),
      tokenExpiresAt: r.token_expires_at,
      tokenUploadedAt: r.token_uploaded_at,
      consumerKey: r.consumer_key,
      stagedKey: r.staged_cert_pem !== null,
      apple: { serverName: r.apple_server_name, serverUuid: r.apple_server_uuid, orgName: r.org_name, adminId: r.admin_id, pageLimit: r.page_limit },
      lastSuccessAt: r.last_success_at,
      lastError: r.last_error_at === null ? null : { at: r.last_error_at, code: r.last_error_code, message: r.last_error_message },
      sync: {
        running,
        kind: r.sync_kind,
        startedAt: r.sync_started_at,
        pages: r.sync_pages,
        devices: r.sync_devices,
        lastSyncAt: r.last_sync_at,
        lastResult: r.last_sync_json ? JSON.parse(r.last_sync_json) : null,
        lastError: r.last_sync_error,
        requested: r.sync_requested,
        nextSyncAt: r.next_sync_at,
        cursorAt: r.cursor_at,
        fetchComplete: r.fetch_complete === 1,
      },
      createdAt: r.created_at,
    };
  }
}

function checkBaseUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AbmServerError('invalid', `the DEP base URL is not a URL: ${url}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AbmServerError('invalid', 'the DEP base URL must be http(s)');
  return u.toString().replace(/\/$/, '');
}

function checkInterval(minutes: number): number {
  if (!Number.isInteger(minutes) || minutes < 5 || minutes > 7 * 24 * 60) throw new AbmServerError('invalid', 'the sync interval must be a whole number of minutes from 5 to 10080');
  return minutes;
}
