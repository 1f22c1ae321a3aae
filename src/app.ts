/**
 * Composition root: builds stores, services and clients from the configuration
 * (`openContext`, used by the CLI too), and the HTTP server on top (`startServer`).
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Config } from './config.js';
import { migrateToLatest, migrationsCurrent, openDatabase, type DatabaseHandle } from './db/database.js';
import { loadSecretBox } from './pki/secret-box.js';
import { CertificateAuthority } from './pki/ca.js';
import { ScepStore } from './pki/scep-store.js';
import { ScepService } from './pki/scep-service.js';
import { scepRoutes } from './pki/scep-routes.js';
import { buildCommand } from './apple/commands.js';
import { buildEnrollmentProfile } from './apple/mobileconfig.js';
import { signAttached } from './apple/cms-sign.js';
import { ApnsClient, APNS_PRODUCTION_URL, APNS_SANDBOX_URL } from './mdm/push/apns-client.js';
import { PushCertStore } from './mdm/push/pushcert-store.js';
import { PushCertService } from './mdm/push/pushcert-service.js';
import { PushStore } from './mdm/push/push-store.js';
import { PushService } from './mdm/push/push-service.js';
import { pushCertRoutes } from './mdm/push/pushcert-routes.js';
import { caRoutes } from './pki/ca-routes.js';
import { CheckinStore } from './mdm/checkin-store.js';
import { CommandStore } from './mdm/command-store.js';
import { DeviceStore } from './mdm/device-store.js';
import { IdentityAuth, certificatesFromPem } from './mdm/identity-auth.js';
import { MdmEvents } from './mdm/mdm-events.js';
import { CheckinService } from './mdm/checkin-service.js';
import { CommandService } from './mdm/command-service.js';
import { deviceRoutes } from './mdm/device-routes.js';
import { mdmAdminRoutes } from './mdm/admin-routes.js';
import { InventoryStore } from './mdm/inventory-store.js';
import { InventoryService } from './mdm/inventory-service.js';
import { inventoryRoutes } from './mdm/inventory-routes.js';
import { DeviceLifecycleStore } from './mdm/device-lifecycle-store.js';
import { DeviceLifecycleService } from './mdm/device-lifecycle-service.js';
import type { Ownership } from './mdm/device-lifecycle.js';
import { AdminStore } from './org/admin-store.js';
import { AdminService } from './org/admin-service.js';
import { ApiTokenStore } from './org/api-token-store.js';
import { ApiTokenService } from './org/api-token-service.js';
import { AuditStore } from './org/audit-store.js';
import { AuditService } from './org/audit-service.js';
import { sessionRoutes, auditRoutes, apiTokenRoutes } from './org/session-routes.js';
import { adminUserRoutes } from './org/admin-user-routes.js';
import { ScopeStore } from './org/scope-store.js';
import { EnrollmentProfileService } from './enroll/profile-service.js';
import { profileRoutes } from './enroll/profile-routes.js';
import { registerAuth } from './http/auth.js';
import { buildServer } from './http/server.js';
import { consoleDir, consoleRoutes } from './http/console-routes.js';
import { Scheduler } from './jobs/scheduler.js';
import { OrgGroupStore } from './org/org-group-store.js';
import { OrgGroupService } from './org/org-group-service.js';
import { orgGroupRoutes } from './org/org-group-routes.js';
import { UserStore } from './org/user-store.js';
import { UserService } from './org/user-service.js';
import { RegistrationTokenStore } from './org/registration-token-store.js';
import { RegistrationTokenService } from './org/registration-token-service.js';
import { userRoutes } from './org/user-routes.js';
import { DbSignInThrottle } from './org/sign-in-throttle.js';
import { IdentityProviderStore } from './org/identity-provider-store.js';
import { IdentityProviderService } from './org/identity-provider-service.js';
import { identityProviderRoutes } from './org/identity-provider-routes.js';
import { createAbm } from './abm/abm-module.js';
import { abmServerRoutes } from './abm/abm-routes.js';
import { abmDeviceRoutes } from './abm/abm-device-routes.js';
import { depProfileRoutes } from './abm/dep-profile-routes.js';
import { createSetupPlans } from './mdm/setup-plan-module.js';
import { configurationProfileRoutes } from './mdm/configuration-profile-routes.js';
import { setupPlanRoutes } from './mdm/setup-plan-routes.js';
import { managedAdminRoutes } from './mdm/managed-admin-routes.js';
import { PendingEnrollmentStore } from './enroll/pending-enrollment-store.js';
import { PendingEnrollmentService } from './enroll/pending-enrollment-service.js';
import { PendingEnrollmentCheckins } from './enroll/pending-enrollment-checkins.js';
import { pendingEnrollmentRoutes } from './enroll/pending-enrollment-routes.js';
import { AdeEnrollmentService } from './enroll/ade-service.js';
import { adeCustomProfileRoutes, adeRoutes } from './enroll/ade-routes.js';
import { adeWebViewRoutes } from './enroll/ade-webview-routes.js';
import { AdeTimelineStore } from './enroll/ade-timeline-store.js';
import { AdeTimelineService } from './enroll/ade-timeline-service.js';
import { adeTimelineRoutes } from './enroll/ade-timeline-routes.js';
import { DashboardStore } from './dashboard/dashboard-store.js';
import { DashboardService } from './dashboard/dashboard-service.js';
import { dashboardRoutes } from './dashboard/dashboard-routes.js';
import { APPLE_DEVICE_TRUST, testDeviceTrust } from './apple/machine-info.js';
import { SignInService } from './enroll/sign-in/sign-in-service.js';
import { SignIn, signInRoutes } from './enroll/sign-in/sign-in-routes.js';
import { webEnrollmentRoutes } from './enroll/web-enrollment-routes.js';
import { UserEnrollmentService } from './enroll/user-enrollment-service.js';
import { UserEnrollmentStore } from './enroll/user-enrollment-store.js';
import { UserEnrollmentTokenStore } from './enroll/user-enrollment-token-store.js';
import { UserEnrollmentCheckins, UserEnrollmentCommands } from './enroll/user-enrollment-checkin.js';
import { userEnrollmentRoutes } from './enroll/user-enrollment-routes.js';
import { enrollmentPurgeJob } from './enroll/user-enrollment-purge-job.js';
import { SsoReturns, ssoReturnRoutes } from './org/sso-return-routes.js';
import { ConsoleSignIn } from './org/console-sign-in.js';
import { consoleSsoReturnHandler, consoleSsoRoutes } from './org/console-sso-routes.js';
import { createAlerts } from './alerts/alert-module.js';
import { alertRoutes } from './alerts/alert-routes.js';
import type { DestinationStream } from 'pino';
import { createLogger } from './http/log.js';
import { Metrics, registerMetrics } from './http/metrics.js';
import { registerReadiness } from './http/readiness.js';

/** A downloaded profile may sit a while before it is installed; its challenge still works once. */
const PROFILE_CHALLENGE_TTL_MS = 7 * 86_400_000;

