import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';

describe('alert configuration', () => {
  it('has defaults: checks every 15 minutes, thresholds 30/14/7/1, no channels', () => {
    expect(loadConfig({ env: {} }).alerts).toEqual({ checkMinutes: 15, expiryDays: [30, 14, 7, 1], syncFailures: 3, stuckAfterMinutes: 60, smtp: undefined, webhook: undefined });
  });

  it('reads SMTP and webhook settings, their secrets from the environment only', () => {
    const c = loadConfig({
      env: { POMONA_SMTP_HOST: 'smtp.example.com', POMONA_SMTP_USER: 'u', POMONA_SMTP_PASSWORD: 'p', POMONA_ALERT_WEBHOOK_SECRET: 'a-long-enough-secret' },
      flags: { alertFrom: 'Pomona <pomona@example.com>', smtpPort: '465', smtpSecure: 'true', alertWebhookUrl: 'https://hooks.example.com/x', alertExpiryDays: '7, 60' },
    }).alerts;
    expect(c.smtp).toEqual({ host: 'smtp.example.com', port: 465, secure: true, user: 'u', pass: 'p', from: 'Pomona <pomona@example.com>' });
    expect(c.webhook).toEqual({ url: 'https://hooks.example.com/x', secret: 'a-long-enough-secret' });
    expect(c.expiryDays).toEqual([60, 7]);
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({ env: { POMONA_SMTP_HOST: 'smtp.example.com', POMONA_ALERT_WEBHOOK_URL: 'ftp://x', POMONA_ALERT_EXPIRY_DAYS: '30,zero' } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const lines = (e as ConfigError).problems.join('\n');
      expect(lines).toContain('POMONA_ALERT_FROM: required');
      expect(lines).toContain('POMONA_ALERT_WEBHOOK_URL: must be an http(s) URL');
      expect(lines).toContain('POMONA_ALERT_WEBHOOK_SECRET');
      expect(lines).toContain('POMONA_ALERT_EXPIRY_DAYS');
    }
  });
});
