/** Queries for push certificates (Kysely only). The private key is sealed at rest with SecretBox. */
import type { Db } from '../../db/database.js';
import { prepared } from '../../db/prepared.js';
import type { PushCertificate as PushCertificateRow } from '../../db/schema.js';
import type { SecretBox } from '../../pki/secret-box.js';

/** A push certificate as stored, without its key. Times are epoch ms. */
export interface StoredPushCert {
  topic: string;
  certPem: string;
  subject: string;
  notBefore: number;
  notAfter: number;
  createdAt: number;
  updatedAt: number;
}

export interface StoredPushCertWithKey extends StoredPushCert {
  keyPem: string;
}

export type NewPushCert = Omit<StoredPushCertWithKey, 'createdAt' | 'updatedAt'>;

export class PushCertStore {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretBox,
  ) {}

  /** Inserts the certificate of a new topic, or replaces (renews) the one of a known topic. */
  async upsert(cert: NewPushCert, now: number): Promise<void> {
    const values = {
      cert_pem: cert.certPem,
      key_enc: this.secrets.seal(cert.keyPem),
      subject: cert.subject,
      not_before: cert.notBefore,
      not_after: cert.notAfter,
      updated_at: now,
    };
    await this.db
      .insertInto('push_certificates')
      .values({ topic: cert.topic, created_at: now, ...values })
      .onConflict((oc) => oc.column('topic').doUpdateSet(values))
      .execute();
  }

  /** The certificate in use: the one imported or renewed last. */
  async current(): Promise<StoredPushCert | undefined> {
    const row = await this.db
      .selectFrom('push_certificates')
      .selectAll()
      .orderBy('updated_at', 'desc')
      .orderBy('topic')
      .limit(1)
      .executeTakeFirst();
    return row && toStored(row);
  }

  /** The topic of the certificate in use, alone: every enrollment profile names it. */
  async currentTopic(): Promise<string | undefined> {
    return (await currentTopic(this.db)).rows[0]?.topic;
  }

  async byTopic(topic: string): Promise<StoredPushCert | undefined> {
    const row = await this.db.selectFrom('push_certificates').selectAll().where('topic', '=', topic).executeTakeFirst();
    return row && toStored(row);
  }

  /** With the key opened, for the APNs client; never for display. */
  async withKey(topic: string): Promise<StoredPushCertWithKey | undefined> {
    const row = await this.db.selectFrom('push_certificates').selectAll().where('topic', '=', topic).executeTakeFirst();
    return row && { ...toStored(row), keyPem: this.secrets.openString(row.key_enc) };
  }

  async list(): Promise<StoredPushCert[]> {
    const rows = await this.db.selectFrom('push_certificates').selectAll().orderBy('updated_at', 'desc').orderBy('topic').execute();
    return rows.map(toStored);
  }
}

// Read while building every enrollment profile (see src/db/prepared.ts).
const currentTopic = prepared((db) => db.selectFrom('push_certificates').select('topic').orderBy('updated_at', 'desc').orderBy('topic').limit(1));

function toStored(row: PushCertificateRow): StoredPushCert {
  return {
    topic: row.topic,
    certPem: row.cert_pem,
    subject: row.subject,
    notBefore: row.not_before,
    notAfter: row.not_after,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
