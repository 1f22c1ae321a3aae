#!/usr/bin/env node
// Runs Pomona's compiled JavaScript (dist/, see scripts/build.js). In a checkout whose sources
// changed since the last build, it rebuilds first (a fraction of a second), so `npm start` and
// `node bin/pomona.js` never run stale code.
import { existsSync } from 'node:fs';

const fromCheckout = existsSync(new URL('../src/main.ts', import.meta.url));
if (fromCheckout) {
  const { isStale, build } = await import('../scripts/build.js');
  if (isStale()) await build();
}
await import('../dist/src/main.js');
