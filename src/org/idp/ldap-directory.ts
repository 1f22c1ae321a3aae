/**
 * Directory users through LDAP (OpenLDAP, Active Directory, 389-ds …) with ldapts.
 *
 * Sign-in is the classic search-then-bind: bind as a service account, find the one entry
 * whose filter matches the user name, then bind as that entry's DN with the password the
 * user typed. Every value that reaches a filter is escaped (RFC 4515) before the filter is
 * parsed, so a user name can only ever be compared, never widen the search. Every failure
 * the user may see says the same thing ("wrong user name or password"); the precise reason
 * goes to `SignInError.reason` and the log. Failures of the directory itself (unreachable,
 * timeout, TLS, service account refused) are `LdapDirectoryError`s, with a message for the
 * admin and never a password in it.
 *
 * One connection per call, closed in `finally`: sign-ins are rare next to MDM traffic, and a
 * pooled connection bound as a user would be a trap.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, FilterParser, type Entry } from 'ldapts';
import { SignInError, type Identity } from './identity.js';

// ─── configuration ──────────────────────────────────────────────────────────────────────────

/** How group membership is found. */
export type LdapGroupMembership =
  /** a multi-valued attribute of the user (and, for nesting, of each group) holding group DNs */
  | { mode: 'memberOf'; attribute?: string }
  /** groups searched under `base` with a filter naming the user by `{dn}` or `{username}` */
  | { mode: 'search'; base: string; filter?: string; nameAttribute?: string; scope?: 'sub' | 'one' }
  | { mode: 'none' };

/**
 * One LDAP identity provider, as stored (per organization group) and edited through the API.
 * Only `urls` and `userSearchBase` are required; `LDAP_DEFAULTS` fills the rest.
 */
export interface LdapConfig {
  /** `ldap://host[:port]` or `ldaps://host[:port]`, tried in order when one cannot be reached */
  urls: string[];
  /** upgrade `ldap://` connections with the StartTLS extended operation */
  startTls?: boolean;
  tls?: {
    /** PEM certificate(s) of the CA that issued the server's certificate; default: Node's roots */
    caPem?: string;
    /** check the server's certificate and host name (default true) */
    verify?: boolean;
  };
  /** TCP (and for ldaps:// TLS) connection set-up; default 5 000 ms */
  connectTimeoutMs?: number;
  /** each LDAP operation (bind, search, StartTLS); default 10 000 ms */
  operationTimeoutMs?: number;
  /** service account that searches the directory; absent = anonymous bind */
  bindDn?: string;
  /** secret: never logged, replaced by `redactLdapConfig` */
  bindPassword?: string;
  userSearchBase: string;
  userSearchScope?: 'sub' | 'one';
  /** `{username}` is replaced by the escaped user name; default `(&(objectClass=person)(uid={username}))` */
  userFilter?: string;
  attributes?: {
    /** short name returned as Identity.username (default uid; AD: sAMAccountName) */
    username?: string;
    email?: string;
    displayName?: string;
    /** stable id used as Identity.subject (default entryUUID; AD: objectGUID); absent → the DN */
    uniqueId?: string;
  };
  groups?: LdapGroupMembership;
  /** levels of groups-in-groups to follow (0 = direct membership only; at most 10) */
  nestedGroupDepth?: number;
  /** page size of group searches (simple paged results control) */
  pageSize?: number;
}

export interface ResolvedLdapConfig {
  urls: string[];
  startTls: boolean;
  tls: { caPem?: string; verify: boolean };
  connectTimeoutMs: number;
  operationTimeoutMs: number;
  bindDn?: string;
  bindPassword?: string;
  userSearchBase: string;
  userSearchScope: 'sub' | 'one';
  userFilter: string;
  attributes: { username: string; email: string; displayName: string; uniqueId: string };
  groups:
    | { mode: 'memberOf'; attribute: string }
    | { mode: 'search'; base: string; filter: string; nameAttribute: string; scope: 'sub' | 'one' }
    | { mode: 'none' };
  nestedGroupDepth: number;
  pageSize: number;
}

export const LDAP_DEFAULTS = {
  startTls: false,
  tlsVerify: true,
  connectTimeoutMs: 5_000,
  operationTimeoutMs: 10_000,
  userSearchScope: 'sub',
  userFilter: '(&(objectClass=person)(uid={username}))',
  attributes: { username: 'uid', email: 'mail', displayName: 'displayName', uniqueId: 'entryUUID' },
  groups: { mode: 'memberOf', attribute: 'memberOf' },
  groupSearch: { filter: '(member={dn})', nameAttribute: 'cn', scope: 'sub' },
  nestedGroupDepth: 0,
  pageSize: 500,
} as const;

/** The usual Active Directory settings, to spread into a config before urls and bases. */
export const ACTIVE_DIRECTORY_PRESET = {
  userFilter: '(&(objectCategory=person)(objectClass=user)(sAMAccountName={username}))',
  attributes: { username: 'sAMAccountName', email: 'mail', displayName: 'displayName', uniqueId: 'objectGUID' },
  groups: { mode: 'memberOf', attribute: 'memberOf' },
} as const satisfies Partial<LdapConfig>;

