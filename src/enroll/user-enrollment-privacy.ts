/**
 * What a user enrollment may never leave behind: a persistent hardware identifier. Apple's
 * devices send none in a user enrollment — the EnrollmentID stands in for the UDID — but a
 * faulty or hostile client might, and whatever it sends is otherwise stored (the raw check-in
 * plist, the device facts, DeviceInformation answers). Pure functions over parsed plists.
 */
import { enrollmentIdentity, type EnrollmentIdentity } from '../apple/checkin-message.js';
import { isPlistDict, type PlistDict } from '../apple/plist.js';

/** Keys naming the hardware, the SIM or the network interfaces — at the top of a message or in QueryResponses. */
export const PERSISTENT_IDENTIFIER_KEYS: readonly string[] = [
  'UDID', 'SerialNumber', 'IMEI', 'MEID', 'ICCID', 'EthernetMAC', 'EthernetMACs', 'WiFiMAC', 'BluetoothMAC',
  'ProvisioningUDID', 'EASDeviceIdentifier', 'DevicePropertiesAttestation', 'ServiceSubscriptions',
];

/** A message speaks for a user enrollment when it carries an EnrollmentID (Apple sends it only there). */
export function isUserEnrollmentMessage(raw: Record<string, unknown>): boolean {
  return typeof raw.EnrollmentID === 'string' && raw.EnrollmentID.length > 0;
}

/**
 * A copy of the message without persistent identifiers (also inside QueryResponses), the keys
 * dropped (for the log line; never the values), and the identity the EnrollmentID gives — the
 * parser lets a UDID win, which must not happen here.
 */
export function withoutPersistentIdentifiers(raw: Record<string, unknown>): { raw: PlistDict; dropped: string[]; identity: EnrollmentIdentity } {
  const dropped: string[] = [];
  const strip = (d: Record<string, unknown>, prefix: string): PlistDict => {
    const out: PlistDict = {};
    for (const [k, v] of Object.entries(d)) {
      if (PERSISTENT_IDENTIFIER_KEYS.includes(k)) dropped.push(prefix + k);
      // defineProperty: a device-sent "__proto__" key stays a key, never the prototype.
      else Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  const out = strip(raw, '');
  if (isPlistDict(out.QueryResponses)) out.QueryResponses = strip(out.QueryResponses, 'QueryResponses.');
  return { raw: out, dropped, identity: enrollmentIdentity(out) };
}
