/** A Pomona process that runs one ABM sync and is killed mid-page by test/abm-faults.test.ts. */
import { loadConfig } from '../../src/config.js';
import { openContext } from '../../src/app.js';

const [databaseUrl, dataDir, serverId] = process.argv.slice(2);
const ctx = await openContext(loadConfig({ env: {}, flags: { databaseUrl, dataDir, logLevel: 'silent' } }));
process.send?.({ started: true });
await ctx.abmSync.run(serverId, { heartbeat: async () => void process.send?.({ page: true }) });
process.send?.({ finished: true });
await ctx.close();
