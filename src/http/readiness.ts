/**
 * `GET /readyz` for load balancers and orchestrators: 200 when this node can serve — the database
 * answers and its schema carries every migration this build knows — else 503 with the reason, so a
 * node started against a database another (older) node has not migrated yet takes no traffic.
 * `/healthz` (src/http/server.ts) only says the process is up.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';

export interface ReadinessOptions {
  database: Db;
  migrationsCurrent(db: Db): Promise<boolean>;
  log: Pick<Logger, 'warn'>;
}

export function registerReadiness(app: FastifyInstance, o: ReadinessOptions): void {
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    try {
      await o.database.selectFrom('settings').select('key').limit(1).execute();
    } catch (err) {
      o.log.warn({ err }, 'not ready: database unreachable');
      return reply.code(503).send({ status: 'not ready', reason: 'database unreachable' });
    }
    try {
      if (!(await o.migrationsCurrent(o.database))) return reply.code(503).send({ status: 'not ready', reason: 'database migrations pending (run pomona migrate)' });
    } catch (err) {
      o.log.warn({ err }, 'not ready: migrations unreadable');
      return reply.code(503).send({ status: 'not ready', reason: 'database migrations unreadable' });
    }
    return { status: 'ready' };
  });
}
