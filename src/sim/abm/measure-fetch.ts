/**
 * Measures a full fetch of a large fleet from the simulator on loopback, the way a DEP client
 * does it (pages of `limit`, JSON-parsed, cursor followed), plus the simulator's memory.
 * Not a test (tests never assert timing): `npx tsx src/sim/abm/measure-fetch.ts [devices] [limit]`.
 */
import os from 'node:os';
import { startAbmSimulator } from './server.js';
import { TestDepClient } from './test-client.js';

const devices = Number(process.argv[2] ?? 100_000);
const limit = Number(process.argv[3] ?? 1000);

function mb(n: number): string {
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

async function main(): Promise<void> {
  global.gc?.();
  const before = process.memoryUsage();
  const sim = await startAbmSimulator({ seed: 42, fetchLimit: { default: 1000, maximum: 5000 }, syncLimit: { default: 1000, maximum: 5000 } });
  const srv = sim.createServer({ name: 'bench' });
  let t = performance.now();
  sim.addDevices(srv.serverUuid, devices, { spreadDays: 365 });
  const addMs = performance.now() - t;
  global.gc?.();
  const afterAdd = process.memoryUsage();

  const tokens = sim.org.newToken(sim.org.server(srv.serverUuid)).tokens;
  const client = new TestDepClient(sim.url, tokens, 10);
  const run = async () => {
    await client.session();
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    let bytes = 0;
    const t0 = performance.now();
    for (;;) {
      const a = await client.call('POST', '/server/devices', cursor ? { cursor, limit } : { limit });
      if (a.status !== 200) throw new Error(`${a.status} ${a.text}`);
      bytes += a.text.length;
      const page = JSON.parse(a.text) as { devices: { serial_number: string }[]; cursor: string; more_to_follow: boolean };
      for (const d of page.devices) seen.add(d.serial_number);
      cursor = page.cursor;
      pages++;
      if (!page.more_to_follow) break;
    }
    return { ms: performance.now() - t0, pages, bytes, count: seen.size };
  };
  const cold = await run();
  const warm = await run();
  global.gc?.();
  const afterFetch = process.memoryUsage();
  await sim.close();

  console.log(`machine: ${os.cpus()[0]?.model} ×${os.cpus().length}, node ${process.version}`);
  console.log(`fleet: ${devices} devices generated in ${addMs.toFixed(0)} ms`);
  for (const [name, r] of [['first full fetch (JSON rendered on demand)', cold], ['second full fetch (cached JSON)', warm]] as const) {
    console.log(`${name}: ${r.count} unique devices, ${r.pages} pages of ${limit}, ${mb(r.bytes)} in ${r.ms.toFixed(0)} ms (${((r.count / r.ms) * 1000).toFixed(0)} devices/s)`);
  }
  console.log(`heap: before ${mb(before.heapUsed)}, with fleet ${mb(afterAdd.heapUsed)}, after fetches (JSON cached) ${mb(afterFetch.heapUsed)}; rss ${mb(afterFetch.rss)}`);
  if (cold.count !== devices || warm.count !== devices) throw new Error('device count mismatch');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
