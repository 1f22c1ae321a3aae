import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, skipUnlessAvailable, testDatabaseKinds, type TestDatabase } from '../../test/support/db.js';
import { ApiTokenError, ApiTokenService } from './api-token-service.js';
import { ApiTokenStore } from './api-token-store.js';
import { OrgGroupService } from './org-group-service.js';
import { OrgGroupStore } from './org-group-store.js';
import { Scope, ScopeError } from './scope.js';

describe.each(testDatabaseKinds)('ApiTokenService (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let db: TestDatabase;
    let store: ApiTokenStore;
    let tokens: ApiTokenService;
    let t = 1_700_000_000_000;

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      store = new ApiTokenStore(db.db);
      tokens = new ApiTokenService(store, { now: () => t });
    });
    afterAll(async () => db?.dispose());

    it('creates pom_ tokens, stores only their SHA-256 and an 8-character prefix', async () => {
      const { token, secret } = await tokens.create({ name: ' ci deploy ', role: 'operator' });
      expect(secret).toMatch(/^pom_[A-Za-z0-9_-]{43}$/);
      expect(token).toMatchObject({ name: 'ci deploy', role: 'operator', prefix: secret.slice(0, 12), createdAt: t, expiresAt: null, revokedAt: null });
      const row = await db.db.selectFrom('api_tokens').selectAll().where('id', '=', token.id).executeTakeFirstOrThrow();
      expect(row.token_hash).toBe(createHash('sha256').update(secret).digest('hex'));
      expect(row.prefix).toBe(secret.slice(4, 12));
      expect(JSON.stringify(await tokens.list())).not.toContain(secret.slice(12));
    });

    it('carries a scope, lists by scope, and is never granted more than its creator holds', async () => {
      const groups = new OrgGroupService(new OrgGroupStore(db.db));
      const a = await groups.scopeOf((await groups.create({ parentId: 'global', name: 'A', groupId: 'TOK-A' })).id);
      const a1 = await groups.scopeOf((await groups.create({ parentId: a.groupId, name: 'A1', groupId: 'TOK-A1' })).id);
      const b = await groups.scopeOf((await groups.create({ parentId: 'global', name: 'B', groupId: 'TOK-B' })).id);
      const branchAdmin = { role: 'administrator', scope: a };
      const narrow = await tokens.create({ name: 'site', role: 'operator', scope: a1, grantedBy: branchAdmin });
      expect(narrow.token.scopeGroupId).toBe(a1.groupId);
      expect((await tokens.authenticate(narrow.secret))!.scope).toEqual(a1);
      await expect(tokens.create({ name: 'wide', role: 'operator', scope: Scope.GLOBAL, grantedBy: branchAdmin })).rejects.toThrow(/cannot be scoped outside your own/);
      await expect(tokens.create({ name: 'sideways', role: 'operator', scope: b, grantedBy: branchAdmin })).rejects.toBeInstanceOf(ScopeError);
      await expect(tokens.create({ name: 'higher', role: 'administrator', scope: a, grantedBy: { role: 'operator', scope: a } })).rejects.toThrow(/wider than yours/);
      await expect(tokens.create({ name: 'enroller', role: 'custom-enrollment', scope: a, grantedBy: { role: 'operator', scope: a } })).rejects.toBeInstanceOf(ScopeError);
      expect((await tokens.create({ name: 'same', role: 'operator', scope: a, grantedBy: { role: 'operator', scope: a } })).token.role).toBe('operator');
      const listed = (await tokens.list(a)).map((x) => x.name);
      expect(listed).toEqual(expect.arrayContaining(['site', 'same']));
      expect(listed).not.toContain('ci deploy');
      expect((await tokens.list(b))).toEqual([]);
    });

    it('validates name, role and expiry', async () => {
      await expect(tokens.create({ name: '  ', role: 'operator' })).rejects.toMatchObject({ code: 'invalid-name' });
      await expect(tokens.create({ name: 'x', role: 'root' })).rejects.toBeInstanceOf(ApiTokenError);
      await expect(tokens.create({ name: 'x', role: 'operator', expiresAt: t })).rejects.toMatchObject({ code: 'invalid-expiry' });
    });

    it('authenticates valid tokens and refuses unknown, malformed, expired and revoked ones', async () => {
      const { secret } = await tokens.create({ name: 'enroller', role: 'custom-enrollment', expiresAt: t + 1000 });
      expect(await tokens.authenticate(secret)).toMatchObject({ name: 'enroller', role: 'custom-enrollment', scope: Scope.GLOBAL });
      expect(await tokens.authenticate(secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A'))).toBeNull();
      expect(await tokens.authenticate('pom_short')).toBeNull();
      expect(await tokens.authenticate('')).toBeNull();
      t += 1000;
      expect(await tokens.authenticate(secret)).toBeNull();

      const other = await tokens.create({ name: 'to revoke', role: 'read-only' });
      expect(await tokens.authenticate(other.secret)).not.toBeNull();
      expect(await tokens.revoke(other.token.id)).toMatchObject({ revokedAt: t });
      expect(await tokens.authenticate(other.secret)).toBeNull();
    });

    it('revokes by prefix, with or without pom_, idempotently; unknown gives null', async () => {
      const a = await tokens.create({ name: 'a', role: 'read-only' });
      const b = await tokens.create({ name: 'b', role: 'read-only' });
      const first = await tokens.revoke(a.token.prefix);
      expect(first?.id).toBe(a.token.id);
      t += 5;
      expect((await tokens.revoke(a.token.prefix.slice(4)))?.revokedAt).toBe(first?.revokedAt);
      expect(await tokens.authenticate(b.secret)).not.toBeNull();
      expect(await tokens.revoke('pom_nothing1')).toBeNull();
    });

    it('refuses an ambiguous prefix', async () => {
      const a = await tokens.create({ name: 'dup', role: 'read-only' });
      const clash = { ...(await db.db.selectFrom('api_tokens').selectAll().where('id', '=', a.token.id).executeTakeFirstOrThrow()) };
      await store.insert({ ...clash, id: 'another-id', token_hash: 'f'.repeat(64) });
      await expect(tokens.revoke(a.token.prefix)).rejects.toMatchObject({ code: 'ambiguous-prefix' });
    });

    it('writes last_used_at at most once a minute', async () => {
      const { token, secret } = await tokens.create({ name: 'busy', role: 'operator' });
      const touch = vi.spyOn(store, 'touchLastUsed');
      const start = t;
      for (let i = 0; i < 5; i++) {
        await tokens.authenticate(secret);
        t += 10_000;
      }
      expect(touch).toHaveBeenCalledTimes(1);
      expect((await tokens.list()).find((x) => x.id === token.id)?.lastUsedAt).toBe(start);
      t = start + 60_000;
      await tokens.authenticate(secret);
      expect(touch).toHaveBeenCalledTimes(2);
      expect((await tokens.list()).find((x) => x.id === token.id)?.lastUsedAt).toBe(start + 60_000);
      touch.mockRestore();
    });
  });
});
