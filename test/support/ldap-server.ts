/**
 * A small LDAP directory served by ldapjs (a devDependency) on 127.0.0.1: a service account,
 * people with passwords, search-then-bind as Pomona does it. Searches are matched with the
 * filter exactly as it came off the wire (see the note in src/org/idp/ldap-directory.test.ts:
 * ldapjs re-parses filters from their string form and would read escapes as wildcards), and
 * every filter is kept so a test can see what the client asked.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';

interface Dn {
  toString(): string;
  equals(dn: string): boolean;
  parentOf(dn: string): boolean;
}
export interface WireFilter {
  type: string;
  attribute?: string;
  value?: string;
  filters?: WireFilter[];
  matches(attributes: Record<string, unknown>, strictAttrCase?: boolean): boolean;
  toString(): string;
}
interface Res {
  diagnosticMessage: string;
  end(status?: number): void;
  send(entry: unknown): void;
  createSearchEntry(o: { dn: string; attributes: unknown[] }): unknown;
}
type Next = () => void;
interface Server {
  bind(base: string, h: (req: { dn: Dn; credentials: string }, res: Res, next: Next) => void): void;
  search(base: string, h: (req: { dn: Dn; scopeName: string; filter: WireFilter; sizeLimit: number }, res: Res, next: Next) => void): void;
  listen(port: number, host: string, cb: () => void): void;
  close(cb?: () => void): void;
  address(): net.AddressInfo;
  server: net.Server;
}

const requireCjs = createRequire(import.meta.url);
const ldap = requireCjs('ldapjs') as { createServer(): Server; parseDN(dn: string): Dn; Attribute: { fromObject(o: Record<string, unknown>): unknown[] } };
const filterModule = requireCjs('@ldapjs/filter') as { parseBer: (reader: unknown) => WireFilter };
let lastWireFilter: WireFilter | undefined;
const parseBer = filterModule.parseBer;
// Each module instance (vitest re-evaluates it per test file) wraps the shared CJS export again: a short chain, each link keeping its own copy.
filterModule.parseBer = (reader) => (lastWireFilter = parseBer(reader));

export const LDAP_SUFFIX = 'dc=example,dc=org';
export const LDAP_SERVICE = { dn: `cn=pomona,ou=services,${LDAP_SUFFIX}`, password: 'svc-Pa55word!' };

export interface LdapPerson {
  uid: string;
  password: string;
  cn?: string;
  mail?: string;
}

export class TestLdapServer {
  readonly filters: WireFilter[] = [];
  readonly #entries = new Map<string, { attributes: Record<string, string | string[]>; password?: string }>();
  readonly #sockets = new Set<net.Socket>();
  #server!: Server;
  url = '';

  constructor(people: LdapPerson[]) {
    const norm = (dn: string) => ldap.parseDN(dn).toString();
    this.#entries.set(norm(LDAP_SUFFIX), { attributes: { objectClass: ['domain'], dc: 'example' } });
    this.#entries.set(norm(`ou=people,${LDAP_SUFFIX}`), { attributes: { objectClass: ['organizationalUnit'], ou: 'people' } });
    this.#entries.set(norm(LDAP_SERVICE.dn), { attributes: { objectClass: ['applicationProcess'], cn: 'pomona' }, password: LDAP_SERVICE.password });
    for (const p of people) {
      this.#entries.set(norm(`uid=${p.uid},ou=people,${LDAP_SUFFIX}`), {
        attributes: { objectClass: ['top', 'person', 'inetOrgPerson'], uid: p.uid, cn: p.cn ?? p.uid, sn: p.uid, ...(p.mail ? { mail: p.mail } : {}) },
        password: p.password,
      });
    }
  }

  /** The config an identity provider needs to use this directory. */
  config(): Record<string, unknown> {
    return { urls: [this.url], bindDn: LDAP_SERVICE.dn, bindPassword: LDAP_SERVICE.password, userSearchBase: `ou=people,${LDAP_SUFFIX}`, connectTimeoutMs: 2000, operationTimeoutMs: 2000 };
  }

  async start(): Promise<this> {
    this.#server = ldap.createServer();
    this.#server.server.on('connection', (s: net.Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#server.bind(LDAP_SUFFIX, (req, res, next) => {
      const entry = this.#entries.get(req.dn.toString());
      if (req.credentials === '' || !entry?.password || entry.password !== req.credentials) {
        res.diagnosticMessage = 'invalid credentials';
        res.end(49);
        return next();
      }
      res.end();
      return next();
    });
    this.#server.search(LDAP_SUFFIX, (req, res, next) => {
      const filter = lastWireFilter ?? req.filter;
      lastWireFilter = undefined;
      this.filters.push(filter);
      const matches = [...this.#entries].filter(([dn, e]) => (req.dn.equals(dn) || req.dn.parentOf(dn)) && filter.matches(e.attributes, false));
      const limit = req.sizeLimit > 0 ? req.sizeLimit : Infinity;
      for (const [dn, e] of matches.slice(0, limit)) res.send(res.createSearchEntry({ dn, attributes: ldap.Attribute.fromObject(e.attributes) }));
      res.end(matches.length > limit ? 4 : 0);
      return next();
    });
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `ldap://127.0.0.1:${this.#server.address().port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
