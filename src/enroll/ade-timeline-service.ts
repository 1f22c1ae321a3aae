/**
 * One timeline per ADE device, from Apple Business Manager to enrolled: added to ABM, profile
 * assigned, pushed to the device, each enrollment attempt (request or web view, sign-in, terms,
 * profile delivered, first check-in — or why it stopped), identities issued, each
 * await-configuration step and the release. Failures carry Apple's or Pomona's reason.
 */
import type { AdeTimelineStore, TimelineFacts } from './ade-timeline-store.js';
import type { AdeStep } from './ade-service.js';

export interface TimelineEntry {
  at: number;
  step: string;
  outcome: 'done' | 'failed' | 'waiting';
  detail?: string;
}

const STEP_LABEL: Record<string, string> = { 'enrollment-request': 'Enrollment request', 'web-view': 'Web view', 'custom-page': 'Custom enrollment page' };
const PLAN_REASON: Record<string, string> = {
  completed: 'every step succeeded', 'time-limit': 'the time limit ran out', manual: 'released by hand', 're-enrolled': 'the device enrolled again', 'checked-out': 'the device unenrolled',
};

export class AdeTimelineService {
  constructor(private readonly store: AdeTimelineStore, private readonly now: () => number = Date.now) {}

  /** For AdeEnrollmentService: a request refused or sent to update. */
  record(e: { serialNumber: string; step: AdeStep; outcome: 'refused' | 'update-required'; detail: string }): Promise<void> {
    return this.store.record({ ...e, at: this.now() });
  }

  /** The device's timeline, oldest first; undefined when Pomona knows nothing of the serial. */
  async timeline(serial: string): Promise<TimelineEntry[] | undefined> {
    const f = await this.store.facts(serial);
    if (!f.abm && !f.attempts.length && !f.events.length) return undefined;
    const out: TimelineEntry[] = [...abmEntries(f), ...attemptEntries(f, this.now()), ...f.events.map(eventEntry), ...deviceEntries(f)];
    // Stable: entries of one moment keep the order they were told in.
    return out.map((e, i) => ({ e, i })).sort((a, b) => a.e.at - b.e.at || a.i - b.i).map(({ e }) => e);
  }
}

function abmEntries({ abm }: TimelineFacts): TimelineEntry[] {
  if (!abm) return [];
  const out: TimelineEntry[] = [{ at: abm.device_assigned_date ?? abm.first_seen_at, step: 'Added to Apple Business Manager', outcome: 'done', detail: abm.device_assigned_by ? `by ${abm.device_assigned_by}` : undefined }];
  if (abm.profile_assign_time) out.push({ at: abm.profile_assign_time, step: 'Enrollment profile assigned', outcome: 'done', detail: abm.profile_uuid ?? undefined });
  if (abm.assign_result && abm.assign_result !== 'SUCCESS' && abm.assign_attempted_at) {
    out.push({ at: abm.assign_attempted_at, step: 'Profile assignment failed', outcome: 'failed', detail: `Apple answered ${abm.assign_result}${abm.assign_error ? `: ${abm.assign_error}` : ''}` });
  }
  if (abm.profile_push_time) out.push({ at: abm.profile_push_time, step: 'Profile pushed to the device', outcome: 'done' });
  if (abm.removed_at) out.push({ at: abm.removed_at, step: 'Removed from Apple Business Manager', outcome: 'done' });
  return out;
}

