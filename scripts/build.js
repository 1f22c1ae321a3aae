#!/usr/bin/env node
// `npm run build` (also run by `npm install`, and by bin/pomona.js when the sources changed):
// transpiles src/ and bench/ to plain JavaScript in dist/, file for file, and bundles the admin
// console (web/, React) with Vite into dist/web/, which the server serves at /. Pomona runs the
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
const webRoot = join(root, 'web');
const webDist = join(dist, 'web');
/** Written last into dist/web; holds the number of console sources. */
const webStamp = join(dist, 'web.built');

/** The TypeScript files that make up the program (tests and declaration files excluded). */
function sources() {
  return sourceDirs.flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
      .map((f) => join(root, dir, f)),
  );
}

/** The console's sources: everything under web/ but its own dependencies and caches. */
function webSources() {
  return readdirSync(webRoot, { recursive: true, encoding: 'utf8' })
    .filter((f) => !f.startsWith('node_modules') && !f.includes('.vite'))
    .map((f) => join(webRoot, f))
    .filter((f) => statSync(f).isFile());
}

/** True when the stamp is missing or older than one of the files (a file changed, added or removed). */
function olderThan(stampFile, files) {
  if (!existsSync(stampFile)) return true;
  if (readFileSync(stampFile, 'utf8').trim() !== String(files.length)) return true;
  const builtAt = statSync(stampFile).mtimeMs;
  return files.some((f) => statSync(f).mtimeMs > builtAt);
}

/** True when dist/ is missing or older than the sources of the server or of the console. */
export function isStale() {
  return olderThan(stamp, sources()) || (existsSync(webRoot) && olderThan(webStamp, webSources()));
}

/** Builds the server, and the console when `web` says so ('stale': only when its sources changed). */
export async function build({ web = 'stale' } = {}) {
  await buildServer();
  if (web === true || (web === 'stale' && existsSync(webRoot) && olderThan(webStamp, webSources()))) await buildConsole();
}

async function buildConsole() {
  const files = webSources();
  // Imported here so building the server alone never loads Vite.
  const { build: viteBuild } = await import('vite');
  await viteBuild({ root: webRoot, configFile: join(webRoot, 'vite.config.js'), logLevel: 'warn', build: { outDir: webDist, emptyOutDir: true } });
  writeFileSync(webStamp, `${files.length}\n`);
}

async function buildServer() {
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
  await build({ web: true });
  console.log(`built dist/ in ${Math.round(performance.now() - t0)} ms`);
}
