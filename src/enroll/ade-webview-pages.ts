/** The ADE web view's own page: the Mac's primary account, proposed from the signed-in user. */
import { csrfField, errorBlock, esc, layout } from './sign-in/sign-in-pages.js';

export function macAccountPage(v: { brand: string; action: string; csrf: string; fullName: string; shortName: string; locked: boolean; error?: string }): string {
  return layout({
    brand: v.brand,
    title: 'Your Mac account',
    body: `${errorBlock(v.error)}<section aria-labelledby="account-title">
<h2 id="account-title">The account you will use on this Mac</h2>
<p>Setup Assistant creates it next${v.locked ? '; your organization does not let you change it there' : ''}.</p>
<form method="post" action="${esc(v.action)}">
${csrfField(v.csrf)}
<label for="fullName">Full name</label>
<input id="fullName" name="fullName" value="${esc(v.fullName)}" maxlength="128" autocomplete="name" required>
<label for="shortName">Account name</label>
<input id="shortName" name="shortName" value="${esc(v.shortName)}" maxlength="31" autocapitalize="none" spellcheck="false" pattern="[a-z_][a-z0-9_.\\-]{0,30}" required>
<button type="submit">Continue</button>
</form>
</section>`,
  });
}
