import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CheckinError, enrollmentIdentity, parseCheckin, parseCommandReport, SHARED_IPAD_USER_ID } from './checkin-message.js';
import { parsePlist, PlistError, type PlistDict, type PlistValue } from './plist.js';
import { thrownMessage } from '../../test/support/thrown.js';

const FIXTURES = new URL('../../test/fixtures/apple/', import.meta.url);
const load = (path: string) => parsePlist(readFileSync(new URL(path, FIXTURES)));

const reason = (fn: () => unknown): string => thrownMessage(fn, CheckinError);

const UDID = '9947C31C-6239-470B-BC75-578624740FF9';
const device = { deviceId: UDID, enrollmentId: UDID, channel: 'device', type: 'Device' };

describe('parseCheckin on recorded messages', () => {
  it('Authenticate from an iPad (40-hex UDID)', () => {
    const m = parseCheckin(load('mdm-samples/checkin/Authenticate.1.plist'));
    expect(m.messageType).toBe('Authenticate');
    if (m.messageType !== 'Authenticate') return;
    expect(m.identity).toEqual({ deviceId: '663b07bb783e9ade1dae4fbb92ea12afc0ce5b69', enrollmentId: '663b07bb783e9ade1dae4fbb92ea12afc0ce5b69', channel: 'device', type: 'Device' });
    expect(m).toMatchObject({ topic: 'com.apple.mgmt.External.e0bd1eac-1f17-4c8e-8a63-dd17d3dd35d9', serialNumber: 'F5JM992LF193', productName: 'iPad2,5', osVersion: '9.3.5', buildVersion: '13G36' });
  });

  it('Authenticate from a Mac with a Challenge data key', () => {
    const m = parseCheckin(load('mdm-samples/checkin/Authenticate.2.plist'));
    expect(m).toMatchObject({ messageType: 'Authenticate', deviceName: 'Fruit', model: 'iMac14,2', modelName: 'iMac' });
    expect(m.raw.Challenge).toEqual(Buffer.from('apple'));
  });

  it('TokenUpdate with an UnlockToken, and a macOS one', () => {
    const m = parseCheckin(load('mdm-samples/checkin/TokenUpdate.1.plist'));
    if (m.messageType !== 'TokenUpdate') throw new Error(m.messageType);
    expect(m.token).toHaveLength(32);
    expect(m.pushMagic).toBe('CEFDF0BD-E342-4A27-8742-E930EA116B0A');
    expect(m.unlockToken!.length).toBeGreaterThan(1000);
    expect(m.awaitingConfiguration).toBe(false);
    expect(parseCheckin(load('mdm-samples/checkin/TokenUpdate.2.plist'))).toMatchObject({ messageType: 'TokenUpdate', unlockToken: undefined });
  });

  it('the mdmb session: Authenticate and TokenUpdate', () => {
    expect(parseCheckin(load('third-party-client-session/mdm/01-Authenticate.request.plist'))).toMatchObject({
      messageType: 'Authenticate', identity: device, deviceName: "NPQWVPKAW5YT's Computer", serialNumber: 'NPQWVPKAW5YT', topic: 'com.apple.mgmt.External.e2e-test',
    });
    expect(parseCheckin(load('third-party-client-session/mdm/02-TokenUpdate.request.plist'))).toMatchObject({
      messageType: 'TokenUpdate', identity: device, token: Buffer.from('fakeToken'), pushMagic: 'fakePushMagic', awaitingConfiguration: false,
    });
  });
});

