/** What an alert event says, the same words for every channel. */
import type { AlertEventRow } from './alert-store.js';

export interface AlertMessage {
  id: string;
  event: 'raised' | 'resolved';
  key: string;
  kind: string;
  subject: string;
  groupId: string | null;
  state: string;
  previousState: string;
  severity: string;
  summary: string;
  at: string;
}

export function alertMessage(e: AlertEventRow): AlertMessage {
  return {
    id: e.id, event: e.event, key: e.alert_key, kind: e.kind, subject: e.subject, groupId: e.group_id,
    state: e.state, previousState: e.previous_state, severity: e.severity, summary: e.summary, at: new Date(e.at).toISOString(),
  };
}

export function alertTitle(m: AlertMessage): string {
  return m.event === 'resolved' ? `[Pomona] resolved: ${m.summary}` : `[Pomona] ${m.severity}: ${m.summary}`;
}
