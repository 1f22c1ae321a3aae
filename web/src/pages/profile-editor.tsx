/**
 * The enrollment-profile editor (/profiles/new?server=ID, /profiles/:id): every setting of
 * src/abm/dep-profile.ts, the API's problems shown at their fields and listed on top, warnings
 * apart from errors. A save carries the revision that was edited: when someone else saved in
 * between the API answers 409 and the page offers their version instead of overwriting it.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { api, ApiError, messageOf, unwrap, type paths } from '../api/client';
import { Badge, ErrorBanner, Field, Notice, PageHeader, Spinner, When } from '../components/ui';
import { Link, navigate, useLeaveGuard, useLocation } from '../router';
import { useSession } from '../session';
import { plural } from '../components/plural';
import { StatusBadge } from '../components/status-badge';
import { appleStatus, DeleteProfileDialog, type DepProfile } from './enrollment-profiles';
import { CheckField, FieldError, Form, getAt, NumberField, prune, Section, SelectField, setAt, TextField, type FormCtx } from './profile-fields';
import { SkipKeyPicker } from './profile-skip-keys';
import { AttributeRows, CertArea, OsRules, type AttributeRow } from './profile-field-groups';
import './profile-editor.css';

type NewProfileBody = NonNullable<paths['/api/v1/abm-servers/{id}/profiles']['post']['requestBody']>['content']['application/json'];
/** The settings as the admin edits them (the API's answers fill in defaults; a request need not). */
type Settings = NewProfileBody['settings'];
type Problem = { path: string; message: string };

const PLATFORMS = ['iOS', 'iPadOS', 'macOS', 'tvOS', 'visionOS'] as const;
const PLATFORM_LABEL: Record<string, string> = { iOS: 'iPhone (iOS)', iPadOS: 'iPad (iPadOS)', macOS: 'Mac (macOS)', tvOS: 'Apple TV (tvOS)', visionOS: 'Apple Vision Pro (visionOS)' };
const METHODS = [
  { value: 'password', label: 'Username and password (Pomona users)' },
  { value: 'registration-token', label: 'Registration token' },
  { value: 'saml', label: 'SAML single sign-on' },
  { value: 'oidc', label: 'OpenID Connect single sign-on' },
] as const;
const LOCAL_ADMIN = 'pomona.macOSAccountSetup.localAdmin';
const SECTIONS = [
  ['section-general', 'General'],
  ['section-behaviour', 'Enrollment'],
  ['section-skip', 'Setup Assistant'],
  ['section-auth', 'Authentication'],
  ['pomona.osRules', 'OS versions'],
  ['pomona.macOSAccountSetup', 'macOS accounts'],
  ['section-await', 'Await configuration'],
  ['pomona.sharedIPad', 'Shared iPad'],
  ['section-device', 'Time zone & attributes'],
  ['section-advanced', 'Advanced'],
] as const;

const timeZones: string[] = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];

interface Draft {
  name: string;
  settings: Settings;
  /** device attributes as editable rows (a record cannot hold a half-typed name) */
  attributes: AttributeRow[];
  anchorCerts: string;
  hostCerts: string;
}

function draftOf(name: string, settings: Settings): Draft {
  return {
    name,
    settings,
    attributes: Object.entries(settings.pomona?.deviceAttributes?.custom ?? {}).map(([n, v]) => ({ name: n, value: String(v) })),
    anchorCerts: (settings.apple.anchor_certs ?? []).join('\n\n'),
    hostCerts: (settings.apple.supervising_host_certs ?? []).join('\n\n'),
  };
}

/** Pasted certificates: PEM blocks, or base64 DER ones separated by blank lines. */
function certificates(text: string): string[] | undefined {
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  const list = pems ?? text.split(/\n\s*\n/).map((s) => s.trim()).filter(Boolean);
  return list.length ? list : undefined;
}

