/**
 * Queries for the CA rows, one-time SCEP challenges and issued identity certificates.
 * Every statement runs unchanged on SQLite and PostgreSQL.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../db/database.js';
import { prepared } from '../db/prepared.js';
import type { Insertable, Selectable } from 'kysely';
import type { CertificateAuthorityTable, IdentityCertificateTable } from '../db/schema.js';

export type CertificateAuthorityRow = Selectable<CertificateAuthorityTable>;
export type IssuedCertificateRecord = Pick<Insertable<IdentityCertificateTable>, 'serial' | 'subject' | 'not_before' | 'not_after'> & { der: Buffer };

export class ScepStore {
  constructor(private readonly db: Db) {}

  async getAuthority(id: string): Promise<CertificateAuthorityRow | undefined> {
    const row = await this.db.selectFrom('certificate_authorities').selectAll().where('id', '=', id).executeTakeFirst();
    return row && { ...row, key_enc: Buffer.from(row.key_enc) };
  }

  /** Inserts the row unless one with that id exists (two nodes starting at once: the first wins). */
  async insertAuthorityIfAbsent(row: CertificateAuthorityRow): Promise<boolean> {
    const res = await this.db
      .insertInto('certificate_authorities')
      .values(row)
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Replaces the row only if it still holds `expectedCertPem`, so concurrent renewals keep one winner. */
  async replaceAuthority(row: CertificateAuthorityRow, expectedCertPem: string): Promise<boolean> {
    const res = await this.db
      .updateTable('certificate_authorities')
      .set({ cert_pem: row.cert_pem, key_enc: row.key_enc, not_after: row.not_after, created_at: row.created_at })
      .where('id', '=', row.id)
      .where('cert_pem', '=', expectedCertPem)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Writes the row whatever was there (a CA configured from PEM files is authoritative). */
  async saveAuthority(row: CertificateAuthorityRow): Promise<void> {
    await this.db
      .insertInto('certificate_authorities')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet({ cert_pem: row.cert_pem, key_enc: row.key_enc, not_after: row.not_after, created_at: row.created_at }))
      .execute();
  }

  async createChallenge(c: { hash: string; purpose: string; expiresAt: number; now: number }): Promise<void> {
    await insertChallenge(this.db, c.hash, c.purpose, c.expiresAt, c.now);
  }

  /** Marks the challenge used; true for exactly one caller, and only while it is unexpired. */
  async consumeChallenge(hash: string, now: number): Promise<boolean> {
    return consume(this.db, hash, now);
  }

  /**
   * Consumes the challenge (when `challengeHash` is given) and records the certificate in one
   * transaction: if the challenge is gone, nothing is written. Returns false in that case.
   */
  async recordIssued(cert: IssuedCertificateRecord, opts: { now: number; challengeHash?: string }): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      if (opts.challengeHash !== undefined && !(await consume(trx, opts.challengeHash, opts.now))) return false;
      await insertIssued(trx, createHash('sha256').update(cert.der).digest('hex'), cert.serial, cert.subject, cert.not_before, cert.not_after, cert.der, opts.now);
      return true;
    });
  }

  /** A certificate Pomona issued, by the SHA-256 (lower-case hex) of its DER. */
  async findIssued(sha256: string): Promise<{ sha256: string; not_after: number; enrollment_id: string | null } | undefined> {
    return this.db
      .selectFrom('identity_certificates')
      .select(['sha256', 'not_after', 'enrollment_id'])
      .where('sha256', '=', sha256)
      .where('issued_by_pomona', '=', 1)
      .executeTakeFirst();
  }
}

// Written at every enrollment (see src/db/prepared.ts).
const insertChallenge = prepared((db, hash: string, purpose: string, expiresAt: number, now: number) =>
  db.insertInto('scep_challenges').values({ hash, purpose, expires_at: expiresAt, used_at: null, created_at: now }),
);
const consumeChallenge = prepared((db, hash: string, now: number) =>
  db.updateTable('scep_challenges').set({ used_at: now }).where('hash', '=', hash).where('used_at', 'is', null).where('expires_at', '>', now),
);
const insertIssued = prepared((db, sha256: string, serial: string, subject: string, notBefore: number, notAfter: number, der: Buffer, now: number) =>
  db.insertInto('identity_certificates').values({
    sha256, enrollment_id: null, serial, subject, issued_by_pomona: 1, not_before: notBefore, not_after: notAfter, der, created_at: now, bound_at: null,
  }),
);

async function consume(db: Db, hash: string, now: number): Promise<boolean> {
  return Number((await consumeChallenge(db, hash, now)).numAffectedRows) === 1;
}
