/**
 * The skip-key catalogue the profile editor shows: every key Pomona validates against, with its
 * platforms, OS versions and plain-language description, readable by a read-only admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SKIP_KEYS } from '../src/abm/skip-keys.js';
import { skipUnlessAvailable, testDatabaseKinds } from './support/db.js';
import { startTestServer, type TestServer } from './support/server.js';

describe.each(testDatabaseKinds)('skip-key catalogue API (%s)', (kind) => {
  describe.skipIf(skipUnlessAvailable(kind))('', () => {
    let pomona: TestServer;
    beforeAll(async () => {
      pomona = await startTestServer(kind);
    });
    afterAll(() => pomona?.close());

    it('lists every known skip key with its platforms and versions', async () => {
      const { status, json } = await pomona.api('/api/v1/skip-keys');
      expect(status).toBe(200);
      expect(json.platforms).toEqual(['iOS', 'iPadOS', 'macOS', 'tvOS', 'visionOS']);
      expect(json.items.map((k: { key: string }) => k.key)).toEqual(SKIP_KEYS.map((k) => k.key));
      expect(json.items.find((k: { key: string }) => k.key === 'DisplayTone')).toEqual({
        key: 'DisplayTone',
        description: 'Skips the True Tone display pane.',
        platforms: { iOS: { since: '9.3.2', deprecated: '15.0' }, macOS: { since: '10.13.6', deprecated: '12.0' } },
      });
      expect(json.items.find((k: { key: string }) => k.key === 'Keyboard').platforms.iOS).toEqual({ since: '13.0', notAlwaysSkippable: true });
    });

    it('is readable by a read-only admin and closed without credentials', async () => {
      const { secret } = await pomona.ctx.tokens.create({ name: 'reader', role: 'read-only' });
      expect((await fetch(`${pomona.url}/api/v1/skip-keys`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
      expect((await fetch(`${pomona.url}/api/v1/skip-keys`)).status).toBe(401);
    });
  });
});
