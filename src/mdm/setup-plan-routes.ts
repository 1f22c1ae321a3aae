/** Admin API for a device's await-configuration phase: its setup plan, and releasing it by hand. */
import { param, target } from '../http/scope-guard.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditService } from '../org/audit-service.js';
import { ErrorBody, sendServiceError } from '../http/service-errors.js';
import type { SetupPlanService } from './setup-plan-service.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Plan = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  enrollmentId: Type.String(),
  depProfileId: Nullable(Type.String()),
  platform: Nullable(Type.String()),
  organizationGroupId: Type.String({ description: 'the group whose attached profiles (and those above it) the plan installs' }),
  timeLimitMinutes: Type.Integer(),
  status: Type.String({ description: 'running, released (DeviceConfigured sent) or cancelled (re-enrolled, checked out)' }),
  reason: Nullable(Type.String({ description: 'completed, time-limit or manual; re-enrolled or checked-out' })),
  endedBy: Nullable(Type.String()),
  startedAt: Type.Number(),
  deadlineAt: Type.Number(),
  endedAt: Nullable(Type.Number()),
  steps: Type.Array(Type.Object({
    position: Type.Integer(),
    kind: Type.String(),
    label: Type.String(),
    requestType: Type.String(),
    configurationProfileId: Nullable(Type.String()),
    commandUuid: Nullable(Type.String()),
    status: Type.String({ description: 'pending, queued, acknowledged, error or timed-out' }),
    deviceStatus: Nullable(Type.String({ description: "the device's answer (Acknowledged, Error, NotNow…), also when it came after the time limit" })),
    error: Type.Unknown({ description: "Apple's ErrorChain (errorChain), failed Settings items (settings), or Pomona's reason (message)" }),
    queuedAt: Nullable(Type.Number()),
    answeredAt: Nullable(Type.Number()),
  })),
});
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

export async function setupPlanRoutes(
  app: FastifyInstance,
  deps: { plans: SetupPlanService; devices: { get(id: string): Promise<{ id: string } | undefined> }; audit: AuditService },
): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['devices'];
  const deviceId = async (ref: string, reply: FastifyReply) => {
    const d = await deps.devices.get(ref);
    if (!d) reply.code(404).send({ error: 'not_found', message: `no device ${ref}` });
    return d?.id;
  };

  r.get('/api/v1/devices/:id/setup-plan', {
    config: { permission: 'read' , scope: [target('device', param('id'))] },
    schema: { tags, summary: "The device's latest setup plan (await configuration): its steps with their outcomes and times", params: Id, response: { 200: Plan, 404: ErrorBody } },
  }, async (req, reply) => {
    const id = await deviceId(req.params.id, reply);
    if (!id) return reply;
    return deps.plans.view(id).catch((err) => sendServiceError(reply, err));
  });

  r.post('/api/v1/devices/:id/release', {
    config: { permission: 'operate' , scope: [target('device', param('id'))] },
    schema: {
      tags,
      summary: 'Release a device awaiting configuration now (DeviceConfigured)',
      description: "Ends the running setup plan (steps not answered yet keep going, ahead of DeviceConfigured in the device's queue).",
      params: Id,
      response: { 200: Plan, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    const id = await deviceId(req.params.id, reply);
    if (!id) return reply;
    try {
      const plan = await deps.plans.releaseByHand(id, req.actor!.label);
      await deps.audit.record({ actor: req.actor!.label, action: 'device.release', target: id, source: req.ip, outcome: 'success', details: { planId: plan.id } });
      return plan;
    } catch (err) {
      return sendServiceError(reply, err);
    }
  });
}
