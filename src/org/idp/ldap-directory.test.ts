import 'reflect-metadata'; // @peculiar/x509 needs it loaded first
import * as x509 from '@peculiar/x509';
import { KeyObject, webcrypto } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import { Client, FilterParser, type EqualityFilter } from 'ldapts';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SignInError } from './identity.js';
import {
  ACTIVE_DIRECTORY_PRESET,
  LdapDirectory,
  LdapDirectoryError,
  SIGN_IN_REFUSED_MESSAGE,
  escapeDn,
  escapeFilterValue,
  formatGuid,
  parseDn,
  redactLdapConfig,
  validateLdapConfig,
  withLdapDefaults,
  type LdapConfig,
  type LdapLog,
} from './ldap-directory.js';

// ─── ldapjs, the LDAP server the tests talk to ────────────────────────────────────────────────
// ldapjs ships no type declarations; these are the parts of its server API used here.

interface LdapjsDn {
  toString(): string;
  equals(dn: string): boolean;
  parentOf(dn: string): boolean;
  parent(): LdapjsDn | undefined;
}
interface LdapjsFilter {
  type: string;
  attribute?: string;
  value?: string;
  filters?: LdapjsFilter[];
  filter?: LdapjsFilter;
  matches(attributes: Record<string, unknown>, strictAttrCase?: boolean): boolean;
  toString(): string;
}
interface LdapjsConnection {
  ldap: { bindDN: LdapjsDn };
}
interface LdapjsBindRequest {
  dn: LdapjsDn;
  credentials: string;
}
interface LdapjsSearchRequest {
  dn: LdapjsDn;
  scopeName: 'base' | 'single' | 'subtree';
  filter: LdapjsFilter;
  attributes: string[];
  sizeLimit: number;
  connection: LdapjsConnection;
}
interface LdapjsSearchEntry {
  readonly messageId: number;
}
interface LdapjsResponse {
  /** what ldapjs 3 serializes; its own error path sets `errorMessage`, which is never sent */
  diagnosticMessage: string;
  end(status?: number): void;
  send(entry: LdapjsSearchEntry): void;
  createSearchEntry(o: { dn: string; attributes: unknown[] }): LdapjsSearchEntry;
}
type Next = (err?: Error) => void;
interface LdapjsServer {
  bind(base: string, handler: (req: LdapjsBindRequest, res: LdapjsResponse, next: Next) => void): void;
  search(base: string, handler: (req: LdapjsSearchRequest, res: LdapjsResponse, next: Next) => void): void;
  listen(port: number, host: string, cb: () => void): void;
  close(cb?: () => void): void;
  address(): net.AddressInfo;
  newConnection(socket: net.Socket): void;
  server: net.Server;
}
interface Ldapjs {
  createServer(opts?: { certificate?: string; key?: string; connectionRouter?: (socket: net.Socket) => void }): LdapjsServer;
  parseDN(dn: string): LdapjsDn;
  Attribute: { fromObject(o: Record<string, unknown>): unknown[] };
  Parser: new () => NodeJS.EventEmitter & { write(data: Buffer): void };
  ExtendedResponse: new (o: { messageId: number; status?: number; responseName?: string }) => { toBer(): { buffer: Buffer } };
}
const requireCjs = createRequire(import.meta.url);
const ldap = requireCjs('ldapjs') as Ldapjs;

/**
 * ldapjs 3 decodes a search filter from the wire correctly, then turns it into a string and
 * parses that string again — and that round trip keeps `\XX` escapes in the values and reads
 * a backslash as the start of one (so `*` arrives as the four characters `\2a`, and a DN
 * containing `\2c` comes out changed). The filter decoded from the wire is kept here (the
 * handler runs synchronously right after the decoding) so the server matches, and the tests
 * inspect, exactly what the client sent.
 */
const ldapjsFilter = requireCjs('@ldapjs/filter') as { parseBer: (reader: unknown) => LdapjsFilter };
let lastWireFilter: LdapjsFilter | undefined;
const parseBer = ldapjsFilter.parseBer;
ldapjsFilter.parseBer = (reader) => (lastWireFilter = parseBer(reader));

const SUFFIX = 'dc=example,dc=org';
const STARTTLS_OID = '1.3.6.1.4.1.1466.20037';
const norm = (dn: string) => ldap.parseDN(dn).toString();

const SERVICE_DN = norm(`cn=pomona,ou=services,${SUFFIX}`);
const SERVICE_PASSWORD = 'svc-Pa55word!';
const PASSWORDS = {
  alice: 'alice-Secret-1',
  bob: 'bob-Secret-2',
  jsmith: 'smith-Secret-3',
  zoe: 'zoë-Sécret-4',
  twin: 'twin-Secret-5',
  carol: 'carol-Secret-6',
  dave: 'dave-Secret-7',
  erin: 'erin-Secret-8',
  frank: 'frank-Secret-9',
  hank: 'hank-Secret-10',
  ivy: 'ivy-Secret-11',
  jack: 'jack-Secret-12',
  kim: 'kim-Secret-13',
};
const ALL_SECRETS = [SERVICE_PASSWORD, ...Object.values(PASSWORDS)];
const CAROL_GUID = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');

interface DirEntry {
  dn: string;
  attributes: Record<string, string | string[] | Buffer[]>;
  password?: string;
  /** the result this account's binds get whatever the password (AD data codes, 389-ds lockout …) */
  bindResult?: { status: number; message: string };
}

const dn = {
  alice: norm(`uid=alice,ou=people,${SUFFIX}`),
  bob: norm(`uid=bob,ou=people,${SUFFIX}`),
  jsmith: norm(`cn=Smith\\, Jo (ops),ou=people,${SUFFIX}`),
  zoe: norm(`uid=zoë,ou=people,${SUFFIX}`),
  twin1: norm(`uid=twin,ou=people,${SUFFIX}`),
  twin2: norm(`uid=twin,ou=contractors,ou=people,${SUFFIX}`),
  engineers: norm(`cn=engineers,ou=groups,${SUFFIX}`),
  staff: norm(`cn=staff,ou=groups,${SUFFIX}`),
  admins: norm(`cn=admins,ou=groups,${SUFFIX}`),
  it: norm(`cn=it,ou=groups,${SUFFIX}`),
  ops: norm(`cn=ops (night),ou=groups,${SUFFIX}`),
  carol: norm(`cn=Carol Danvers,ou=ad,${SUFFIX}`),
  dave: norm(`cn=Dave,ou=ad,${SUFFIX}`),
  erin: norm(`cn=Erin,ou=ad,${SUFFIX}`),
  frank: norm(`cn=Frank,ou=ad,${SUFFIX}`),
  vpn: norm(`cn=VPN Users,ou=ad,${SUFFIX}`),
};

