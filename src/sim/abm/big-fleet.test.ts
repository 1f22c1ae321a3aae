/** 100,000 devices through real HTTP: every serial exactly once. Timing lives in measure-fetch.ts, not here. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppleSerial } from './device-factory.js';
import type { AbmSimulator } from './server.js';
import { simWithClient, type TestDepClient } from './test-client.js';

const N = 100_000;
let sim: AbmSimulator;
let client: TestDepClient;
let serverUuid: string;

beforeAll(async () => {
  ({ sim, client, serverUuid } = await simWithClient({ seed: 100, fetchLimit: { default: 1000, maximum: 5000 }, syncLimit: { default: 1000, maximum: 5000 } }));
  sim.addDevices(serverUuid, N, { spreadDays: 365 });
}, 120_000);
afterAll(() => sim.close());

describe('a 100,000-device fleet', () => {
  let drained = '';

  it('pages of 1000: 100 pages, every device once, cursor small', async () => {
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    let longest = 0;
    let duplicates = 0;
    for (;;) {
      const p = await client.json('POST', '/server/devices', cursor ? { cursor, limit: 1000 } : { limit: 1000 });
      pages++;
      for (const d of p.devices) {
        if (seen.has(d.serial_number)) duplicates++;
        seen.add(d.serial_number);
      }
      cursor = p.cursor as string;
      longest = Math.max(longest, cursor.length);
      if (!p.more_to_follow) break;
    }
    expect(duplicates).toBe(0);
    expect(pages).toBe(100);
    expect(seen.size).toBe(N);
    expect([...seen].every(isAppleSerial)).toBe(true);
    expect(longest).toBeLessThan(100);
    drained = cursor!;
  }, 120_000);

  it('then a sync sees scripted changes across the fleet, in order', async () => {
    const serials = sim.devices(serverUuid).map((d) => d.serial_number);
    const other = sim.createServer({ name: 'elsewhere' });
    sim.modifyDevices(serials.slice(0, 2000), { asset_tag: 'BULK' });
    sim.moveDevices(serials.slice(2000, 2500), other.serverUuid);
    sim.addDevices(serverUuid, 1500);
    const ops: Record<string, number> = {};
    let cursor = drained;
    for (;;) {
      const p = await client.json('POST', '/devices/sync', { cursor, limit: 1000 });
      for (const d of p.devices) ops[d.op_type] = (ops[d.op_type] ?? 0) + 1;
      cursor = p.cursor;
      if (!p.more_to_follow) break;
    }
    expect(ops).toEqual({ modified: 2000, deleted: 500, added: 1500 });
    expect(sim.servers().find((s) => s.serverUuid === serverUuid)!.devices).toBe(N - 500 + 1500);
  }, 120_000);

  it('generated devices are deterministic for a seed', async () => {
    const { startAbmSimulator } = await import('./server.js');
    const a = await startAbmSimulator({ seed: 'same' });
    const b = await startAbmSimulator({ seed: 'same' });
    try {
      const sa = a.createServer({ name: 'a' }).serverUuid;
      const sb = b.createServer({ name: 'b' }).serverUuid;
      a.addDevices(sa, 50);
      b.addDevices(sb, 50);
      const strip = (d: Record<string, unknown>) => ({ ...d, server_uuid: undefined, device_assigned_date: undefined });
      expect(a.devices(sa).map(strip)).toEqual(b.devices(sb).map(strip));
      const families = new Set(a.devices(sa).map((d) => `${d.device_family}/${d.os}`));
      for (const f of families) expect(['iPhone/iOS', 'iPad/iPadOS', 'Mac/OSX', 'AppleTV/tvOS', 'Vision/visionOS', 'iPod/iOS']).toContain(f);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
