/** Answers a service's refusal (ServiceError) with its status and body; anything else is rethrown (a real 500). */
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { ServiceError, type ServiceErrorKind } from '../service-error.js';

const STATUS: Record<ServiceErrorKind, number> = { not_found: 404, conflict: 409, invalid: 400, refused: 403 };

/** The body of every refusal, for route schemas. */
export const ErrorBody = Type.Object({
  error: Type.String(),
  message: Type.String(),
  problems: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
});

export function sendServiceError(reply: FastifyReply, err: unknown) {
  if (!(err instanceof ServiceError)) throw err;
  return reply.code(STATUS[err.kind]).send({ error: err.code, message: err.message, ...(err.problems.length ? { problems: err.problems } : {}) });
}