/** `logStream`: where log lines go instead of stdout (tests read them). */
export async function openContext(config: Config, opts: { logLevel?: string; logStream?: DestinationStream } = {}) {
  const log = createLogger({ level: opts.logLevel ?? config.logLevel, stream: opts.logStream });
  const secrets = loadSecretBox({ dataDir: config.dataDir, keyBase64: config.secretKey });
  const database: DatabaseHandle = openDatabase(config.databaseUrl);
  const appliedMigrations = await migrateToLatest(database.db);
  const { db } = database;
  // Expiry and open-alert gauges are read on scrape, from services built below.
  const metrics = new Metrics({
    database,
    expiry: { pushCertificates: () => pushcerts.list(), abmServers: () => abm.abmServers.list() },
    alerts: { openCounts: () => alerting.alerts.openCounts() },
    onCollectError: (err) => log.warn({ err }, 'metrics: reading a gauge from the database failed'),
  });

  const scepStore = new ScepStore(db);
  const ca = await CertificateAuthority.load({
    store: scepStore,
    secretBox: secrets,
    ...(config.ca ? { certPem: readFileSync(config.ca.certFile, 'utf8'), keyPem: readFileSync(config.ca.keyFile, 'utf8') } : {}),
  });
  const scep = new ScepService({ store: scepStore, ca, staticChallenge: config.scep.staticChallenge, validityDays: config.scep.identityValidityDays });

  const pushcerts = new PushCertService(new PushCertStore(db, secrets));
  const apns = new ApnsClient({
    baseUrl: config.apns.url ?? (config.apns.environment === 'sandbox' ? APNS_SANDBOX_URL : APNS_PRODUCTION_URL),
    ca: config.apns.caFile ? readFileSync(config.apns.caFile, 'utf8') : undefined,
  });
  const push = new PushService({ store: new PushStore(db), pushcerts, client: apns, log, onOutcomes: metrics.pushOutcomes });

  const audit = new AuditService(new AuditStore(db));
  const admins = new AdminService(new AdminStore(db), { csrfKey: secrets.deriveKey('csrf') });
  const tokens = new ApiTokenService(new ApiTokenStore(db));

  const events = new MdmEvents((err, event) => log.error({ err, event }, 'MDM event listener failed'));
  metrics.listen(events);
  const checkinStore = new CheckinStore(db);
  const commandStore = new CommandStore(db);
  const devices = new DeviceStore(db);
  const trustedCas = config.trustedIdentityCaFile ? certificatesFromPem(readFileSync(config.trustedIdentityCaFile, 'utf8')) : [];
  const identityAuth = new IdentityAuth(checkinStore, trustedCas);
  const checkins = new CheckinService(checkinStore, identityAuth, secrets, events);
  const commands = new CommandService({ commands: commandStore, checkins: checkinStore, devices, auth: identityAuth, events, build: buildCommand, push });

  const enrollmentProfiles = new EnrollmentProfileService({
    publicUrl: config.publicUrl,
    createChallenge: () => scep.createChallenge({ purpose: 'enrollment-profile', ttlMs: PROFILE_CHALLENGE_TTL_MS }),
    currentTopic: () => pushcerts.currentTopic(),
    render: (o) => buildEnrollmentProfile(o),
    sign: async (content) => {
      const s = await ca.profileSigner();
      return signAttached(content, { certificate: s.certPem, privateKey: s.privateKey, chain: [s.chainPem] });
    },
  });

  const groups = new OrgGroupService(new OrgGroupStore(db));
  const users = new UserService(new UserStore(db), groups);
  const registrationTokens = new RegistrationTokenService(new RegistrationTokenStore(db), groups, users);
  // Devices in the organization: the list and summary (ABM devices included), placement and ownership of new enrollments.
  const inventory = new InventoryService(new InventoryStore(db), (id) => registrationTokens.statusFor(id));
  const lifecycle = new DeviceLifecycleService({
    store: new DeviceLifecycleStore(db), checkins: checkinStore, defaultOwnership: (groupId) => groups.setting<Ownership>(groupId, 'enrollment.defaultOwnership'),
    userExists: async (id) => (await users.view(id).catch(() => undefined)) !== undefined,
  });
  lifecycle.listen(events);
  const idps = new IdentityProviderService(new IdentityProviderStore(db), groups, secrets, { publicUrl: config.publicUrl });
  // Enrollment staging records and the end-user sign-in every enrollment flow shares (src/enroll/sign-in/).
  const pendingEnrollments = new PendingEnrollmentService(new PendingEnrollmentStore(db));
  const signIn = new SignIn(
    new SignInService({ pending: pendingEnrollments, users, groups, tokens: registrationTokens, idps, handoffs: new IdentityProviderStore(db), throttle: new DbSignInThrottle(db) }),
    pendingEnrollments,
    { secureCookies: config.publicUrl.startsWith('https:') },
  );
  const ssoReturns = new SsoReturns();
  ssoReturns.register('enrollment', signIn.ssoReturnHandler());
  // Admins signing in to the console through a provider share the same return routes.
  const providerScopes = new ScopeStore(db);
  const consoleSignIn = new ConsoleSignIn({
    admins, idps, flows: new IdentityProviderStore(db),
    providerPath: async (id) => (await providerScopes.place('identity-provider', [id])).get(id)?.[0] ?? undefined,
  });
  ssoReturns.register('console', consoleSsoReturnHandler(consoleSignIn, audit));
  const abm = createAbm({ db, secrets, log, publicUrl: config.publicUrl, settings: config.abm, nodeId: config.nodeId, client: { onCall: metrics.depCall }, onSync: metrics.syncRun });
  const scheduler = new Scheduler(log, { onRun: metrics.jobRun }).add(abm.abmJob);
  // Await configuration: setup plans, the configuration-profile library, managed macOS administrators.
  const adeTimeline = new AdeTimelineService(new AdeTimelineStore(db));
  const dashboard = new DashboardService(new DashboardStore(db), { stuckAfterMinutes: config.alerts.stuckAfterMinutes });
  const ade = new AdeEnrollmentService({
    abmDevices: abm.abmDevices, depProfiles: abm.depProfiles, users, groups, pending: pendingEnrollments,
    buildProfile: async (checkInKey) => (await enrollmentProfiles.build({ signed: true, checkInKey })).body,
    events: adeTimeline,
    onStep: metrics.adeStep,
  });
  // Apple's chain always; in test mode also the device simulator's root (tests, the demo).
  const adeTrust = [APPLE_DEVICE_TRUST, ...(config.adeTestRootFile ? [testDeviceTrust(readFileSync(config.adeTestRootFile, 'utf8'))] : [])];
  if (config.adeTestRootFile) log.warn({ file: config.adeTestRootFile }, 'TEST MODE: MachineInfo signed by the device simulator CA is accepted');
  const setup = createSetupPlans({ db, secrets, log, events, commandStore, push, groups, audit, nodeId: config.nodeId });
  scheduler.add(setup.setupPlanJob);
  // A Mac's primary account, as its user chose it in the ADE web view, prefills its setup plan
  // (`ade` is read when a plan is built, after start-up).
  setup.setupPlans.resolvePrimaryAccountWith(({ deviceId }) => ade.primaryAccountFor(deviceId));
  // User enrollment (BYOD): its profiles must be installed within a short window (the same
  // staging records, another link window), and one job purges abandoned attempts of every kind.
  const userEnrollmentTokens = new UserEnrollmentTokenStore(db);
  const userEnrollmentStore = new UserEnrollmentStore(db);
  const userEnrollment = new UserEnrollmentService({
    pending: pendingEnrollments,
    userLinkWindow: new PendingEnrollmentService(new PendingEnrollmentStore(db), { linkTtlMs: config.userEnrollment.incompleteAfterMinutes * 60_000 }),
    groups, store: userEnrollmentStore, tokens: userEnrollmentTokens, profiles: enrollmentProfiles, checkInUrl: `${config.publicUrl}/mdm/checkin`,
    brand: (groupId) => signIn.service.brand(groupId),
  });
  scheduler.add(enrollmentPurgeJob({ pending: pendingEnrollments, tokens: userEnrollmentTokens, leases: abm.leases, nodeId: config.nodeId, log, purgeAfterDays: config.userEnrollment.purgeIncompleteAfterDays }));
  // Alerts before things break: checks and deliveries, one node at a time (src/alerts/).
  const alerting = createAlerts({ db, config, log, leases: abm.leases, servers: abm.abmServers, pushcerts, groups, caNotAfter: ca.notAfter });
  scheduler.add(alerting.alertJob);

  return {
    config, log, metrics, secrets, database, appliedMigrations, ca, scep, pushcerts, apns, push, audit, admins, tokens,
    events, devices, commandStore, checkins, commands, enrollmentProfiles, userEnrollment, userEnrollmentStore,
    groups, users, registrationTokens, inventory, lifecycle, idps, pendingEnrollments, signIn, ssoReturns, consoleSignIn, ...abm, ade, adeTrust, adeTimeline, dashboard, ...setup, scheduler,
    ...alerting,
    async close() {
      await scheduler.stop();
      alerting.closeAlerts();
      await apns.close();
      await database.close();
    },
  };
}

