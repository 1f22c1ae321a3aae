/**
 * Account-driven service discovery: what `GET /.well-known/com.apple.remotemanagement` answers
 * (Apple, "Implementing the simple authentication account-driven enrollment flow", steps 2–3).
 * The device sends `user-identifier` (the account the person typed) and `model-family`; we answer
 * `{"Servers":[{"Version":"mdm-byod","BaseURL":…}]}` as JSON.
 *
 * The device asks the web server of the account's domain, not Pomona: publishing this document
 * there (or a redirect to Pomona that keeps the query string, or Apple Business Manager's
 * fallback discovery URL) is the admin's job. Pomona answers for any user identifier because
 * whether the domain is the organization's was settled by whoever routed the request here; the
 * person is authenticated later, on the sign-in page.
 */
import { parseManagedAppleId } from './user-managed-apple-id.js';

/** Apple's model families (the `model-family` query parameter). */
export const MODEL_FAMILIES = ['AppleTV', 'iPad', 'iPhone', 'Mac', 'RealityDevice', 'Watch'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

/** User enrollment exists on iOS/iPadOS, macOS 14+ and visionOS; not on Apple TV or Apple Watch. */
const USER_ENROLLMENT_FAMILIES: readonly ModelFamily[] = ['iPad', 'iPhone', 'Mac', 'RealityDevice'];

/** Where the device posts its enrollment requests (the BaseURL), below the public URL. */
export const ACCOUNT_ENROLL_PATH = '/enroll/user/account';

export interface WellKnown {
  Servers: Array<{ Version: 'mdm-byod'; BaseURL: string }>;
}

/** Apple's ErrorWellKnownFailed body (403): the device shows `message` and stops. */
export interface WellKnownFailed {
  code: 'com.apple.well-known.failed';
  description: string;
  message: string;
}

export type DiscoveryAnswer =
  | { kind: 'servers'; body: WellKnown; userIdentifier: string; modelFamily?: ModelFamily }
  | { kind: 'bad-request'; reason: string }
  | { kind: 'refused'; body: WellKnownFailed };

/** Validates the query (as Fastify parsed it: repeated keys arrive as arrays) and answers it. */
export function discover(query: Record<string, unknown>, publicUrl: string): DiscoveryAnswer {
  const rawId = query['user-identifier'];
  if (rawId === undefined) return { kind: 'bad-request', reason: 'user-identifier is missing' };
  const userIdentifier = parseManagedAppleId(rawId);
  if (!userIdentifier) return { kind: 'bad-request', reason: 'user-identifier is not an account of the form user@domain' };
  const rawFamily = query['model-family'];
  let modelFamily: ModelFamily | undefined;
  if (rawFamily !== undefined) {
    if (typeof rawFamily !== 'string' || !(MODEL_FAMILIES as readonly string[]).includes(rawFamily)) {
      return { kind: 'bad-request', reason: 'model-family is not one of Apple\'s model families' };
    }
    modelFamily = rawFamily as ModelFamily;
    if (!USER_ENROLLMENT_FAMILIES.includes(modelFamily)) {
      return {
        kind: 'refused',
        body: {
          code: 'com.apple.well-known.failed',
          description: `user enrollment is not offered for model family ${modelFamily}`,
          message: 'This device cannot enroll with a work account. Ask your IT department how to enroll it.',
        },
      };
    }
  }
  return { kind: 'servers', body: { Servers: [{ Version: 'mdm-byod', BaseURL: `${publicUrl}${ACCOUNT_ENROLL_PATH}` }] }, userIdentifier, modelFamily };
}
