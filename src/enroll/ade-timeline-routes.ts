/** `GET /api/v1/abm-devices/:serial/timeline` — one ADE device's story (ade-timeline-service.ts). */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ErrorBody } from '../http/service-errors.js';
import { param, target } from '../http/scope-guard.js';
import type { AdeTimelineService } from './ade-timeline-service.js';

const Entry = Type.Object({
  at: Type.Number({ description: 'epoch milliseconds' }),
  step: Type.String(),
  outcome: Type.Union([Type.Literal('done'), Type.Literal('failed'), Type.Literal('waiting')]),
  detail: Type.Optional(Type.String({ description: "the reason for a failure (Apple's or Pomona's), or what the step concerned" })),
});

export async function adeTimelineRoutes(app: FastifyInstance, deps: { timeline: AdeTimelineService }): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().get('/api/v1/abm-devices/:serial/timeline', {
    config: { permission: 'read', scope: [target('abm-device', param('serial'))] },
    schema: {
      tags: ['abm'],
      summary: "An ADE device's timeline, from Apple Business Manager to enrolled",
      description: 'Added to ABM, profile assigned and pushed, each enrollment attempt (request or web view, sign-in, terms, profile delivered, first check-in, or why it stopped), identities issued, await-configuration steps and the release; oldest first.',
      params: Type.Object({ serial: Type.String({ maxLength: 64 }) }),
      response: { 200: Type.Object({ serial: Type.String(), items: Type.Array(Entry) }), 404: ErrorBody },
    },
  }, async (req, reply) => {
    const items = await deps.timeline.timeline(req.params.serial);
    return items ? { serial: req.params.serial, items } : reply.code(404).send({ error: 'not_found', message: 'Pomona knows nothing of this serial number' });
  });
}