export function withLdapDefaults(config: LdapConfig): ResolvedLdapConfig {
  const g = config.groups ?? LDAP_DEFAULTS.groups;
  const groups: ResolvedLdapConfig['groups'] =
    g.mode === 'memberOf'
      ? { mode: 'memberOf', attribute: g.attribute ?? LDAP_DEFAULTS.groups.attribute }
      : g.mode === 'search'
        ? {
            mode: 'search',
            base: g.base,
            filter: g.filter ?? LDAP_DEFAULTS.groupSearch.filter,
            nameAttribute: g.nameAttribute ?? LDAP_DEFAULTS.groupSearch.nameAttribute,
            scope: g.scope ?? LDAP_DEFAULTS.groupSearch.scope,
          }
        : { mode: 'none' };
  return {
    urls: [...config.urls],
    startTls: config.startTls ?? LDAP_DEFAULTS.startTls,
    tls: { caPem: config.tls?.caPem || undefined, verify: config.tls?.verify ?? LDAP_DEFAULTS.tlsVerify },
    connectTimeoutMs: config.connectTimeoutMs ?? LDAP_DEFAULTS.connectTimeoutMs,
    operationTimeoutMs: config.operationTimeoutMs ?? LDAP_DEFAULTS.operationTimeoutMs,
    bindDn: config.bindDn || undefined,
    bindPassword: config.bindPassword || undefined,
    userSearchBase: config.userSearchBase,
    userSearchScope: config.userSearchScope ?? LDAP_DEFAULTS.userSearchScope,
    userFilter: config.userFilter ?? LDAP_DEFAULTS.userFilter,
    attributes: { ...LDAP_DEFAULTS.attributes, ...stripUndefined(config.attributes ?? {}) },
    groups,
    nestedGroupDepth: config.nestedGroupDepth ?? LDAP_DEFAULTS.nestedGroupDepth,
    pageSize: config.pageSize ?? LDAP_DEFAULTS.pageSize,
  };
}

/** The config with its secret replaced, for API answers and logs. */
export function redactLdapConfig(config: LdapConfig): LdapConfig {
  return config.bindPassword ? { ...config, bindPassword: '********' } : { ...config };
}

export interface LdapConfigProblem {
  /** JSON Pointer into the config, as in request-validation errors (`/urls/0`, `/groups/base`) */
  path: string;
  message: string;
}

const CONFIG_KEYS = new Set([
  'urls', 'startTls', 'tls', 'connectTimeoutMs', 'operationTimeoutMs', 'bindDn', 'bindPassword', 'userSearchBase',
  'userSearchScope', 'userFilter', 'attributes', 'groups', 'nestedGroupDepth', 'pageSize',
]);
const ATTRIBUTE_NAME_RE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;
const MAX_TIMEOUT_MS = 600_000;
const MAX_NESTED_DEPTH = 10;
const MAX_PAGE_SIZE = 10_000;

/**
 * Every problem in a config (not just the first), each with its path, so the console can
 * mark the fields. An empty array means `new LdapDirectory(config)` will accept it.
 */
