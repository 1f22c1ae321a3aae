import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyExchangeCertificate } from '../pki/ca.js';
import { alertFacts } from './alert-facts.js';
import type { AlertFactsStore } from './alert-facts-store.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 21);
const dir = mkdtempSync(join(tmpdir(), 'pomona-alert-facts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const facts = (tlsCertFile?: string) => alertFacts({
  servers: { list: async () => [] },
  pushcerts: { list: async () => [{ topic: 'com.apple.mgmt.External.x', subject: 'x', notBefore: NOW - DAY, notAfter: NOW + 20 * DAY, expiresInDays: 20, expired: false }] },
  store: {} as AlertFactsStore,
  caNotAfter: NOW + 3000 * DAY,
  tlsCertFile,
});

describe('alert facts: certificates', () => {
  it('reads the push certificates, the device CA and the TLS certificate file', async () => {
    const tls = await createKeyExchangeCertificate({ commonName: 'mdm.example.com', now: NOW - DAY, days: 10 });
    const file = join(dir, 'tls.pem');
    writeFileSync(file, tls.certPem);
    const certs = await facts(file).certificates();
    expect(certs.map((c) => `${c.kind}:${c.subject}`)).toEqual(['push-cert-expiring:com.apple.mgmt.External.x', 'ca-expiring:device-ca', 'tls-expiring:server']);
    const t = certs[2];
    expect(Math.abs(t.notAfter - (NOW + 9 * DAY))).toBeLessThan(DAY); // whole seconds in the certificate
    expect(t.label).toContain('mdm.example.com');
  });

  it('counts an unreadable TLS certificate file as expired, and leaves TLS out without one', async () => {
    const certs = await facts(join(dir, 'missing.pem')).certificates();
    expect(certs.find((c) => c.kind === 'tls-expiring')).toMatchObject({ notAfter: 0 });
    expect((await facts().certificates()).map((c) => c.kind)).toEqual(['push-cert-expiring', 'ca-expiring']);
  });
});
