/**
 * `GET /enroll/profile` — the profile a user downloads on the device (Safari hands
 * application/x-apple-aspen-config to Settings). Admins fetch it with their session or an
 * API token; enrollment links carry an enrollment-role token in `?token=`.
 * `GET /api/v1/enrollment-profile` is the same for the admin API.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AdminService } from '../org/admin-service.js';
import type { ApiTokenService } from '../org/api-token-service.js';
import type { AuditService } from '../org/audit-service.js';
import { sessionIdFrom } from '../http/auth.js';
import { EnrollmentProfileError, type EnrollmentProfileService } from './profile-service.js';

export const PROFILE_CONTENT_TYPE = 'application/x-apple-aspen-config';

export async function profileRoutes(
  app: FastifyInstance,
  deps: { profiles: EnrollmentProfileService; admins: AdminService; tokens: ApiTokenService; audit: AuditService },
): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const query = Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })), unsigned: Type.Optional(Type.Boolean()) });

  const send = async (req: FastifyRequest, reply: FastifyReply, actor: string, unsigned?: boolean) => {
    try {
      const p = await deps.profiles.build({ signed: !unsigned });
      await deps.audit.record({ actor, action: 'enrollment-profile.download', source: req.ip, outcome: 'success', details: { signed: p.signed } });
      return reply
        .code(200)
        .header('content-type', PROFILE_CONTENT_TYPE)
        .header('content-disposition', 'attachment; filename="pomona-enroll.mobileconfig"')
        .header('cache-control', 'no-store')
        .send(p.body);
    } catch (err) {
      if (err instanceof EnrollmentProfileError) return reply.code(409).send({ error: 'not_ready', message: err.message });
      throw err;
    }
  };

  r.get('/enroll/profile', { schema: { hide: true, querystring: query } }, async (req, reply) => {
    const actor = await whoMayEnroll(req, req.query.token, deps);
    if (!actor) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'an enrollment link token (?token=) or admin credentials are required' });
    }
    return send(req, reply, actor, req.query.unsigned);
  });

  r.get('/api/v1/enrollment-profile', {
    config: { permission: 'enroll' },
    schema: {
      tags: ['enrollment'],
      summary: 'Download an enrollment profile with a fresh one-time SCEP challenge',
      description: `Served as ${PROFILE_CONTENT_TYPE}; CMS-signed with the content attached unless unsigned=true.`,
      querystring: Type.Object({ unsigned: Type.Optional(Type.Boolean()) }),
    },
  }, async (req, reply) => send(req, reply, req.actor!.label, req.query.unsigned));
}

async function whoMayEnroll(req: FastifyRequest, queryToken: string | undefined, deps: { admins: AdminService; tokens: ApiTokenService }): Promise<string | undefined> {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  const presented = queryToken ?? bearer;
  if (presented) {
    const t = await deps.tokens.authenticate(presented);
    return t ? `token:${t.prefix}` : undefined;
  }
  const sid = sessionIdFrom(req);
  const s = sid ? await deps.admins.lookupSession(sid) : null;
  return s ? `user:${s.user.username}` : undefined;
}
