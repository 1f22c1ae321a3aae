import { describe, expect, it } from 'vitest';
import { abmSyncCheck, abmTokenChecks, assignmentChecks, certificateCheck, expiryState, stuckDevicesCheck, type AbmServerFacts } from './alert-checks.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 21);
const T = [30, 14, 7, 1];

const server = (o: Partial<AbmServerFacts> = {}): AbmServerFacts => ({
  id: 's1', name: 'Main', groupId: 'g1', hasToken: true, tokenExpiresAt: NOW + 200 * DAY, lastSuccessAt: NOW - 60_000, lastError: null,
  syncIntervalMinutes: 30, lastSyncError: null, lastSyncAt: NOW - 60_000, since: NOW - 100 * DAY, ...o,
});

describe('expiryState', () => {
  it('steps through each threshold, then expired', () => {
    expect(expiryState(NOW + 31 * DAY, NOW, T)).toBe('ok');
    expect(expiryState(NOW + 30 * DAY, NOW, T)).toBe('expiring-30');
    expect(expiryState(NOW + 15 * DAY, NOW, T)).toBe('expiring-30');
    expect(expiryState(NOW + 14 * DAY, NOW, T)).toBe('expiring-14');
    expect(expiryState(NOW + 7 * DAY, NOW, T)).toBe('expiring-7');
    expect(expiryState(NOW + 2 * DAY, NOW, T)).toBe('expiring-7');
    expect(expiryState(NOW + DAY - 1, NOW, T)).toBe('expiring-1');
    expect(expiryState(NOW, NOW, T)).toBe('expired');
    expect(expiryState(NOW - DAY, NOW, T)).toBe('expired');
  });

  it('follows configured thresholds', () => {
    expect(expiryState(NOW + 50 * DAY, NOW, [60, 3])).toBe('expiring-60');
    expect(expiryState(NOW + 3 * DAY, NOW, [60, 3])).toBe('expiring-3');
  });
});

describe('ABM token checks', () => {
  const states = (s: AbmServerFacts, now = NOW) => Object.fromEntries(abmTokenChecks(s, now, T).map((o) => [o.kind, o.state]));

  it('reports expiry levels per server, in its group', () => {
    expect(states(server())).toEqual({ 'abm-token-expiring': 'ok', 'abm-terms-not-accepted': 'ok', 'abm-token-rejected': 'ok' });
    expect(states(server({ tokenExpiresAt: NOW + 10 * DAY }))['abm-token-expiring']).toBe('expiring-14');
    const expired = abmTokenChecks(server({ tokenExpiresAt: NOW - 1 }), NOW, T)[0];
    expect(expired).toMatchObject({ state: 'expired', severity: 'critical', groupId: 'g1', subject: 's1' });
    expect(expired.summary).toContain('expired');
  });

  it('reports terms not accepted and a rejected token while the last DEP call failed so', () => {
    expect(states(server({ lastError: { at: NOW, code: 'T_C_NOT_SIGNED', message: 'sign the terms' } }))['abm-terms-not-accepted']).toBe('open');
    expect(states(server({ lastError: { at: NOW, code: 'token_rejected', message: null } }))['abm-token-rejected']).toBe('open');
    // a later success clears it
    expect(states(server({ lastError: { at: NOW - 10, code: 'token_rejected', message: null }, lastSuccessAt: NOW }))['abm-token-rejected']).toBe('ok');
  });

  it('ignores servers without a token', () => {
    expect(abmTokenChecks(server({ hasToken: false }), NOW, T)).toEqual([]);
    expect(abmSyncCheck(server({ hasToken: false }), NOW, 3)).toBeUndefined();
  });
});

describe('sync failures', () => {
  it('alerts only after failures spanning the configured number of sync intervals', () => {
    const failingFor = (minutes: number) => server({ lastSyncError: 'DEP 500', lastSuccessAt: NOW - minutes * 60_000 });
    expect(abmSyncCheck(failingFor(30), NOW, 3)!.state).toBe('ok');
    expect(abmSyncCheck(failingFor(89), NOW, 3)!.state).toBe('ok');
    expect(abmSyncCheck(failingFor(90), NOW, 3)!.state).toBe('failing');
    expect(abmSyncCheck(failingFor(90), NOW, 3)!.summary).toContain('DEP 500');
    expect(abmSyncCheck(server({ lastSuccessAt: NOW - 10 * DAY }), NOW, 3)!.state).toBe('ok'); // last sync fine
  });
});

describe('assignment checks', () => {
  it('reports failing and throttled assignments apart', () => {
    const s = (failed: number, throttled: number) => assignmentChecks({ serverId: 's1', name: 'Main', groupId: 'g1', failed, throttled }, 1).map((o) => o.state);
    expect(s(0, 0)).toEqual(['ok', 'ok']);
    expect(s(2, 0)).toEqual(['failing', 'ok']);
    expect(s(0, 5)).toEqual(['ok', 'throttled']);
    expect(assignmentChecks({ serverId: 's1', name: 'Main', groupId: 'g1', failed: 2, throttled: 0 }, 3)[0].state).toBe('ok');
  });
});

describe('certificate and stuck-device checks', () => {
  it('certificates are global alerts', () => {
    const o = certificateCheck({ kind: 'push-cert-expiring', subject: 'com.apple.mgmt.x', label: 'push', notAfter: NOW + 5 * DAY }, NOW, T);
    expect(o).toMatchObject({ kind: 'push-cert-expiring', groupId: null, state: 'expiring-7', severity: 'warning' });
    expect(certificateCheck({ kind: 'ca-expiring', subject: 'device-ca', label: 'CA', notAfter: NOW + 3600_000 }, NOW, T).severity).toBe('critical');
  });

  it('stuck devices alert per group, whatever the count', () => {
    expect(stuckDevicesCheck({ groupId: 'g1', awaiting: 2, overdue: 1 })).toMatchObject({ kind: 'devices-stuck', subject: 'g1', state: 'stuck' });
    expect(stuckDevicesCheck({ groupId: 'g1', awaiting: 5, overdue: 0 }).state).toBe('stuck');
    expect(stuckDevicesCheck({ groupId: 'g1', awaiting: 0, overdue: 0 }).state).toBe('ok');
  });
});
