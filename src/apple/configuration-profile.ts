// A configuration profile (.mobileconfig) an admin uploads, checked before Pomona stores it and
// sends it with InstallProfile: a property list (XML or binary), optionally CMS-signed with the
// profile attached, whose top level is a Configuration with PayloadIdentifier, PayloadUUID and
// PayloadContent (apple/device-management `mdm/profiles/TopLevel.yaml`). The checks catch what a
// device would refuse later, when nobody watches, and say so in the admin's terms.
import { verifyAttached } from './cms-sign.js';
import { isPlistDict, parsePlist, type PlistDict } from './plist.js';

/** Large enough for certificates, fonts and app configurations; a device profile is rarely above 1 MB. */
export const MAX_CONFIGURATION_PROFILE_BYTES = 4 * 1024 * 1024;

export class ConfigurationProfileError extends Error {
  override name = 'ConfigurationProfileError';
}

export interface ConfigurationProfileInfo {
  identifier: string;
  uuid: string;
  displayName?: string;
  organization?: string;
  description?: string;
  /** CMS-signed: stored and sent as uploaded, signature intact */
  signed: boolean;
  /** the PayloadType of each payload, in order */
  payloadTypes: string[];
}

const fail = (message: string): never => {
  throw new ConfigurationProfileError(message);
};

const text = (d: PlistDict, key: string): string | undefined => (typeof d[key] === 'string' && (d[key] as string).trim() ? (d[key] as string).trim() : undefined);

/** Checks an uploaded profile and returns what Pomona keeps about it. Throws ConfigurationProfileError. */
export function readConfigurationProfile(bytes: Buffer): ConfigurationProfileInfo {
  if (bytes.length === 0) fail('the file is empty');
  if (bytes.length > MAX_CONFIGURATION_PROFILE_BYTES) {
    fail(`the profile is ${bytes.length} bytes; at most ${MAX_CONFIGURATION_PROFILE_BYTES} (4 MiB) are accepted`);
  }
  const signed = bytes[0] === 0x30;
  let content = bytes;
  if (signed) {
    try {
      // Integrity only: whom the signer chains to is the device's business, and an expired
      // signing certificate still installs through MDM.
      content = verifyAttached(bytes, { ignoreDates: true }).content;
    } catch (err) {
      fail(`the file is DER but not a signed profile whose signature verifies (${(err as Error).message})`);
    }
  }
  let dict: PlistDict;
  try {
    dict = parsePlist(content);
  } catch (err) {
    return fail(`the file is not a property list (${(err as Error).message})`);
  }
  if (dict.PayloadType !== 'Configuration') {
    fail(`not a configuration profile: PayloadType must be "Configuration"${typeof dict.PayloadType === 'string' ? ` (it is "${dict.PayloadType}")` : ''}`);
  }
  const identifier = text(dict, 'PayloadIdentifier') ?? fail('not a configuration profile: PayloadIdentifier is missing');
  const uuid = text(dict, 'PayloadUUID') ?? fail('not a configuration profile: PayloadUUID is missing');
  if (dict.EncryptedPayloadContent !== undefined) {
    fail('the profile is encrypted (EncryptedPayloadContent), so only the device it was encrypted for can read it: upload it unencrypted');
  }
  if (!Array.isArray(dict.PayloadContent)) fail('not a configuration profile: PayloadContent (the list of payloads) is missing');
  const payloadTypes = (dict.PayloadContent as unknown[]).map((p, i) => {
    if (!isPlistDict(p)) return fail(`payload ${i + 1} is not a dictionary`);
    const type = text(p, 'PayloadType') ?? fail(`payload ${i + 1} has no PayloadType`);
    if (!text(p, 'PayloadIdentifier')) fail(`payload ${i + 1} (${type}) has no PayloadIdentifier`);
    if (!text(p, 'PayloadUUID')) fail(`payload ${i + 1} (${type}) has no PayloadUUID`);
    if (type === 'com.apple.mdm') fail('the profile holds an MDM payload (com.apple.mdm): enrollment profiles are made by Pomona, not uploaded');
    return type;
  });
  return {
    identifier,
    uuid,
    signed,
    payloadTypes,
    ...(text(dict, 'PayloadDisplayName') && { displayName: text(dict, 'PayloadDisplayName') }),
    ...(text(dict, 'PayloadOrganization') && { organization: text(dict, 'PayloadOrganization') }),
    ...(text(dict, 'PayloadDescription') && { description: text(dict, 'PayloadDescription') }),
  };
}