export function validateLdapConfig(input: unknown): LdapConfigProblem[] {
  const problems: LdapConfigProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (!isRecord(input)) return [{ path: '', message: 'must be an object' }];
  const c = input;
  for (const key of Object.keys(c)) if (!CONFIG_KEYS.has(key)) add(`/${key}`, 'unknown setting');

  let hasLdaps = false;
  if (!Array.isArray(c.urls) || c.urls.length === 0) {
    add('/urls', 'at least one server URL is required (ldap://host:389 or ldaps://host:636)');
  } else {
    const seen = new Set<string>();
    c.urls.forEach((u, i) => {
      const problem = urlProblem(u);
      if (problem) return add(`/urls/${i}`, problem);
      const s = String(u).toLowerCase();
      if (seen.has(s)) add(`/urls/${i}`, 'listed twice');
      seen.add(s);
      if (s.startsWith('ldaps:')) hasLdaps = true;
    });
  }
  if (c.startTls !== undefined && typeof c.startTls !== 'boolean') add('/startTls', 'must be true or false');
  if (c.startTls === true && hasLdaps) add('/startTls', 'StartTLS applies to ldap:// URLs; ldaps:// is TLS already');

  if (c.tls !== undefined) {
    if (!isRecord(c.tls)) add('/tls', 'must be an object');
    else {
      for (const key of Object.keys(c.tls)) if (key !== 'caPem' && key !== 'verify') add(`/tls/${key}`, 'unknown setting');
      if (c.tls.verify !== undefined && typeof c.tls.verify !== 'boolean') add('/tls/verify', 'must be true or false');
      if (c.tls.caPem !== undefined && c.tls.caPem !== '') {
        const problem = typeof c.tls.caPem === 'string' ? caPemProblem(c.tls.caPem) : 'must be PEM text';
        if (problem) add('/tls/caPem', problem);
      }
    }
  }
  for (const key of ['connectTimeoutMs', 'operationTimeoutMs'] as const) {
    const v = c[key];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_TIMEOUT_MS)) {
      add(`/${key}`, `must be a whole number of milliseconds between 1 and ${MAX_TIMEOUT_MS}`);
    }
  }

  const hasBindDn = c.bindDn !== undefined && c.bindDn !== '';
  if (hasBindDn) {
    const problem = dnProblem(c.bindDn);
    if (problem) add('/bindDn', problem);
    // A simple bind with a DN and no password is an "unauthenticated bind" that many servers accept.
    if (typeof c.bindPassword !== 'string' || c.bindPassword === '') add('/bindPassword', 'required with bindDn (an empty password would be an unauthenticated bind)');
  } else if (c.bindPassword !== undefined && c.bindPassword !== '') {
    add('/bindDn', 'required with bindPassword');
  }
  if (c.bindPassword !== undefined && typeof c.bindPassword !== 'string') add('/bindPassword', 'must be a string');

  const baseProblem = c.userSearchBase === undefined || c.userSearchBase === '' ? 'required (the DN under which users are searched)' : dnProblem(c.userSearchBase);
  if (baseProblem) add('/userSearchBase', baseProblem);
  if (c.userSearchScope !== undefined && c.userSearchScope !== 'sub' && c.userSearchScope !== 'one') add('/userSearchScope', "must be 'sub' or 'one'");
  if (c.userFilter !== undefined) {
    const problem = filterTemplateProblem(c.userFilter, ['username'], ['username']);
    if (problem) add('/userFilter', problem);
  }

  if (c.attributes !== undefined) {
    if (!isRecord(c.attributes)) add('/attributes', 'must be an object');
    else {
      for (const [key, v] of Object.entries(c.attributes)) {
        if (!['username', 'email', 'displayName', 'uniqueId'].includes(key)) add(`/attributes/${key}`, 'unknown setting');
        else if (v !== undefined && (typeof v !== 'string' || !ATTRIBUTE_NAME_RE.test(v))) add(`/attributes/${key}`, 'must be an attribute name');
      }
    }
  }

  const depthOk = c.nestedGroupDepth === undefined || (Number.isInteger(c.nestedGroupDepth) && (c.nestedGroupDepth as number) >= 0 && (c.nestedGroupDepth as number) <= MAX_NESTED_DEPTH);
  if (!depthOk) add('/nestedGroupDepth', `must be a whole number from 0 to ${MAX_NESTED_DEPTH}`);
  if (c.groups !== undefined) {
    const g = c.groups;
    if (!isRecord(g) || !['memberOf', 'search', 'none'].includes(g.mode as string)) {
      add('/groups/mode', "must be 'memberOf', 'search' or 'none'");
    } else {
      const allowed = g.mode === 'memberOf' ? ['mode', 'attribute'] : g.mode === 'search' ? ['mode', 'base', 'filter', 'nameAttribute', 'scope'] : ['mode'];
      for (const key of Object.keys(g)) if (!allowed.includes(key)) add(`/groups/${key}`, `not a setting of mode '${String(g.mode)}'`);
      if (g.mode === 'memberOf' && g.attribute !== undefined && (typeof g.attribute !== 'string' || !ATTRIBUTE_NAME_RE.test(g.attribute))) add('/groups/attribute', 'must be an attribute name');
      if (g.mode === 'search') {
        const gb = g.base === undefined || g.base === '' ? 'required (the DN under which groups are searched)' : dnProblem(g.base);
        if (gb) add('/groups/base', gb);
        if (g.filter !== undefined) {
          const problem = filterTemplateProblem(g.filter, ['dn', 'username'], []);
          if (problem) add('/groups/filter', problem);
          else if (!/\{(dn|username)\}/.test(g.filter as string)) add('/groups/filter', 'must contain {dn} or {username}');
          else if (depthOk && (c.nestedGroupDepth as number) > 0 && (/\{username\}/.test(g.filter as string) || !/\{dn\}/.test(g.filter as string))) {
            add('/groups/filter', 'nested groups are followed by DN: with nestedGroupDepth above 0 the filter must use {dn} and not {username}');
          }
        }
        if (g.nameAttribute !== undefined && (typeof g.nameAttribute !== 'string' || !ATTRIBUTE_NAME_RE.test(g.nameAttribute))) add('/groups/nameAttribute', 'must be an attribute name');
        if (g.scope !== undefined && g.scope !== 'sub' && g.scope !== 'one') add('/groups/scope', "must be 'sub' or 'one'");
      }
    }
  }
  if (c.pageSize !== undefined && !(Number.isInteger(c.pageSize) && (c.pageSize as number) >= 1 && (c.pageSize as number) <= MAX_PAGE_SIZE)) {
    add('/pageSize', `must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return problems;
}

function urlProblem(u: unknown): string | undefined {
  if (typeof u !== 'string' || u === '') return 'must be an ldap:// or ldaps:// URL';
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    return 'not a URL (expected ldap://host:389 or ldaps://host:636)';
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') return `unsupported scheme ${url.protocol} (use ldap:// or ldaps://)`;
  if (!url.hostname) return 'host name missing';
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash || url.username || url.password) {
    return 'only scheme, host and port belong here (base DN and filter are separate settings)';
  }
  return undefined;
}

function caPemProblem(pem: string): string | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) return 'no PEM certificate found (-----BEGIN CERTIFICATE----- …)';
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return `certificate ${i + 1} cannot be read`;
    }
  }
  return undefined;
}

function dnProblem(dn: unknown): string | undefined {
  if (typeof dn !== 'string') return 'must be a DN such as ou=people,dc=example,dc=org';
  try {
    if (parseDn(dn).length === 0) return 'must not be empty';
  } catch (err) {
    return `not a valid DN: ${(err as Error).message}`;
  }
  return undefined;
}

function filterTemplateProblem(template: unknown, allowed: string[], required: string[]): string | undefined {
  if (typeof template !== 'string' || template.trim() === '') return 'must be an LDAP filter';
  for (const [, name] of template.matchAll(/\{([^}]*)\}/g)) {
    if (!allowed.includes(name)) return `unknown placeholder {${name}} (allowed: ${allowed.map((a) => `{${a}}`).join(', ')})`;
  }
  for (const name of required) if (!template.includes(`{${name}}`)) return `must contain {${name}}`;
  if (!template.startsWith('(') || !template.endsWith(')')) return 'must be enclosed in parentheses';
  // ldapts' parser forgives a missing closing parenthesis; a server would not.
  let depth = 0;
  for (const [i, ch] of [...template].entries()) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (depth < 0 || (depth === 0 && i < [...template].length - 1)) return 'unbalanced parentheses (one filter, every ( closed by a ))';
  }
  if (depth !== 0) return 'unbalanced parentheses (one filter, every ( closed by a ))';
  try {
    FilterParser.parseString(fillTemplate(template, { username: 'x', dn: 'cn=x' }));
  } catch (err) {
    return `not a valid LDAP filter: ${(err as Error).message}`;
  }
  return undefined;
}

// ─── escaping (RFC 4515 filters, RFC 4514 DNs) ───────────────────────────────────────────────

