/**
 * SCEP (RFC 8894) without HTTP: capabilities, the CA certificate, and PKIOperation, which
 * turns a device's PKCSReq into a signed identity certificate.
 *
 * Device input never makes this throw. Malformed or tampered messages get HTTP 400 and a
 * plain-text reason; well-formed requests we refuse (bad challenge, polling, a renewal not
 * signed by one of our identities) get a signed CertRep FAILURE with HTTP 403. In both cases
 * nothing is written; a one-time challenge is consumed only together with recording the
 * certificate it paid for.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { CertificateAuthority, IssuedCertificate } from './ca.js';
import { EnvelopeError } from './cms-envelope.js';
import { DerError } from './der.js';
import { FailInfo, MessageType, ScepMessageError, buildCertRep, openCertificationRequest, parsePkiMessage, type PkiMessage } from './scep-message.js';
import type { ScepStore } from './scep-store.js';
import { pooledRandomBytes } from './random.js';

export const CA_CAPABILITIES = ['POSTPKIOperation', 'SHA-256', 'SHA-1', 'AES', 'DES3', 'SCEPStandard', 'Renewal'];

export interface ScepServiceOptions {
  store: ScepStore;
  ca: CertificateAuthority;
  /** a shared challenge accepted alongside one-time ones (compared in constant time) */
  staticChallenge?: string;
  validityDays: number;
  now?: () => number;
  /** lifetime of one-time challenges (default one hour) */
  challengeTtlMs?: number;
}

export interface PkiOperationResult {
  status: 'issued' | 'rejected';
  httpStatus: number;
  contentType: 'application/x-pki-message' | 'text/plain';
  body: Buffer;
  /** why, for the log; never contains the challenge */
  reason: string;
  certificate?: IssuedCertificate;
}

const PKI = 'application/x-pki-message' as const;

export class ScepService {
  readonly #store: ScepStore;
  readonly #ca: CertificateAuthority;
  readonly #staticDigest?: Buffer;
  readonly #validityDays: number;
  readonly #now: () => number;
  readonly #challengeTtlMs: number;

  constructor(opts: ScepServiceOptions) {
    this.#store = opts.store;
    this.#ca = opts.ca;
    this.#staticDigest = opts.staticChallenge ? sha256(opts.staticChallenge) : undefined;
    this.#validityDays = opts.validityDays;
    this.#now = opts.now ?? Date.now;
    this.#challengeTtlMs = opts.challengeTtlMs ?? 60 * 60_000;
  }

  getCaCaps(): string {
    return CA_CAPABILITIES.join('\n');
  }

  getCaCert(): Buffer {
    return this.#ca.certificateDer;
  }

