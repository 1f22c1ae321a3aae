/**
 * Measures a full fetch of a large fleet from the simulator on loopback, the way a DEP client
 * does it (pages of `limit`, each JSON-parsed, cursor followed; client and simulator share
 * this one process, so the figures include the client's parsing), plus the simulator's memory.
 * Not a test — tests never assert timing:
 *   node --expose-gc --import tsx src/sim/abm/measure-fetch.ts [devices=100000] [limit=1000]
 */
import os from 'node:os';
import { startAbmSimulator } from './server.js';
import { TestDepClient } from './test-client.js';

const devices = Number(process.argv[2] ?? 100_000);
const limit = Number(process.argv[3] ?? 1000);
const mb = (n: number) => (n / 1024 / 1024).toFixed(1) + ' MB';
const gc = () => (globalThis as { gc?: () => void }).gc?.();

async function fullFetch(client: TestDepClient, sim: { requests(): { path: string; ms: number }[]; clearRequests(): void }) {
  await client.session();
  sim.clearRequests();
  const seen = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  let bytes = 0;
  const t0 = performance.now();
  for (;;) {
    const a = await client.call('POST', '/server/devices', cursor ? { cursor, limit } : { limit });
    if (a.status !== 200) throw new Error(`${a.status} ${a.text}`);
    bytes += Buffer.byteLength(a.text);
    const page = JSON.parse(a.text) as { devices: { serial_number: string }[]; cursor: string; more_to_follow: boolean };
    for (const d of page.devices) seen.add(d.serial_number);
    cursor = page.cursor;
    pages++;
    if (!page.more_to_follow) break;
  }
  const ms = performance.now() - t0;
  if (seen.size !== devices) throw new Error(`fetched ${seen.size} of ${devices} devices`);
  const serverMs = sim.requests().reduce((n, r) => n + r.ms, 0);
  return { ms, pages, bytes, count: seen.size, serverMs };
}

async function fleet(prerender: boolean) {
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const sim = await startAbmSimulator({ seed: 42, fetchLimit: { default: 1000, maximum: 5000 }, prerenderProtocolVersion: prerender ? 10 : undefined });
  const { serverUuid } = sim.createServer({ name: 'bench' });
  const t = performance.now();
  sim.addDevices(serverUuid, devices, { spreadDays: 365 });
  const addMs = performance.now() - t;
  gc();
  const heapFleet = process.memoryUsage().heapUsed - heap0;
  const client = new TestDepClient(sim.url, sim.org.newToken(sim.org.server(serverUuid)).tokens, 10);
  return { sim, client, addMs, heapFleet, heap0 };
}

async function main(): Promise<void> {
  const line = (name: string, r: Awaited<ReturnType<typeof fullFetch>>) =>
    console.log(`  ${name}: ${r.count} devices, ${r.pages} pages, ${mb(r.bytes)} in ${r.ms.toFixed(0)} ms (${Math.round((r.count / r.ms) * 1000)} devices/s; simulator's share: ${r.serverMs} ms building pages)`);
  console.log(`machine: ${os.cpus()[0]?.model} ×${os.cpus().length}, load ${os.loadavg()[0].toFixed(1)}, node ${process.version}; ${devices} devices, pages of ${limit}`);

  const a = await fleet(false);
  console.log(`lazy JSON: fleet generated in ${a.addMs.toFixed(0)} ms, heap +${mb(a.heapFleet)}`);
  line('first full fetch (renders JSON)', await fullFetch(a.client, a.sim));
  line('second full fetch (cached JSON)', await fullFetch(a.client, a.sim));
  line('third full fetch', await fullFetch(a.client, a.sim));
  gc();
  console.log(`  heap with cached JSON: +${mb(process.memoryUsage().heapUsed - a.heap0)}; rss ${mb(process.memoryUsage().rss)}`);
  await a.sim.close();

  const b = await fleet(true);
  console.log(`prerendered JSON (prerenderProtocolVersion 10): fleet generated in ${b.addMs.toFixed(0)} ms, heap +${mb(b.heapFleet)}`);
  line('first full fetch', await fullFetch(b.client, b.sim));
  await b.sim.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
