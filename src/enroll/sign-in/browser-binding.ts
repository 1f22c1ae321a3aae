/**
 * Ties a staging record to the browser that started it, and every form post to that browser.
 *
 * Why a per-record secret cookie rather than only an HMAC of the record id in a hidden field:
 * the record id is in the page URLs (history, shared links, a screenshot), so a token derived
 * from it alone would let anyone holding the URL post to the record — sign it in as
 * themselves and hand the victim a profile enrolling the victim's device under the attacker's
 * name, or sign in and download the profile someone else started. The cookie holds a random
 * key only this browser received (the record keeps its SHA-256). The CSRF token is an HMAC of
 * the record id under that key: a page that cannot read the cookie cannot compute it, and the
 * server needs no key of its own. SameSite=Lax keeps the cookie off cross-site posts as well.
 * One cookie per record (named after it), so two enrollments in one browser do not collide.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseCookies } from '../../http/auth.js';

const COOKIE_PREFIX = 'pomona_enroll_';

export function cookieName(pendingId: string): string {
  return `${COOKIE_PREFIX}${pendingId}`;
}

/** The browser key the request carries for this record, if any. */
export function browserKeyFrom(request: FastifyRequest, pendingId: string): string | undefined {
  return parseCookies(request.headers.cookie).get(cookieName(pendingId)) || undefined;
}

/** Hands the browser its key: only /enroll/ pages see it; it lasts as long as the sign-in may take. */
export function setBrowserKey(reply: FastifyReply, pendingId: string, browserKey: string, opts: { secure: boolean; maxAgeSeconds: number }): void {
  const attrs = [`${cookieName(pendingId)}=${browserKey}`, 'Path=/enroll/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${Math.floor(opts.maxAgeSeconds)}`];
  if (opts.secure) attrs.push('Secure');
  reply.header('set-cookie', attrs.join('; '));
}

export function csrfToken(browserKey: string, pendingId: string): string {
  return createHmac('sha256', browserKey).update(`csrf:${pendingId}`).digest('base64url');
}

/** Whether `presented` is this record's CSRF token for the browser key the request carries. */
export function csrfValid(request: FastifyRequest, pendingId: string, presented: unknown): boolean {
  const key = browserKeyFrom(request, pendingId);
  if (!key || typeof presented !== 'string' || presented.length === 0) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(csrfToken(key, pendingId));
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The SSO hand-off key, given to the browser that brings the identity provider's answer and
 * asked back when it returns to the record (see SignInService.ssoReturned): a few minutes, sign-in pages only.
 */
const HANDOFF_PREFIX = 'pomona_sso_';

export function handoffCookie(pendingId: string, key: string, opts: { secure: boolean }): string {
  const attrs = [`${HANDOFF_PREFIX}${pendingId}=${key}`, `Path=/enroll/sign-in/${pendingId}/`, 'HttpOnly', 'SameSite=Lax', 'Max-Age=300'];
  if (opts.secure) attrs.push('Secure');
  return attrs.join('; ');
}

export function handoffKeyFrom(request: FastifyRequest, pendingId: string): string | undefined {
  return parseCookies(request.headers.cookie).get(`${HANDOFF_PREFIX}${pendingId}`) || undefined;
}
