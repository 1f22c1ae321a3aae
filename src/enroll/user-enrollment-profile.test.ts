import { describe, expect, it } from 'vitest';
import { buildEnrollmentProfile } from '../apple/mobileconfig.js';
import { parsePlist, type PlistDict } from '../apple/plist.js';
import { EnrollmentProfileError, EnrollmentProfileService } from './profile-service.js';

const service = (topic: string | null = 'com.apple.mgmt.External.test') =>
  new EnrollmentProfileService({
    publicUrl: 'https://mdm.acme.example',
    organization: 'Acme',
    createChallenge: async () => 'one-time',
    currentTopic: async () => topic ?? undefined,
    render: (o) => buildEnrollmentProfile(o),
    sign: async (c) => Buffer.concat([Buffer.from('signed:'), c]),
  });

const payload = (p: PlistDict, type: string) => (p.PayloadContent as PlistDict[]).find((x) => x.PayloadType === type)!;

describe('the user enrollment profile', () => {
  it('assigns the Managed Apple Account in BYOD mode and checks in where the staging record is found', async () => {
    const { body, signed } = await service().buildUserEnrollment({ managedAppleId: 'ann@acme.example', checkInUrl: 'https://mdm.acme.example/mdm/checkin?pe=KEY', profileBased: false, signed: false });
    expect(signed).toBe(false);
    const p = parsePlist(body);
    expect(p).toMatchObject({ PayloadIdentifier: 'com.pomona.enrollment.user', PayloadDisplayName: 'Acme Work Account', PayloadScope: 'System' });
    const mdm = payload(p, 'com.apple.mdm');
    expect(mdm).toMatchObject({
      AssignedManagedAppleID: 'ann@acme.example', EnrollmentMode: 'BYOD', CheckInURL: 'https://mdm.acme.example/mdm/checkin?pe=KEY',
      ServerURL: 'https://mdm.acme.example/mdm/connect', Topic: 'com.apple.mgmt.External.test',
    });
    expect(mdm).not.toHaveProperty('AccessRights');
    expect(mdm).not.toHaveProperty('ManagedAppleID');
  });

  it('asks for nothing that identifies the hardware', async () => {
    const { body } = await service().buildUserEnrollment({ managedAppleId: 'ann@acme.example', checkInUrl: 'https://x.example/mdm/checkin', profileBased: true, signed: false });
    const text = body.toString();
    // No profile-service device attributes and no substitution variables (%SerialNumber%, %HardwareUUID%, %ComputerName%…).
    expect(text).not.toMatch(/%[A-Za-z]+%/);
    expect(text).not.toMatch(/DeviceAttributes|<string>UDID<\/string>|IMEI|SERIAL/);
    expect(payload(parsePlist(body), 'com.apple.security.scep').PayloadContent).toMatchObject({ Subject: [[['O', 'Acme']], [['CN', 'Acme User Enrollment']]], Challenge: 'one-time' });
  });

  it('is branded with the organization it is given', async () => {
    const { body } = await service().buildUserEnrollment({ managedAppleId: 'a@acme.example', checkInUrl: 'https://x.example/c', profileBased: false, signed: false, organization: 'Acme Lyon' });
    expect(parsePlist(body)).toMatchObject({ PayloadDisplayName: 'Acme Lyon Work Account', PayloadOrganization: 'Acme Lyon' });
  });

  it('carries the older ManagedAppleID key for profile-based enrollment', async () => {
    const { body } = await service().buildUserEnrollment({ managedAppleId: 'ann@acme.example', checkInUrl: 'https://x.example/mdm/checkin', profileBased: true, signed: false });
    expect(payload(parsePlist(body), 'com.apple.mdm')).toMatchObject({ ManagedAppleID: 'ann@acme.example', AssignedManagedAppleID: 'ann@acme.example', EnrollmentMode: 'BYOD' });
  });

  it('is signed when asked, and refused without a push certificate', async () => {
    const { body, signed } = await service().buildUserEnrollment({ managedAppleId: 'a@acme.example', checkInUrl: 'https://x.example/c', profileBased: false, signed: true });
    expect(signed).toBe(true);
    expect(body.subarray(0, 7).toString()).toBe('signed:');
    await expect(service(null).buildUserEnrollment({ managedAppleId: 'a@acme.example', checkInUrl: 'https://x.example/c', profileBased: false, signed: true })).rejects.toThrow(EnrollmentProfileError);
  });
});
