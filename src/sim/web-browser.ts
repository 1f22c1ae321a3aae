/**
 * A small browser for the end-user enrollment pages, as Setup Assistant's web view or Safari
 * uses them: keeps cookies (name, value, path) per instance, posts forms as
 * application/x-www-form-urlencoded, follows same-origin redirects when asked, sends extra
 * headers on a request (the web view's `x-apple-aspen-deviceinfo`), and reads what the simulator
 * and tests need from the HTML (form fields, links, the error block).
 */
export interface Page {
  status: number;
  url: string;
  headers: Headers;
  text: string;
  body: Buffer;
}

export class WebBrowser {
  readonly cookies = new Map<string, { value: string; path: string }>();

  constructor(
    readonly base: string,
    private readonly userAgent = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  ) {}

  async get(path: string, opts: { follow?: boolean; headers?: Record<string, string> } = {}): Promise<Page> {
    return this.#request('GET', path, undefined, opts.follow ?? true, opts.headers);
  }

  async post(path: string, fields: Record<string, string>, opts: { follow?: boolean } = {}): Promise<Page> {
    return this.#request('POST', path, new URLSearchParams(fields).toString(), opts.follow ?? true);
  }

  /** Another browser holding the same cookies (a stolen cookie jar, or the user's second tab). */
  clone(): WebBrowser {
    const b = new WebBrowser(this.base, this.userAgent);
    for (const [k, v] of this.cookies) b.cookies.set(k, { ...v });
    return b;
  }

  async #request(method: string, path: string, body: string | undefined, follow: boolean, headers: Record<string, string> = {}): Promise<Page> {
    let url = new URL(path, this.base);
    let m = method;
    let b = body;
    for (let hop = 0; hop < 10; hop++) {
      const res = await fetch(url, {
        method: m,
        redirect: 'manual',
        headers: {
          ...(hop === 0 ? headers : {}),
          'user-agent': this.userAgent,
          cookie: this.#cookieHeader(url.pathname),
          ...(b !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: b,
      });
      for (const line of res.headers.getSetCookie()) this.#keep(line);
      const bytes = Buffer.from(await res.arrayBuffer());
      const location = res.headers.get('location');
      if (follow && res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, url);
        if (next.origin !== new URL(this.base).origin) return { status: res.status, url: url.href, headers: res.headers, text: bytes.toString('utf8'), body: bytes };
        url = next;
        m = 'GET';
        b = undefined;
        continue;
      }
      return { status: res.status, url: url.href, headers: res.headers, text: bytes.toString('utf8'), body: bytes };
    }
    throw new Error('too many redirects');
  }

  #cookieHeader(pathname: string): string {
    return [...this.cookies].filter(([, c]) => pathname.startsWith(c.path)).map(([k, c]) => `${k}=${c.value}`).join('; ');
  }

  #keep(line: string): void {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    const path = attrs.find((a) => /^path=/i.test(a))?.slice(5) ?? '/';
    if (attrs.some((a) => /^max-age=0$/i.test(a)) || value === '') this.cookies.delete(name);
    else this.cookies.set(name, { value, path });
  }
}

/** The value of the first input named `name` in the page. */
export function inputValue(html: string, name: string): string | undefined {
  const m = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html) ?? new RegExp(`<input[^>]*value="([^"]*)"[^>]*name="${name}"`).exec(html);
  return m ? unescapeHtml(m[1]!) : undefined;
}

/**
 * The staging record's sign-in path (`/enroll/sign-in/ID`), read from the forms of a sign-in page
 * as a browser reads where to post: a first page can come from another URL (the ADE web view's).
 */
export function signInPathOf(html: string): string | undefined {
  return /action="([^"]*)\/(?:password|token|sso)"/.exec(html)?.[1];
}

/** The error block's text, if the page shows one. */
export function errorText(html: string): string | undefined {
  const m = /<p class="error" role="alert" id="error">([^<]*)<\/p>/.exec(html);
  return m ? unescapeHtml(m[1]!) : undefined;
}

/** The text of a message page (role="status"). */
export function statusText(html: string): string | undefined {
  const m = /<p role="status">([^<]*)<\/p>/.exec(html);
  return m ? unescapeHtml(m[1]!) : undefined;
}

/** The href of the first link whose text is `text`. */
export function linkHref(html: string, text: string): string | undefined {
  const m = new RegExp(`<a[^>]*href="([^"]*)"[^>]*>${text}</a>`).exec(html);
  return m ? unescapeHtml(m[1]!) : undefined;
}

function unescapeHtml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
