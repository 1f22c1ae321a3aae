/**
 * Why a device request was refused, in the device protocol's terms. Routes map the kind to
 * the HTTP answer Apple clients expect: never 401 (a device may unenroll on it).
 */
export type RefusalKind =
  | 'bad-request' // 400: malformed, unauthenticated or not authorized — the device retries later
  | 'unrecognized' // 403 com.apple.unrecognized.device — the device unenrolls, on purpose
  | 'gone' // 410: e.g. UserAuthenticate declined
  | 'not-supported'; // 404: a check-in endpoint Pomona does not offer (yet)

export class DeviceRefusal extends Error {
  constructor(readonly kind: RefusalKind, readonly reason: string) {
    super(reason);
  }
}

export const refuse = (kind: RefusalKind, reason: string): never => {
  throw new DeviceRefusal(kind, reason);
};
