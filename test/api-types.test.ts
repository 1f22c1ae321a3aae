/**
 * The console's typed API client (web/src/api/schema.d.ts) is generated from the server's own
 * OpenAPI document; this fails when a route or schema changed and the file was not regenerated
 * (`npm run api-types`), so the console cannot drift from the API unnoticed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('web/src/api/schema.d.ts matches the OpenAPI document', () => {
  const root = join(import.meta.dirname, '..');
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'api-types.js'), '--check'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  expect(run.stderr + run.stdout).toContain('matches the API');
  expect(run.status).toBe(0);
}, 120_000);
