/**
 * Every admin route declares a permission, and the auth layer enforces it: no credentials → 401,
 * a role below the permission → 403. Routes are enumerated from the real app as it registers them.
 */
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { startTestServer, type TestServer } from './support/server.js';

/** Routes that are open by design: device protocol, health, sign-in, API docs, enrollment downloads. */
const PUBLIC = [/^\/\.well-known\/com\.apple\.remotemanagement$/, /^\/mdm/, /^\/scep/, /^\/healthz$/, /^\/readyz$/, /^\/api\/docs/, /^\/api\/v1\/session$/, /^\/enroll\//, /^\/sso\//, /^\/$/];

const RANK: Record<string, number> = { read: 1, operate: 2, admin: 3 };

describe('route permissions', () => {
  let pomona: TestServer;
  const routes: { method: string; url: string; permission?: string }[] = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    pomona = await startTestServer('sqlite');
    // A second app on the same context, built only to see every route as it is registered.
    const probe = await buildApp(pomona.ctx, {
      logger: false,
      onRoute: (r: RouteOptions) => {
        for (const method of [r.method].flat()) {
          if (method === 'HEAD') continue;
          routes.push({ method, url: r.url, permission: (r.config as { permission?: string } | undefined)?.permission });
        }
      },
    });
    await probe.ready();
    await probe.close();
    for (const role of ['read-only', 'operator', 'enrollment'] as const) {
      tokens[role] = (await pomona.ctx.tokens.create({ name: `probe-${role}`, role })).secret;
    }
  });
  afterAll(() => pomona?.close());

  const call = (method: string, url: string, token?: string) =>
    fetch(pomona.url + url.replace(/:[A-Za-z]+/g, 'x'), {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }) },
      body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
    }).then((r) => r.status);

  it('finds the admin API', () => {
    expect(routes.filter((r) => r.url.startsWith('/api/v1/')).length).toBeGreaterThan(40);
  });

  it('has a permission on every route that is not public by design', () => {
    const missing = routes.filter((r) => !r.permission && !PUBLIC.some((p) => p.test(r.url)));
    expect(missing).toEqual([]);
  });

  it('answers 401 without credentials and 403 to a role below the permission, on every admin route', async () => {
    const wrong: string[] = [];
    for (const r of routes.filter((x) => x.permission)) {
      const anonymous = await call(r.method, r.url);
      if (anonymous !== 401) wrong.push(`${r.method} ${r.url} without credentials → ${anonymous}`);
      const below = r.permission === 'read' ? 'enrollment' : r.permission === 'operate' ? 'read-only' : r.permission === 'admin' ? 'operator' : undefined;
      if (below && RANK[r.permission!]) {
        const status = await call(r.method, r.url, tokens[below]);
        if (status !== 403) wrong.push(`${r.method} ${r.url} as ${below} → ${status}`);
      }
    }
    expect(wrong).toEqual([]);
  }, 60_000);
});
