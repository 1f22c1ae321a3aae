/**
 * The APNs push certificate: import (and renewal), status for the console and CLI, and the
 * credentials the APNs client presents. Several topics may be stored: devices enrolled under
 * an older topic keep being pushed with its certificate until they re-enroll.
 */
import { parsePushCertificate, type PushCertificateInput } from '../../apple/push-certificate.js';
import type { ApnsCredentials } from './apns-client.js';
import { RecentReads } from '../../db/recent-reads.js';
import type { PushCertStore, StoredPushCert } from './pushcert-store.js';

const DAY = 86_400_000;

export type PushCertImport =
  | { pkcs12: Uint8Array; password?: string }
  | { certPem: string; keyPem?: string; password?: string };

export interface PushCertImportOptions {
  /** replace the current certificate even though its topic differs (every device must re-enroll) */
  force?: boolean;
  /** store a certificate that has already expired */
  allowExpired?: boolean;
}

export interface PushCertStatus {
  topic: string;
  subject: string;
  notBefore: number;
  notAfter: number;
  /** whole days left; negative once expired */
  expiresInDays: number;
  expired: boolean;
}

/** Refused imports that `force` would allow. */
export class PushCertReplaceError extends Error {
  constructor(
    readonly code: 'topic-changed' | 'older-certificate',
    message: string,
  ) {
    super(message);
    this.name = 'PushCertReplaceError';
  }
}

export class PushCertService {
  readonly #now: () => number;
  /** the current topic, named by every enrollment profile (another node's import shows within recentReadsMs) */
  readonly #recent: RecentReads;

  constructor(
    private readonly store: PushCertStore,
    opts: { now?: () => number; recentReadsMs?: number } = {},
  ) {
    this.#now = opts.now ?? Date.now;
    this.#recent = new RecentReads(opts.recentReadsMs ?? 1000);
  }

  /** Validates and stores a certificate with its key; throws PushCertificateError or PushCertReplaceError. */
  async import(input: PushCertImport, opts: PushCertImportOptions = {}): Promise<PushCertStatus> {
    const now = this.#now();
    const source: PushCertificateInput =
      'pkcs12' in input ? { cert: input.pkcs12, password: input.password } : { cert: input.certPem, key: input.keyPem, password: input.password };
    const cert = parsePushCertificate(source, { allowExpired: opts.allowExpired, now });
    const current = await this.store.current();
    if (current && current.topic !== cert.topic && !opts.force) {
      throw new PushCertReplaceError(
        'topic-changed',
        `this certificate's topic (${cert.topic}) differs from the current one (${current.topic}): every enrolled device ` +
          'would have to re-enroll. Renew the existing certificate in the Apple Push Certificates Portal with the same ' +
          'Apple ID to keep the topic, or import with force to replace it anyway.',
      );
    }
    const same = current?.topic === cert.topic ? current : await this.store.byTopic(cert.topic);
    if (same && cert.notAfter < same.notAfter && !opts.force) {
      throw new PushCertReplaceError(
        'older-certificate',
        `the stored certificate for ${cert.topic} is valid until ${iso(same.notAfter)} but this one only until ` +
          `${iso(cert.notAfter)}: it looks like the one it replaced. Import with force to use it anyway.`,
      );
    }
    await this.store.upsert(cert, now);
    this.#recent.clear();
    return this.#status(cert, now);
  }

  /** The current certificate (or the one for `topic`), or undefined when none is stored. */
  async status(topic?: string): Promise<PushCertStatus | undefined> {
    const cert = topic === undefined ? await this.store.current() : await this.store.byTopic(topic);
    return cert && this.#status(cert, this.#now());
  }

  /** The topic enrollment profiles name: that of the current certificate (see status), undefined when none is stored. */
  currentTopic(): Promise<string | undefined> {
    return this.#recent.read('topic', () => this.store.currentTopic());
  }

  async list(): Promise<PushCertStatus[]> {
    const now = this.#now();
    return (await this.store.list()).map((c) => this.#status(c, now));
  }

  /** Certificate and key for the APNs client, or undefined when no certificate has this topic. */
  async getCredentials(topic: string): Promise<ApnsCredentials | undefined> {
    const cert = await this.store.withKey(topic);
    return cert && { topic: cert.topic, certPem: cert.certPem, keyPem: cert.keyPem };
  }

  #status(c: Pick<StoredPushCert, 'topic' | 'subject' | 'notBefore' | 'notAfter'>, now: number): PushCertStatus {
    return {
      topic: c.topic,
      subject: c.subject,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      expiresInDays: Math.floor((c.notAfter - now) / DAY),
      expired: c.notAfter <= now,
    };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
