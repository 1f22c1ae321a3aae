/**
 * The manual enrollment profile: a SCEP payload with a fresh one-time challenge and the
 * com.apple.mdm payload pointing at this server, CMS-signed unless asked otherwise.
 */
export interface EnrollmentProfileOptions {
  publicUrl: string;
  scepUrl: string;
  checkInUrl: string;
  serverUrl: string;
  topic: string;
  challenge: string;
  organization: string;
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

  async build(opts: { signed: boolean }): Promise<{ body: Buffer; signed: boolean }> {
    const topic = await this.deps.currentTopic();
    if (!topic) throw new EnrollmentProfileError('no push certificate yet: import one first (pomona pushcert import, or POST /api/v1/push-certificate)');
    const base = this.deps.publicUrl;
    const xml = this.deps.render({
      publicUrl: base,
      scepUrl: `${base}/scep`,
      checkInUrl: `${base}/mdm/checkin`,
      serverUrl: `${base}/mdm/connect`,
      topic,
      challenge: await this.deps.createChallenge(),
      organization: this.deps.organization ?? 'Pomona',
    });
    const content = Buffer.from(xml, 'utf8');
    return opts.signed ? { body: await this.deps.sign(content), signed: true } : { body: content, signed: false };
  }
}
