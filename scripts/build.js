#!/usr/bin/env node
// `npm run build` (also run by `npm install`, and by bin/pomona.js when the sources changed):
// transpiles src/ and bench/ to plain JavaScript in dist/, file for file. Pomona runs the
// compiled files rather than loading TypeScript at run time, because the tsx loader costs about
// 45 MB of resident memory on every node. esbuild only strips types (about 0.2 s);
// `npm run typecheck` is what checks them. Source maps sit beside the files and cost nothing
// unless node runs with --enable-source-maps (for debugging: NODE_OPTIONS=--enable-source-maps).
import { build as esbuild } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');
/** Written last; holds the number of sources, so an added or deleted file also means stale. */
const stamp = join(dist, '.built');
const sourceDirs = ['src', 'bench'];

/** The TypeScript files that make up the program (tests and declaration files excluded). */
function sources() {
  return sourceDirs.flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
      .map((f) => join(root, dir, f)),
  );
}

/** True when dist/ is missing or older than the sources (a file changed, added or removed). */
export function isStale() {
  if (!existsSync(stamp)) return true;
  const files = sources();
  if (readFileSync(stamp, 'utf8').trim() !== String(files.length)) return true;
  const builtAt = statSync(stamp).mtimeMs;
  return files.some((f) => statSync(f).mtimeMs > builtAt);
}

export async function build() {
  const files = sources();
  // A compiled file whose source was deleted would still be importable: remove it.
  const wanted = new Set(files.map((f) => join(dist, relative(root, f)).replace(/\.ts$/, '.js')));
  for (const dir of sourceDirs) {
    const out = join(dist, dir);
    if (!existsSync(out)) continue;
    for (const f of readdirSync(out, { recursive: true, encoding: 'utf8' })) {
      const file = join(out, f);
      if (/\.js(\.map)?$/.test(file) && !wanted.has(file.replace(/\.map$/, ''))) rmSync(file);
    }
  }
  mkdirSync(dist, { recursive: true });
  await esbuild({ entryPoints: files, outdir: dist, outbase: root, format: 'esm', platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' });
  writeFileSync(stamp, `${files.length}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const t0 = performance.now();
  await build();
  console.log(`built dist/ in ${Math.round(performance.now() - t0)} ms`);
}