/**
 * A value made safe to place inside a filter's assertion: `*`, `(`, `)`, `\` and NUL become
 * `\2a`, `\28`, `\29`, `\5c`, `\00` (RFC 4515 §3). Other characters, non-ASCII included,
 * stay as they are: the filter is UTF-8 and escaping multi-byte characters byte by byte
 * would be read back one byte per character by ldapts' parser.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (ch) => `\\${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * A value made safe to use as an attribute value in a DN (RFC 4514 §2.4): `"`, `+`, `,`, `;`,
 * `<`, `>`, `=` and `\` are backslash-escaped, a leading space or `#` and a trailing space too,
 * NUL becomes `\00`.
 */
export function escapeDn(value: string): string {
  let out = '';
  const chars = [...value];
  chars.forEach((ch, i) => {
    if (ch === '\0') out += '\\00';
    else if ('"+,;<>=\\'.includes(ch)) out += `\\${ch}`;
    else if (i === 0 && (ch === ' ' || ch === '#')) out += `\\${ch}`;
    else if (i === chars.length - 1 && ch === ' ') out += '\\ ';
    else out += ch;
  });
  return out;
}

export interface Rdn {
  type: string;
  value: string;
}

/**
 * A DN string split into RDNs (each a list of attribute type and unescaped value; several
 * for a multi-valued RDN such as `cn=a+uid=b`). Throws on malformed input. Hex-encoded BER
 * values (`cn=#04024869`) are returned as written.
 */
export function parseDn(dn: string): Rdn[][] {
  const rdns: Rdn[][] = [];
  if (dn.trim() === '') return rdns;
  let i = 0;
  let rdn: Rdn[] = [];
  const n = dn.length;
  while (i <= n) {
    while (i < n && dn[i] === ' ') i++;
    const typeStart = i;
    while (i < n && dn[i] !== '=') i++;
    const type = dn.slice(typeStart, i).trim();
    if (i >= n || !/^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/.test(type)) {
      throw new Error(`expected attribute=value at position ${typeStart}`);
    }
    i++; // '='
    let value = '';
    if (dn[i] === '#') {
      const start = i;
      while (i < n && /[#0-9A-Fa-f]/.test(dn[i])) i++;
      value = dn.slice(start, i);
    } else {
      const bytes: number[] = [];
      let trailingSpaces = 0;
      const flush = (s: string) => {
        for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
      };
      while (i < n && dn[i] !== ',' && dn[i] !== '+' && dn[i] !== ';') {
        const ch = dn[i];
        if (ch === '\\') {
          const pair = dn.slice(i + 1, i + 3);
          if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
            bytes.push(parseInt(pair, 16));
            i += 3;
          } else if (i + 1 < n && ' "#+,;<=>\\'.includes(dn[i + 1])) {
            flush(dn[i + 1]);
            i += 2;
          } else {
            throw new Error(`bad escape at position ${i}`);
          }
          trailingSpaces = 0;
          continue;
        }
        if (ch === '"' || ch === '<' || ch === '>' || ch === '\0') throw new Error(`unescaped ${JSON.stringify(ch)} at position ${i}`);
        const cp = String.fromCodePoint(dn.codePointAt(i) ?? 0); // whole surrogate pairs
        trailingSpaces = cp === ' ' ? trailingSpaces + 1 : 0;
        flush(cp);
        i += cp.length;
      }
      // Unescaped trailing spaces are not part of the value (RFC 4514 §3).
      value = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString('utf8');
    }
    while (i < n && dn[i] === ' ') i++;
    rdn.push({ type, value });
    if (i >= n) {
      rdns.push(rdn);
      break;
    }
    const sep = dn[i];
    if (sep !== ',' && sep !== '+' && sep !== ';') throw new Error(`unexpected ${JSON.stringify(sep)} at position ${i}`);
    i++;
    if (sep !== '+') {
      rdns.push(rdn);
      rdn = [];
    }
    if (i >= n) throw new Error('DN ends with a separator');
  }
  return rdns;
}

// ─── errors ─────────────────────────────────────────────────────────────────────────────────

/** What every refused sign-in tells the user, whatever the reason. */
export const SIGN_IN_REFUSED_MESSAGE = 'wrong user name or password';

/** `SignInError.reason` values from this provider (for logs, audit and lockout counting). */
export type LdapSignInReason =
  | 'empty user name'
  | 'user name too long'
  | 'empty password'
  | 'password too long'
  | 'unknown user'
  | 'several entries match the user name'
  | 'wrong password'
  | 'account disabled'
  | 'account locked'
  | 'account expired'
  | 'password expired'
  | 'password must be changed'
  | 'sign-in not permitted now'
  | 'bind refused';

export type LdapDirectoryErrorKind =
  | 'invalid-config'
  | 'unreachable'
  | 'timeout'
  | 'tls'
  | 'service-bind'
  | 'ambiguous-user'
  | 'no-such-entry'
  | 'directory';

/** The directory (not the user) failed; the message is for the admin and names the server. */
export class LdapDirectoryError extends Error {
  override name = 'LdapDirectoryError';
  constructor(
    readonly kind: LdapDirectoryErrorKind,
    message: string,
    readonly url?: string,
  ) {
    super(message);
  }
}

const MAX_USERNAME_LENGTH = 256;
const MAX_PASSWORD_LENGTH = 1024;

/** Active Directory puts the precise cause of a failed bind (result 49) in "data NNN". */
const AD_BIND_DATA: Record<string, LdapSignInReason> = {
  '525': 'unknown user',
  '52e': 'wrong password',
  '530': 'sign-in not permitted now',
  '531': 'sign-in not permitted now',
  '532': 'password expired',
  '533': 'account disabled',
  '701': 'account expired',
  '773': 'password must be changed',
  '775': 'account locked',
};

const TLS_ERROR_HINTS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not trusted; add it (or its CA) as tls.caPem',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in an untrusted CA; add that CA as tls.caPem',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate was issued by an unknown CA; add that CA as tls.caPem',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate was issued by an unknown CA; add that CA as tls.caPem',
  UNABLE_TO_GET_ISSUER_CERT: 'its certificate was issued by an unknown CA; add that CA as tls.caPem',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is for another host name',
  CERT_SIGNATURE_FAILURE: 'its certificate signature is invalid',
};

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EPIPE: 'connection closed by the server',
};

