/**
 * The manual enrollment profile: a SCEP payload with a fresh one-time challenge and the
 * com.apple.mdm payload pointing at this server, CMS-signed unless asked otherwise.
 */
import { checkInUrl } from './pending-enrollment-service.js';

export interface EnrollmentProfileOptions {
  publicUrl: string;
  scepUrl: string;
  checkInUrl: string;
  serverUrl: string;
  topic: string;
  challenge: string;
  organization: string;
  /** user enrollment (BYOD) — see buildUserEnrollment; the names are the renderer's (src/apple/mobileconfig.ts) */
  assignedManagedAppleId?: string;
  managedAppleId?: string;
  enrollmentMode?: 'BYOD';
  identifier?: string;
  displayName?: string;
  description?: string;
  subject?: Array<Array<[string, string]>>;
}

export interface EnrollmentProfileDeps {
  publicUrl: string;
  organization?: string;
  createChallenge: () => Promise<string>;
  currentTopic: () => Promise<string | undefined>;
  render: (opts: EnrollmentProfileOptions) => string;
  sign: (content: Buffer) => Promise<Buffer>;
}

export class EnrollmentProfileError extends Error {}

export class EnrollmentProfileService {
  constructor(private readonly deps: EnrollmentProfileDeps) {}

  /**
   * `checkInKey` (from PendingEnrollmentService.profileIssued) goes into the CheckInURL, so the
   * device's first Authenticate names the staging record it enrolls for.
   *
   * Why the CheckInURL and not the SCEP challenge: the challenge is spent at SCEP, before the
   * device has an identity, and carrying it on to the Authenticate would mean writing it into
   * the certificate binding for every enrollment; the CheckInURL comes with the Authenticate
   * itself (Apple keeps its query; NanoCMD relies on that too), so the check-in path costs one
   * indexed read only when a key is present. The key is random, is not the record id shown in
   * the browser, is stored hashed, and is claimed once; the challenge beside it is one-time
   * too, so a copied or replayed profile cannot enroll a second device into the record, and a
   * tampered key matches no record.
   */
  async build(opts: { signed: boolean; checkInKey?: string; organization?: string }): Promise<{ body: Buffer; signed: boolean }> {
    const topic = await this.deps.currentTopic();
    if (!topic) throw new EnrollmentProfileError('no push certificate yet: import one first (pomona pushcert import, or POST /api/v1/push-certificate)');
    const base = this.deps.publicUrl;
    const xml = this.deps.render({
      publicUrl: base,
      scepUrl: `${base}/scep`,
      checkInUrl: opts.checkInKey ? checkInUrl(`${base}/mdm/checkin`, opts.checkInKey) : `${base}/mdm/checkin`,
      serverUrl: `${base}/mdm/connect`,
      topic,
      challenge: await this.deps.createChallenge(),
      organization: opts.organization ?? this.deps.organization ?? 'Pomona',
    });
    const content = Buffer.from(xml, 'utf8');
    return opts.signed ? { body: await this.deps.sign(content), signed: true } : { body: content, signed: false };
  }

  /**
   * A user enrollment (BYOD) profile: the MDM payload assigns the user's Managed Apple Account
   * with EnrollmentMode BYOD (and, for profile-based enrollment on iOS 13–17 / macOS 10.15–14,
   * the older ManagedAppleID key), checks in at `checkInUrl` (which lets the first check-in find
   * its staging record), and asks for nothing that identifies the hardware: no access rights
   * (fixed for user enrollments) and no device variables in the certificate subject.
   */
  async buildUserEnrollment(opts: { managedAppleId: string; checkInUrl: string; profileBased: boolean; signed: boolean; organization?: string }): Promise<{ body: Buffer; signed: boolean }> {
    const topic = await this.deps.currentTopic();
    if (!topic) throw new EnrollmentProfileError('no push certificate yet: import one first (pomona pushcert import, or POST /api/v1/push-certificate)');
    const base = this.deps.publicUrl;
    const organization = opts.organization ?? this.deps.organization ?? 'Pomona';
    const xml = this.deps.render({
      publicUrl: base,
      scepUrl: `${base}/scep`,
      checkInUrl: opts.checkInUrl,
      serverUrl: `${base}/mdm/connect`,
      topic,
      challenge: await this.deps.createChallenge(),
      organization,
      assignedManagedAppleId: opts.managedAppleId,
      enrollmentMode: 'BYOD',
      ...(opts.profileBased ? { managedAppleId: opts.managedAppleId } : {}),
      identifier: 'com.pomona.enrollment.user',
      displayName: `${organization} Work Account`,
      description: `Manages ${organization}'s apps and data on this device, kept apart from your own. ${organization} cannot see your personal data or identify the device's hardware.`,
      subject: [[['O', organization]], [['CN', `${organization} User Enrollment`]]],
    });
    const content = Buffer.from(xml, 'utf8');
    return opts.signed ? { body: await this.deps.sign(content), signed: true } : { body: content, signed: false };
  }
}
