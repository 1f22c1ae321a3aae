import { expect } from 'vitest';
import { ServiceError } from '../../src/service-error.js';

/** The message of the error `fn` throws, asserting it is an instance of `type`. */
export function thrownMessage(fn: () => unknown, type: abstract new (...args: never[]) => Error): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return (err as Error).message;
  }
  throw new Error(`expected a ${type.name}`);
}

/** "kind: message" of the ServiceError `p` rejects with (any other error is rethrown). */
export async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ServiceError) return `${err.kind}: ${err.message}`;
    throw err;
  }
  throw new Error('not refused');
}
