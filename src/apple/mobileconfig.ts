/**
 * The enrollment profile (.mobileconfig): a SCEP payload for the device identity and the
 * com.apple.mdm payload that uses it. Pure: returns the XML plist.
 */
import { randomUUID } from 'node:crypto';
import { buildPlist } from './plist.js';

export interface EnrollmentProfileInput {
  scepUrl: string;
  checkInUrl: string;
  serverUrl: string;
  topic: string;
  challenge: string;
  organization: string;
  keySize?: 1024 | 2048 | 4096;
  identifier?: string;
  useDevelopmentApns?: boolean;
}

export class MobileconfigError extends Error {
  override name = 'MobileconfigError';
}

const CAPABILITIES = ['com.apple.mdm.per-user-connections', 'com.apple.mdm.bootstraptoken', 'com.apple.mdm.token'];

export function buildEnrollmentProfile(o: EnrollmentProfileInput): string {
  for (const [k, v] of Object.entries({ scepUrl: o.scepUrl, checkInUrl: o.checkInUrl, serverUrl: o.serverUrl })) {
    if (!/^https?:\/\/[^\s/]+/.test(v)) throw new MobileconfigError(`${k} must be an http(s) URL`);
  }
  if (!o.topic.startsWith('com.apple.mgmt.')) throw new MobileconfigError('the topic must start with com.apple.mgmt.');
  const keySize = o.keySize ?? 2048;
  if (![1024, 2048, 4096].includes(keySize)) throw new MobileconfigError('Keysize must be 1024, 2048 or 4096');
  const id = o.identifier ?? 'com.pomona.enrollment';
  const scepUuid = randomUUID().toUpperCase();
  return buildPlist({
    PayloadContent: [
      {
        PayloadContent: {
          URL: o.scepUrl,
          Name: 'Pomona Device CA',
          Subject: [[['O', o.organization]], [['CN', 'Pomona Identity (%ComputerName%)']]],
          Challenge: o.challenge,
          Keysize: keySize,
          'Key Type': 'RSA',
          'Key Usage': 5,
        },
        PayloadDescription: 'Device identity for MDM',
        PayloadDisplayName: 'Device Identity',
        PayloadIdentifier: `${id}.scep`,
        PayloadType: 'com.apple.security.scep',
        PayloadUUID: scepUuid,
        PayloadVersion: 1,
      },
      {
        AccessRights: 8191,
        CheckInURL: o.checkInUrl,
        CheckOutWhenRemoved: true,
        IdentityCertificateUUID: scepUuid,
        PayloadDescription: 'Enrolls this device in device management',
        PayloadDisplayName: 'Device Management',
        PayloadIdentifier: `${id}.mdm`,
        PayloadType: 'com.apple.mdm',
        PayloadUUID: randomUUID().toUpperCase(),
        PayloadVersion: 1,
        ServerCapabilities: CAPABILITIES,
        ServerURL: o.serverUrl,
        SignMessage: true,
        Topic: o.topic,
        ...(o.useDevelopmentApns ? { UseDevelopmentAPNS: true } : {}),
      },
    ],
    PayloadDisplayName: `${o.organization} Enrollment`,
    PayloadDescription: 'Installs the device management profile',
    PayloadIdentifier: id,
    PayloadOrganization: o.organization,
    PayloadScope: 'System',
    PayloadType: 'Configuration',
    PayloadUUID: randomUUID().toUpperCase(),
    PayloadVersion: 1,
  });
}