describe('parseCheckin message types', () => {
  const base = { UDID, Topic: 'com.apple.mgmt.External.x' };
  it.each<[string, PlistDict, Record<string, unknown>]>([
    ['CheckOut', { MessageType: 'CheckOut', ...base }, { topic: base.Topic }],
    ['SetBootstrapToken', { MessageType: 'SetBootstrapToken', UDID, BootstrapToken: Buffer.from('bt'), AwaitingConfiguration: true }, { bootstrapToken: Buffer.from('bt'), awaitingConfiguration: true }],
    ['SetBootstrapToken (delete)', { MessageType: 'SetBootstrapToken', UDID }, { bootstrapToken: undefined, awaitingConfiguration: false }],
    ['GetBootstrapToken', { MessageType: 'GetBootstrapToken', UDID, AwaitingConfiguration: false }, { awaitingConfiguration: false }],
    ['UserAuthenticate', { MessageType: 'UserAuthenticate', UDID, UserID: 'A1B2', UserShortName: 'ann', DigestResponse: 'x' }, { digestResponse: 'x' }],
    ['DeclarativeManagement', { MessageType: 'DeclarativeManagement', UDID, Endpoint: 'status', Data: Buffer.from('{}') }, { endpoint: 'status', data: Buffer.from('{}') }],
    ['GetToken', { MessageType: 'GetToken', UDID, TokenServiceType: 'com.apple.maid', TokenParameters: { PhoneUDID: 'x' } }, { tokenServiceType: 'com.apple.maid', tokenParameters: { PhoneUDID: 'x' } }],
    ['ReturnToService', { MessageType: 'ReturnToService', UDID }, {}],
  ])('%s', (_name, dict, expected) => {
    const m = parseCheckin(dict);
    expect(m.messageType).toBe(dict.MessageType);
    expect(m).toMatchObject(expected);
    expect(m.raw).toBe(dict);
  });

  it('refuses unknown and missing MessageType', () => {
    expect(reason(() => parseCheckin({ MessageType: 'Bogus', UDID }))).toBe('unknown MessageType "Bogus"');
    expect(reason(() => parseCheckin({ UDID }))).toBe('MessageType missing');
  });

  it('refuses device-channel messages on a user channel', () => {
    for (const t of ['Authenticate', 'SetBootstrapToken', 'GetBootstrapToken', 'ReturnToService']) {
      expect(reason(() => parseCheckin({ MessageType: t, ...base, UserID: 'AB12' }))).toBe(`${t} is only valid on the device channel`);
    }
    expect(reason(() => parseCheckin({ MessageType: 'UserAuthenticate', UDID }))).toBe('UserAuthenticate needs a UserID');
  });
});

describe('enrollment identity', () => {
  it.each<[string, PlistDict, Record<string, unknown>]>([
    ['device', { UDID }, device],
    ['macOS user channel', { UDID, UserID: 'B2C3-D4', UserShortName: 'ann', UserLongName: 'Ann Example' }, { deviceId: UDID, enrollmentId: `${UDID}:B2C3-D4`, channel: 'user', type: 'User', userId: 'B2C3-D4', userShortName: 'ann', userLongName: 'Ann Example' }],
    ['Shared iPad user', { UDID, UserID: SHARED_IPAD_USER_ID, UserShortName: 'ann@example.com' }, { deviceId: UDID, enrollmentId: `${UDID}:ann@example.com`, channel: 'user', type: 'Shared iPad' }],
    ['User Enrollment device channel', { EnrollmentID: 'E1' }, { deviceId: 'E1', enrollmentId: 'E1', channel: 'device', type: 'User Enrollment (Device)' }],
    ['User Enrollment user channel', { EnrollmentID: 'E1', EnrollmentUserID: 'U1' }, { deviceId: 'E1', enrollmentId: 'E1:U1', channel: 'user', type: 'User Enrollment', enrollmentUserId: 'U1' }],
    ['UDID wins over EnrollmentID', { UDID, EnrollmentID: 'E1' }, device],
  ])('%s', (_name, dict, expected) => {
    expect(enrollmentIdentity(dict)).toMatchObject(expected);
  });

  it.each<[PlistDict, string]>([
    [{}, 'UDID or EnrollmentID missing'],
    [{ UDID: '' }, 'UDID is not a valid identifier'],
    [{ UDID: 'a b' }, 'UDID is not a valid identifier'],
    [{ UDID: 'x:y' }, 'UDID is not a valid identifier'],
    [{ UDID: 'A'.repeat(129) }, 'UDID is not a valid identifier'],
    [{ UDID: 42 }, 'UDID must be a string'],
    [{ UDID: Buffer.from('x') }, 'UDID must be a string'],
    [{ EnrollmentID: ['x'] }, 'EnrollmentID must be a string'],
    [{ UDID, UserID: SHARED_IPAD_USER_ID }, 'UserShortName missing for a Shared iPad user'],
    [{ UDID, UserID: 'u', UserShortName: 'a\nb' }, 'UserShortName contains control characters'],
    [{ UDID, UserID: 'u', UserLongName: 5 }, 'UserLongName must be a string'],
  ])('refuses %o', (dict, message) => {
    expect(reason(() => enrollmentIdentity(dict))).toBe(message);
  });
});