/** ldapts result-code errors carry the LDAP result code as a number. */
function resultCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** ldapts appends " Code: 0x31" to the server's diagnostic message; say it our way. */
function ldapMessage(err: unknown): string {
  const code = resultCode(err);
  const text = String((err as Error)?.message ?? err).replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
  if (code === undefined) return text;
  // Without a diagnostic message, the result's name: InvalidCredentialsError → "invalid credentials".
  let named = String((err as Error).name ?? '').replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  if (named && !named.includes(' ')) named += ' error'; // ProtocolError → "protocol error"
  return `${text || named || 'no message'} (LDAP result ${code})`;
}

// ─── the directory ─────────────────────────────────────────────────────────────────────────

/** Structured log lines; pino's Logger fits. Never given a password. */
export interface LdapLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LdapDirectoryOptions {
  log?: LdapLog;
  /** Identity.provider: the provider's configured id in Pomona (default 'ldap') */
  providerId?: string;
}

export interface LdapServerCheck {
  url: string;
  ok: boolean;
  /** how the connection was protected */
  security?: 'ldaps' | 'starttls' | 'none';
  /** whether the server's certificate was verified */
  certificateVerified?: boolean;
  error?: string;
}

export type LdapTestResult =
  | {
      ok: true;
      details: { servers: LdapServerCheck[]; boundAs: string; userSearchBase: string; groupSearchBase?: string; user?: Identity | null };
    }
  | { ok: false; error: string; details: { servers: LdapServerCheck[] } };

interface UserEntry {
  dn: string;
  username: string;
  entry: Entry;
}

interface Connection {
  client: Client;
  url: string;
}

const noLog: LdapLog = { info() {}, warn() {} };

export class LdapDirectory {
  /** private: it holds the service password (redactLdapConfig is for showing a config) */
  private readonly config: ResolvedLdapConfig;
  private readonly log: LdapLog;
  private readonly provider: string;

  constructor(config: LdapConfig, opts: LdapDirectoryOptions = {}) {
    const problems = validateLdapConfig(config);
    if (problems.length) {
      throw new LdapDirectoryError('invalid-config', `invalid LDAP configuration: ${problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ')}`);
    }
    this.config = withLdapDefaults(config);
    this.log = opts.log ?? noLog;
    this.provider = opts.providerId ?? 'ldap';
  }

  /**
   * Search-then-bind. Resolves to the person's Identity, or rejects with a SignInError (the
   * user's fault or state: same message, precise reason) or an LdapDirectoryError (the
   * directory's fault).
   */
  async authenticate(username: string, password: string): Promise<Identity> {
    const name = typeof username === 'string' ? username : '';
    if (name.trim() === '') throw this.refuse(name, 'empty user name');
    if (name.length > MAX_USERNAME_LENGTH) throw this.refuse(name.slice(0, 64), 'user name too long');
    // Checked before any bind: a simple bind with a DN and an empty password is an
    // "unauthenticated bind" (RFC 4513 §5.1.2) that many servers answer with success.
    if (typeof password !== 'string' || password === '') throw this.refuse(name, 'empty password');
    if (password.length > MAX_PASSWORD_LENGTH) throw this.refuse(name, 'password too long');

    const conn = await this.open();
    try {
      const found = await this.findUsers(conn, name);
      if (found.length === 0) throw this.refuse(name, 'unknown user');
      if (found.length > 1) throw this.refuse(name, 'several entries match the user name', { dns: found.map((u) => u.dn) });
      const user = found[0];
      const state = accountState(user.entry);
      if (state) throw this.refuse(name, state, { dn: user.dn });

      try {
        await conn.client.bind(user.dn, password);
      } catch (err) {
        const code = resultCode(err);
        if (code === undefined) throw this.directoryError(err, conn.url, `binding as ${user.dn}`);
        throw this.refuse(name, bindFailureReason(err), { dn: user.dn, ldapResult: code, diagnostic: ldapMessage(err) });
      }

      // Group look-ups run as the service account, not with whatever rights the user has.
      if (this.groupsNeedQueries()) await this.serviceBind(conn);
      const groups = await this.resolveGroups(conn, user);
      const identity = this.identity(user, groups);
      this.log.info({ provider: this.provider, username: identity.username, dn: user.dn, groups: groups.length }, 'ldap sign-in succeeded');
      return identity;
    } finally {
      await close(conn.client);
    }
  }

  /** The person known by this user name, without a password (provisioning, admin look-ups). */
  async lookup(username: string): Promise<Identity | undefined> {
    if (typeof username !== 'string' || username.trim() === '' || username.length > MAX_USERNAME_LENGTH) return undefined;
    const conn = await this.open();
    try {
      const found = await this.findUsers(conn, username);
      if (found.length === 0) return undefined;
      if (found.length > 1) {
        throw new LdapDirectoryError('ambiguous-user', `${found.length} entries match user name ${JSON.stringify(username)}: ${found.map((u) => u.dn).join('; ')}`, conn.url);
      }
      return this.identity(found[0], await this.resolveGroups(conn, found[0]));
    } finally {
      await close(conn.client);
    }
  }