const person = (uid: string, cn: string, extra: Record<string, string | string[]> = {}) => ({
  objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
  uid,
  cn,
  sn: cn.split(' ').pop() ?? cn,
  ...extra,
});
const adUser = (sam: string, uac: number, extra: Record<string, string | string[] | Buffer[]> = {}) => ({
  objectClass: ['top', 'person', 'organizationalPerson', 'user'],
  objectCategory: 'person',
  sAMAccountName: sam,
  cn: sam,
  userAccountControl: String(uac),
  ...extra,
});

function directoryEntries(): DirEntry[] {
  const ou = (name: string, parent = SUFFIX) => ({ dn: norm(`ou=${name},${parent}`), attributes: { objectClass: ['organizationalUnit'], ou: name } });
  return [
    { dn: norm(SUFFIX), attributes: { objectClass: ['domain'], dc: 'example' } },
    ou('people'),
    ou('contractors', `ou=people,${SUFFIX}`),
    ou('interns', `ou=people,${SUFFIX}`),
    ou('groups'),
    ou('services'),
    ou('ad'),
    { dn: SERVICE_DN, attributes: { objectClass: ['applicationProcess'], cn: 'pomona' }, password: SERVICE_PASSWORD },
    {
      dn: dn.alice,
      attributes: person('alice', 'Alice Liddell', { displayName: 'Alice Liddell', mail: 'alice@example.org', entryUUID: '5f0c1a6e-4a53-4c3e-9e2a-0d9c1b2a7f11' }),
      password: PASSWORDS.alice,
    },
    {
      dn: dn.bob,
      attributes: person('bob', 'Bob Builder', { mail: 'bob@example.org', entryUUID: '7d1e2f30-0000-4000-8000-000000000b0b', memberOf: [dn.admins] }),
      password: PASSWORDS.bob,
    },
    { dn: dn.jsmith, attributes: person('jsmith', 'Smith, Jo (ops)'), password: PASSWORDS.jsmith },
    { dn: dn.zoe, attributes: person('zoë', 'Zoë Ångström', { mail: 'zoe@example.org' }), password: PASSWORDS.zoe },
    { dn: dn.twin1, attributes: person('twin', 'Twin One'), password: PASSWORDS.twin },
    { dn: dn.twin2, attributes: person('twin', 'Twin Two'), password: PASSWORDS.twin },
    // a third: the server stops at the client's size limit (2) with sizeLimitExceeded
    { dn: norm(`uid=twin,ou=interns,ou=people,${SUFFIX}`), attributes: person('twin', 'Twin Three'), password: PASSWORDS.twin },
    { dn: norm(`uid=hank,ou=people,${SUFFIX}`), attributes: person('hank', 'Hank', { pwdAccountLockedTime: '000001010000Z' }), password: PASSWORDS.hank },
    { dn: norm(`uid=ivy,ou=people,${SUFFIX}`), attributes: person('ivy', 'Ivy', { nsAccountLock: 'TRUE' }), password: PASSWORDS.ivy },
    {
      dn: norm(`uid=jack,ou=people,${SUFFIX}`),
      attributes: person('jack', 'Jack'),
      password: PASSWORDS.jack,
      bindResult: { status: 19, message: 'Exceed password retry limit. Please try later.' },
    },
    { dn: norm(`uid=kim,ou=people,${SUFFIX}`), attributes: person('kim', 'Kim'), password: PASSWORDS.kim, bindResult: { status: 53, message: 'Account inactivated. Contact system administrator.' } },
    { dn: dn.engineers, attributes: { objectClass: ['groupOfNames', 'posixGroup'], cn: 'engineers', member: [dn.alice, dn.staff], memberUid: ['alice'], memberOf: [dn.staff] } },
    // staff ⊃ engineers ⊃ alice, and engineers ⊃ staff again (member and memberOf alike): a cycle nesting must survive.
    { dn: dn.staff, attributes: { objectClass: ['groupOfNames'], cn: 'staff', member: [dn.engineers, dn.bob], memberOf: [dn.engineers] } },
    { dn: dn.admins, attributes: { objectClass: ['groupOfNames'], cn: 'admins', member: [dn.bob], memberOf: [dn.it] } },
    { dn: dn.it, attributes: { objectClass: ['groupOfNames'], cn: 'it', member: [dn.admins] } },
    { dn: dn.ops, attributes: { objectClass: ['groupOfNames'], cn: 'ops (night)', member: [dn.jsmith] } },
    {
      dn: dn.carol,
      attributes: adUser('carol', 512, { displayName: 'Carol Danvers', mail: 'carol@example.org', objectGUID: [CAROL_GUID], memberOf: [dn.vpn] }),
      password: PASSWORDS.carol,
    },
    { dn: dn.dave, attributes: adUser('dave', 514), password: PASSWORDS.dave },
    {
      dn: dn.erin,
      attributes: adUser('erin', 512),
      password: PASSWORDS.erin,
      bindResult: { status: 49, message: '80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 775, v3839' },
    },
    {
      dn: dn.frank,
      attributes: adUser('frank', 512),
      password: PASSWORDS.frank,
      bindResult: { status: 49, message: '80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data 532, v3839' },
    },
    { dn: dn.vpn, attributes: { objectClass: ['group'], cn: 'VPN Users', member: [dn.carol] } },
  ];
}

interface SeenSearch {
  base: string;
  scope: string;
  filter: LdapjsFilter;
  attributes: string[];
  sizeLimit: number;
}

/** A small directory served by ldapjs on 127.0.0.1: binds check passwords, searches use ldapjs's filter matching. */
class TestDirectory {
  readonly entries = new Map<string, DirEntry>();
  readonly binds: { dn: string; emptyPassword: boolean }[] = [];
  readonly searches: SeenSearch[] = [];
  readonly sockets = new Set<net.Socket>();
  startTlsUpgrades = 0;
  hangSearches = false;
  allowAnonymousSearch = false;
  server!: LdapjsServer;
  url = '';

  constructor() {
    for (const e of directoryEntries()) this.entries.set(e.dn, e);
  }

  reset(): void {
    this.binds.length = 0;
    this.searches.length = 0;
    this.startTlsUpgrades = 0;
    this.hangSearches = false;
    this.allowAnonymousSearch = false;
  }

