/**
 * The server under benchmark, in its own process so its CPU time can be read apart from the
 * simulated devices': compiled, as `pomona serve` runs, with a test push certificate and an
 * administrator token; in test mode when a fourth argument names the PEM file of a simulated
 * device CA to trust (bench/ade.ts). Over the IPC channel it sends {url, token} when ready, answers
 * {run: 'abm-sync'} by running the ABM job now (sync, then profile assignment) and
 * {profile: 'start' | 'stop', file} by recording a V8 CPU profile of just that window (a
 * .cpuprofile file); each request is answered with {done}. Logs go to stdout as in
 * `pomona serve`; closing the channel ends it (its data directory removed first). A fifth argument
 * names a data directory to use and keep instead: the nodes of one cluster (bench/cluster.ts) share
 * it for the secret key, start one after the other, and only the first imports a push certificate.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { buildApp, openContext } from '../src/app.js';
import { createTestPushCertificate } from '../src/apple/push-certificate.js';

const [databaseUrl, port, logLevel = 'silent', adeTestRootFile, sharedDataDir] = process.argv.slice(2);
const dataDir = sharedDataDir || mkdtempSync(join(tmpdir(), 'pomona-bench-'));
const config = loadConfig({ env: {}, flags: { databaseUrl, dataDir, listen: `127.0.0.1:${port}`, logLevel, ...(adeTestRootFile ? { adeTestRootFile } : {}) } });
const ctx = await openContext(config);
// Below silent the server logs as `pomona serve` does (the benchmarks send stdout to /dev/null).
const app = await buildApp(ctx, logLevel === 'silent' ? { logger: false } : {});
await app.listen({ host: '127.0.0.1', port: Number(port) });
if ((await ctx.pushcerts.list()).length === 0) {
  const push = await createTestPushCertificate();
  await ctx.pushcerts.import({ certPem: push.certPem, keyPem: push.keyPem });
}
const { secret } = await ctx.tokens.create({ name: 'bench', role: 'administrator' });

const session = new Session();
session.connect();
process.on('message', async (m: { run?: 'abm-sync'; profile?: 'start' | 'stop'; file?: string }) => {
  if (m.run === 'abm-sync') {
    await ctx.scheduler.runNow('abm-sync');
  } else if (m.profile === 'start') {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
  } else if (m.profile === 'stop') {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(m.file!, JSON.stringify(profile));
  }
  process.send!({ done: m.run ?? m.profile });
});
process.on('disconnect', async () => {
  await app.close();
  await ctx.close();
  if (!sharedDataDir) rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
});
process.send!({ url: `http://127.0.0.1:${port}`, token: secret });
