/**
 * `migrate-db` moves a populated SQLite installation to PostgreSQL: every row equal value for
 * value (sealed secrets byte for byte, 0/1 flags, epoch-ms numbers, blobs), sequences advanced,
 * and the moved installation opens its secrets with the same secret.key. A target that already
 * holds data is refused unless forced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openContext } from '../src/app.js';
import { migrationsCurrent, openDatabase } from '../src/db/database.js';
import { migrateDatabase } from '../src/ops/migrate-db-service.js';
import { readSnapshot, TargetNotEmptyError, type Snapshot } from '../src/ops/snapshot.js';
import { createTestDatabaseUrl, postgresAvailable } from './support/db.js';
import { BOOTSTRAP_TOKEN, expectSameRows, startPopulatedInstallation, type PopulatedInstallation } from './support/populated-installation.js';
import { thrown } from './support/rejection.js';

describe('migrate-db refuses what it cannot move', () => {
  it('wants sqlite: as the source and postgres:// as the target', async () => {
    expect((await thrown(migrateDatabase('postgres://x/y', 'postgres://x/z'))).message).toBe('--from must be sqlite:PATH');
    expect((await thrown(migrateDatabase('sqlite:/tmp/a.db', 'sqlite:/tmp/b.db'))).message).toBe('--to must be postgres://…');
  });
});

describe.skipIf(!postgresAvailable)('migrate-db SQLite → PostgreSQL', () => {
  let pop: PopulatedInstallation;
  let before: Snapshot;
  let target: { url: string; drop(): Promise<void> };

  beforeAll(async () => {
    pop = await startPopulatedInstallation('sqlite');
    before = await readSnapshot(pop.server.ctx.database.db);
    target = await createTestDatabaseUrl('postgres');
  });
  afterAll(async () => {
    await pop?.close();
    await target?.drop();
  });

  it('copies every row, verifies the counts, and the moved installation opens its secrets', async () => {
    const r = await migrateDatabase(pop.server.ctx.config.databaseUrl, target.url);
    expect(r.counts.abm_devices).toBeGreaterThan(0);
    const handle = openDatabase(target.url);
    try {
      await expectSameRows(before, handle.db);
      expect(await migrationsCurrent(handle.db)).toBe(true);
      // The serial audit_events.id continues after the copied ids.
      const max = Math.max(...before.tables.find((t) => t.name === 'audit_events')!.rows.map((row) => row.id as number));
      const { id } = await handle.db.insertInto('audit_events').values({ at: Date.now(), actor: 'test', action: 'after.move', outcome: 'success' }).returning('id').executeTakeFirstOrThrow();
      expect(id).toBe(max + 1);
    } finally {
      await handle.close();
    }

    // Same data directory (secret.key), new database URL: secrets open, the ABM token still works.
    const ctx = await openContext(loadConfig({ env: {}, flags: { databaseUrl: target.url, dataDir: pop.server.dataDir, logLevel: 'silent' } }), { logLevel: 'silent' });
    try {
      expect(ctx.ca.certificatePem).toBe(pop.server.ctx.ca.certificatePem);
      const bt = await ctx.database.db.selectFrom('bootstrap_tokens').selectAll().executeTakeFirstOrThrow();
      expect(ctx.secrets.open(bt.token_enc).equals(BOOTSTRAP_TOKEN)).toBe(true);
      pop.sim.addDevices(pop.appleServerUuid, 2);
      expect(await ctx.abmSync.run(pop.abmServerId)).toMatchObject({ kind: 'incremental', added: 2 });
    } finally {
      await ctx.close();
    }
  });

  it('refuses a target that holds data unless forced', async () => {
    const e = await thrown(migrateDatabase(pop.server.ctx.config.databaseUrl, target.url));
    expect(e).toBeInstanceOf(TargetNotEmptyError);
    expect(e.message).toMatch(/^target database is not empty \(.*\): use --force to replace it$/);
    await migrateDatabase(pop.server.ctx.config.databaseUrl, target.url, { force: true });
    const handle = openDatabase(target.url);
    try {
      await expectSameRows(await readSnapshot(pop.server.ctx.database.db), handle.db);
    } finally {
      await handle.close();
    }
  });
});
