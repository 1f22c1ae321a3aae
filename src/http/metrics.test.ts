import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';
import { MdmEvents } from '../mdm/mdm-events.js';
import { DeviceRefusal } from '../mdm/device-refusal.js';
import type { DeviceMessage } from '../mdm/checkin-service.js';

const sqlite = { dialect: 'sqlite' as const };

describe('Metrics', () => {
  it('keeps each instance in its own registry', async () => {
    const a = new Metrics({ database: sqlite });
    const b = new Metrics({ database: sqlite });
    a.jobRun({ job: 'x', outcome: 'ok', ms: 5 });
    expect(await a.registry.metrics()).toContain('pomona_job_runs_total{job="x",outcome="ok"} 1');
    expect(await b.registry.metrics()).not.toContain('job="x"');
  });

  it('counts DEP calls by endpoint and outcome, syncs, ADE steps and pushes', async () => {
    const m = new Metrics({ database: sqlite });
    m.depCall({ endpoint: 'POST /devices/sync', status: 200, ms: 120 });
    m.depCall({ endpoint: 'GET /session', status: 'timeout', ms: 30_000 });
    m.syncRun({ durationMs: 2000, result: { kind: 'full', pages: 1, records: 3, added: 2, modified: 1, deleted: 0, missing: 0, restartedFullFetch: false, durationMs: 2000 } });
    m.syncRun({ durationMs: 10 });
    m.adeStep({ step: 'enrollment-request', outcome: 'refused' });
    m.adeStep({ step: 'profile-delivered', outcome: 'ok' });
    m.pushOutcomes([{ enrollmentId: 'a', status: 'sent' }, { enrollmentId: 'b', status: 'invalid-token' }, { enrollmentId: 'c', status: 'sent' }]);
    const text = await m.registry.metrics();
    expect(text).toContain('pomona_dep_requests_total{endpoint="POST /devices/sync",outcome="200"} 1');
    expect(text).toContain('pomona_dep_requests_total{endpoint="GET /session",outcome="timeout"} 1');
    expect(text).toContain('pomona_dep_request_duration_seconds_sum{endpoint="POST /devices/sync"} 0.12');
    expect(text).toContain('pomona_abm_sync_duration_seconds_count{outcome="ok"} 1');
    expect(text).toContain('pomona_abm_sync_duration_seconds_count{outcome="failed"} 1');
    expect(text).toContain('pomona_abm_sync_devices_total{change="added"} 2');
    expect(text).toContain('pomona_abm_sync_devices_total{change="modified"} 1');
    expect(text).toContain('pomona_ade_steps_total{step="enrollment-request",outcome="refused"} 1');
    expect(text).toContain('pomona_ade_steps_total{step="profile-delivered",outcome="ok"} 1');
    expect(text).toContain('pomona_push_notifications_total{outcome="sent"} 2');
    expect(text).toContain('pomona_push_notifications_total{outcome="invalid-token"} 1');
  });

  it('counts check-ins by outcome through the wrapper, and MDM events', async () => {
    const m = new Metrics({ database: sqlite });
    const events = new MdmEvents();
    m.listen(events);
    const msg = (messageType: string) => ({ messageType }) as DeviceMessage;
    const checkins = m.countCheckins({
      handle: async (x) => {
        if (x.messageType === 'Bad') throw new DeviceRefusal('bad-request', 'no');
        if (x.messageType === 'Boom') throw new Error('db down');
        return { kind: 'empty' };
      },
    });
    await checkins.handle(msg('TokenUpdate'), {} as never);
    await expect(checkins.handle(msg('Bad'), {} as never)).rejects.toThrow('no');
    await expect(checkins.handle(msg('Boom'), {} as never)).rejects.toThrow('db down');
    events.emit('commandResult', { enrollmentId: 'e', deviceId: 'd', commandUuid: 'u', requestType: 'ProfileList', status: 'Error' });
    events.emit('authenticate', { enrollmentId: 'e', deviceId: 'd', type: 'Device', reEnrollment: true });
    const text = await m.registry.metrics();
    expect(text).toContain('pomona_mdm_checkins_total{message_type="TokenUpdate",outcome="ok"} 1');
    expect(text).toContain('pomona_mdm_checkins_total{message_type="Bad",outcome="refused"} 1');
    expect(text).toContain('pomona_mdm_checkins_total{message_type="Boom",outcome="failed"} 1');
    expect(text).toContain('pomona_mdm_command_results_total{request_type="ProfileList",status="Error"} 1');
    expect(text).toContain('pomona_mdm_enrollment_events_total{event="re-authenticate"} 1');
  });

  it('reads expiry dates on scrape, and survives a source that fails', async () => {
    const errors: unknown[] = [];
    let fail = false;
    const m = new Metrics({
      database: { dialect: 'postgres', pool: { totalCount: 4, idleCount: 3, waitingCount: 0 } },
      expiry: {
        pushCertificates: async () => [{ topic: 'com.apple.mgmt.X', notAfter: 1_900_000_000_000 }],
        abmServers: async () => {
          if (fail) throw new Error('db down');
          return [{ id: 'a1', name: 'Main', tokenExpiresAt: 1_800_000_000_000 }, { id: 'a2', name: 'New', tokenExpiresAt: null }];
        },
      },
      onCollectError: (e) => errors.push(e),
    });
    let text = await m.registry.metrics();
    expect(text).toContain('pomona_push_certificate_expiry_timestamp_seconds{topic="com.apple.mgmt.X"} 1900000000');
    expect(text).toContain('pomona_abm_token_expiry_timestamp_seconds{server_id="a1",server="Main"} 1800000000');
    expect(text).not.toContain('server_id="a2"');
    expect(text).toContain('pomona_db_pool_connections{state="idle"} 3');
    fail = true;
    text = await m.registry.metrics();
    expect(text).not.toContain('server_id="a1"');
    expect(errors).toHaveLength(1);
  });
  it('reads open alerts on scrape; a kind that resolved reads 0; a failed read leaves none', async () => {
    let counts = [{ kind: 'abm-token-expiring', severity: 'warning', open: 2 }, { kind: 'push-certificate-expiring', severity: 'critical', open: 1 }];
    let fail = false;
    const errors: unknown[] = [];
    const m = new Metrics({
      database: { dialect: 'sqlite', pool: undefined },
      alerts: { openCounts: async () => { if (fail) throw new Error('db down'); return counts; } },
      onCollectError: (e) => errors.push(e),
    });
    let text = await m.registry.metrics();
    expect(text).toContain('pomona_alerts_open{kind="abm-token-expiring",severity="warning"} 2');
    expect(text).toContain('pomona_alerts_open{kind="push-certificate-expiring",severity="critical"} 1');
    counts = [{ kind: 'abm-token-expiring', severity: 'warning', open: 1 }];
    text = await m.registry.metrics();
    expect(text).toContain('pomona_alerts_open{kind="abm-token-expiring",severity="warning"} 1');
    expect(text).toContain('pomona_alerts_open{kind="push-certificate-expiring",severity="critical"} 0');
    fail = true;
    text = await m.registry.metrics();
    expect(text).not.toMatch(/^pomona_alerts_open\{/m);
    expect(errors).toHaveLength(1);
  });
});
