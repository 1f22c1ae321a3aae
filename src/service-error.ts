/**
 * A refusal a service explains to the admin: a code for the API's `error` field, one of four
 * kinds the HTTP layer turns into a status (src/http/service-errors.ts), and optionally the
 * problems of each field. Services throw their own subclasses; routes need only the one mapping.
 */
export type ServiceErrorKind = 'not_found' | 'conflict' | 'invalid' | 'refused';

export interface FieldProblem {
  path: string;
  message: string;
}

export class ServiceError extends Error {
  constructor(
    readonly code: string,
    readonly kind: ServiceErrorKind,
    message: string,
    readonly problems: FieldProblem[] = [],
  ) {
    super(message);
  }
}