  /** A new one-time challenge for an enrollment profile; only its hash is stored. */
  async createChallenge(opts: { purpose?: string; ttlMs?: number } = {}): Promise<string> {
    const challenge = pooledRandomBytes(32).toString('base64url');
    const now = this.#now();
    await this.#store.createChallenge({
      hash: sha256(challenge).toString('hex'),
      purpose: opts.purpose ?? 'enrollment-profile',
      expiresAt: now + (opts.ttlMs ?? this.#challengeTtlMs),
      now,
    });
    return challenge;
  }

  async pkiOperation(der: Buffer): Promise<PkiOperationResult> {
    let msg: PkiMessage;
    try {
      msg = parsePkiMessage(der);
    } catch (err) {
      return malformed(err);
    }
    if (!msg.senderNonce) return malformed('senderNonce missing');
    if (msg.messageType === MessageType.CertPoll || msg.messageType === MessageType.GetCert) {
      return this.#refuse(msg, FailInfo.badCertID, `messageType ${msg.messageType} refused: certificates are issued at once, never pending`);
    }
    if (msg.messageType !== MessageType.PKCSReq && msg.messageType !== MessageType.RenewalReq) {
      return this.#refuse(msg, FailInfo.badRequest, `unsupported messageType ${msg.messageType}`);
    }
    let opened: ReturnType<typeof openCertificationRequest>;
    try {
      opened = openCertificationRequest(msg, this.#ca);
    } catch (err) {
      return malformed(err);
    }
    if (msg.signerPublicKey.asymmetricKeyType !== 'rsa') {
      return this.#refuse(msg, FailInfo.badAlg, 'the request signer key is not RSA: the reply cannot be encrypted to it');
    }
    try {
      return await this.#issue(msg, opened);
    } catch (err) {
      // Our side failed (database, for instance): the device should retry later, not give up.
      return { status: 'rejected', httpStatus: 503, contentType: 'text/plain', body: Buffer.from('temporarily unavailable\n'), reason: `internal error: ${errorText(err)}` };
    }
  }

  async #issue(msg: PkiMessage, { request, cipher }: ReturnType<typeof openCertificationRequest>): Promise<PkiOperationResult> {
    const now = this.#now();
    let challengeHash: string | undefined;
    if (msg.messageType === MessageType.RenewalReq) {
      const refusal = await this.#checkRenewal(msg, now);
      if (refusal) return this.#refuse(msg, FailInfo.badRequest, refusal);
    } else {
      const challenge = request.challengePassword;
      if (!challenge) return this.#refuse(msg, FailInfo.badRequest, 'the request has no challengePassword');
      if (!this.#isStaticChallenge(challenge)) challengeHash = sha256(challenge).toString('hex');
    }
    const cert = this.#ca.issue(request, { validityDays: this.#validityDays, now });
    const recorded = await this.#store.recordIssued(
      { der: cert.der, serial: cert.serialHex, subject: cert.subject, not_before: cert.notBefore, not_after: cert.notAfter },
      { now, challengeHash },
    );
    if (!recorded) return this.#refuse(msg, FailInfo.badRequest, 'challenge password unknown, expired or already used');
    const body = buildCertRep({ ca: this.#ca, request: msg, now, issued: { certificateDer: cert.der, cipher } });
    return {
      status: 'issued',
      httpStatus: 200,
      contentType: PKI,
      body,
      reason: `issued ${cert.serialHex} to ${cert.subject} (transaction ${msg.transactionId})`,
      certificate: cert,
    };
  }

  /** A RenewalReq must be signed by a current identity this CA issued and recorded. */
  async #checkRenewal(msg: PkiMessage, now: number): Promise<string | undefined> {
    if (!this.#ca.issuedByUs(msg.signerCertificateDer)) return 'RenewalReq not signed by a Pomona-issued identity';
    const known = await this.#store.findIssued(createHash('sha256').update(msg.signerCertificateDer).digest('hex'));
    if (!known) return 'RenewalReq signer certificate is not one Pomona recorded';
    if (known.not_after <= now) return 'RenewalReq signer certificate has expired';
    return undefined;
  }

  #isStaticChallenge(challenge: string): boolean {
    return !!this.#staticDigest && timingSafeEqual(sha256(challenge), this.#staticDigest);
  }

  #refuse(msg: PkiMessage, failInfo: number, reason: string): PkiOperationResult {
    try {
      const body = buildCertRep({ ca: this.#ca, request: msg, now: this.#now(), failInfo });
      return { status: 'rejected', httpStatus: 403, contentType: PKI, body, reason };
    } catch (err) {
      return malformed(`${reason}; and no CertRep could be built: ${errorText(err)}`);
    }
  }
}

/** 400 with the reason; errors we did not anticipate get a generic body (their text goes to the log only). */
function malformed(err: unknown): PkiOperationResult {
  const known = typeof err === 'string' || err instanceof ScepMessageError || err instanceof DerError || err instanceof EnvelopeError;
  const reason = typeof err === 'string' ? err : errorText(err);
  const text = known ? reason : 'malformed pkiMessage';
  return { status: 'rejected', httpStatus: 400, contentType: 'text/plain', body: Buffer.from(`${text}\n`), reason };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
