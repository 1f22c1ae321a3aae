/**
 * Commands Pomona queues by itself (setup plans, managed-admin passwords), next to those admins
 * queue through CommandService. The caller may choose the CommandUUID, so it can record what it
 * waits for before the command can possibly be answered.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CommandBuilder, PushPort } from './command-service.js';
import type { CommandStore } from './command-store.js';

export interface SystemCommands {
  /** Queues a command (validated by the builder) for one enrollment; returns its CommandUUID. */
  queue(enrollmentId: string, command: Record<string, unknown>, opts?: { uuid?: string; actor?: string }): Promise<string>;
  /** Wakes the enrollments; a failed push is logged, not thrown (the device checks in anyway, later). */
  push(enrollmentIds: string[]): Promise<void>;
  /** The enrollment's last answer to a command, as JSON (data as base64), or undefined. */
  result(commandUuid: string, enrollmentId: string): Promise<Record<string, unknown> | undefined>;
}

/** Ahead of what admins queue at the default priority: the device waits in Setup Assistant meanwhile. */
export const SYSTEM_PRIORITY = 50;

export function systemCommands(deps: { store: CommandStore; build: (command: Record<string, unknown>, uuid?: string) => ReturnType<CommandBuilder>; push: PushPort; log: Logger }): SystemCommands {
  return {
    async queue(enrollmentId, command, opts = {}) {
      const built = deps.build(command, opts.uuid ?? randomUUID().toUpperCase());
      await deps.store.enqueue({ ...built, createdBy: opts.actor ?? 'system' }, [enrollmentId], SYSTEM_PRIORITY);
      return built.uuid;
    },
    async push(enrollmentIds) {
      try {
        await deps.push.push(enrollmentIds);
      } catch (err) {
        deps.log.warn({ err, enrollmentIds }, 'push after a system command failed; the device gets it at its next check-in');
      }
    },
    async result(commandUuid, enrollmentId) {
      const row = (await deps.store.results(commandUuid)).find((r) => r.enrollment_id === enrollmentId);
      return row?.result_json ? (JSON.parse(row.result_json) as Record<string, unknown>) : undefined;
    },
  };
}
