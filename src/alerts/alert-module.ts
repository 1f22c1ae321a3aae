/**
 * Builds the alert pieces from the configuration: the service (checks and state), its deliveries
 * over the configured channels, and the job that runs both under a lease.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import type { LeaseStore } from '../jobs/lease-store.js';
import type { AbmServerService } from '../abm/abm-server-service.js';
import type { PushCertService } from '../mdm/push/pushcert-service.js';
import { ROOT_GROUP_ID, type OrgGroupService } from '../org/org-group-service.js';
import type { Config } from '../config.js';
import { AlertStore } from './alert-store.js';
import { AlertFactsStore } from './alert-facts-store.js';
import { alertFacts } from './alert-facts.js';
import { AlertService } from './alert-service.js';
import { AlertDelivery } from './alert-delivery.js';
import { alertJob } from './alert-job.js';
import { EmailSender } from './email-sender.js';
import { WebhookSender } from './webhook-sender.js';

export interface AlertModuleDeps {
  db: Db;
  config: Pick<Config, 'alerts' | 'tls' | 'nodeId'>;
  log: Logger;
  leases: LeaseStore;
  servers: Pick<AbmServerService, 'list'>;
  pushcerts: Pick<PushCertService, 'list'>;
  groups: Pick<OrgGroupService, 'setting'>;
  caNotAfter: number;
  now?: () => number;
}

export function createAlerts(d: AlertModuleDeps) {
  const c = d.config.alerts;
  const log = d.log.child({ component: 'alerts' });
  const store = new AlertStore(d.db);
  const email = c.smtp ? new EmailSender(c.smtp) : undefined;
  const webhook = c.webhook ? new WebhookSender(c.webhook) : undefined;
  // Recipients come from the subject's group (inherited upwards); a deleted group falls back to the root's.
  const recipients = async (groupId: string | null) =>
    d.groups.setting<string[]>(groupId ?? ROOT_GROUP_ID, 'alerts.recipients').catch(() => d.groups.setting<string[]>(ROOT_GROUP_ID, 'alerts.recipients'));
  const alerts = new AlertService({
    store, log, now: d.now, recipients,
    facts: alertFacts({ servers: d.servers, pushcerts: d.pushcerts, store: new AlertFactsStore(d.db), caNotAfter: d.caNotAfter, tlsCertFile: d.config.tls?.certFile }),
    thresholds: { expiryDays: c.expiryDays, syncFailures: c.syncFailures, assignFailures: 1, stuckAfterMinutes: c.stuckAfterMinutes },
    channels: { email: Boolean(email), webhook: Boolean(webhook) },
  });
  const delivery = new AlertDelivery({ store, channels: { email, webhook }, log, now: d.now });
  const job = alertJob({ alerts, delivery, leases: d.leases, nodeId: d.config.nodeId, log, everyMs: c.checkMinutes * 60_000, now: d.now });
  return { alerts, alertDelivery: delivery, alertJob: job, closeAlerts: () => email?.close() };
}