export type Context = Awaited<ReturnType<typeof openContext>>;

/** The HTTP server with every route, on an open context. */
export async function buildApp(ctx: Context, opts: { logger?: boolean | object; logStream?: DestinationStream; onRoute?: (route: RouteOptions) => void } = {}): Promise<FastifyInstance> {
  const app = await buildServer(ctx.config, opts);
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);
  const scopes = new ScopeStore(ctx.database.db);
  registerAuth(app, { admins: ctx.admins, tokens: ctx.tokens, audit: ctx.audit, place: (kind, ids) => scopes.place(kind, ids) });
  registerMetrics(app, { metrics: ctx.metrics, enabled: ctx.config.metrics.enabled, bearerToken: ctx.config.metrics.token });
  registerReadiness(app, { database: ctx.database.db, migrationsCurrent, log: ctx.log });
  await app.register(scepRoutes, { service: ctx.scep });
  // Outermost, user enrollment's privacy filter: what it drops never reaches anything else.
  const checkins = ctx.metrics.countCheckins(new UserEnrollmentCheckins(new PendingEnrollmentCheckins(ctx.checkins, { pending: ctx.pendingEnrollments, log: ctx.log }), { store: ctx.userEnrollmentStore, log: ctx.log }));
  await app.register(deviceRoutes, { checkins, commands: new UserEnrollmentCommands(ctx.commands, ctx.log), clientCertHeader: ctx.config.clientCertHeader });
  await app.register(profileRoutes, { profiles: ctx.enrollmentProfiles, admins: ctx.admins, tokens: ctx.tokens, audit: ctx.audit });
  await app.register(sessionRoutes, { admins: ctx.admins, audit: ctx.audit, throttle: new DbSignInThrottle(ctx.database.db) });
  await app.register(auditRoutes, { audit: ctx.audit });
  await app.register(apiTokenRoutes, { tokens: ctx.tokens, audit: ctx.audit, groups: ctx.groups });
  await app.register(adminUserRoutes, { admins: ctx.admins, groups: ctx.groups, audit: ctx.audit });
  await app.register(mdmAdminRoutes, { devices: ctx.devices, commands: ctx.commands, commandStore: ctx.commandStore, push: ctx.push, tokenStatus: (id) => ctx.registrationTokens.statusFor(id), bootstrapEscrow: (id) => ctx.bootstrapTokens.escrowOf(id), inventory: ctx.inventory });
  await app.register(inventoryRoutes, { inventory: ctx.inventory, lifecycle: ctx.lifecycle, audit: ctx.audit });
  await app.register(pushCertRoutes, { pushcerts: ctx.pushcerts, audit: ctx.audit });
  await app.register(caRoutes, { certificatePem: ctx.ca.certificatePem });
  await app.register(abmServerRoutes, { servers: ctx.abmServers, audit: ctx.audit });
  await app.register(abmDeviceRoutes, { devices: ctx.abmDevices, assign: ctx.abmAssign, audit: ctx.audit });
  await app.register(depProfileRoutes, { profiles: ctx.depProfiles, audit: ctx.audit, visibleProfiles: (groupId) => ctx.groups.setting<string[] | null>(groupId, 'abm.visibleProfiles') });
  await app.register(configurationProfileRoutes, { profiles: ctx.configurationProfiles, audit: ctx.audit });
  await app.register(setupPlanRoutes, { plans: ctx.setupPlans, devices: ctx.devices, audit: ctx.audit });
  await app.register(managedAdminRoutes, { managedAdmin: ctx.managedAdmin, devices: ctx.devices, audit: ctx.audit });
  await app.register(orgGroupRoutes, { groups: ctx.groups, audit: ctx.audit });
  await app.register(userRoutes, { users: ctx.users, tokens: ctx.registrationTokens, audit: ctx.audit });
  await app.register(identityProviderRoutes, { idps: ctx.idps, audit: ctx.audit });
  await app.register(ssoReturnRoutes, { idps: ctx.idps, returns: ctx.ssoReturns });
  await app.register(consoleSsoRoutes, { signIn: ctx.consoleSignIn, admins: ctx.admins, audit: ctx.audit });
  await app.register(signInRoutes, { signIn: ctx.signIn });
  await app.register(webEnrollmentRoutes, { signIn: ctx.signIn, pending: ctx.pendingEnrollments, groups: ctx.groups, profiles: ctx.enrollmentProfiles, audit: ctx.audit });
  await app.register(pendingEnrollmentRoutes, { pending: ctx.pendingEnrollments });
  await app.register(adeRoutes, { ade: ctx.ade, trust: ctx.adeTrust });
  await app.register(adeWebViewRoutes, { ade: ctx.ade, signIn: ctx.signIn, trust: ctx.adeTrust });
  await app.register(adeTimelineRoutes, { timeline: ctx.adeTimeline });
  await app.register(dashboardRoutes, { dashboard: ctx.dashboard });
  await app.register(alertRoutes, { alerts: ctx.alerts });
  await app.register(adeCustomProfileRoutes, { ade: ctx.ade, trust: ctx.adeTrust, within: (groupId, scopeGroupId) => ctx.groups.isWithin(groupId, scopeGroupId) });
  await app.register(consoleRoutes, { dir: consoleDir() });
  await app.register(userEnrollmentRoutes, { userEnrollment: ctx.userEnrollment, pending: ctx.pendingEnrollments, signIn: ctx.signIn, groups: ctx.groups, audit: ctx.audit, publicUrl: ctx.config.publicUrl });
  return app;
}