/** The settings as the API takes them: rows and text areas folded back, cleared sections dropped. */
function settingsOf(d: Draft): Settings {
  let s: Settings = d.settings;
  const custom = Object.fromEntries(d.attributes.filter((a) => a.name.trim() || a.value.trim()).map((a) => [a.name.trim(), a.value]));
  s = setAt(s, 'pomona.deviceAttributes.custom', Object.keys(custom).length ? custom : undefined);
  s = setAt(s, 'apple.anchor_certs', certificates(d.anchorCerts));
  s = setAt(s, 'apple.supervising_host_certs', certificates(d.hostCerts));
  const keep = new Set<string>();
  if (getAt(s, LOCAL_ADMIN)) {
    keep.add(LOCAL_ADMIN);
    s = setAt(s, `${LOCAL_ADMIN}.shortName`, getAt(s, `${LOCAL_ADMIN}.shortName`) ?? ' ');
  }
  const out = prune(s, keep) as Settings;
  return { ...out, apple: { ...out.apple, profile_name: out.apple?.profile_name ?? '' } };
}

export function ProfileEditor({ params }: { params: Record<string, string> }) {
  const { query } = useLocation();
  const id = params.id;
  const serverId = query.get('server') ?? undefined;
  const session = useSession();
  const readOnly = !session.can('admin');

  const [profile, setProfile] = useState<DepProfile>();
  const [siblings, setSiblings] = useState<DepProfile[]>([]);
  const [serverName, setServerName] = useState<string>();
  const [draft, setDraft] = useState<Draft>();
  const [loadError, setLoadError] = useState<string>();
  const [problems, setProblems] = useState<Problem[]>([]);
  const [saveError, setSaveError] = useState<string>();
  const [stale, setStale] = useState<DepProfile>();
  const [saved, setSaved] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [dirty, setDirty] = useState(false);
  const summary = useRef<HTMLDivElement>(null);

  const load = async () => {
    setLoadError(undefined);
    try {
      if (id) {
        const p = await unwrap(api.GET('/api/v1/dep-profiles/{id}', { params: { path: { id } } }));
        setProfile(p);
        setDraft(draftOf(p.name, p.settings));
        await loadServer(p.abmServerId);
      } else if (serverId) {
        setProfile(undefined);
        setDraft(draftOf('', { apple: { profile_name: '' } }));
        await loadServer(serverId);
      } else {
        setLoadError('Choose an ABM server first: open the profile list and use “New profile”.');
      }
      setProblems([]);
      setStale(undefined);
      setSaveError(undefined);
      setDirty(false);
    } catch (err) {
      setLoadError(messageOf(err));
    }
  };
  const loadServer = async (sid: string) => {
    const [server, list] = await Promise.all([
      unwrap(api.GET('/api/v1/abm-servers/{id}', { params: { path: { id: sid } } })),
      unwrap(api.GET('/api/v1/abm-servers/{id}/profiles', { params: { path: { id: sid } } })),
    ]);
    setServerName(server.name);
    setSiblings(list.items);
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, serverId]);

  // Leaving the page with unsaved edits asks first: through the console's links, and reloading or closing the tab.
  useLeaveGuard(dirty, 'Leave this profile? Your unsaved changes are lost.');
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const errors = useMemo(() => new Map(problems.map((p) => [p.path, p.message])), [problems]);
  const ctx: FormCtx | undefined = draft && {
    draft: draft.settings,
    readOnly,
    error: (path) => errors.get(path),
    set: (path, value) => {
      setDraft({ ...draft, settings: setAt(draft.settings, path, value) });
      setDirty(true);
    },
  };

  const save = async () => {
    if (!draft) return;
    setBusy(true);
    setSaved(undefined);
    setSaveError(undefined);
    setProblems([]);
    const settings = settingsOf(draft);
    const name = draft.name.trim() || undefined;
    try {
      if (!profile) {
        const body: NewProfileBody = { settings, ...(name ? { name } : {}) };
        const created = await unwrap(api.POST('/api/v1/abm-servers/{id}/profiles', { params: { path: { id: serverId! } }, body }));
        setDirty(false);
        navigate(`/profiles/${created.id}?created=1`, { replace: true, force: true });
        return;
      }
      const out = await unwrap(api.PUT('/api/v1/dep-profiles/{id}', { params: { path: { id: profile.id } }, body: { settings, revision: profile.revision, ...(name ? { name } : {}) } }));
      setProfile(out);
      setDraft(draftOf(out.name, out.settings));
      setDirty(false);
      setSaved(out.version !== profile.version ? `Saved. Apple gets version ${out.version} and the profile’s ${plural(out.devices, 'device')} are moved to it.` : 'Saved. Nothing Apple sees changed, so devices keep their profile.');
    } catch (err) {
      await refused(err);
    } finally {
      setBusy(false);
    }
  };

  const refused = async (err: unknown) => {
    if (err instanceof ApiError && err.status === 409 && profile) {
      // A conflict is either a newer revision saved by someone else or a name already taken.
      const now = await unwrap(api.GET('/api/v1/dep-profiles/{id}', { params: { path: { id: profile.id } } })).catch(() => undefined);
      if (now && now.revision !== profile.revision) {
        setStale(now);
        return;
      }
    }
    if (err instanceof ApiError && err.problems.length) {
      setProblems(err.problems);
      requestAnimationFrame(() => summary.current?.focus());
      return;
    }
    if (err instanceof ApiError && err.status === 409 && /named/.test(err.message)) {
      setProblems([{ path: 'name', message: err.message }]);
      return;
    }
    setSaveError(messageOf(err));
  };

  const makeDefault = async () => {
    if (!profile) return;
    try {
      const out = await unwrap(api.POST('/api/v1/dep-profiles/{id}/default', { params: { path: { id: profile.id } } }));
      setProfile(out);
      setSaved(`“${out.name}” is now the default profile: new devices of ${serverName ?? 'this server'} get it.`);
      await loadServer(out.abmServerId);
    } catch (err) {
      setSaveError(messageOf(err));
    }
  };

  if (loadError) return <ErrorBanner error={loadError} />;
  if (!draft || !ctx) return <Spinner />;

  const s = draft.settings;
  const platforms: string[] = s.pomona?.platforms ?? [...PLATFORMS];
  const targets = (...p: string[]) => p.some((x) => platforms.includes(x));
  const methods: string[] = s.pomona?.authentication?.methods ?? [];
  const authOn = s.pomona?.authentication?.enabled ?? false;
  const webMode = s.pomona?.webView?.mode ?? 'off';
  const supervised = s.apple.is_supervised ?? true;
  const defaultProfile = siblings.find((p) => p.isDefault);
  const justCreated = query.get('created') === '1';
  const warnings = profile?.warnings ?? [];
  const title = profile ? profile.name : 'New enrollment profile';

  return (
    <Form.Provider value={ctx}>
      <div className="profile-editor">
        <p className="crumbs">
          <Link to={`/profiles?server=${profile?.abmServerId ?? serverId}`}>Enrollment profiles</Link> › {serverName ?? '…'}
        </p>
        <PageHeader
          title={title}
          subtitle={
            profile ? (
              <>
                {profile.isDefault && <Badge tone="info">Default</Badge>} {plural(profile.devices, 'device')} · version {profile.version} ·{' '}
                <StatusBadge status={appleStatus(profile)} />{' '}
                · changed <When at={profile.updatedAt} />
              </>
            ) : (
              `On ${serverName ?? 'the ABM server'}. ${siblings.length === 0 ? 'As the first profile of the server it becomes the default: every new device gets it.' : ''}`
            )
          }
          actions={
            profile &&
            !readOnly && (
              <>
                {!profile.isDefault && (
                  <button type="button" onClick={() => void makeDefault()}>
                    Set as default
                  </button>
                )}
                {!profile.isDefault && (
                  <button type="button" className="danger" onClick={() => setDeleting(true)}>
                    Delete
                  </button>
                )}
              </>
            )
          }
        />
        {profile?.isDefault && !readOnly && <p className="muted">This is the default profile of {serverName}: new devices get it, and it cannot be deleted until another profile is the default.</p>}
        {readOnly && <Notice tone="info">You can view this profile; changing it needs an administrator.</Notice>}
        {justCreated && !saved && !dirty && <Notice tone="success">Profile created.{profile?.isDefault ? ' It is the default of this server: new devices get it.' : ''}</Notice>}
        {saved && <Notice tone="success">{saved}</Notice>}
        {profile?.apple.defineError && <Notice tone="error">Apple refused this profile: {profile.apple.defineError}</Notice>}
        {stale && (
          <div className="notice error" role="alert">
            <strong>Someone else changed this profile</strong> while you were editing it (it is now at revision {stale.revision}, you started from {profile?.revision}). Your changes are not saved.
            <div className="actions notice-actions">
              <button type="button" className="primary" onClick={() => void load()}>
                Reload their version
              </button>
            </div>
          </div>
        )}
        <ErrorBanner error={saveError} />
        {(problems.length > 0 || warnings.length > 0) && (
          <div className="problem-summary" ref={summary} tabIndex={-1} aria-labelledby={problems.length ? 'problems-title' : undefined}>
            {problems.length > 0 && (
              <div className="notice error">
                <h2 id="problems-title">
                  {plural(problems.length, 'problem')} to fix before saving
                </h2>
                <ProblemList problems={problems} />
              </div>
            )}
            {warnings.length > 0 && (
              <div className="notice warning">
                <h2>Worth a look</h2>
                <ProblemList problems={warnings} />
              </div>
            )}
          </div>
        )}

        <nav className="section-nav" aria-label="Profile sections">
          {SECTIONS.map(([sid, label]) => (
            <a key={sid} href={`#${sid}`} onClick={(e) => jump(e, sid)}>
              {label}
            </a>
          ))}
        </nav>

        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
          noValidate
        >
          <Section id="section-general" title="General">
            <div className="two-col">
              <TextField path="apple.profile_name" label="Profile name" hint="Shown in Apple Business Manager and on the device in Setup Assistant. Required." maxLength={125} />
              <Field id="name" label="Name in Pomona" hint="Optional: how admins find it here, if it should differ." error={errors.get('name')}>
                <input id="name" value={draft.name} readOnly={readOnly} placeholder="the profile name" onChange={(e) => (setDraft({ ...draft, name: e.target.value }), setDirty(true))} aria-invalid={errors.get('name') ? true : undefined} aria-describedby={errors.get('name') ? 'name-error' : undefined} />
              </Field>
              <TextField path="apple.department" label="Department" hint="Shown in Setup Assistant, e.g. “IT, Building 3”." maxLength={125} />
              <TextField path="apple.support_phone_number" label="Support phone" type="tel" hint="Shown in Setup Assistant." maxLength={50} />
              <TextField path="apple.support_email_address" label="Support e-mail" type="email" hint="Shown in Setup Assistant." maxLength={250} />
              <SelectField
                path="pomona.organizationGroupId"
                label="Organization group"
                hint="The group devices enrolled with this profile join."
                options={[{ value: '', label: 'The ABM server’s group' }, ...session.groups.map((g) => ({ value: g.id, label: g.breadcrumb.join(' › ') || g.name }))]}
              />
            </div>
            <fieldset className="inline-set" id="pomona.platforms" aria-describedby={errors.get('pomona.platforms') ? 'platforms-error' : undefined}>
              <legend>Platforms</legend>
              <p className="muted">Which devices the profile is meant for. Pomona uses this to warn about settings those devices ignore.</p>
              <div className="inline-checks">
                {PLATFORMS.map((p) => (
                  <label key={p} className="check">
                    <input
                      type="checkbox"
                      checked={platforms.includes(p)}
                      disabled={readOnly}
                      onChange={(e) => ctx.set('pomona.platforms', e.target.checked ? PLATFORMS.filter((x) => x === p || platforms.includes(x)) : platforms.filter((x) => x !== p))}
                    />
                    {PLATFORM_LABEL[p]}
                  </label>
                ))}
              </div>
              <FieldError id="platforms-error" message={errors.get('pomona.platforms')} />
            </fieldset>
          </Section>

          <Section id="section-behaviour" title="Enrollment" intro="How the device enrolls and what the user may do with management.">
            <div className="two-col">
              <CheckField path="apple.is_supervised" label="Supervised" def hint="Full management. iOS 13+ and macOS 11+ supervise every ADE device anyway." />
              <CheckField path="apple.is_mandatory" label="Mandatory" def hint="The user cannot skip enrollment." />
              <CheckField path="apple.is_mdm_removable" label="User may remove management" def={!supervised} hint="Off needs Supervised on." />
              <CheckField path="apple.allow_pairing" label="Allow pairing with a computer" def hint="Deprecated since iOS 13." />
              <CheckField path="apple.await_device_configured" label="Await configuration" def hint="Keep the device in Setup Assistant until Pomona releases it (needed for macOS accounts and Shared iPad)." />
              <CheckField path="apple.auto_advance_setup" label="Advance through Setup Assistant by itself" hint="Apple TV and macOS 11+." />
              <CheckField path="apple.is_multi_user" label="Shared iPad" hint="Set the iPad up for several users (settings below)." />
              <CheckField path="apple.is_return_to_service" label="Return to Service" hint="iOS 26 and visionOS 26." />
              <CheckField path="apple.do_not_use_profile_from_backup" label="Do not reuse this profile from a backup" hint="iOS 26 and visionOS 26." />
            </div>
            <div className="two-col">
              <TextField path="apple.language" label="Language" placeholder="e.g. en" maxLength={3} hint="ISO 639 code; Apple TV and macOS 11+ only. Empty: the user chooses." />
              <TextField path="apple.region" label="Region" placeholder="e.g. US" maxLength={2} hint="ISO 3166 country code; Apple TV and macOS 11+ only. Empty: the user chooses." />
            </div>
          </Section>

          <Section id="section-skip" title="Setup Assistant panes to skip" intro="Each pane shows the OS version that first lets it be skipped. Skipped panes can be set up later in Settings.">
            <SkipKeyPicker
              selected={s.apple.skip_setup_items ?? []}
              onChange={(keys) => ctx.set('apple.skip_setup_items', keys)}
              platforms={platforms}
              errorOf={(i) => errors.get(`apple.skip_setup_items[${i}]`)}
              allowUnknown={s.pomona?.allowUnknownSkipKeys ?? false}
              onAllowUnknown={(on) => ctx.set('pomona.allowUnknownSkipKeys', on)}
              readOnly={readOnly}
            />
            <FieldError message={errors.get('apple.skip_setup_items')} />
          </Section>

          <Section id="section-auth" title="Authentication and custom enrollment" intro="Whether the user signs in during Setup Assistant, and who the device belongs to.">
            <CheckField path="pomona.authentication.enabled" label="Ask the user to sign in" hint="In Pomona’s enrollment web view, before the device enrolls." />
            {authOn && (
              <fieldset className="inline-set" id="pomona.authentication.methods">
                <legend>Sign-in methods</legend>
                <div className="inline-checks">
                  {METHODS.map((m) => (
                    <label key={m.value} className="check">
                      <input
                        type="checkbox"
                        checked={methods.includes(m.value)}
                        disabled={readOnly}
                        onChange={(e) => ctx.set('pomona.authentication.methods', e.target.checked ? [...methods, m.value] : methods.filter((x) => x !== m.value))}
                      />
                      {m.label}
                    </label>
                  ))}
                </div>
                <FieldError message={errors.get('pomona.authentication.methods')} />
              </fieldset>
            )}
            <div className="two-col">
              <SelectField
                path="pomona.webView.mode"
                label="Enrollment web view"
                def="off"
                hint="Custom enrollment: a web page the device opens in Setup Assistant before it enrolls."
                options={[
                  { value: 'off', label: 'None' },
                  { value: 'pomona', label: 'Pomona’s pages (sign-in, terms)' },
                  { value: 'external', label: 'An external page' },
                ]}
              />
              {webMode === 'external' && <TextField path="pomona.webView.externalUrl" label="External web view URL" type="url" placeholder="https://" hint="The page signs the user in itself and fetches the profile from Pomona." />}
            </div>
            {!authOn && (
              <div className="two-col">
                <SelectField
                  path="pomona.userAssignment.mode"
                  label="Device belongs to"
                  def="anonymous"
                  hint="Without sign-in, who the enrolled device is assigned to."
                  options={[
                    { value: 'anonymous', label: 'Nobody' },
                    { value: 'staging', label: 'A staging user, to reassign later' },
                    { value: 'defined', label: 'A named user' },
                  ]}
                />
                {(s.pomona?.userAssignment?.mode ?? 'anonymous') !== 'anonymous' && <TextField path="pomona.userAssignment.username" label="User name" hint="Required for a named user; optional staging account." />}
              </div>
            )}
          </Section>

          <Section id="pomona.osRules" title="Minimum and maximum OS versions" intro="Checked when the device asks to enroll: older devices must update first (iOS 17+, macOS 14+), newer ones are refused.">
            <OsRules platforms={PLATFORMS.filter((p) => platforms.includes(p))} labels={PLATFORM_LABEL} />
          </Section>

          <Section id="pomona.macOSAccountSetup" title="macOS account setup" intro={`Sent while the Mac awaits configuration.${targets('macOS') ? '' : ' Unused: this profile does not target macOS.'}`}>
            <SelectField
              path="pomona.macOSAccountSetup.primaryAccount"
              label="Account the user creates"
              def="admin"
              options={[
                { value: 'admin', label: 'An administrator' },
                { value: 'standard', label: 'A standard user (needs a managed local admin)' },
                { value: 'skip', label: 'None (needs a managed local admin)' },
              ]}
            />
            <label className="check">
              <input
                type="checkbox"
                id={LOCAL_ADMIN}
                disabled={readOnly}
                checked={!!getAt(s, LOCAL_ADMIN)}
                onChange={(e) => ctx.set(LOCAL_ADMIN, e.target.checked ? { shortName: '', hidden: true } : undefined)}
              />
              <span>
                <span className="check-label">Create a managed local administrator</span>
                <small className="hint">Pomona generates a random password per Mac and keeps it for admins to view.</small>
              </span>
            </label>
            <FieldError message={errors.get(LOCAL_ADMIN)} />
            {!!getAt(s, LOCAL_ADMIN) && (
              <div className="two-col nested">
                <TextField path={`${LOCAL_ADMIN}.shortName`} label="Short name" placeholder="_pomonaadmin" maxLength={31} />
                <TextField path={`${LOCAL_ADMIN}.fullName`} label="Full name" placeholder="Default: the short name" />
                <NumberField path={`${LOCAL_ADMIN}.password.length`} label="Password length" min={12} max={64} placeholder="20" />
                <NumberField path={`${LOCAL_ADMIN}.password.rotateAfterViewingMinutes`} label="Rotate the password after viewing (minutes)" min={0} max={1440} placeholder="60" hint="0: never." />
                <CheckField path={`${LOCAL_ADMIN}.hidden`} label="Hide the account" def hint="From the login window and Users & Groups." />
              </div>
            )}
            <div className="two-col">
              <CheckField path="pomona.macOSAccountSetup.prefill.enabled" label="Prefill the user’s account from their identity" hint="Full name and short name (macOS 10.15+)." />
              <CheckField path="pomona.macOSAccountSetup.prefill.lock" label="Lock the prefilled fields" />
            </div>
          </Section>

          <Section id="section-await" title="Await configuration">
            <NumberField path="pomona.awaitConfiguration.timeLimitMinutes" label="Release the device after (minutes)" min={1} max={10} placeholder="3" hint="Even when its configuration is not done: 1 to 10 minutes." />
          </Section>

          <Section id="pomona.sharedIPad" title="Shared iPad" intro="Used when “Shared iPad” is on; sent while the iPad awaits configuration.">
            <div className="two-col">
              <NumberField path="pomona.sharedIPad.maximumResidentUsers" label="Users kept on the iPad" min={1} max={100} placeholder="the device decides" />
              <NumberField path="pomona.sharedIPad.quotaSizeMB" label="Storage per user (MB)" min={1} placeholder="the device decides" />
              <NumberField path="pomona.sharedIPad.temporarySessionTimeoutSeconds" label="Guest session timeout (seconds)" min={0} hint="0: never; otherwise at least 30." />
              <NumberField path="pomona.sharedIPad.userSessionTimeoutSeconds" label="User session timeout (seconds)" min={0} hint="0: never; otherwise at least 30." />
            </div>
            <CheckField path="pomona.sharedIPad.temporarySessionOnly" label="Guest sessions only" hint="iPadOS 14.5+." />
          </Section>

          <Section id="section-device" title="Time zone and device attributes">
            <div className="two-col">
              <TextField path="pomona.timeZone" label="Time zone" list="time-zones" placeholder="e.g. Europe/Berlin" hint="Set on supervised iPhone, iPad and Apple TV (iOS/tvOS 14+)." />
              <TextField path="pomona.deviceAttributes.assetTag" label="Asset tag" maxLength={128} hint="Recorded for devices enrolled with this profile." />
            </div>
            <datalist id="time-zones">
              {timeZones.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
            <AttributeRows rows={draft.attributes} readOnly={readOnly} errorOf={(n) => errors.get(`pomona.deviceAttributes.custom.${n}`)} onChange={(attributes) => (setDraft({ ...draft, attributes }), setDirty(true))} />
            <FieldError message={errors.get('pomona.deviceAttributes.custom')} />
          </Section>

          <Section id="section-advanced" title="Advanced">
            <TextField path="apple.org_magic" label="Organization magic" placeholder="pomona" hint="A free identifier of your organization’s services that Apple passes to the device." />
            <CertArea id="apple.anchor_certs" label="Anchor certificates" hint="Certificates the device trusts for Pomona’s enrollment URL instead of the built-in roots. Paste PEM." value={draft.anchorCerts} error={errors.get('apple.anchor_certs')} readOnly={readOnly} onChange={(v) => (setDraft({ ...draft, anchorCerts: v }), setDirty(true))} />
            <CertArea id="apple.supervising_host_certs" label="Supervising host certificates" hint="Computers that may pair with the device even when pairing is off. Paste PEM." value={draft.hostCerts} error={errors.get('apple.supervising_host_certs')} readOnly={readOnly} onChange={(v) => (setDraft({ ...draft, hostCerts: v }), setDirty(true))} />
          </Section>

          {!readOnly && (
            <div className="save-bar">
              <span className="muted">{dirty ? 'Unsaved changes' : profile ? `Revision ${profile.revision}` : ''}</span>
              <Link className="button" to={`/profiles?server=${profile?.abmServerId ?? serverId}`}>
                Cancel
              </Link>
              <button type="submit" className="primary" disabled={busy || !!stale}>
                {busy ? 'Saving…' : profile ? 'Save profile' : 'Create profile'}
              </button>
            </div>
          )}
        </form>
        {deleting && profile && (
          <DeleteProfileDialog
            profile={profile}
            defaultProfile={defaultProfile}
            onClose={() => setDeleting(false)}
            onDeleted={() => navigate(`/profiles?server=${profile.abmServerId}`, { force: true })}
          />
        )}
      </div>
    </Form.Provider>
  );
}

/** Moves focus to a field or section named by a problem path (or its nearest ancestor that has one). */
function focusPath(path: string) {
  let p = path;
  while (p) {
    const el = document.getElementById(p);
    if (el) {
      el.scrollIntoView({ block: 'center' });
      el.focus({ preventScroll: true });
      return;
    }
    p = p.replace(/(\[\d+\]|\.[^.]*)$/, '');
  }
}

function jump(e: React.MouseEvent, id: string) {
  e.preventDefault();
  focusPath(id);
}

function ProblemList({ problems }: { problems: Problem[] }) {
  return (
    <ul>
      {problems.map((p) => (
        <li key={p.path + p.message}>
          <a href={`#${p.path}`} onClick={(e) => jump(e, p.path)}>
            {p.message}
          </a>
        </li>
      ))}
    </ul>
  );
}
