import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { AdminService } from './admin-service.js';
import { AdminStore } from './admin-store.js';
import { ApiTokenService } from './api-token-service.js';
import { ApiTokenStore } from './api-token-store.js';
import { AuditService } from './audit-service.js';
import { AuditStore } from './audit-store.js';
import { OrgGroupService } from './org-group-service.js';
import { OrgGroupStore } from './org-group-store.js';
import type { Scope } from './scope.js';

describe.each(testDatabaseKinds)('the audit log by actor scope (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let audit: AuditService;
    let admins: AdminService;
    const s: Record<'a' | 'a1' | 'b', Scope> = {} as never;
    let tokenLabel = '';

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      audit = new AuditService(new AuditStore(db.db));
      admins = new AdminService(new AdminStore(db.db), { scryptParams: { N: 1024, r: 8, p: 1 } });
      const groups = new OrgGroupService(new OrgGroupStore(db.db));
      s.a = await groups.scopeOf((await groups.create({ parentId: 'global', name: 'A', groupId: 'AU-A' })).id);
      s.a1 = await groups.scopeOf((await groups.create({ parentId: s.a.groupId, name: 'A1', groupId: 'AU-A1' })).id);
      s.b = await groups.scopeOf((await groups.create({ parentId: 'global', name: 'B', groupId: 'AU-B' })).id);
      await admins.createUser({ username: 'ann', password: 'a long enough password', role: 'operator', scope: s.a1 });
      await admins.createUser({ username: 'root', password: 'a long enough password', role: 'administrator' });
      const t = await new ApiTokenService(new ApiTokenStore(db.db)).create({ name: 'b script', role: 'operator', scope: s.b });
      tokenLabel = `token:${t.token.prefix}`;
    });
    afterAll(async () => db?.dispose());

    const actors = async (within?: Scope) => (await audit.list({}, within)).events.map((e) => e.actor);

    it('records the scope each actor has when it acts', async () => {
      for (const actor of ['user:ann', 'user:root', tokenLabel, 'cli', 'anonymous', 'user:nobody', 'token:pom_unknown']) {
        await audit.record({ actor, action: 'x', outcome: 'success' });
      }
      const rows = await db.db.selectFrom('audit_events').select(['actor', 'actor_scope']).orderBy('id').execute();
      expect(Object.fromEntries(rows.map((r) => [r.actor, r.actor_scope]))).toEqual({
        'user:ann': s.a1.path, 'user:root': '/global/', [tokenLabel]: s.b.path, cli: null, anonymous: null, 'user:nobody': null, 'token:pom_unknown': null,
      });
    });

    it('shows a scope the events of actors that were scoped inside it, and everything to global', async () => {
      expect(await actors(s.a)).toEqual(['user:ann']);
      expect(await actors(s.a1)).toEqual(['user:ann']);
      expect(await actors(s.b)).toEqual([tokenLabel]);
      expect((await actors()).length).toBe(7);
      // ann moves to B: her earlier events stay with A; what she does now belongs to B
      const ann = (await admins.findForSignIn(['ann']))!;
      await admins.updateUser(ann.id, { scope: s.b });
      await audit.record({ actor: 'user:ann', action: 'y', outcome: 'success' });
      expect(await actors(s.a)).toEqual(['user:ann']);
      expect((await audit.list({ actor: 'user:ann' }, s.b)).events.map((e) => e.action)).toEqual(['y']);
      const csv = [];
      for await (const line of audit.exportCsv({}, s.a)) csv.push(line);
      expect(csv).toHaveLength(2);
    });
  });
});
