/**
 * The alert checks' facts, read through the services and stores that own them: ABM servers and
 * their token and sync outcomes, assignment results, push certificates, the device CA, and
 * Pomona's own TLS certificate (read from its file each time, so a renewed file is noticed).
 */
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import type { AbmServerService } from '../abm/abm-server-service.js';
import type { PushCertService } from '../mdm/push/pushcert-service.js';
import type { AlertFactsStore } from './alert-facts-store.js';
import type { AlertFacts } from './alert-service.js';
import type { AbmServerFacts, AssignmentFacts, CertificateFacts } from './alert-checks.js';

export interface AlertFactSources {
  servers: Pick<AbmServerService, 'list'>;
  pushcerts: Pick<PushCertService, 'list'>;
  store: AlertFactsStore;
  /** the device CA's expiry */
  caNotAfter: number;
  tlsCertFile?: string;
}

export function alertFacts(s: AlertFactSources): AlertFacts {
  const servers = async (): Promise<AbmServerFacts[]> =>
    (await s.servers.list()).map((v) => ({
      id: v.id, name: v.name, groupId: v.organizationGroupId, hasToken: v.tokenState !== 'no-token', tokenExpiresAt: v.tokenExpiresAt,
      lastSuccessAt: v.lastSuccessAt, lastError: v.lastError, syncIntervalMinutes: v.syncIntervalMinutes,
      lastSyncError: v.sync.lastError, lastSyncAt: v.sync.lastSyncAt, since: v.tokenUploadedAt ?? v.createdAt,
    }));
  return {
    abmServers: servers,
    async assignments(): Promise<AssignmentFacts[]> {
      const counts = await s.store.assignmentCounts();
      return (await servers()).map((v) => ({ serverId: v.id, name: v.name, groupId: v.groupId, failed: counts.get(v.id)?.failed ?? 0, throttled: counts.get(v.id)?.throttled ?? 0 }));
    },
    async certificates(): Promise<CertificateFacts[]> {
      const out: CertificateFacts[] = (await s.pushcerts.list()).map((c) => ({ kind: 'push-cert-expiring', subject: c.topic, label: `the push certificate for ${c.topic}`, notAfter: c.notAfter }));
      out.push({ kind: 'ca-expiring', subject: 'device-ca', label: "the device CA (every device identity chains to it)", notAfter: s.caNotAfter });
      if (s.tlsCertFile) {
        // An unreadable file counts as expired: the next restart would fail on it.
        const cert = await readFile(s.tlsCertFile).then((b) => new X509Certificate(b)).catch(() => undefined);
        out.push(cert
          ? { kind: 'tls-expiring', subject: 'server', label: `Pomona's TLS certificate (${cert.subject.replace(/\n/g, ', ')})`, notAfter: Date.parse(cert.validTo) }
          : { kind: 'tls-expiring', subject: 'server', label: `Pomona's TLS certificate file ${s.tlsCertFile} (unreadable)`, notAfter: 0 });
      }
      return out;
    },
    stuckDevices: (awaitingBefore, now) => s.store.stuckDevices(awaitingBefore, now),
  };
}
