/**
 * Backup and restore of a populated installation on each database: every row comes back value
 * for value, the secrets sealed in them open with the restored key (the ABM token still signs
 * requests Apple's simulator accepts, the device CA key still signs, the bootstrap token opens),
 * and every bad input is refused with one clear line before anything is written.
 */
import { createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openContext } from '../src/app.js';
import { migrationsCurrent, openDatabase } from '../src/db/database.js';
import { createBackup, restoreBackup, type Installation } from '../src/ops/backup-service.js';
import { BackupArchiveError } from '../src/ops/backup-archive.js';
import { readSnapshot, TargetNotEmptyError, type Snapshot } from '../src/ops/snapshot.js';
import { createTestDatabaseUrl, postgresAvailable, skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { thrown } from './support/rejection.js';
import { BOOTSTRAP_TOKEN, expectSameRows, startPopulatedInstallation, type PopulatedInstallation } from './support/populated-installation.js';

const PASSPHRASE = 'correct horse battery staple';
// Quick key derivation for the tests; the CLI uses the default (slow on purpose).
const kdf = { N: 2 ** 10, r: 8, p: 1 };

describe.each(testDatabaseKinds)('backup and restore (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pop: PopulatedInstallation;
    let source: Installation;
    let before: Snapshot;
    let archive: Buffer;
    const cleanup: (() => Promise<void> | void)[] = [];

    /** A fresh database and data directory to restore into. */
    const freshInstallation = async (on = kind): Promise<Installation> => {
      const db = await createTestDatabaseUrl(on);
      const dataDir = mkdtempSync(join(tmpdir(), 'pomona-restore-'));
      cleanup.push(db.drop, () => rmSync(dataDir, { recursive: true, force: true }));
      return { databaseUrl: db.url, dataDir };
    };

    beforeAll(async () => {
      pop = await startPopulatedInstallation(kind);
      source = { databaseUrl: pop.server.ctx.config.databaseUrl, dataDir: pop.server.dataDir };
      before = await readSnapshot(pop.server.ctx.database.db);
      ({ archive } = await createBackup(source, PASSPHRASE, { kdf }));
    });
    afterAll(async () => {
      await pop?.close();
      for (const fn of cleanup.reverse()) await fn();
    });

    it('holds something in the tables that matter', () => {
      const count = (t: string) => before.tables.find((x) => x.name === t)?.rows.length ?? 0;
      for (const t of ['abm_servers', 'abm_devices', 'users', 'registration_tokens', 'organization_groups', 'devices', 'enrollments', 'bootstrap_tokens', 'commands', 'certificate_authorities', 'push_certificates', 'api_tokens', 'audit_events']) {
        expect({ t, n: count(t) > 0 }).toEqual({ t, n: true });
      }
      // The archive is encrypted: no sealed blob nor the key appears in it.
      expect(archive.includes(readFileSync(join(source.dataDir, 'secret.key')))).toBe(false);
      expect(archive.includes(Buffer.from('Backup'))).toBe(false);
    });

    it('restores every row and the key into a fresh installation, migrations current, secrets open', async () => {
      const target = await freshInstallation();
      const r = await restoreBackup(target, archive, PASSPHRASE);
      expect(r.migrated).toEqual([]);
      expect(readFileSync(join(target.dataDir, 'secret.key'), 'utf8')).toBe(readFileSync(join(source.dataDir, 'secret.key'), 'utf8'));

      const handle = openDatabase(target.databaseUrl);
      try {
        await expectSameRows(before, handle.db);
        expect(await migrationsCurrent(handle.db)).toBe(true);
        // audit_events.id is a serial on PostgreSQL: the next event must not collide with a restored one.
        await handle.db.insertInto('audit_events').values({ at: Date.now(), actor: 'test', action: 'after.restore', outcome: 'success' }).execute();
      } finally {
        await handle.close();
      }

      const ctx = await openContext(loadConfig({ env: {}, flags: { databaseUrl: target.databaseUrl, dataDir: target.dataDir, logLevel: 'silent' } }), { logLevel: 'silent' });
      try {
        // The device CA: same certificate, and its restored key still signs for it.
        expect(ctx.ca.certificatePem).toBe(pop.server.ctx.ca.certificatePem);
        const sig = sign('sha256', Buffer.from('restored'), ctx.ca.privateKey);
        expect(verify('sha256', Buffer.from('restored'), new X509Certificate(ctx.ca.certificatePem).publicKey, sig)).toBe(true);
        expect(createPublicKey(ctx.ca.privateKey).export({ format: 'pem', type: 'spki' })).toBe(createPublicKey(pop.server.ctx.ca.privateKey).export({ format: 'pem', type: 'spki' }));
        // The bootstrap token opens with the restored key.
        const bt = await ctx.database.db.selectFrom('bootstrap_tokens').selectAll().executeTakeFirstOrThrow();
        expect(ctx.secrets.open(bt.token_enc).equals(BOOTSTRAP_TOKEN)).toBe(true);
        // The ABM server's OAuth secrets open, and a sync signed with them is accepted by the simulator.
        const abm = await ctx.database.db.selectFrom('abm_servers').selectAll().where('id', '=', pop.abmServerId).executeTakeFirstOrThrow();
        const original = await pop.server.ctx.database.db.selectFrom('abm_servers').select('tokens_enc').where('id', '=', pop.abmServerId).executeTakeFirstOrThrow();
        expect(ctx.secrets.openString(abm.tokens_enc!)).toContain('accessSecret');
        expect(ctx.secrets.openString(abm.tokens_enc!)).toBe(pop.server.ctx.secrets.openString(original.tokens_enc!));
        // An incremental sync from the restored cursor, signed with the restored OAuth secrets.
        pop.sim.addDevices(pop.appleServerUuid, 3);
        const sync = await ctx.abmSync.run(pop.abmServerId);
        expect(sync).toMatchObject({ kind: 'incremental', added: 3 });
      } finally {
        await ctx.close();
      }
    });

    it.skipIf(!postgresAvailable)('restores into the other database: the backup is portable', async () => {
      const target = await freshInstallation(kind === 'sqlite' ? 'postgres' : 'sqlite');
      await restoreBackup(target, archive, PASSPHRASE);
      const handle = openDatabase(target.databaseUrl);
      try {
        await expectSameRows(before, handle.db);
      } finally {
        await handle.close();
      }
    });

    it('refuses a wrong passphrase, a missing one, a tampered or truncated file, with one line each', async () => {
      const target = await freshInstallation();
      const refusal = async (file: Buffer, pass = PASSPHRASE) => {
        const e = await thrown(restoreBackup(target, file, pass));
        expect(e).toBeInstanceOf(BackupArchiveError);
        expect(e.message).not.toContain('\n');
        return e.message;
      };
      expect(await refusal(archive, 'not the passphrase')).toBe('wrong backup passphrase');
      expect(await refusal(archive, '')).toMatch(/passphrase must be at least 8 characters/);
      const tampered = Buffer.from(archive);
      tampered[tampered.length - 100] ^= 1;
      expect(await refusal(tampered)).toMatch(/altered or is damaged/);
      const headerEdit = Buffer.from(archive.toString('latin1').replace('"p":1', '"p":2'), 'latin1');
      expect(await refusal(headerEdit)).toMatch(/wrong backup passphrase|altered/);
      expect(await refusal(archive.subarray(0, archive.length - 20))).toMatch(/altered or is damaged/);
      expect(await refusal(archive.subarray(0, 30))).toMatch(/truncated|damaged/);
      expect(await refusal(Buffer.from('SQLite format 3\0'))).toBe('not a Pomona backup file');
      // Nothing was written by any of them.
      expect(existsSync(join(target.dataDir, 'secret.key'))).toBe(false);
    });

    it('refuses a target holding data or another key unless forced', async () => {
      const target = await freshInstallation();
      await restoreBackup(target, archive, PASSPHRASE);
      const again = await thrown(restoreBackup(target, archive, PASSPHRASE));
      expect(again).toBeInstanceOf(TargetNotEmptyError);
      expect(again.message).toMatch(/^target database is not empty \(.*\): use --force to replace it$/);
      await restoreBackup(target, archive, PASSPHRASE, { force: true });
      const handle = openDatabase(target.databaseUrl);
      try {
        await expectSameRows(before, handle.db);
      } finally {
        await handle.close();
      }

      const other = await freshInstallation();
      writeFileSync(join(other.dataDir, 'secret.key'), Buffer.alloc(32, 7).toString('base64') + '\n');
      expect((await thrown(restoreBackup(other, archive, PASSPHRASE))).message).toMatch(/secret\.key holds a different key: use --force to replace it$/);
      const configured = await thrown(restoreBackup({ ...other, secretKey: Buffer.alloc(32, 7).toString('base64') }, archive, PASSPHRASE, { force: true }));
      expect(configured.message).toMatch(/^POMONA_SECRET_KEY is not the backup's key/);
    });

    it('restores under a configured POMONA_SECRET_KEY equal to the backup\'s, writing no key file', async () => {
      const target = await freshInstallation();
      const secretKey = readFileSync(join(source.dataDir, 'secret.key'), 'utf8').trim();
      await restoreBackup({ ...target, secretKey }, archive, PASSPHRASE);
      expect(existsSync(join(target.dataDir, 'secret.key'))).toBe(false);
      const handle = openDatabase(target.databaseUrl);
      try {
        await expectSameRows(before, handle.db);
      } finally {
        await handle.close();
      }
    });

    it('refuses to back up with a key that does not open the database', async () => {
      const e = await thrown(createBackup({ ...source, secretKey: Buffer.alloc(32, 9).toString('base64') }, PASSPHRASE, { kdf }));
      expect(e.message).toMatch(/does not open the database's sealed secrets/);
    });
  });
});
