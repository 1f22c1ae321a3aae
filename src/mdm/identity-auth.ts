/**
 * Certificate-hash authorization of device requests: the identity certificate that signed
 * (Mdm-Signature) or presented (TLS) a request must be one Pomona issued — or one from a
 * CA the admin trusts for migrated devices — and bound to the enrollment the message names.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { CertificateBinding, CheckinStore } from './checkin-store.js';
import { refuse } from './device-refusal.js';

export interface PresentedCertificate {
  der: Buffer;
  sha256: string;
}

/**
 * What is remembered of a certificate once it is bound to an enrollment. These facts never
 * change afterwards: the hash, validity period and binding are written once (Authenticate
 * refuses to re-bind a certificate bound elsewhere, and nothing unbinds one), so every node
 * may keep them without asking the others. Whether the enrollment is still active is not
 * remembered: callers read that on every request.
 */
interface BoundCertificate {
  enrollmentId: string;
  notBefore: number;
  notAfter: number;
}

/** Bound certificates remembered per process (about 150 bytes each); beyond this the least recently seen go. */
export const BOUND_CERTIFICATE_CACHE_SIZE = 20_000;

export class IdentityAuth {
  readonly #bound = new Map<string, BoundCertificate>();

  constructor(
    private readonly store: CheckinStore,
    private readonly trustedCas: X509Certificate[] = [],
    private readonly now: () => number = Date.now,
    private readonly cacheSize = BOUND_CERTIFICATE_CACHE_SIZE,
  ) {}

  /** Finds the certificate Pomona knows under this hash, admitting external-CA ones on first sight. */
  async known(cert: PresentedCertificate): Promise<CertificateBinding> {
    let row = await this.store.findCertificate(cert.sha256);
    if (!row) {
      const x = this.trustedExternal(cert.der);
      if (!x) return refuse('bad-request', 'identity certificate was not issued by Pomona or a trusted CA');
      await this.store.insertExternalCertificate({
        sha256: cert.sha256, serial: x.serialNumber.toLowerCase(), subject: x.subject,
        not_before: Date.parse(x.validFrom), not_after: Date.parse(x.validTo), der: cert.der,
      });
      row = (await this.store.findCertificate(cert.sha256))!;
    }
    this.checkValidity(row.not_before, row.not_after);
    if (row.enrollment_id) this.remember(cert.sha256, { enrollmentId: row.enrollment_id, notBefore: row.not_before, notAfter: row.not_after });
    return row;
  }

  /** Authenticate may bind a certificate that is free, or already bound to this same enrollment. */
  async forAuthenticate(cert: PresentedCertificate, deviceEnrollmentId: string): Promise<void> {
    const row = await this.known(cert);
    if (row.enrollment_id && row.enrollment_id !== deviceEnrollmentId) {
      refuse('bad-request', `identity certificate is bound to another enrollment (${row.enrollment_id}); re-use refused`);
    }
  }

  /**
   * Every other message needs the certificate already bound to the device channel it names.
   * A certificate seen bound before is answered from memory (see BoundCertificate).
   */
  async forMessage(cert: PresentedCertificate, deviceEnrollmentId: string): Promise<void> {
    const hit = this.#bound.get(cert.sha256);
    if (hit) {
      this.#bound.delete(cert.sha256); // to the young end: the least recently seen go first
      this.#bound.set(cert.sha256, hit);
      this.checkValidity(hit.notBefore, hit.notAfter);
      if (hit.enrollmentId !== deviceEnrollmentId) refuse('bad-request', 'identity certificate belongs to another enrollment');
      return;
    }
    const row = await this.known(cert);
    if (row.enrollment_id !== deviceEnrollmentId) {
      refuse('bad-request', row.enrollment_id ? 'identity certificate belongs to another enrollment' : 'enrollment not associated with this identity certificate (no Authenticate seen)');
    }
  }

  private checkValidity(notBefore: number, notAfter: number): void {
    const now = this.now();
    if (notAfter < now || notBefore > now + 5 * 60_000) refuse('bad-request', 'identity certificate is outside its validity period');
  }

  private remember(sha256: string, facts: BoundCertificate): void {
    this.#bound.set(sha256, facts);
    if (this.#bound.size > this.cacheSize) this.#bound.delete(this.#bound.keys().next().value!);
  }

  private trustedExternal(der: Buffer): X509Certificate | undefined {
    if (this.trustedCas.length === 0) return undefined;
    let x: X509Certificate;
    try {
      x = new X509Certificate(der);
    } catch {
      return undefined;
    }
    return this.trustedCas.some((ca) => x.checkIssued(ca) && x.verify(ca.publicKey)) ? x : undefined;
  }
}

export function sha256Hex(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** Splits a PEM bundle into X509Certificate objects (for the trusted-CA option). */
export function certificatesFromPem(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
}