  async start(opts: { scheme?: 'ldap' | 'ldaps'; cert?: { certPem: string; keyPem: string }; startTls?: boolean } = {}): Promise<this> {
    const scheme = opts.scheme ?? 'ldap';
    this.server = ldap.createServer({
      ...(scheme === 'ldaps' && opts.cert ? { certificate: opts.cert.certPem, key: opts.cert.keyPem } : {}),
      ...(opts.startTls && opts.cert ? { connectionRouter: startTlsRouter(() => this.server, opts.cert, () => this.startTlsUpgrades++) } : {}),
    });
    this.server.server.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.bind(SUFFIX, (req, res, next) => this.onBind(req, res, next));
    this.server.search(SUFFIX, (req, res, next) => this.onSearch(req, res, next));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `${scheme}://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  private onBind(req: LdapjsBindRequest, res: LdapjsResponse, next: Next): void {
    const bindDn = req.dn.toString();
    this.binds.push({ dn: bindDn, emptyPassword: req.credentials === '' });
    // Like many real servers, an "unauthenticated bind" (a DN, no password) succeeds.
    if (req.credentials === '') {
      res.end();
      return next();
    }
    const entry = this.entries.get(bindDn);
    if (entry?.bindResult) return fail(res, next, entry.bindResult.status, entry.bindResult.message);
    if (!entry?.password || entry.password !== req.credentials) return fail(res, next, 49, 'invalid credentials');
    res.end();
    return next();
  }

  private onSearch(req: LdapjsSearchRequest, res: LdapjsResponse, next: Next): void {
    const base = req.dn.toString();
    const filter = lastWireFilter ?? req.filter;
    lastWireFilter = undefined;
    const scope = ({ base: 'base', single: 'one', subtree: 'sub' } as const)[req.scopeName];
    this.searches.push({ base, scope, filter, attributes: [...req.attributes], sizeLimit: req.sizeLimit });
    if (this.hangSearches) return; // never answers
    if (!this.allowAnonymousSearch && req.connection.ldap.bindDN.toString() === 'cn=anonymous') return fail(res, next, 50, 'bind first');
    if (!this.entries.has(base)) return fail(res, next, 32, `no such entry: ${base}`);
    const inScope = (entryDn: string) => {
      if (scope === 'base') return req.dn.equals(entryDn);
      if (scope === 'one') return ldap.parseDN(entryDn).parent()?.equals(base) ?? false;
      return req.dn.equals(entryDn) || req.dn.parentOf(entryDn);
    };
    const matches = [...this.entries.values()].filter((e) => inScope(e.dn) && filter.matches(e.attributes, false));
    const limit = req.sizeLimit > 0 ? req.sizeLimit : Infinity;
    for (const e of matches.slice(0, limit)) {
      // Built by hand: ldapjs's own attribute selection compares names case-sensitively.
      res.send(res.createSearchEntry({ dn: e.dn, attributes: ldap.Attribute.fromObject(selectAttributes(e.attributes, req.attributes)) }));
    }
    res.end(matches.length > limit ? 4 /* sizeLimitExceeded */ : 0);
    return next();
  }

  lastSearch(): SeenSearch {
    const s = this.searches.at(-1);
    if (!s) throw new Error('no search seen');
    return s;
  }

  async allClosed(): Promise<void> {
    await waitFor(() => this.sockets.size === 0, 'every connection to the test server to close');
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function fail(res: LdapjsResponse, next: Next, status: number, message: string): void {
  res.diagnosticMessage = message;
  res.end(status);
  next();
}

function selectAttributes(attributes: DirEntry['attributes'], requested: string[]): DirEntry['attributes'] {
  const wanted = requested.map((a) => a.toLowerCase());
  if (wanted.includes('1.1')) return {};
  const all = wanted.length === 0 || wanted.includes('*');
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => all || wanted.includes(name.toLowerCase())));
}

/**
 * StartTLS for an ldapjs server (which has none): answer the StartTLS extended request on the
 * plain socket, then hand the TLS-wrapped socket to ldapjs. Any other first message goes to
 * ldapjs unchanged, so a client that skips StartTLS talks plain LDAP.
 */
function startTlsRouter(server: () => LdapjsServer, cert: { certPem: string; keyPem: string }, onUpgrade: () => void) {
  return (socket: net.Socket) => {
    const parser = new ldap.Parser();
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      parser.write(chunk);
    };
    parser.once('message', (msg: { messageId: number; requestName?: string }) => {
      socket.removeListener('data', onData);
      if (msg.requestName !== STARTTLS_OID) {
        server().newConnection(socket);
        socket.emit('data', Buffer.concat(chunks));
        return;
      }
      socket.pause();
      socket.write(new ldap.ExtendedResponse({ messageId: msg.messageId, status: 0, responseName: STARTTLS_OID }).toBer().buffer, () => {
        const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem }) });
        secure.on('error', () => socket.destroy());
        secure.once('secure', onUpgrade);
        server().newConnection(secure);
      });
    });
    socket.on('data', onData);
  };
}

async function waitFor(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A self-signed server certificate (P-256) for the given names. */
async function selfSigned(names: { ip?: string[]; dns?: string[] }): Promise<{ certPem: string; keyPem: string }> {
  x509.cryptoProvider.set(webcrypto as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a1b',
    name: `CN=${names.dns?.[0] ?? names.ip?.[0] ?? 'ldap test'}`,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        ...(names.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
        ...(names.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
      ]),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.BasicConstraintsExtension(true, undefined, true),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A structural view of the filter the server received. */
function shape(f: LdapjsFilter): unknown {
  if (f.type === 'EqualityFilter') return { eq: [f.attribute, f.value] };
  if (f.type === 'AndFilter' || f.type === 'OrFilter') return { [f.type]: (f.filters ?? []).map(shape) };
  if (f.type === 'NotFilter' && f.filter) return { NotFilter: shape(f.filter) };
  return { [f.type]: f.attribute };
}

const filterTypes = (f: LdapjsFilter): string[] =>
  f.type === 'AndFilter' || f.type === 'OrFilter' ? [f.type, ...(f.filters ?? []).flatMap(filterTypes)] : f.type === 'NotFilter' && f.filter ? [f.type, ...filterTypes(f.filter)] : [f.type];

class CapturingLog implements LdapLog {
  readonly lines: { level: string; obj: object; msg: string }[] = [];
  info(obj: object, msg: string) {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg: string) {
    this.lines.push({ level: 'warn', obj, msg });
  }
  text(): string {
    return JSON.stringify(this.lines);
  }
}

async function refusal(p: Promise<unknown>): Promise<SignInError> {
  const err = await p.then(
    () => {
      throw new Error('expected the sign-in to be refused');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SignInError);
  expect((err as SignInError).message).toBe(SIGN_IN_REFUSED_MESSAGE);
  return err as SignInError;
}

async function directoryFailure(p: Promise<unknown>): Promise<LdapDirectoryError> {
  const err = await p.then(
    () => {
      throw new Error('expected a directory error');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LdapDirectoryError);
  return err as LdapDirectoryError;
}

// ─── escaping ────────────────────────────────────────────────────────────────────────────────

const NASTY = ['*', '(', ')', '\\', '\0', 'admin)(|(uid=*)', '*)(|(objectClass=*', 'admin)(uid=*', 'al*ce', '\\2a', 'zoë 北京 🚀', '{dn}', ')(&', 'a=b', '>=x', ':dn:=x'];

describe('escapeFilterValue (RFC 4515)', () => {
  it.each([
    ['*', '\\2a'],
    ['(', '\\28'],
    [')', '\\29'],
    ['\\', '\\5c'],
    ['\0', '\\00'],
    ['admin)(|(uid=*)', 'admin\\29\\28|\\28uid=\\2a\\29'],
    ['*)(|(objectClass=*', '\\2a\\29\\28|\\28objectClass=\\2a'],
    ['\\2a', '\\5c2a'],
    ['zoë 北京 🚀', 'zoë 北京 🚀'],
    ['plain.name-1@example.org', 'plain.name-1@example.org'],
  ])('%j → %j', (input, expected) => {
    expect(escapeFilterValue(input)).toBe(expected);
  });

  it.each(NASTY)('%j stays one equality assertion with exactly that value', (value) => {
    const filter = FilterParser.parseString(`(uid=${escapeFilterValue(value)})`) as EqualityFilter;
    expect(filter.constructor.name).toBe('EqualityFilter');
    expect(filter.attribute).toBe('uid');
    expect(filter.value).toBe(value);
  });
});

describe('escapeDn (RFC 4514) and parseDn', () => {
  it.each([
    ['Smith, John', 'Smith\\, John'],
    [' leading', '\\ leading'],
    ['trailing ', 'trailing\\ '],
    ['#hash', '\\#hash'],
    ['mid#dle', 'mid#dle'],
    ['a+b=c;d<e>f"g"\\h', 'a\\+b\\=c\\;d\\<e\\>f\\"g\\"\\\\h'],
    ['nul\0byte', 'nul\\00byte'],
    ['evil,ou=admins', 'evil\\,ou\\=admins'],
    ['zoë 北京', 'zoë 北京'],
    [' ', '\\ '],
  ])('%j → %j', (input, expected) => {
    expect(escapeDn(input)).toBe(expected);
  });

  it.each([...NASTY, 'Smith, John', ' lead', 'trail ', '#x', 'evil,ou=admins', 'a+b', 'x;y', '"q"', '<>', ' '])('%j round-trips as one RDN value', (value) => {
    const rdns = parseDn(`cn=${escapeDn(value)},ou=people,dc=example,dc=org`);
    expect(rdns).toHaveLength(4);
    expect(rdns[0]).toEqual([{ type: 'cn', value }]);
  });

  it('reads hex escapes as UTF-8, multi-valued RDNs and the old ; separator', () => {
    expect(parseDn('cn=Z\\c3\\abe,dc=x')).toEqual([[{ type: 'cn', value: 'Zëe' }], [{ type: 'dc', value: 'x' }]]);
    expect(parseDn('cn=Smith\\2c Jo (ops),ou=people')[0]).toEqual([{ type: 'cn', value: 'Smith, Jo (ops)' }]);
    expect(parseDn('cn=a+uid=b;dc=x')).toEqual([[{ type: 'cn', value: 'a' }, { type: 'uid', value: 'b' }], [{ type: 'dc', value: 'x' }]]);
    expect(parseDn('CN=VPN Users, OU=ad, DC=example')).toEqual([[{ type: 'CN', value: 'VPN Users' }], [{ type: 'OU', value: 'ad' }], [{ type: 'DC', value: 'example' }]]);
    expect(parseDn('')).toEqual([]);
  });

  it.each(['cn', 'cn=a,', '=x', 'cn=a\\zz', 'cn=a"b', 'c n=x', 'cn=#04ab x'])('refuses %j', (bad) => {
    expect(() => parseDn(bad)).toThrow();
  });

  it('formats objectGUID bytes as Active Directory shows them', () => {
    expect(formatGuid(CAROL_GUID)).toBe('67452301-ab89-efcd-fedc-ba9876543210');
  });
});

// ─── configuration ───────────────────────────────────────────────────────────────────────────

describe('validateLdapConfig', () => {
  const minimal: LdapConfig = { urls: ['ldap://ldap.example.org'], userSearchBase: 'ou=people,dc=example,dc=org' };

  it('accepts a minimal config and fills in the defaults', () => {
    expect(validateLdapConfig(minimal)).toEqual([]);
    const resolved = withLdapDefaults(minimal);
    expect(resolved).toMatchObject({
      startTls: false,
      tls: { verify: true },
      connectTimeoutMs: 5000,
      operationTimeoutMs: 10000,
      userSearchScope: 'sub',
      userFilter: '(&(objectClass=person)(uid={username}))',
      attributes: { username: 'uid', email: 'mail', displayName: 'displayName', uniqueId: 'entryUUID' },
      groups: { mode: 'memberOf', attribute: 'memberOf' },
      nestedGroupDepth: 0,
      pageSize: 500,
    });
    expect(withLdapDefaults({ ...minimal, groups: { mode: 'search', base: 'ou=groups,dc=example,dc=org' } }).groups).toEqual({
      mode: 'search',
      base: 'ou=groups,dc=example,dc=org',
      filter: '(member={dn})',
      nameAttribute: 'cn',
      scope: 'sub',
    });
  });

  it('accepts the Active Directory preset and a full config', () => {
    expect(validateLdapConfig({ ...minimal, ...ACTIVE_DIRECTORY_PRESET })).toEqual([]);
    const full: LdapConfig = {
      urls: ['ldap://dc1.example.org:389', 'ldap://dc2.example.org'],
      startTls: true,
      tls: { verify: true },
      connectTimeoutMs: 2000,
      operationTimeoutMs: 4000,
      bindDn: 'cn=svc,dc=example,dc=org',
      bindPassword: 'x',
      userSearchBase: 'dc=example,dc=org',
      userSearchScope: 'one',
      userFilter: '(|(uid={username})(mail={username}))',
      attributes: { username: 'uid', uniqueId: '1.3.6.1.1.16.4' },
      groups: { mode: 'search', base: 'ou=groups,dc=example,dc=org', filter: '(member={dn})', nameAttribute: 'cn', scope: 'one' },
      nestedGroupDepth: 3,
      pageSize: 1000,
    };
    expect(validateLdapConfig(full)).toEqual([]);
  });

  it('reports every problem with its path', () => {
    const problems = validateLdapConfig({
      urls: ['http://ldap.example.org', 'ldaps://ok.example.org', 'ldap://x/dc=example?uid', 'ldaps://ok.example.org'],
      startTls: true,
      tls: { caPem: 'not a pem', verify: 'yes', extra: 1 },
      connectTimeoutMs: 0,
      operationTimeoutMs: 1.5,
      bindDn: 'cn=svc,dc=example,dc=org',
      userSearchBase: 'people',
      userFilter: '(uid=alice)',
      attributes: { username: 'u id', colour: 'blue' },
      groups: { mode: 'search', filter: '(member={user})' },
      nestedGroupDepth: 11,
      pageSize: 0,
      userfilter: '(uid={username})',
    });
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        '/urls/0',
        '/urls/2',
        '/urls/3',
        '/startTls',
        '/tls/caPem',
        '/tls/verify',
        '/tls/extra',
        '/connectTimeoutMs',
        '/operationTimeoutMs',
        '/bindPassword',
        '/userSearchBase',
        '/userFilter',
        '/attributes/username',
        '/attributes/colour',
        '/groups/base',
        '/groups/filter',
        '/nestedGroupDepth',
        '/pageSize',
        '/userfilter',
      ].sort(),
    );
    expect(byPath['/urls/0']).toMatch(/unsupported scheme http:/);
    expect(byPath['/urls/3']).toBe('listed twice');
    expect(byPath['/startTls']).toMatch(/ldaps:\/\/ is TLS already/);
    expect(byPath['/bindPassword']).toMatch(/unauthenticated bind/);
    expect(byPath['/userFilter']).toBe('must contain {username}');
    expect(byPath['/groups/filter']).toMatch(/unknown placeholder \{user\}/);
    expect(byPath['/userfilter']).toBe('unknown setting');
  });

  it('checks filters, DNs, CA PEM and nesting rules', () => {
    const problems = (c: Record<string, unknown>) => validateLdapConfig({ ...minimal, ...c });
    expect(problems({ userFilter: '(&(uid={username})' })[0]).toMatchObject({ path: '/userFilter', message: expect.stringMatching(/not a valid LDAP filter|parentheses/) });
    expect(problems({ userSearchBase: 'ou=people,,dc=x' })[0]?.path).toBe('/userSearchBase');
    expect(problems({ tls: { caPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' } })).toEqual([{ path: '/tls/caPem', message: 'certificate 1 cannot be read' }]);
    expect(problems({ groups: { mode: 'search', base: 'ou=g,dc=x', filter: '(memberUid={username})' }, nestedGroupDepth: 2 })[0]?.path).toBe('/groups/filter');
    expect(problems({ groups: { mode: 'sometimes' } })).toEqual([{ path: '/groups/mode', message: "must be 'memberOf', 'search' or 'none'" }]);
    expect(problems({ groups: { mode: 'memberOf', base: 'ou=g,dc=x' } })).toEqual([{ path: '/groups/base', message: "not a setting of mode 'memberOf'" }]);
    expect(problems({ bindPassword: 'orphan' })).toEqual([{ path: '/bindDn', message: 'required with bindPassword' }]);
    expect(validateLdapConfig('ldap://x')).toEqual([{ path: '', message: 'must be an object' }]);
  });

  it('the constructor refuses an invalid config with every problem, and redaction hides the password', () => {
    expect(() => new LdapDirectory({ urls: [], userSearchBase: '' })).toThrow(/invalid LDAP configuration: \/urls .*; \/userSearchBase /);
    const redacted = redactLdapConfig({ ...minimal, bindDn: 'cn=svc', bindPassword: SERVICE_PASSWORD });
    expect(JSON.stringify(redacted)).not.toContain(SERVICE_PASSWORD);
    expect(redacted.bindPassword).toBe('********');
  });

  it('takes a pino logger', () => {
    const log: LdapLog = pino({ level: 'silent' });
    expect(() => new LdapDirectory(minimal, { log })).not.toThrow();
  });
});

// ─── against a real LDAP server ───────────────────────────────────────────────────────────────

describe('LdapDirectory against an ldapjs server on loopback', () => {
  let dir: TestDirectory;
  let log: CapturingLog;
  const errors: string[] = [];

  const config = (over: Partial<LdapConfig> = {}): LdapConfig => ({
    urls: [dir.url],
    bindDn: SERVICE_DN,
    bindPassword: SERVICE_PASSWORD,
    userSearchBase: `ou=people,${SUFFIX}`,
    connectTimeoutMs: 2_000,
    operationTimeoutMs: 2_000,
    ...over,
  });
  const searchGroups = { mode: 'search', base: `ou=groups,${SUFFIX}` } as const;
  const directory = (over: Partial<LdapConfig> = {}) => new LdapDirectory(config(over), { log, providerId: 'corp-ldap' });
  const adConfig = (over: Partial<LdapConfig> = {}) => config({ ...ACTIVE_DIRECTORY_PRESET, userSearchBase: `ou=ad,${SUFFIX}`, ...over });
  const userBinds = () => dir.binds.filter((b) => b.dn !== SERVICE_DN);
  const keep = <T extends Error>(e: T): T => {
    errors.push(e.message, (e as Partial<SignInError>).reason ?? '', String(e.stack));
    return e;
  };

  beforeAll(async () => {
    dir = await new TestDirectory().start();
  });
  afterAll(async () => {
    await dir.stop();
  });
  afterEach(async () => {
    // Every call closes its connection, whatever happened.
    await dir.allClosed();
    dir.reset();
  });

  it('signs alice in: service bind, one search with her name, bind as her DN; groups by search', async () => {
    log = new CapturingLog();
    const identity = await directory({ groups: searchGroups }).authenticate('alice', PASSWORDS.alice);
    expect(identity).toEqual({
      provider: 'corp-ldap',
      subject: '5f0c1a6e-4a53-4c3e-9e2a-0d9c1b2a7f11',
      username: 'alice',
      email: 'alice@example.org',
      displayName: 'Alice Liddell',
      groups: ['engineers'],
    });
    expect(dir.binds).toEqual([
      { dn: SERVICE_DN, emptyPassword: false },
      { dn: dn.alice, emptyPassword: false },
      { dn: SERVICE_DN, emptyPassword: false }, // back to the service account for the group search
    ]);
    const [userSearch, groupSearch] = dir.searches;
    expect(userSearch).toMatchObject({ base: norm(`ou=people,${SUFFIX}`), scope: 'sub', sizeLimit: 2 });
    expect(shape(userSearch.filter)).toEqual({ AndFilter: [{ eq: ['objectClass', 'person'] }, { eq: ['uid', 'alice'] }] });
    expect(groupSearch).toMatchObject({ base: norm(`ou=groups,${SUFFIX}`), attributes: ['cn'] });
    expect(shape(groupSearch.filter)).toEqual({ eq: ['member', dn.alice] });
    expect(log.lines.at(-1)).toMatchObject({ level: 'info', msg: 'ldap sign-in succeeded', obj: { username: 'alice', dn: dn.alice } });
  });

  it('follows nested groups up to the configured depth, and survives a cycle', async () => {
    log = new CapturingLog();
    expect((await directory({ groups: searchGroups, nestedGroupDepth: 1 }).authenticate('alice', PASSWORDS.alice)).groups).toEqual(['engineers', 'staff']);
    expect(shape(dir.lastSearch().filter)).toEqual({ eq: ['member', dn.engineers] });
    dir.reset();
    // engineers ⊂ staff ⊂ engineers: depth 5 stops after the level that finds nothing new.
    expect((await directory({ groups: searchGroups, nestedGroupDepth: 5 }).authenticate('alice', PASSWORDS.alice)).groups).toEqual(['engineers', 'staff']);
    expect(dir.searches.slice(1).map((s) => shape(s.filter))).toEqual([
      { eq: ['member', dn.alice] },
      { eq: ['member', dn.engineers] },
      { eq: ['member', dn.staff] },
    ]);
  });

  it('reads memberOf on the user (bob), with no group search; nested memberOf through group entries', async () => {
    log = new CapturingLog();
    const bob = await directory().authenticate('bob', PASSWORDS.bob);
    expect(bob).toMatchObject({ username: 'bob', subject: '7d1e2f30-0000-4000-8000-000000000b0b', displayName: 'Bob Builder', groups: ['admins'] });
    expect(dir.searches).toHaveLength(1);
    expect(dir.searches[0].attributes).toContain('memberOf');
    dir.reset();
    expect((await directory({ nestedGroupDepth: 2 }).authenticate('bob', PASSWORDS.bob)).groups).toEqual(['admins', 'it']);
    expect(dir.searches.slice(1).map((s) => [s.base, s.scope])).toEqual([
      [dn.admins, 'base'],
      [dn.it, 'base'],
    ]);
  });

  it('finds posixGroup membership by memberUid={username}', async () => {
    log = new CapturingLog();
    const identity = await directory({ groups: { ...searchGroups, filter: '(memberUid={username})' } }).authenticate('alice', PASSWORDS.alice);
    expect(identity.groups).toEqual(['engineers']);
    expect(shape(dir.lastSearch().filter)).toEqual({ eq: ['memberUid', 'alice'] });
  });

  it('escapes a DN with a comma and parentheses when it goes into the group filter', async () => {
    log = new CapturingLog();
    const identity = await directory({ groups: searchGroups }).authenticate('jsmith', PASSWORDS.jsmith);
    expect(identity).toMatchObject({ username: 'jsmith', subject: dn.jsmith, displayName: 'Smith, Jo (ops)', groups: ['ops (night)'] });
    expect(shape(dir.lastSearch().filter)).toEqual({ eq: ['member', dn.jsmith] });
  });

  it('signs in a user whose name and password are not ASCII', async () => {
    log = new CapturingLog();
    const identity = await directory().authenticate('zoë', PASSWORDS.zoe);
    expect(identity).toMatchObject({ username: 'zoë', email: 'zoe@example.org', displayName: 'Zoë Ångström' });
    expect(shape(dir.searches[0].filter)).toEqual({ AndFilter: [{ eq: ['objectClass', 'person'] }, { eq: ['uid', 'zoë'] }] });
  });

  it('refuses a wrong password', async () => {
    log = new CapturingLog();
    const err = keep(await refusal(directory().authenticate('alice', 'not-her-password')));
    expect(err.reason).toBe('wrong password');
    expect(userBinds()).toEqual([{ dn: dn.alice, emptyPassword: false }]);
    expect(log.lines.at(-1)).toMatchObject({ level: 'info', msg: 'ldap sign-in refused', obj: { username: 'alice', reason: 'wrong password', dn: dn.alice, ldapResult: 49 } });
  });

  it('refuses an unknown user with the same message, without a user bind', async () => {
    log = new CapturingLog();
    const err = keep(await refusal(directory().authenticate('mallory', 'whatever-1')));
    expect(err.reason).toBe('unknown user');
    expect(userBinds()).toEqual([]);
  });

  it('refuses an empty password before any bind, although this server would accept it', async () => {
    log = new CapturingLog();
    const err = keep(await refusal(directory().authenticate('alice', '')));
    expect(err.reason).toBe('empty password');
    expect(dir.binds).toEqual([]);
    // What would have happened: an "unauthenticated bind" as alice succeeds.
    const raw = new Client({ url: dir.url });
    try {
      await expect(raw.bind(dn.alice, '')).resolves.toBeUndefined();
    } finally {
      await raw.unbind();
    }
    expect((await refusal(directory().authenticate('', 'x'))).reason).toBe('empty user name');
    expect((await refusal(directory().authenticate('   ', 'x'))).reason).toBe('empty user name');
    expect((await refusal(directory().authenticate('a'.repeat(300), 'x'))).reason).toBe('user name too long');
    expect((await refusal(directory().authenticate('alice', 'p'.repeat(1025)))).reason).toBe('password too long');
    expect(dir.binds).toEqual([{ dn: dn.alice, emptyPassword: true }]); // only the demonstration above
  });

  it('refuses a name that matches two entries, without binding as either', async () => {
    log = new CapturingLog();
    const err = keep(await refusal(directory().authenticate('twin', PASSWORDS.twin)));
    expect(err.reason).toBe('several entries match the user name');
    expect(userBinds()).toEqual([]);
    expect(log.lines.at(-1)?.obj).toMatchObject({ dns: [dn.twin1, dn.twin2] });
    await expect(directory().lookup('twin')).rejects.toMatchObject({ kind: 'ambiguous-user' });
  });

  it.each(['*', 'admin)(uid=*', '*)(|(objectClass=*', 'alice)(|(uid=*', 'al*', '\\2a', 'alice\0', '{dn}', '*)(uid=*))(|(uid=*'])(
    'an injection attempt %j matches no one and the server sees one plain equality',
    async (attempt) => {
      log = new CapturingLog();
      const err = keep(await refusal(directory({ groups: searchGroups }).authenticate(attempt, PASSWORDS.alice)));
      expect(err.reason).toBe('unknown user');
      expect(userBinds()).toEqual([]);
      expect(dir.searches).toHaveLength(1);
      const { filter } = dir.searches[0];
      expect(shape(filter)).toEqual({ AndFilter: [{ eq: ['objectClass', 'person'] }, { eq: ['uid', attempt] }] });
      expect(filterTypes(filter).every((t) => t === 'AndFilter' || t === 'EqualityFilter')).toBe(true);
      expect(await directory().lookup(attempt)).toBeUndefined();
    },
  );

  it('Active Directory: sAMAccountName, objectGUID as subject, memberOf names', async () => {
    log = new CapturingLog();
    const carol = await directory(adConfig()).authenticate('carol', PASSWORDS.carol);
    expect(carol).toEqual({
      provider: 'corp-ldap',
      subject: '67452301-ab89-efcd-fedc-ba9876543210',
      username: 'carol',
      email: 'carol@example.org',
      displayName: 'Carol Danvers',
      groups: ['VPN Users'],
    });
    expect(shape(dir.searches[0].filter)).toEqual({
      AndFilter: [{ eq: ['objectCategory', 'person'] }, { eq: ['objectClass', 'user'] }, { eq: ['sAMAccountName', 'carol'] }],
    });
  });

  it('Active Directory: a disabled account is refused before its password is tried', async () => {
    log = new CapturingLog();
    const err = keep(await refusal(directory(adConfig()).authenticate('dave', PASSWORDS.dave)));
    expect(err.reason).toBe('account disabled');
    expect(userBinds()).toEqual([]);
  });

  it.each([
    ['erin', PASSWORDS.erin, 'account locked'],
    ['frank', PASSWORDS.frank, 'password expired'],
  ])('Active Directory: %s gets result 49 with a data code → %s', async (user, password, reason) => {
    log = new CapturingLog();
    const err = keep(await refusal(directory(adConfig()).authenticate(user, password)));
    expect(err.reason).toBe(reason);
  });

  it.each([
    ['hank', PASSWORDS.hank, 'account locked', 0], // OpenLDAP ppolicy pwdAccountLockedTime: no bind
    ['ivy', PASSWORDS.ivy, 'account disabled', 0], // 389-ds / FreeIPA nsAccountLock: no bind
    ['jack', PASSWORDS.jack, 'account locked', 1], // 389-ds: constraintViolation "Exceed password retry limit"
    ['kim', PASSWORDS.kim, 'bind refused', 1], // any other refusal of the user's bind
  ])('%s → %s', async (user, password, reason, binds) => {
    log = new CapturingLog();
    const err = keep(await refusal(directory().authenticate(user, password)));
    expect(err.reason).toBe(reason);
    expect(userBinds()).toHaveLength(binds);
  });

  it('a refused service account is a directory error naming the DN, not a sign-in error', async () => {
    log = new CapturingLog();
    const err = keep(await directoryFailure(directory({ bindPassword: 'wrong-service-password' }).authenticate('alice', PASSWORDS.alice)));
    expect(err.kind).toBe('service-bind');
    expect(err.message).toBe(`${dir.url}: the server refused the service account ${SERVICE_DN}: invalid credentials (LDAP result 49)`);
    expect(err.message).not.toContain('wrong-service-password');
    expect(userBinds()).toEqual([]);
  });

  it('a server that is down: connection refused; with a second server, it fails over', async () => {
    log = new CapturingLog();
    const dead = `ldap://127.0.0.1:${await closedPort()}`;
    const err = keep(await directoryFailure(directory({ urls: [dead] }).authenticate('alice', PASSWORDS.alice)));
    expect(err).toMatchObject({ kind: 'unreachable', message: `${dead}: connection refused`, url: dead });

    const identity = await directory({ urls: [dead, dir.url] }).authenticate('alice', PASSWORDS.alice);
    expect(identity.username).toBe('alice');
    expect(log.lines.filter((l) => l.level === 'warn').map((l) => l.obj)).toContainEqual(expect.objectContaining({ url: dead, kind: 'unreachable' }));

    const both = keep(await directoryFailure(directory({ urls: [dead, `ldap://127.0.0.1:${await closedPort()}`] }).lookup('alice')));
    expect(both.message).toMatch(/^no LDAP server could be used: .*connection refused; .*connection refused$/);
  });

  it('a server that never answers the search: a timeout error, and the connection is closed', async () => {
    log = new CapturingLog();
    dir.hangSearches = true;
    const err = keep(await directoryFailure(directory({ operationTimeoutMs: 300 }).authenticate('alice', PASSWORDS.alice)));
    expect(err.kind).toBe('timeout');
    expect(err.message).toBe(`${dir.url}: the user search under ou=people,${SUFFIX} got no answer within 300 ms`);
  });

  it('a server that accepts TCP but never speaks TLS: a connect timeout', async () => {
    log = new CapturingLog();
    const silent = net.createServer(() => {});
    const held: net.Socket[] = [];
    silent.on('connection', (s) => held.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `ldaps://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    try {
      const err = keep(await directoryFailure(directory({ urls: [url], connectTimeoutMs: 300 }).lookup('alice')));
      expect(err).toMatchObject({ kind: 'timeout', message: `${url}: no connection within 300 ms` });
    } finally {
      for (const s of held) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('lookup finds a person without their password; unknown → undefined', async () => {
    log = new CapturingLog();
    expect(await directory({ groups: searchGroups }).lookup('alice')).toMatchObject({ username: 'alice', groups: ['engineers'] });
    expect(userBinds()).toEqual([]);
    expect(await directory().lookup('nobody')).toBeUndefined();
    expect(await directory().lookup('')).toBeUndefined();
  });

  it('follows several groups of one level with one OR search', async () => {
    log = new CapturingLog();
    // bob is in staff and admins; staff ⊂ engineers (the cycle), admins ⊂ it
    expect(await directory({ groups: searchGroups, nestedGroupDepth: 1 }).groupsOf(dn.bob)).toEqual(['admins', 'engineers', 'it', 'staff']);
    expect(shape(dir.searches[2].filter)).toEqual({ OrFilter: [{ eq: ['member', dn.staff] }, { eq: ['member', dn.admins] }] });
  });

  it('groupsOf reads the groups of a DN; an unknown DN is an error', async () => {
    log = new CapturingLog();
    expect(await directory({ groups: searchGroups, nestedGroupDepth: 1 }).groupsOf(dn.alice)).toEqual(['engineers', 'staff']);
    expect(await directory().groupsOf(dn.bob)).toEqual(['admins']);
    expect(await directory({ groups: { ...searchGroups, filter: '(memberUid={username})' } }).groupsOf(dn.alice)).toEqual(['engineers']);
    expect(await directory({ groups: { mode: 'none' } }).groupsOf(dn.bob)).toEqual([]);
    await expect(directory().groupsOf(norm(`uid=ghost,ou=people,${SUFFIX}`))).rejects.toMatchObject({ kind: 'no-such-entry' });
  });

  it('works with anonymous search when no service account is configured', async () => {
    log = new CapturingLog();
    dir.allowAnonymousSearch = true;
    const identity = await directory({ bindDn: undefined, bindPassword: undefined, groups: searchGroups }).authenticate('alice', PASSWORDS.alice);
    expect(identity.groups).toEqual(['engineers']);
    expect(dir.binds.map((b) => b.dn)).toEqual([dn.alice]); // anonymous binds are answered by ldapjs itself
  });

  it('testConnection: every server, the bases, optionally one user', async () => {
    log = new CapturingLog();
    const ok = await directory({ groups: searchGroups }).testConnection({ username: 'alice' });
    expect(ok).toEqual({
      ok: true,
      details: {
        servers: [{ url: dir.url, ok: true, security: 'none' }],
        boundAs: SERVICE_DN,
        userSearchBase: `ou=people,${SUFFIX}`,
        groupSearchBase: `ou=groups,${SUFFIX}`,
        user: expect.objectContaining({ username: 'alice', groups: ['engineers'] }),
      },
    });
    expect(await directory().testConnection({ username: 'nobody' })).toMatchObject({ ok: true, details: { user: null } });

    const missingBase = await directory({ userSearchBase: `ou=staff,${SUFFIX}` }).testConnection();
    expect(missingBase).toEqual({
      ok: false,
      error: `user search base ou=staff,${SUFFIX} does not exist (or the service account cannot read it)`,
      details: { servers: [expect.objectContaining({ ok: false })] },
    });

    const dead = `ldap://127.0.0.1:${await closedPort()}`;
    const partly = await directory({ urls: [dir.url, dead] }).testConnection();
    expect(partly).toMatchObject({
      ok: false,
      error: `${dead}: connection refused`,
      details: { servers: [{ url: dir.url, ok: true }, { url: dead, ok: false, error: `${dead}: connection refused` }] },
    });
    const badService = await directory({ bindPassword: 'nope-nope' }).testConnection();
    expect(badService).toMatchObject({ ok: false, error: expect.stringContaining('refused the service account') });
  });

  it('no password appears in any error or log line', async () => {
    const everything = errors.join('\n') + JSON.stringify(log.lines);
    for (const secret of ALL_SECRETS) expect(everything).not.toContain(secret);
    // and one more round with every path logging into the same log
    log = new CapturingLog();
    const d = directory({ groups: searchGroups });
    await d.authenticate('alice', PASSWORDS.alice);
    await d.authenticate('alice', 'wrong-Pa55').catch(keep);
    await d.authenticate('twin', PASSWORDS.twin).catch(keep);
    await directory({ bindPassword: 'wrong-service-Pa55' }).authenticate('alice', PASSWORDS.alice).catch(keep);
    await directory(adConfig()).authenticate('erin', PASSWORDS.erin).catch(keep);
    await directory({ urls: [`ldap://127.0.0.1:${await closedPort()}`] }).authenticate('alice', PASSWORDS.alice).catch(keep);
    expect(errors.length).toBeGreaterThanOrEqual(5 * 3);
    const text = log.text() + errors.join('\n');
    for (const secret of [...ALL_SECRETS, 'wrong-Pa55', 'wrong-service-Pa55']) expect(text).not.toContain(secret);
  });
});