/** `pomona serve`: open, listen, say where and how to sign in. */
export async function startServer(config: Config) {
  const ctx = await openContext(config);
  const app = await buildApp(ctx);
  await app.listen({ host: config.listen.host, port: config.listen.port });
  ctx.scheduler.start();
  const admins = await ctx.admins.listUsers();
  const lines = [
    `Pomona is listening on ${config.tls ? 'https' : 'http'}://${config.listen.host}:${config.listen.port} (public URL ${config.publicUrl})`,
    `database ${ctx.database.dialect}; data directory ${config.dataDir}; API docs at ${config.publicUrl}/api/docs`,
    admins.length === 0
      ? `No admin yet. Create the first one:  POMONA_ADMIN_PASSWORD=… npx pomona admin create --username admin   then sign in to the console at ${config.publicUrl}/, or make an API token: npx pomona api-token create --name me --role administrator`
      : `${admins.length === 1 ? '1 admin user' : `${admins.length} admin users`}; sign in to the console at ${config.publicUrl}/ (or the API with POST /api/v1/session or an API token)`,
  ];
  if (!(await ctx.pushcerts.status())) lines.push('No push certificate yet: npx pomona pushcert import --cert push.pem --key push.key');
  for (const l of lines) console.log(l);
  return {
    ctx,
    app,
    async close() {
      await app.close();
      await ctx.close();
    },
  };
}
