/**
 * The server under benchmark, in its own process so its CPU time can be read apart from
 * the simulated devices'. Started by bench/mdm.ts with an IPC channel: sends {url, token} when
 * ready, and answers {profile: 'start'} and {profile: 'stop', file} by recording a V8 CPU
 * profile of just that window, written as a .cpuprofile file. Logs go to stdout as in `pomona serve`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { buildApp, openContext } from '../src/app.js';
import { createTestPushCertificate } from '../src/apple/push-certificate.js';

const [databaseUrl, port, logLevel = 'silent'] = process.argv.slice(2);
const dataDir = mkdtempSync(join(tmpdir(), 'pomona-bench-'));
const config = loadConfig({ env: {}, flags: { databaseUrl, dataDir, listen: `127.0.0.1:${port}`, logLevel } });
const ctx = await openContext(config);
// Below silent the server logs as `pomona serve` does (bench/mdm.ts sends stdout to /dev/null).
const app = await buildApp(ctx, logLevel === 'silent' ? { logger: false } : {});
await app.listen({ host: '127.0.0.1', port: Number(port) });
const push = await createTestPushCertificate();
await ctx.pushcerts.import({ certPem: push.certPem, keyPem: push.keyPem });
const { secret } = await ctx.tokens.create({ name: 'bench', role: 'administrator' });

const session = new Session();
session.connect();
process.on('message', async (m: { profile: 'start' | 'stop'; file?: string }) => {
  if (m.profile === 'start') {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    process.send!({ profile: 'started' });
  } else {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(m.file!, JSON.stringify(profile));
    process.send!({ profile: 'stopped' });
  }
});
process.on('disconnect', () => {
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
});
process.send!({ url: `http://127.0.0.1:${port}`, token: secret });
