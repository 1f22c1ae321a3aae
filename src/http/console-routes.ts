/**
 * Serves the admin console (web/, built by scripts/build.js into dist/web/) at `/`: its
 * content-hashed assets with long caching, and its page for every browser navigation no other
 * route answers, so the console's own addresses (/devices/…) survive a reload or a bookmark.
 * Everything else that matches nothing keeps the API's JSON 404.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/** Paths that belong to the server itself: never answered with the console page. */
const SERVER_PATHS = /^\/(api|mdm|enroll|scep|sso|\.well-known|healthz|readyz|metrics)(\/|$|\?)/;

// The console loads only its own files and talks only to this server; nobody may frame it.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** dist/web of this checkout or package, whether this file runs compiled (dist/src/http) or from source (src/http). */
export function consoleDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const root = resolve(here, basename(resolve(here, '../..')) === 'dist' ? '../../..' : '../..');
  return join(root, 'dist', 'web');
}

export interface ConsoleOptions {
  /** the built console (dist/web); when missing, `/` says how to build it */
  dir: string;
}

export async function consoleRoutes(app: FastifyInstance, opts: ConsoleOptions): Promise<void> {
  const indexFile = join(opts.dir, 'index.html');
  const built = existsSync(indexFile);
  // A few hundred kilobytes: read once, so a page load never touches the disk.
  const index = built ? readFileSync(indexFile) : null;
  const assets = new Map<string, Buffer>();
  const assetDir = join(opts.dir, 'assets');
  if (built && existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) if (TYPES[extname(name)]) assets.set(name, readFileSync(join(assetDir, name)));
  }

  const page = (reply: FastifyReply) => {
    if (!index) {
      return reply.code(503).type('text/plain; charset=utf-8').send('The admin console is not built: run `npm run build` (npm install does it), then restart Pomona.\n');
    }
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .send(index);
  };

  app.get('/', { schema: { hide: true } }, (_req, reply) => page(reply));
  app.get<{ Params: { file: string } }>('/assets/:file', { schema: { hide: true } }, (req, reply) => {
    const body = assets.get(req.params.file);
    if (!body) return reply.code(404).send({ error: 'not_found', message: 'no such console asset' });
    // Names carry a content hash: a new build has new names, so caching forever is safe.
    return reply.type(TYPES[extname(req.params.file)]!).header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').send(body);
  });

  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const wantsPage = (req.method === 'GET' || req.method === 'HEAD') && !SERVER_PATHS.test(req.url) && (req.headers.accept ?? '').includes('text/html');
    if (wantsPage) return page(reply);
    return reply.code(404).send({ error: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0]}` });
  });
}
