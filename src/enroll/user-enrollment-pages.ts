/** The pages of profile-based user enrollment after sign-in: download the work profile, then install it. */
import { esc, layout } from './sign-in/sign-in-pages.js';

export function userProfileDownloadPage(v: { brand: string; groupName: string; managedAppleId: string; profileHref: string }): string {
  return layout({
    brand: v.brand,
    title: 'Add your work account',
    body: `<section aria-labelledby="download-title">
<h2 id="download-title">Your device will join ${esc(v.groupName)} with your work account</h2>
<p>${esc(v.brand)} will manage only its own apps, accounts and data on this device, kept apart from yours. It cannot see your personal data, erase the device, or identify its hardware.</p>
<ol>
<li>Tap <strong>Download profile</strong> and allow the download.</li>
<li>iPhone and iPad: open <strong>Settings</strong>, tap <strong>Profile Downloaded</strong>, then <strong>Enroll My iPhone</strong> (or iPad). Mac: open <strong>System Settings</strong>, <strong>Privacy &amp; Security</strong>, <strong>Profiles</strong>.</li>
<li>Sign in with your work account <strong>${esc(v.managedAppleId)}</strong> when asked.</li>
</ol>
<p>The profile can be downloaded once and enrolls one device.</p>
<a class="button" href="${esc(v.profileHref)}">Download profile</a>
</section>`,
  });
}

export function userProfileDownloadedPage(v: { brand: string; restartHref: string }): string {
  return layout({
    brand: v.brand,
    title: 'Profile downloaded',
    body: `<section><p role="status">Your work profile was downloaded. Install it from Settings and sign in with your work account to finish. To enroll another device, start again on that device.</p>
<a class="button" href="${esc(v.restartHref)}">Start again</a></section>`,
  });
}