// ─── TLS ─────────────────────────────────────────────────────────────────────────────────────

describe('LdapDirectory over TLS', () => {
  let cert: { certPem: string; keyPem: string };
  let otherHost: { certPem: string; keyPem: string };
  let ldaps: TestDirectory;
  let startTls: TestDirectory;
  let wrongName: TestDirectory;
  let plain: TestDirectory;
  const servers = () => [ldaps, startTls, wrongName, plain];

  const config = (url: string, over: Partial<LdapConfig> = {}): LdapConfig => ({
    urls: [url],
    bindDn: SERVICE_DN,
    bindPassword: SERVICE_PASSWORD,
    userSearchBase: `ou=people,${SUFFIX}`,
    connectTimeoutMs: 2_000,
    operationTimeoutMs: 2_000,
    ...over,
  });

  beforeAll(async () => {
    cert = await selfSigned({ ip: ['127.0.0.1'], dns: ['localhost'] });
    otherHost = await selfSigned({ dns: ['ldap.example.org'] });
    ldaps = await new TestDirectory().start({ scheme: 'ldaps', cert });
    startTls = await new TestDirectory().start({ startTls: true, cert });
    wrongName = await new TestDirectory().start({ scheme: 'ldaps', cert: otherHost });
    plain = await new TestDirectory().start();
  });
  afterAll(async () => {
    for (const s of servers()) await s?.stop();
  });
  afterEach(async () => {
    for (const s of servers()) {
      await s.allClosed();
      s.reset();
    }
  });

  it('ldaps:// with a self-signed certificate: trusted when its PEM is configured', async () => {
    const identity = await new LdapDirectory(config(ldaps.url, { tls: { caPem: cert.certPem } })).authenticate('alice', PASSWORDS.alice);
    expect(identity.username).toBe('alice');
    expect(ldaps.binds.map((b) => b.dn)).toEqual([SERVICE_DN, dn.alice]);
  });

  it('ldaps:// without that CA: a clear TLS error, and no bind was sent', async () => {
    const err = await directoryFailure(new LdapDirectory(config(ldaps.url)).authenticate('alice', PASSWORDS.alice));
    expect(err.kind).toBe('tls');
    expect(err.message).toBe(`${ldaps.url}: TLS failed: its certificate is self-signed and not trusted; add it (or its CA) as tls.caPem (DEPTH_ZERO_SELF_SIGNED_CERT)`);
    expect(ldaps.binds).toEqual([]);
  });

  it('ldaps:// with verification turned off connects anyway', async () => {
    expect((await new LdapDirectory(config(ldaps.url, { tls: { verify: false } })).authenticate('alice', PASSWORDS.alice)).username).toBe('alice');
  });

  it('ldaps:// to a certificate for another host name: refused even with its PEM', async () => {
    const err = await directoryFailure(new LdapDirectory(config(wrongName.url, { tls: { caPem: otherHost.certPem } })).lookup('alice'));
    expect(err.kind).toBe('tls');
    expect(err.message).toMatch(/its certificate is for another host name \(ERR_TLS_CERT_ALTNAME_INVALID\)$/);
  });

  it('StartTLS: upgrades before the service bind, trusted with the configured PEM', async () => {
    const d = new LdapDirectory(config(startTls.url, { startTls: true, tls: { caPem: cert.certPem } }));
    expect((await d.authenticate('alice', PASSWORDS.alice)).username).toBe('alice');
    expect(startTls.startTlsUpgrades).toBe(1);
    expect(await d.testConnection()).toMatchObject({ ok: true, details: { servers: [{ security: 'starttls', certificateVerified: true }] } });
  });

  it('StartTLS without the CA: a TLS error; to a server without StartTLS: a clear refusal', async () => {
    const untrusted = await directoryFailure(new LdapDirectory(config(startTls.url, { startTls: true })).lookup('alice'));
    expect(untrusted).toMatchObject({ kind: 'tls', message: expect.stringContaining('self-signed') });
    expect(startTls.binds).toEqual([]);

    const refused = await directoryFailure(new LdapDirectory(config(plain.url, { startTls: true })).lookup('alice'));
    expect(refused.kind).toBe('tls');
    expect(refused.message).toBe(`${plain.url}: the server refused StartTLS: protocol error (LDAP result 2)`);
    expect(plain.binds).toEqual([]);
  });
});
