/**
 * The server under benchmark, in its own process so its CPU time can be read apart from
 * the simulated devices'. Prints one JSON line {url, token} when ready.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { buildApp, openContext } from '../src/app.js';
import { createTestPushCertificate } from '../src/apple/push-certificate.js';

const [databaseUrl, port] = process.argv.slice(2);
const dataDir = mkdtempSync(join(tmpdir(), 'pomona-bench-'));
const config = loadConfig({ env: {}, flags: { databaseUrl, dataDir, listen: `127.0.0.1:${port}`, logLevel: 'silent' } });
const ctx = await openContext(config);
const app = await buildApp(ctx, { logger: false });
await app.listen({ host: '127.0.0.1', port: Number(port) });
const push = await createTestPushCertificate();
await ctx.pushcerts.import({ certPem: push.certPem, keyPem: push.keyPem });
const { secret } = await ctx.tokens.create({ name: 'bench', role: 'administrator' });
console.log(JSON.stringify({ url: `http://127.0.0.1:${port}`, token: secret }));
