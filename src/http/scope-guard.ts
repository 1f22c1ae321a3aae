/**
 * Scope checks for admin routes. Next to its permission, a route declares in `config.scope` what
 * it touches that belongs to an organization group:
 *
 * - a list of targets — `[target('device', param('id')), target('group', body('groupId'))]` —
 *   each naming a kind of object and where its id is in the request. Before the body is
 *   validated, the guard finds the group each one belongs to (src/org/scope-store.ts) and refuses
 *   the request (403, audited as denied) when one lies outside the actor's scope, or names nothing:
 *   a scoped admin cannot tell "elsewhere" from "nowhere".
 * - `'filtered'`: a list; the handler passes `request.actor.scope` to its service, which leaves
 *   out what lies outside. (A route may also list targets and filter what it returns.)
 * - `'none'`: nothing that belongs to a group (who am I, log out).
 *
 * A route that declares nothing is for global-scope actors only, so a new route is closed to
 * scoped admins until its author says what it touches.
 */
import type { FastifyRequest, RouteOptions } from 'fastify';
import type { Placement, ScopedKind } from '../org/scope-store.js';
import type { Scope } from '../org/scope.js';

export interface ScopeTarget {
  kind: ScopedKind;
  /** the id(s) in the request: a string, an array of strings, or nothing (not checked) */
  ids: (request: FastifyRequest) => unknown;
}

export type RouteScope = 'none' | 'filtered' | ScopeTarget[];

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: RouteScope;
  }
}

export type PlaceFn = (kind: ScopedKind, ids: string[]) => Promise<Placement>;

export function target(kind: ScopedKind, ids: (request: FastifyRequest) => unknown): ScopeTarget {
  return { kind, ids };
}

const field = (source: unknown, name: string): unknown => (source !== null && typeof source === 'object' && !Buffer.isBuffer(source) ? (source as Record<string, unknown>)[name] : undefined);

/** A path parameter. */
export const param = (name: string) => (r: FastifyRequest) => field(r.params, name);
/** A body field (the body is not validated yet: anything but strings is ignored). */
export const body = (name: string) => (r: FastifyRequest) => field(r.body, name);
/** A query-string parameter. */
export const query = (name: string) => (r: FastifyRequest) => field(r.query, name);

const LABEL: Record<ScopedKind, string> = {
  group: 'organization group',
  device: 'device',
  command: 'command',
  'abm-server': 'ABM server',
  'abm-device': 'ABM device',
  'dep-profile': 'enrollment profile',
  'identity-provider': 'identity provider',
  user: 'user',
  'user-group': 'user group',
  'registration-token': 'registration token',
  admin: 'admin',
  'api-token': 'API token',
};

function idsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

const shown = (id: string) => JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id);

/**
 * Why the request must be refused for this actor's scope, or undefined when it may go on.
 * Global actors are never refused (and cost no query).
 */
export async function scopeRefusal(request: FastifyRequest, scope: Scope, place: PlaceFn): Promise<{ message: string; details: Record<string, unknown> } | undefined> {
  if (scope.global) return undefined;
  const declared = request.routeOptions.config?.scope;
  if (declared === undefined) {
    return { message: 'this route is available only to admins whose scope is the whole organization (global)', details: { reason: 'scope', kind: 'global-only' } };
  }
  if (declared === 'none' || declared === 'filtered') return undefined;
  for (const t of declared) {
    const ids = idsOf(t.ids(request));
    if (ids.length === 0) continue;
    const placed = await place(t.kind, ids);
    for (const id of ids) {
      const paths = placed.get(id);
      // null: an object that belongs to no group (an unmapped user group) — anyone may use it
      if (paths && paths.every((p) => p === null || scope.covers(p))) continue;
      return {
        message: `the ${LABEL[t.kind]} ${shown(id)} is outside your organization group scope, or does not exist`,
        details: { reason: 'scope', kind: t.kind, id: id.slice(0, 64) },
      };
    }
  }
  return undefined;
}
