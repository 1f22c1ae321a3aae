/**
 * Where to send the browser after a sign-in (SAML RelayState, OIDC state, a `next=` parameter).
 *
 * The value comes back through the browser, so anyone can forge it: an open redirect after SSO
 * lets a phishing link borrow Pomona's sign-in page. Only same-origin paths are accepted — a
 * relative reference that starts with exactly one `/` — and everything else yields `fallback`:
 *
 * - absolute URLs (`https://evil`, `javascript:…`) and scheme-relative ones (`//evil`);
 * - `/\evil`: browsers read `\` as `/` in http(s) URLs, so it becomes `//evil`;
 * - control characters and whitespace: browsers drop tab and newline anywhere in a URL
 *   (`/\t/evil` → `//evil`) and strip leading/trailing C0 controls and spaces;
 * - anything that, resolved against an origin, leaves that origin (belt and braces).
 */
const MAX_REDIRECT_LENGTH = 2048;
const PROBE_ORIGIN = 'https://pomona.invalid';

export function safeRedirectPath(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_REDIRECT_LENGTH) return fallback;
  if (value[0] !== '/') return fallback;
  if (value[1] === '/' || value[1] === '\\') return fallback;
  // No backslash anywhere, no C0/C1 controls, DEL, or any kind of white space.
  if (/[\\\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]/.test(value)) return fallback;
  let resolved: URL;
  try {
    resolved = new URL(value, PROBE_ORIGIN);
  } catch {
    return fallback;
  }
  if (resolved.origin !== PROBE_ORIGIN) return fallback;
  return value;
}
