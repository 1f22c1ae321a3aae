/** Admin API for enrollment (DEP) profiles of an ABM server. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditService } from '../org/audit-service.js';
import { DepProfileSettings } from './dep-profile.js';
import type { DepProfileService } from './dep-profile-service.js';
import { ErrorBody } from '../http/service-errors.js';
import { sendAbmError } from './abm-routes.js';
import { param, target } from '../http/scope-guard.js';
import { APPLE_PLATFORMS, SKIP_KEYS } from './skip-keys.js';

const Problem = Type.Object({ path: Type.String(), message: Type.String() });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const ProfileView = Type.Object({
  id: Type.String(),
  abmServerId: Type.String(),
  name: Type.String(),
  isDefault: Type.Boolean(),
  version: Type.Integer({ description: 'bumped by every saved change Apple sees' }),
  revision: Type.Integer({ description: 'bumped by every save; send it back when saving an edit' }),
  settings: DepProfileSettings,
  apple: Type.Object({
    profileUuid: Nullable(Type.String()),
    definedVersion: Nullable(Type.Integer()),
    definedAt: Nullable(Type.Number()),
    upToDate: Type.Boolean({ description: 'the current version is defined at Apple' }),
    defineError: Nullable(Type.String()),
  }),
  devices: Type.Integer({ description: 'devices in ABM on this profile' }),
  warnings: Type.Array(Problem),
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
});
const Body = Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 125, description: "Pomona's name; default the profile_name" })), settings: DepProfileSettings });
const SaveBody = Type.Object({
  ...Body.properties,
  revision: Type.Optional(Type.Integer({ minimum: 0, description: 'the revision that was edited; a save over a newer one is refused with 409' })),
});
const Id = Type.Object({ id: Type.String({ maxLength: 64 }) });
const theServer = [target('abm-server', param('id'))];
const theProfile = [target('dep-profile', param('id'))];

const Availability = Type.Object({
  since: Type.String({ description: 'first OS version that honours the key' }),
  deprecated: Type.Optional(Type.String({ description: 'OS version from which the pane no longer exists' })),
  notAlwaysSkippable: Type.Optional(Type.Boolean({ description: 'the pane can appear before the device has its profile: skipping it is best effort' })),
});
const SkipKeyView = Type.Object({
  key: Type.String(),
  description: Type.String(),
  platforms: Type.Object({ iOS: Type.Optional(Availability), macOS: Type.Optional(Availability), tvOS: Type.Optional(Availability) }, { description: 'iPadOS follows iOS; no data for visionOS' }),
});

export async function depProfileRoutes(
  app: FastifyInstance,
  deps: { profiles: DepProfileService; audit: AuditService; visibleProfiles?: (groupId: string) => Promise<string[] | null> },
): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { profiles, audit } = deps;
  const tags = ['abm'];

  r.get('/api/v1/skip-keys', {
    config: { permission: 'read', scope: 'none' },
    schema: {
      tags,
      summary: 'The Setup Assistant skip keys Pomona knows, with the OS versions that honour them',
      description: "For the profile editor. A key missing here is refused unless the profile's allowUnknownSkipKeys is on.",
      response: { 200: Type.Object({ platforms: Type.Array(Type.String()), items: Type.Array(SkipKeyView) }) },
    },
  }, async () => ({ platforms: [...APPLE_PLATFORMS], items: SKIP_KEYS.map((k) => ({ ...k })) }));

  r.get('/api/v1/abm-servers/:id/profiles', {
    config: { permission: 'read', scope: theServer },
    schema: { tags, summary: "The server's enrollment profiles with device counts", params: Id, response: { 200: Type.Object({ items: Type.Array(ProfileView) }), 404: ErrorBody } },
  }, async (req, reply) => {
    try {
      // A branch may narrow which of the server's profiles its admins see (group setting
      // abm.visibleProfiles, inherited down the tree; null: all).
      const visible = deps.visibleProfiles ? await deps.visibleProfiles(req.actor!.scope.groupId) : null;
      const items = await profiles.list(req.params.id);
      return { items: visible ? items.filter((p) => visible.includes(p.id)) : items };
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.post('/api/v1/abm-servers/:id/profiles', {
    config: { permission: 'admin', scope: theServer },
    schema: {
      tags,
      summary: 'Create an enrollment profile (the first one becomes the default)',
      description: 'Pomona sets `url` and `configuration_web_url` itself. Validation problems come back as a list, each with the path of the field.',
      params: Id,
      body: Body,
      response: { 201: ProfileView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
    // The body is validated by the service, which names every problem in admin's terms.
    attachValidation: true,
  }, async (req, reply) => {
    try {
      const view = await profiles.create(req.params.id, (req.body as { settings?: unknown })?.settings, { name: (req.body as { name?: string })?.name });
      await audit.record({ actor: req.actor!.label, action: 'abm.profile.create', target: view.id, source: req.ip, outcome: 'success', details: { name: view.name, server: req.params.id } });
      return reply.code(201).send(view);
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.get('/api/v1/dep-profiles/:id', {
    config: { permission: 'read', scope: theProfile },
    schema: { tags, summary: 'One enrollment profile', params: Id, response: { 200: ProfileView, 404: ErrorBody } },
  }, async (req, reply) => profiles.get(req.params.id).catch((err) => sendAbmError(reply, err)));

  r.put('/api/v1/dep-profiles/:id', {
    config: { permission: 'admin', scope: theProfile },
    schema: {
      tags,
      summary: 'Save a profile',
      description: "A change Apple sees defines a new Apple profile and moves the profile's devices to it; Pomona-only changes do not.",
      params: Id,
      body: SaveBody,
      response: { 200: ProfileView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
    attachValidation: true,
  }, async (req, reply) => {
    try {
      const body = req.body as { settings?: unknown; name?: string; revision?: unknown };
      const revision = typeof body?.revision === 'number' && Number.isInteger(body.revision) ? body.revision : undefined;
      if (body?.revision !== undefined && revision === undefined) return reply.code(400).send({ error: 'invalid', message: 'revision must be an integer' });
      const view = await profiles.update(req.params.id, body?.settings, { name: body?.name, revision });
      await audit.record({ actor: req.actor!.label, action: 'abm.profile.update', target: view.id, source: req.ip, outcome: 'success', details: { version: view.version } });
      return view;
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.post('/api/v1/dep-profiles/:id/default', {
    config: { permission: 'admin', scope: theProfile },
    schema: { tags, summary: "Make this the server's default profile (for new devices)", params: Id, response: { 200: ProfileView, 404: ErrorBody } },
  }, async (req, reply) => {
    try {
      const view = await profiles.setDefault(req.params.id);
      await audit.record({ actor: req.actor!.label, action: 'abm.profile.set_default', target: view.id, source: req.ip, outcome: 'success' });
      return view;
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.delete('/api/v1/dep-profiles/:id', {
    config: { permission: 'admin', scope: theProfile },
    schema: {
      tags,
      summary: "Delete a profile; its devices move to the server's default",
      params: Id,
      response: { 200: Type.Object({ movedDevices: Type.Integer() }), 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    try {
      const out = await profiles.delete(req.params.id);
      await audit.record({ actor: req.actor!.label, action: 'abm.profile.delete', target: req.params.id, source: req.ip, outcome: 'success', details: out });
      return out;
    } catch (err) {
      return sendAbmError(reply, err);
    }
  });

  r.get('/api/v1/dep-profiles/:id/history', {
    config: { permission: 'read', scope: theProfile },
    schema: {
      tags,
      summary: 'Every Apple profile this profile defined, newest first',
      params: Id,
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ appleProfileUuid: Type.String(), version: Type.Integer(), definedAt: Type.Number(), body: Type.Unknown() })) }), 404: ErrorBody },
    },
  }, async (req, reply) => profiles.history(req.params.id).then((items) => ({ items }), (err) => sendAbmError(reply, err)));
}
