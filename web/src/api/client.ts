/**
 * The console's one way to the admin API: openapi-fetch typed by schema.d.ts, which
 * `npm run api-types` generates from the server's own OpenAPI document (a test fails when it is
 * stale), so a renamed field or route is a type error here, not a blank cell in production.
 * Every call carries the session's CSRF token on unsafe methods and the group switcher's choice
 * (X-Pomona-Group), so each page is scoped without knowing about the switcher.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

export type { paths };

/** What the API answers on a refusal: `{ error, message, problems? }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** field-level validation problems, keyed by JSON path (shown next to their fields) */
    readonly problems: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

const state: { csrfToken?: string; group?: string; onUnauthorized?: () => void } = {};

/** Called by the session once it knows who is signed in and which group is chosen. */
export function configureApi(o: { csrfToken?: string; group?: string; onUnauthorized?: () => void }): void {
  Object.assign(state, o);
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const session: Middleware = {
  onRequest({ request }) {
    if (state.csrfToken && UNSAFE.has(request.method)) request.headers.set('x-csrf-token', state.csrfToken);
    // A page that is about the whole installation asks for the unscoped view by sending an empty header.
    if (state.group && !request.headers.has('x-pomona-group')) request.headers.set('x-pomona-group', state.group);
    if (request.headers.get('x-pomona-group') === '') request.headers.delete('x-pomona-group');
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith('/api/v1/session')) state.onUnauthorized?.();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(session);

/** The data of a typed call, or an ApiError with the server's message. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = (error ?? {}) as { error?: string; message?: string; problems?: { path: string; message: string }[] };
  throw new ApiError(response.status, body.error ?? 'http_' + response.status, body.message ?? response.statusText, body.problems ?? []);
}

/** Text of any error for a person to read. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
