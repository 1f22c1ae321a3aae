/**
 * The admin REST API as a script uses it, with an API token: the demo and the ADE benchmark
 * set Pomona up through it (as an admin would) rather than behind its back. Any answer other
 * than 2xx throws, naming the request and Pomona's message.
 */
export type AdminApi = <T = unknown>(path: string, init?: { method?: string; body?: unknown; raw?: { type: string; data: string | Buffer } }) => Promise<T>;

export function adminApi(baseUrl: string, token: string): AdminApi {
  return async (path, init = {}) => {
    const hasBody = init.body !== undefined || init.raw !== undefined;
    const method = init.method ?? (hasBody ? 'POST' : 'GET');
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (init.raw) headers['content-type'] = init.raw.type;
    else if (init.body !== undefined) headers['content-type'] = 'application/json';
    const body = init.raw ? (typeof init.raw.data === 'string' ? init.raw.data : new Uint8Array(init.raw.data)) : init.body !== undefined ? JSON.stringify(init.body) : undefined;
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not JSON: the text itself
      }
      throw new Error(`${method} ${path} answered ${res.status}: ${message}`);
    }
    return (text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text) as never;
  };
}