  /** Group names of the entry at `dn` (direct, plus nested up to nestedGroupDepth). */
  async groupsOf(dn: string): Promise<string[]> {
    const conn = await this.open();
    try {
      const entry = await this.readEntry(conn, dn, this.userAttributes());
      if (!entry) throw new LdapDirectoryError('no-such-entry', `no directory entry ${dn}`, conn.url);
      return await this.resolveGroups(conn, this.userEntry(entry, ''));
    } finally {
      await close(conn.client);
    }
  }

  /**
   * Connects to every configured server (TLS as configured), binds as the service account and
   * reads the search bases; with `username`, also looks that person up (first server that answers).
   */
  async testConnection(opts: { username?: string } = {}): Promise<LdapTestResult> {
    const servers: LdapServerCheck[] = [];
    for (const url of this.config.urls) {
      const security = url.toLowerCase().startsWith('ldaps:') ? 'ldaps' : this.config.startTls ? 'starttls' : 'none';
      const check: LdapServerCheck = { url, ok: false, security, certificateVerified: security === 'none' ? undefined : this.config.tls.verify };
      servers.push(check);
      try {
        const conn = await this.open([url]);
        try {
          if (!(await this.readEntry(conn, this.config.userSearchBase, ['1.1']))) {
            throw new LdapDirectoryError('no-such-entry', `user search base ${this.config.userSearchBase} does not exist (or the service account cannot read it)`, url);
          }
          const g = this.config.groups;
          if (g.mode === 'search' && !(await this.readEntry(conn, g.base, ['1.1']))) {
            throw new LdapDirectoryError('no-such-entry', `group search base ${g.base} does not exist (or the service account cannot read it)`, url);
          }
          check.ok = true;
        } finally {
          await close(conn.client);
        }
      } catch (err) {
        check.error = err instanceof Error ? err.message : String(err);
      }
    }
    const failed = servers.find((s) => !s.ok);
    if (failed) return { ok: false, error: failed.error ?? 'failed', details: { servers } };
    const details: Extract<LdapTestResult, { ok: true }>['details'] = {
      servers,
      boundAs: this.config.bindDn ?? '(anonymous)',
      userSearchBase: this.config.userSearchBase,
    };
    if (this.config.groups.mode === 'search') details.groupSearchBase = this.config.groups.base;
    if (opts.username !== undefined) {
      try {
        details.user = (await this.lookup(opts.username)) ?? null;
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err.message : String(err), details: { servers } };
      }
    }
    return { ok: true, details };
  }

  // ─── connections ──────────────────────────────────────────────────────────────────────────

  /**
   * A connection bound as the service account, from the first server that can be reached.
   * Only reaching the server fails over; a refused service account does not (same directory).
   */
  private async open(urls: string[] = this.config.urls): Promise<Connection> {
    const failures: LdapDirectoryError[] = [];
    for (const url of urls) {
      const client = this.client(url);
      const conn = { client, url };
      try {
        if (this.config.startTls) await this.startTls(conn);
        await this.serviceBind(conn);
        return conn;
      } catch (err) {
        await close(client);
        const e = err instanceof LdapDirectoryError ? err : this.directoryError(err, url, 'connecting');
        this.log.warn({ provider: this.provider, url, kind: e.kind, error: e.message }, 'ldap server not usable');
        if (e.kind !== 'unreachable' && e.kind !== 'timeout' && e.kind !== 'tls') throw e;
        failures.push(e);
      }
    }
    if (failures.length === 1) throw failures[0];
    const kinds = new Set(failures.map((f) => f.kind));
    throw new LdapDirectoryError(kinds.size === 1 ? failures[0].kind : 'unreachable', `no LDAP server could be used: ${failures.map((f) => f.message).join('; ')}`);
  }

  private client(url: string): Client {
    const secure = url.toLowerCase().startsWith('ldaps:');
    return new Client({
      url,
      connectTimeout: this.config.connectTimeoutMs,
      timeout: this.config.operationTimeoutMs,
      // Only for ldaps://: ldapts treats any tlsOptions as "connect with TLS", which would
      // break StartTLS (plain first, TLS after the extended operation).
      tlsOptions: secure ? this.tlsOptions(hostOf(url)) : undefined,
    });
  }

  private tlsOptions(host: string): ConnectionOptions {
    const { caPem, verify } = this.config.tls;
    // Keys are left out rather than set to undefined: tls.connect spreads the options over
    // its defaults, and an undefined checkServerIdentity would replace the default one.
    const options: ConnectionOptions = { rejectUnauthorized: verify, minVersion: 'TLSv1.2' };
    if (caPem) options.ca = [caPem];
    if (!verify) options.checkServerIdentity = () => undefined;
    if (!isIP(host)) options.servername = host;
    return options;
  }

  private async startTls(conn: Connection): Promise<void> {
    const host = hostOf(conn.url);
    let timer: NodeJS.Timeout | undefined;
    // ldapts times the extended operation but not the TLS handshake after it.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new LdapDirectoryError('timeout', `${conn.url}: StartTLS did not complete within ${this.config.operationTimeoutMs} ms`, conn.url));
      }, this.config.operationTimeoutMs);
    });
    try {
      await Promise.race([conn.client.startTLS({ ...this.tlsOptions(host), host }), deadline]);
    } catch (err) {
      if (err instanceof LdapDirectoryError) throw err;
      if (resultCode(err) !== undefined) throw new LdapDirectoryError('tls', `${conn.url}: the server refused StartTLS: ${ldapMessage(err)}`, conn.url);
      throw this.directoryError(err, conn.url, 'StartTLS');
    } finally {
      clearTimeout(timer);
    }
  }

  private async serviceBind(conn: Connection): Promise<void> {
    const { bindDn, bindPassword } = this.config;
    try {
      // Anonymous when no service account: also what opens the connection.
      await conn.client.bind(bindDn ?? '', bindDn ? bindPassword : '');
    } catch (err) {
      if (resultCode(err) === undefined) throw this.directoryError(err, conn.url, bindDn ? 'service account bind' : 'anonymous bind');
      const who = bindDn ? `the service account ${bindDn}` : 'an anonymous bind';
      throw new LdapDirectoryError('service-bind', `${conn.url}: the server refused ${who}: ${ldapMessage(err)}`, conn.url);
    }
  }

  /** A transport-level failure (or a result code where none was expected) as a clear error. */
  private directoryError(err: unknown, url: string, doing: string): LdapDirectoryError {
    if (err instanceof LdapDirectoryError) return err;
    const e = err as NodeJS.ErrnoException;
    const message = String(e?.message ?? err);
    const code = typeof e?.code === 'string' ? e.code : undefined;
    if (resultCode(err) !== undefined) return new LdapDirectoryError('directory', `${url}: ${doing} failed: ${ldapMessage(err)}`, url);
    if (message === 'Connection timeout') {
      return new LdapDirectoryError('timeout', `${url}: no connection within ${this.config.connectTimeoutMs} ms`, url);
    }
    if (/Operation timed out/.test(message)) {
      return new LdapDirectoryError('timeout', `${url}: ${doing} got no answer within ${this.config.operationTimeoutMs} ms`, url);
    }
    if (code && (TLS_ERROR_HINTS[code] || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT/.test(code))) {
      const hint = TLS_ERROR_HINTS[code] ?? message;
      return new LdapDirectoryError('tls', `${url}: TLS failed: ${hint} (${code})`, url);
    }
    if (code && ERRNO_TEXT[code]) return new LdapDirectoryError('unreachable', `${url}: ${ERRNO_TEXT[code]}`, url);
    if (/Connection closed before message response|Socket error/.test(message)) {
      return new LdapDirectoryError('unreachable', `${url}: the server closed the connection during ${doing}`, url);
    }
    return new LdapDirectoryError('directory', `${url}: ${doing} failed: ${message}`, url);
  }

  // ─── searches ─────────────────────────────────────────────────────────────────────────────

  private userAttributes(): string[] {
    const a = this.config.attributes;
    const attrs = [a.username, a.email, a.displayName, a.uniqueId, 'cn', ...ACCOUNT_STATE_ATTRIBUTES];
    if (this.config.groups.mode === 'memberOf') attrs.push(this.config.groups.attribute);
    return unique(attrs);
  }

  private async findUsers(conn: Connection, username: string): Promise<UserEntry[]> {
    const filter = fillTemplate(this.config.userFilter, { username: escapeFilterValue(username) });
    try {
      const { searchEntries } = await conn.client.search(this.config.userSearchBase, {
        scope: this.config.userSearchScope,
        filter,
        attributes: this.userAttributes(),
        explicitBufferAttributes: this.binaryAttributes(),
        // Two are enough to know the name is ambiguous.
        sizeLimit: 2,
      });
      return searchEntries.map((e) => this.userEntry(e, username));
    } catch (err) {
      throw this.directoryError(err, conn.url, `the user search under ${this.config.userSearchBase}`);
    }
  }

  private binaryAttributes(): string[] {
    const id = this.config.attributes.uniqueId;
    return id.toLowerCase() === 'objectguid' ? unique([id, 'objectGUID', 'objectguid']) : [];
  }

  /** The entry at `dn` (a base-scope read), or undefined when it does not exist. */
  private async readEntry(conn: Connection, dn: string, attributes: string[]): Promise<Entry | undefined> {
    try {
      const { searchEntries } = await conn.client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes,
        explicitBufferAttributes: this.binaryAttributes(),
      });
      return searchEntries[0];
    } catch (err) {
      if (resultCode(err) === 32) return undefined; // noSuchObject
      throw this.directoryError(err, conn.url, `reading ${dn}`);
    }
  }

  private userEntry(entry: Entry, typed: string): UserEntry {
    return { dn: entry.dn, username: firstValue(entry, this.config.attributes.username) ?? typed, entry };
  }

  private groupsNeedQueries(): boolean {
    return this.config.groups.mode === 'search' || (this.config.groups.mode === 'memberOf' && this.config.nestedGroupDepth > 0);
  }

  private async resolveGroups(conn: Connection, user: UserEntry): Promise<string[]> {
    const g = this.config.groups;
    if (g.mode === 'none') return [];
    // DN (lower-cased, the usual case-insensitive matching) → group name
    const found = new Map<string, string>();
    if (g.mode === 'memberOf') {
      let frontier = this.addGroups(found, values(user.entry, g.attribute).map((dn) => ({ dn, name: groupNameFromDn(dn) })));
      for (let depth = 1; depth <= this.config.nestedGroupDepth && frontier.length; depth++) {
        const next: string[] = [];
        for (const groupDn of frontier) {
          const entry = await this.readEntry(conn, groupDn, [g.attribute]);
          if (!entry) continue; // a dangling memberOf value
          next.push(...this.addGroups(found, values(entry, g.attribute).map((dn) => ({ dn, name: groupNameFromDn(dn) }))));
        }
        frontier = next;
      }
    } else {
      const first = fillTemplate(g.filter, { dn: escapeFilterValue(user.dn), username: escapeFilterValue(user.username) });
      let frontier = this.addGroups(found, await this.searchGroups(conn, first));
      for (let depth = 1; depth <= this.config.nestedGroupDepth && frontier.length; depth++) {
        const next: string[] = [];
        for (let i = 0; i < frontier.length; i += NESTED_BATCH) {
          const parts = frontier.slice(i, i + NESTED_BATCH).map((dn) => fillTemplate(g.filter, { dn: escapeFilterValue(dn), username: '' }));
          next.push(...this.addGroups(found, await this.searchGroups(conn, parts.length === 1 ? parts[0] : `(|${parts.join('')})`)));
        }
        frontier = next;
      }
    }
    return unique([...found.values()]).sort((a, b) => a.localeCompare(b));
  }

  /** Adds groups not seen yet; returns their DNs (the next level to follow). */
  private addGroups(found: Map<string, string>, groups: { dn: string; name: string }[]): string[] {
    const fresh: string[] = [];
    for (const { dn, name } of groups) {
      const key = dn.toLowerCase();
      if (found.has(key) || !name) continue;
      found.set(key, name);
      fresh.push(dn);
    }
    return fresh;
  }

  private async searchGroups(conn: Connection, filter: string): Promise<{ dn: string; name: string }[]> {
    const g = this.config.groups;
    if (g.mode !== 'search') return [];
    try {
      const { searchEntries } = await conn.client.search(g.base, {
        scope: g.scope,
        filter,
        attributes: [g.nameAttribute],
        paged: { pageSize: this.config.pageSize },
      });
      return searchEntries.map((e) => ({ dn: e.dn, name: firstValue(e, g.nameAttribute) ?? groupNameFromDn(e.dn) }));
    } catch (err) {
      throw this.directoryError(err, conn.url, `the group search under ${g.base}`);
    }
  }

  private identity(user: UserEntry, groups: string[]): Identity {
    const a = this.config.attributes;
    const identity: Identity = {
      provider: this.provider,
      subject: uniqueId(user.entry, a.uniqueId) ?? user.dn,
      username: user.username,
      groups,
    };
    const email = firstValue(user.entry, a.email);
    const displayName = firstValue(user.entry, a.displayName) ?? firstValue(user.entry, 'cn');
    if (email) identity.email = email;
    if (displayName) identity.displayName = displayName;
    return identity;
  }

  private refuse(username: string, reason: LdapSignInReason, extra: Record<string, unknown> = {}): SignInError {
    this.log.info({ provider: this.provider, username, reason, ...extra }, 'ldap sign-in refused');
    return new SignInError(SIGN_IN_REFUSED_MESSAGE, reason);
  }
}

