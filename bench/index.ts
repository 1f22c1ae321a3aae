/** `npm run bench -- NAME [options]`: runs one benchmark, prints a table and writes bench/results/NAME-*.json. */
const name = process.argv[2];
const benches: Record<string, () => Promise<unknown>> = {
  mdm: () => import('./mdm.js'),
  'abm-sync': () => import('./abm-sync.js'),
  ade: () => import('./ade.js'),
  'device-list': () => import('./device-list.js'),
  cluster: () => import('./cluster.js'),
};
if (!name || !benches[name]) {
  console.error(`usage: npm run bench -- ${Object.keys(benches).join('|')} [options]`);
  process.exit(2);
}
process.argv.splice(2, 1);
await benches[name]();
