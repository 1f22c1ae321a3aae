/** The pages of web enrollment after sign-in: download the profile, then install it. */
import { esc, layout } from './sign-in/sign-in-pages.js';

export function downloadPage(v: { brand: string; groupName: string; profileHref: string }): string {
  return layout({
    brand: v.brand,
    title: 'Download the enrollment profile',
    body: `<section aria-labelledby="download-title">
<h2 id="download-title">Your device will join ${esc(v.groupName)}</h2>
<p>Download the profile on the device you are enrolling, then install it:</p>
<ol>
<li>Tap <strong>Download profile</strong> and allow the download.</li>
<li>iPhone and iPad: open <strong>Settings</strong>, tap <strong>Profile Downloaded</strong>, then <strong>Install</strong>. Mac: open <strong>System Settings</strong>, <strong>Privacy &amp; Security</strong>, <strong>Profiles</strong>.</li>
</ol>
<p>The profile can be downloaded once and enrolls one device.</p>
<a class="button" href="${esc(v.profileHref)}">Download profile</a>
</section>`,
  });
}

export function downloadedPage(v: { brand: string; restartHref: string }): string {
  return layout({
    brand: v.brand,
    title: 'Profile downloaded',
    body: `<section><p role="status">The enrollment profile was downloaded. Install it from Settings to finish. To enroll another device, start again on that device.</p>
<a class="button" href="${esc(v.restartHref)}">Start again</a></section>`,
  });
}