describe('parseCheckin field types', () => {
  const tu: PlistDict = { MessageType: 'TokenUpdate', UDID, Topic: 'com.apple.mgmt.x', Token: Buffer.alloc(32, 1), PushMagic: 'pm' };
  it.each<[string, PlistValue | undefined, string]>([
    ['Token', 'abc', 'Token must be data'],
    ['Token', undefined, 'Token missing'],
    ['Token', Buffer.alloc(0), 'Token has an implausible length'],
    ['PushMagic', Buffer.from('x'), 'PushMagic must be a string'],
    ['PushMagic', '', 'PushMagic is empty'],
    ['Topic', 7, 'Topic must be a string'],
    ['Topic', undefined, 'Topic missing'],
    ['UnlockToken', 'x', 'UnlockToken must be data'],
    ['AwaitingConfiguration', 'true', 'AwaitingConfiguration must be a boolean'],
    ['MessageType', 1, 'MessageType must be a string'],
  ])('TokenUpdate with %s = %o', (key, value, message) => {
    const dict: PlistDict = { ...tu };
    if (value === undefined) delete dict[key];
    else dict[key] = value;
    expect(reason(() => parseCheckin(dict))).toBe(message);
  });

  it('other messages', () => {
    expect(reason(() => parseCheckin({ MessageType: 'Authenticate', UDID }))).toBe('Topic missing');
    expect(reason(() => parseCheckin({ MessageType: 'Authenticate', UDID, Topic: 't', SerialNumber: 5 }))).toBe('SerialNumber must be a string');
    expect(reason(() => parseCheckin({ MessageType: 'Authenticate', UDID, Topic: 't', Challenge: 'x' }))).toBe('Challenge must be data');
    expect(reason(() => parseCheckin({ MessageType: 'SetBootstrapToken', UDID, BootstrapToken: 'x' }))).toBe('BootstrapToken must be data');
    expect(reason(() => parseCheckin({ MessageType: 'DeclarativeManagement', UDID }))).toBe('Endpoint missing');
    expect(reason(() => parseCheckin({ MessageType: 'DeclarativeManagement', UDID, Endpoint: 'status', Data: 'e30=' }))).toBe('Data must be data');
    expect(reason(() => parseCheckin({ MessageType: 'GetToken', UDID, TokenServiceType: 'x', TokenParameters: [] }))).toBe('TokenParameters must be a dictionary');
    expect(reason(() => parseCheckin({ MessageType: 'GetToken', UDID }))).toBe('TokenServiceType missing');
  });
});

