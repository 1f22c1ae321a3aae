/**
 * Pomona's side of the abm-sync benchmark, in its own process so its CPU time and RSS are its
 * own. Creates an ABM server pointed at the simulator, uploads the token the simulator issues
 * for its key, then runs a sync each time the parent asks ({run: 'sync'}) and answers with the
 * result and its wall time.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { openContext } from '../src/app.js';

const [databaseUrl, simUrl, appleServerUuid] = process.argv.slice(2);
const dataDir = mkdtempSync(join(tmpdir(), 'pomona-bench-'));
const ctx = await openContext(loadConfig({ env: {}, flags: { databaseUrl, dataDir, logLevel: 'silent' } }));
const server = await ctx.abmServers.create({ name: 'bench', baseUrl: simUrl });
const { certPem } = await ctx.abmServers.publicKey(server.id);
const res = await fetch(`${simUrl}/_sim/servers/${appleServerUuid}/token`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ certificate: certPem }),
});
await ctx.abmServers.uploadToken(server.id, Buffer.from(await res.arrayBuffer()));
await ctx.abmServers.testConnection(server.id);

process.on('message', async (m: { run: 'sync' }) => {
  if (m.run !== 'sync') return;
  const t0 = performance.now();
  const result = await ctx.abmSync.run(server.id);
  const mb = (n: number) => Math.round(n / 1048576);
  const mem = process.memoryUsage();
  // With --expose-gc (BENCH_NODE_FLAGS), also what is still alive after a full collection.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const live = gc ? mb(process.memoryUsage().heapUsed) : undefined;
  process.send!({ result, seconds: (performance.now() - t0) / 1000, memory: { rss: mb(mem.rss), heapTotal: mb(mem.heapTotal), heapUsed: mb(mem.heapUsed), external: mb(mem.external), arrayBuffers: mb(mem.arrayBuffers), heapLiveAfterGc: live } });
});
process.on('disconnect', async () => {
  await ctx.close();
  process.exit(0);
});
process.send!({ ready: true, rssMb: process.memoryUsage().rss / 1048576 });
