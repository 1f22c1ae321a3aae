/**
 * Wire-level constants of Apple's Device Assignment service as the simulator speaks them:
 * the one response content type, the error codes, and how an error body is written.
 *
 * Apple answers errors with the bare code as the body (`EXHAUSTED_CURSOR`); the old depsim
 * simulator JSON-quoted it (`"EXHAUSTED_CURSOR"`). Clients must match by substring either way.
 */
export const JSON_CONTENT_TYPE = 'application/json;charset=UTF8';

export type Dialect = 'apple' | 'depsim';

/** The error codes this simulator can answer with (documented ones, plus the few marked invented). */
export type DepErrorCode =
  | 'USER_AGENT_MISSING'
  | 'USER_AGENT_INVALID'
  | 'MALFORMED_REQUEST_BODY'
  | 'CURSOR_REQUIRED'
  | 'INVALID_CURSOR'
  | 'EXHAUSTED_CURSOR'
  | 'EXPIRED_CURSOR'
  | 'DEVICE_ID_REQUIRED'
  | 'PROFILE_UUID_REQUIRED'
  | 'CONFIG_NAME_INVALID'
  | 'CONFIG_NAME_REQUIRED'
  | 'CONFIG_URL_INVALID'
  | 'CONFIG_URL_REQUIRED'
  | 'DEPARTMENT_INVALID'
  | 'FLAGS_INVALID'
  | 'LOCALE_INVALID'
  | 'MAGIC_INVALID'
  | 'SUPPORT_EMAIL_INVALID'
  | 'SUPPORT_PHONE_INVALID'
  | 'NOT_FOUND'
  | 'DEVICE_NOT_FOUND'
  | 'T_C_NOT_SIGNED'
  | 'ACCESS_DENIED'
  | 'FORBIDDEN'
  | 'UNAUTHORIZED'
  | 'APPLE_SEED_FOR_IT_TURNED_OFF'
  | 'MDM_SERVICE_DISCOVERY_URL_REQUIRED'
  | 'MDM_SERVICE_DISCOVERY_URL_NOT_VALID'
  | 'ORG_NOT_SUPPORTED'
  | 'METHOD_NOT_ALLOWED'
  | 'SKIP_SETUP_ITEMS_INVALID' // invented: only with strictSkipKeys
  | 'REQUEST_ENTITY_TOO_LARGE' // invented
  // OAuth 1.0 problem names (Apple's token_rejected / signature_invalid bodies are from this vocabulary)
  | 'token_rejected'
  | 'token_expired'
  | 'signature_invalid'
  | 'signature_method_rejected'
  | 'nonce_used'
  | 'timestamp_refused'
  | 'consumer_key_unknown'
  | 'parameter_absent'
  | 'parameter_rejected'
  | 'version_rejected';

export function errorBody(code: string, dialect: Dialect): string {
  return dialect === 'depsim' ? JSON.stringify(code) : code;
}

/** Apple writes times as ISO 8601 in UTC without fractions: 2017-10-16T01:55:30Z. */
export function isoSeconds(ms: number): string {
  const s = new Date(ms).toISOString();
  return s.slice(0, 19) + 'Z';
}