const NESTED_BATCH = 20;

/** Attributes that tell, before any bind, that an account cannot sign in. */
const ACCOUNT_STATE_ATTRIBUTES = ['userAccountControl', 'pwdAccountLockedTime', 'nsAccountLock'];
const UAC_ACCOUNTDISABLE = 0x2;
const UAC_LOCKOUT = 0x10;

function accountState(entry: Entry): LdapSignInReason | undefined {
  const uac = Number(firstValue(entry, 'userAccountControl'));
  if (Number.isInteger(uac)) {
    if (uac & UAC_ACCOUNTDISABLE) return 'account disabled'; // Active Directory
    if (uac & UAC_LOCKOUT) return 'account locked';
  }
  if (firstValue(entry, 'pwdAccountLockedTime')) return 'account locked'; // OpenLDAP ppolicy
  if (firstValue(entry, 'nsAccountLock')?.toLowerCase() === 'true') return 'account disabled'; // 389-ds, FreeIPA
  return undefined;
}

function bindFailureReason(err: unknown): LdapSignInReason {
  const code = resultCode(err);
  const message = String((err as Error)?.message ?? '');
  if (code === 49) {
    const data = /\bdata ([0-9a-f]{3,4})\b/i.exec(message)?.[1]?.toLowerCase();
    return (data && AD_BIND_DATA[data]) || 'wrong password';
  }
  // 389-ds answers a locked account with constraintViolation "Exceed password retry limit".
  if (code === 19 && /retry limit|locked/i.test(message)) return 'account locked';
  return 'bind refused';
}

