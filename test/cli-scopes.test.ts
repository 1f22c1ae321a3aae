/**
 * `pomona admin create` and `pomona api-token create` with a scope (an organization group by id
 * or Group ID) and the custom-enrollment role, as real processes on a SQLite data directory.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase } from '../src/db/database.js';
import { OrgGroupService } from '../src/org/org-group-service.js';
import { OrgGroupStore } from '../src/org/org-group-store.js';

const run = promisify(execFile);

describe('pomona CLI: scopes and roles', () => {
  let dir: string;
  let acme = '';
  const pomona = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['bin/pomona.js', '--data-dir', dir, '--database-url', `sqlite:${join(dir, 'p.db')}`, '--log-level', 'silent', ...args], {
        env: { ...process.env, POMONA_CONFIG: '', POMONA_ADMIN_PASSWORD: 'a long enough password' },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const db = async <T>(fn: (h: ReturnType<typeof openDatabase>) => Promise<T>) => {
    const h = openDatabase(`sqlite:${join(dir, 'p.db')}`);
    try {
      await migrateToLatest(h.db);
      return await fn(h);
    } finally {
      await h.close();
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pomona-cli-scope-'));
    acme = await db(async (h) => (await new OrgGroupService(new OrgGroupStore(h.db)).create({ parentId: 'global', name: 'Acme', groupId: 'ACME' })).id);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates an admin scoped to a group named by its Group ID, and lists the scope', async () => {
    const created = await pomona('admin', 'create', '--username', 'anna', '--role', 'operator', '--scope', 'acme');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/created operator "anna" scoped to acme/);
    expect((await pomona('admin', 'list')).stdout).toContain(`anna\toperator\t${acme}`);
    const bad = await pomona('admin', 'create', '--username', 'bob', '--scope', 'NOPE');
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('pomona: no organization group with the id or Group ID "NOPE"');
  });

  it('creates a custom-enrollment token scoped to a group id; the old enrollment role is gone', async () => {
    const created = await pomona('api-token', 'create', '--name', 'custom page', '--role', 'custom-enrollment', '--scope', acme);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toMatch(/^pom_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/\(custom-enrollment, scoped to /);
    const rows = await db((h) => h.db.selectFrom('api_tokens').select(['role', 'scope_group_id']).execute());
    expect(rows).toEqual([{ role: 'custom-enrollment', scope_group_id: acme }]);
    expect((await pomona('api-token', 'list')).stdout).toContain(`custom-enrollment\t${acme}\tactive\tcustom page`);
    const old = await pomona('api-token', 'create', '--name', 'x', '--role', 'enrollment');
    expect(old.code).not.toBe(0);
    expect(old.stderr).toMatch(/Allowed choices are administrator, operator, read-only, custom-enrollment/);
  });
});
