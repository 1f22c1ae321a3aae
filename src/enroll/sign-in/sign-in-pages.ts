/**
 * HTML for the end-user enrollment pages: server-rendered, no script, one small inline style
 * sheet, readable on a phone and in Setup Assistant's web view. Every outside string goes
 * through `esc`. Forms post to the same origin and carry the record's CSRF token.
 */
import type { SignInOffer } from './sign-in-service.js';
import { PLATFORMS } from '../../org/registration-token-service.js';

export function esc(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:17px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;background:#f2f2f7;color:#1c1c1e}
main{max-width:30rem;margin:0 auto;padding:1.25rem}
header{margin:.5rem 0 1.25rem}
header p{margin:0;color:#3a3a3c;font-weight:600;letter-spacing:.02em}
h1{font-size:1.5rem;margin:.25rem 0 0}
section{background:#fff;border-radius:12px;padding:1rem;margin:0 0 1rem}
h2{font-size:1.1rem;margin:0 0 .75rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
.hint{display:block;font-weight:400;color:#3a3a3c;font-size:.9rem}
input,select{width:100%;font:inherit;padding:.65rem .75rem;border:1px solid #8e8e93;border-radius:8px;background:#fff;color:inherit}
input:focus,select:focus,button:focus,a.button:focus{outline:3px solid #0a84ff;outline-offset:2px}
button,a.button{display:block;width:100%;margin:1rem 0 0;padding:.8rem;font:inherit;font-weight:600;text-align:center;text-decoration:none;border:0;border-radius:8px;background:#0060df;color:#fff;cursor:pointer}
button.secondary{background:#e5e5ea;color:#1c1c1e}
.error{background:#fde8e8;color:#8a1010;border-radius:8px;padding:.75rem;margin:0 0 1rem}
.terms{white-space:pre-wrap;max-height:50vh;overflow:auto;border:1px solid #c7c7cc;border-radius:8px;padding:.75rem;background:#fafafa}
.or{text-align:center;color:#3a3a3c;margin:.75rem 0}
`;

/** The page frame, branded with the organization's name. */
export function layout(v: { brand: string; title: string; body: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(v.title)} · ${esc(v.brand)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header><p>${esc(v.brand)}</p><h1>${esc(v.title)}</h1></header>
${v.body}
</main>
</body>
</html>
`;
}

export const errorBlock = (error?: string) => (error ? `<p class="error" role="alert" id="error">${esc(error)}</p>` : '');
const described = (error?: string) => (error ? ' aria-describedby="error"' : '');
export const csrfField = (csrf: string) => `<input type="hidden" name="csrf" value="${esc(csrf)}">`;

export interface SignInPageValues {
  username?: string;
  groupId?: string;
  token?: string;
  tokenUsername?: string;
}

/** The methods the group offers; `askPlatform` adds the device kind to the token form. */
export function signInPage(v: { base: string; csrf: string; offer: SignInOffer; error?: string; values?: SignInPageValues; askPlatform?: boolean }): string {
  const { offer, base } = v;
  const val = v.values ?? {};
  const parts: string[] = [errorBlock(v.error)];
  const forms = offer.password || offer.sso.length > 0;
  if (forms) {
    // One form: the Group ID applies to the password and the SSO buttons alike (formaction, no script).
    const group = offer.groupIdField
      ? `<label for="groupId">Group ID <span class="hint">Optional: the code your IT department gave you</span></label>
<input id="groupId" name="groupId" value="${esc(val.groupId)}" maxlength="40" autocapitalize="characters" autocomplete="off"${described(v.error)}>`
      : '';
    const password = offer.password
      ? `<label for="username">User name</label>
<input id="username" name="username" value="${esc(val.username)}" maxlength="256" autocomplete="username" autocapitalize="none" spellcheck="false" required${described(v.error)}>
<label for="password">Password</label>
<input id="password" name="password" type="password" maxlength="1024" autocomplete="current-password" required${described(v.error)}>
<button type="submit" formaction="${base}/password">Sign in</button>`
      : '';
    const sso = offer.sso
      .map((p) => `<button type="submit" class="secondary" formaction="${base}/sso" formnovalidate name="provider" value="${esc(p.id)}">Sign in with ${esc(p.name)}</button>`)
      .join('\n');
    parts.push(`<section aria-labelledby="signin-title">
<h2 id="signin-title">Sign in to enroll your device</h2>
<form method="post" action="${base}/${offer.password ? 'password' : 'sso'}">
${csrfField(v.csrf)}
${group}
${password}
${password && sso ? '<p class="or">or</p>' : ''}
${sso}
</form>
</section>`);
  }
  if (offer.token) {
    const platform = v.askPlatform
      ? `<label for="platform">Kind of device <span class="hint">This registration token is for one kind of device</span></label>
<select id="platform" name="platform" required>
<option value="">Choose…</option>
${PLATFORMS.map((p) => `<option value="${p}">${esc(PLATFORM_NAMES[p])}</option>`).join('\n')}
</select>`
      : '';
    parts.push(`<section aria-labelledby="token-title">
<h2 id="token-title">${offer.token.required ? 'Enter your registration token' : 'Or use a registration token'}</h2>
<form method="post" action="${base}/token">
${csrfField(v.csrf)}
<label for="token">Registration token</label>
<input id="token" name="token" value="${esc(val.token)}" maxlength="100" autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" required${described(v.error)}>
${platform}
<label for="token-username">User name <span class="hint">Only if your token also needs your password</span></label>
<input id="token-username" name="username" value="${esc(val.tokenUsername)}" maxlength="256" autocomplete="username" autocapitalize="none" spellcheck="false">
<label for="token-password">Password</label>
<input id="token-password" name="password" type="password" maxlength="1024" autocomplete="current-password">
<button type="submit">Continue</button>
</form>
</section>`);
  }
  if (!forms && !offer.token) {
    parts.push('<section><p>No sign-in method is set up for enrollment here. Ask your IT department.</p></section>');
  }
  return layout({ brand: offer.brand, title: 'Enroll your device', body: parts.join('\n') });
}

export const PLATFORM_NAMES: Record<(typeof PLATFORMS)[number], string> = {
  iOS: 'iPhone', iPadOS: 'iPad', macOS: 'Mac', tvOS: 'Apple TV', visionOS: 'Apple Vision Pro',
};

export function termsPage(v: { brand: string; base: string; csrf: string; version: number; text: string; error?: string }): string {
  return layout({
    brand: v.brand,
    title: 'Terms of use',
    body: `${errorBlock(v.error)}<section aria-labelledby="terms-title">
<h2 id="terms-title">Read and accept to continue</h2>
<div class="terms" tabindex="0" role="document" aria-label="Terms of use, version ${v.version}">${esc(v.text)}</div>
<form method="post" action="${v.base}/terms">
${csrfField(v.csrf)}
<input type="hidden" name="version" value="${v.version}">
<button type="submit" name="decision" value="accept">I accept</button>
<button type="submit" name="decision" value="decline" class="secondary">I do not accept</button>
</form>
</section>`,
  });
}

/** A page that only says something (refusals, expired links, what to do next). */
export function messagePage(v: { brand: string; title: string; message: string; link?: { href: string; text: string } }): string {
  const link = v.link ? `<a class="button" href="${esc(v.link.href)}">${esc(v.link.text)}</a>` : '';
  return layout({ brand: v.brand, title: v.title, body: `<section><p role="status">${esc(v.message)}</p>${link}</section>` });
}
