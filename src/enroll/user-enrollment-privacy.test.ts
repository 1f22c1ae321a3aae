import { describe, expect, it } from 'vitest';
import { isUserEnrollmentMessage, withoutPersistentIdentifiers } from './user-enrollment-privacy.js';

describe('user enrollment privacy', () => {
  it('knows a user enrollment by its EnrollmentID', () => {
    expect(isUserEnrollmentMessage({ EnrollmentID: 'E-1' })).toBe(true);
    expect(isUserEnrollmentMessage({ UDID: 'U-1' })).toBe(false);
    expect(isUserEnrollmentMessage({ EnrollmentID: '' })).toBe(false);
  });

  it('drops every persistent identifier, at the top and in QueryResponses, and keys the message by EnrollmentID', () => {
    const { raw, dropped, identity } = withoutPersistentIdentifiers({
      MessageType: 'Authenticate', EnrollmentID: 'E-1', UDID: 'U-1', SerialNumber: 'S-1', IMEI: '35 1', MEID: 'M', Topic: 't', OSVersion: '18.1',
      QueryResponses: { SerialNumber: 'S-1', WiFiMAC: 'aa:bb', OSVersion: '18.1', ServiceSubscriptions: [{ IMEI: 'x' }] },
    });
    expect(raw).toEqual({ MessageType: 'Authenticate', EnrollmentID: 'E-1', Topic: 't', OSVersion: '18.1', QueryResponses: { OSVersion: '18.1' } });
    expect(dropped).toEqual(['UDID', 'SerialNumber', 'IMEI', 'MEID', 'QueryResponses.SerialNumber', 'QueryResponses.WiFiMAC', 'QueryResponses.ServiceSubscriptions']);
    expect(identity).toEqual({ deviceId: 'E-1', enrollmentId: 'E-1', channel: 'device', type: 'User Enrollment (Device)' });
  });

  it('keeps the user channel of a user enrollment', () => {
    const { identity, dropped } = withoutPersistentIdentifiers({ EnrollmentID: 'E-1', EnrollmentUserID: 'EU-1', Status: 'Idle' });
    expect(dropped).toEqual([]);
    expect(identity).toMatchObject({ deviceId: 'E-1', enrollmentId: 'E-1:EU-1', channel: 'user', type: 'User Enrollment' });
  });
});