async function close(client: Client): Promise<void> {
  try {
    await client.unbind();
  } catch {
    // The socket is destroyed either way.
  }
}

function hostOf(url: string): string {
  const host = new URL(url).hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Replaces placeholders in one pass, so a value containing "{dn}" is never expanded again. */
function fillTemplate(template: string, vals: Record<string, string>): string {
  return template.replace(/\{(username|dn)\}/g, (whole, key: string) => vals[key] ?? whole);
}

/** An entry's values of `name`, matched case-insensitively as LDAP attribute names are. */
function values(entry: Entry, name: string): string[] {
  const lower = name.toLowerCase();
  const key = Object.keys(entry).find((k) => k !== 'dn' && k.toLowerCase() === lower);
  if (!key) return [];
  const v = entry[key];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

function firstValue(entry: Entry, name: string): string | undefined {
  return values(entry, name).find((v) => v !== '');
}

function uniqueId(entry: Entry, name: string): string | undefined {
  if (name.toLowerCase() !== 'objectguid') return firstValue(entry, name);
  const key = Object.keys(entry).find((k) => k.toLowerCase() === 'objectguid');
  const raw = key ? entry[key] : undefined;
  const buf = Array.isArray(raw) ? raw[0] : raw;
  if (!Buffer.isBuffer(buf) || buf.length !== 16) return typeof buf === 'string' && buf ? buf : undefined;
  return formatGuid(buf);
}

/** Active Directory's objectGUID bytes as the usual GUID string (first three groups little-endian). */
export function formatGuid(b: Buffer): string {
  const hex = (bytes: number[]) => bytes.map((x) => x.toString(16).padStart(2, '0')).join('');
  return [
    hex([b[3], b[2], b[1], b[0]]),
    hex([b[5], b[4]]),
    hex([b[7], b[6]]),
    hex([b[8], b[9]]),
    hex([...b.subarray(10, 16)]),
  ].join('-');
}

/** A group's name from its DN: the value of its first RDN (cn=Staff,ou=groups → Staff). */
function groupNameFromDn(dn: string): string {
  try {
    return parseDn(dn)[0]?.[0]?.value ?? dn;
  } catch {
    return dn;
  }
}

function unique<T>(list: T[]): T[] {
  return [...new Set(list)];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}