describe('parseCommandReport', () => {
  it('Idle and results from the mdmb session', () => {
    expect(parseCommandReport(load('third-party-client-session/mdm/03-Idle.request.plist'))).toMatchObject({ status: 'Idle', commandUuid: undefined, identity: device });
    expect(parseCommandReport(load('third-party-client-session/mdm/04-DeviceInformation-Acknowledged.request.plist'))).toMatchObject({
      status: 'Acknowledged', commandUuid: 'cf1fa0f3-057f-42e9-a11a-87e741a479da', requestType: 'DeviceInformation', identity: device,
    });
    expect(parseCommandReport(load('third-party-client-session/mdm/05-ProfileList-Acknowledged.request.plist')).status).toBe('Acknowledged');
    const err = parseCommandReport(load('third-party-client-session/mdm/06-DeviceConfigured-Error.request.plist'));
    expect(err).toMatchObject({ status: 'Error', requestType: 'DeviceConfigured' });
    expect(err.errorChain).toEqual([{ errorCode: 12021, errorDomain: 'MCMDMErrorDomain', localizedDescription: 'Unknown command: DeviceConfigured <MDMClientError:91>', usEnglishDescription: undefined }]);
  });

  it.each(['DeviceInformation.1', 'devinfo-engine', 'devinfo-inventory', 'secinfo', 'certlist', 'resp-ack', 'resp-error'])('command-results/%s.plist', (name) => {
    const dict = load(`mdm-samples/command-results/${name}.plist`);
    const r = parseCommandReport(dict);
    expect(r.status).toBe(dict.Status);
    expect(r.commandUuid).toBe(dict.CommandUUID);
    expect(r.identity.channel).toBe('device');
    expect(r.raw).toBe(dict);
  });

  it('the NSOSStatusErrorDomain error chain', () => {
    expect(parseCommandReport(load('mdm-samples/command-results/resp-error.plist')).errorChain).toEqual([
      { errorCode: -909, errorDomain: 'NSOSStatusErrorDomain', localizedDescription: ' <NSOSStatusErrorDomain:-909>', usEnglishDescription: undefined },
    ]);
  });

  it('NotNow and CommandFormatError on a user channel', () => {
    expect(parseCommandReport({ Status: 'NotNow', CommandUUID: 'c1', UDID, UserID: 'U9' })).toMatchObject({ status: 'NotNow', identity: { enrollmentId: `${UDID}:U9`, channel: 'user' } });
    expect(parseCommandReport({ Status: 'CommandFormatError', CommandUUID: 'c1', EnrollmentID: 'E1' }).identity.type).toBe('User Enrollment (Device)');
  });

  it.each<[PlistDict, string]>([
    [{ UDID }, 'Status missing'],
    [{ Status: 'Done', UDID }, 'unknown Status "Done"'],
    [{ Status: true, UDID }, 'Status must be a string'],
    [{ Status: 'Acknowledged', UDID }, 'CommandUUID missing'],
    [{ Status: 'Acknowledged', UDID, CommandUUID: '' }, 'CommandUUID is empty'],
    [{ Status: 'Error', UDID, CommandUUID: 5 }, 'CommandUUID must be a string'],
    [{ Status: 'Error', UDID, CommandUUID: 'a\u0000' }, 'CommandUUID contains control characters'],
    [{ Status: 'Error', UDID, CommandUUID: 'c', ErrorChain: {} }, 'ErrorChain must be an array'],
    [{ Status: 'Error', UDID, CommandUUID: 'c', ErrorChain: ['x'] }, 'ErrorChain[0] must be a dictionary'],
    [{ Status: 'Error', UDID, CommandUUID: 'c', ErrorChain: [{ ErrorCode: '12' }] }, 'ErrorChain[0].ErrorCode must be an integer'],
    [{ Status: 'Error', UDID, CommandUUID: 'c', RequestType: 1 }, 'RequestType must be a string'],
    [{ Status: 'Idle' }, 'UDID or EnrollmentID missing'],
  ])('refuses %o', (dict, message) => {
    expect(reason(() => parseCommandReport(dict))).toBe(message);
  });
});

describe('fuzz: only PlistError or CheckinError escapes', () => {
  const bodies = [
    'mdm-samples/checkin/Authenticate.1.plist', 'mdm-samples/checkin/TokenUpdate.1.plist', 'mdm-samples/command-results/resp-error.plist',
    'third-party-client-session/mdm/02-TokenUpdate.request.plist', 'third-party-client-session/mdm/04-DeviceInformation-Acknowledged.request.plist',
  ].map((p) => readFileSync(new URL(p, FIXTURES)));
  const keys = ['MessageType', 'UDID', 'EnrollmentID', 'UserID', 'EnrollmentUserID', 'UserShortName', 'Topic', 'Token', 'PushMagic', 'Status', 'CommandUUID', 'ErrorChain', 'Endpoint', 'Data', 'TokenParameters', 'TokenServiceType'];
  const values: PlistValue[] = ['', 'Authenticate', 'TokenUpdate', 'Idle', 'Error', 'GetToken', 'DeclarativeManagement', 'UserAuthenticate', SHARED_IPAD_USER_ID, UDID, 0, -1, 1.5, true, Buffer.alloc(0), Buffer.alloc(32), new Date(0), [], [{}], [{ ErrorCode: 'x' }], {}, { a: [] }];
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  const check = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof CheckinError) && !(err instanceof PlistError)) throw err;
    }
  };

  it('random dictionaries', () => {
    for (let k = 0; k < 5000; k++) {
      const d: PlistDict = {};
      for (let j = 0; j < 1 + (k % 8); j++) d[pick(keys)] = pick(values);
      check(() => parseCheckin(d));
      check(() => parseCommandReport(d));
    }
  });

  it('bit flips of real messages through parsePlist', () => {
    for (const body of bodies) {
      for (let k = 0; k < 400; k++) {
        const m = Buffer.from(body);
        const at = Math.floor(Math.random() * m.length);
        m[at] = m[at]! ^ (1 << Math.floor(Math.random() * 8));
        check(() => parseCheckin(parsePlist(m)));
        check(() => parseCommandReport(parsePlist(m)));
      }
      check(() => parseCheckin(parsePlist(randomBytes(64))));
    }
  });
});