function attemptEntries({ attempts }: TimelineFacts, now: number): TimelineEntry[] {
  return attempts.flatMap((a) => {
    const webView = a.mode === 'ade-webview';
    if (a.mode === 'ade-custom') {
      const out: TimelineEntry[] = [{ at: a.created_at, step: 'Profile requested by the custom enrollment page', outcome: 'done', detail: a.username ? `for ${a.username}` : 'for nobody (anonymous)' }];
      if (a.profile_issued_at) out.push({ at: a.profile_issued_at, step: 'Enrollment profile delivered', outcome: 'done' });
      if (a.completed_at) out.push({ at: a.completed_at, step: 'First check-in', outcome: 'done' });
      return out;
    }
    const out: TimelineEntry[] = [{ at: a.created_at, step: webView ? 'Web view opened' : 'Enrollment requested', outcome: 'done' }];
    if (a.authenticated_at) {
      if (webView) out.push({ at: a.authenticated_at, step: 'Signed in', outcome: 'done', detail: `${a.username ?? 'with a registration token'}${a.sign_in_method ? ` (${a.sign_in_method})` : ''}` });
      else out.push({ at: a.authenticated_at, step: 'Assigned', outcome: 'done', detail: a.username ? `to ${a.username}` : 'to nobody (authentication off)' });
    }
    if (a.terms_accepted_at) out.push({ at: a.terms_accepted_at, step: 'Terms of use accepted', outcome: 'done', detail: `version ${a.terms_version}` });
    if (a.profile_issued_at) out.push({ at: a.profile_issued_at, step: 'Enrollment profile delivered', outcome: 'done' });
    if (a.completed_at) out.push({ at: a.completed_at, step: 'First check-in', outcome: 'done' });
    else if (a.expires_at <= now) out.push({ at: a.expires_at, step: 'Enrollment abandoned', outcome: 'failed', detail: a.profile_issued_at ? 'the profile was never installed' : 'sign-in was not finished' });
    else out.push({ at: a.updated_at, step: 'Enrollment in progress', outcome: 'waiting' });
    return out;
  });
}

function eventEntry(e: TimelineFacts['events'][number]): TimelineEntry {
  const label = STEP_LABEL[e.step] ?? e.step;
  return e.outcome === 'update-required'
    ? { at: e.at, step: `${label}: software update required`, outcome: 'waiting', detail: e.detail }
    : { at: e.at, step: `${label} refused`, outcome: 'failed', detail: e.detail };
}

function deviceEntries(f: TimelineFacts): TimelineEntry[] {
  const out: TimelineEntry[] = f.identities.map((c) => ({ at: c.created_at, step: 'Device identity issued (SCEP)', outcome: 'done' as const }));
  for (const e of f.enrollments) if (e.checked_out_at) out.push({ at: e.checked_out_at, step: 'Unenrolled (CheckOut)', outcome: 'done' });
  for (const p of f.plans) {
    out.push({ at: p.started_at, step: 'Awaiting configuration', outcome: 'done', detail: `time limit ${p.time_limit_minutes} min` });
    for (const s of p.steps) {
      const at = s.answered_at ?? s.queued_at ?? p.started_at;
      if (s.status === 'acknowledged') out.push({ at, step: s.label, outcome: 'done' });
      else if (s.status === 'error') out.push({ at, step: s.label, outcome: 'failed', detail: s.error_json ? errorSummary(s.error_json) : 'the device answered Error' });
      else if (s.status === 'timed-out') out.push({ at, step: s.label, outcome: 'failed', detail: 'no answer before the time limit' });
      else out.push({ at, step: s.label, outcome: 'waiting', detail: s.status });
    }
    // The plan ends when DeviceConfigured is sent; the release is shown after the device's answer to it.
    if (p.ended_at) out.push({ at: Math.max(p.ended_at, ...p.steps.map((s) => s.answered_at ?? 0)), step: 'Released from await configuration', outcome: 'done', detail: `${PLAN_REASON[p.reason ?? ''] ?? p.reason ?? ''}${p.ended_by ? ` (${p.ended_by})` : ''}` });
  }
  return out;
}

/** Apple's ErrorChain, shortened to what an admin reads first. */
function errorSummary(json: string): string {
  try {
    const chain = JSON.parse(json) as Array<{ LocalizedDescription?: string; ErrorDomain?: string; ErrorCode?: number }> | { LocalizedDescription?: string };
    const first = Array.isArray(chain) ? chain[0] : chain;
    return first?.LocalizedDescription ?? `${(first as { ErrorDomain?: string })?.ErrorDomain ?? 'error'} ${(first as { ErrorCode?: number })?.ErrorCode ?? ''}`.trim();
  } catch {
    return json.slice(0, 200);
  }
}
