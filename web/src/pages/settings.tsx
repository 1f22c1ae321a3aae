/**
 * Installation-wide settings: the APNs push certificate (status, renewal, upload), the device CA,
 * and open alerts. These are the same for every organization group, so the page asks the server
 * for the unscoped view (empty X-Pomona-Group) whatever the switcher shows; admins scoped below
 * the root are told why they see only their alerts.
 */
import { useState } from 'react';
import { api, ApiError, unwrap } from '../api/client';
import { ConfirmDialog, Modal } from '../components/confirm';
import { fileBase64 } from '../components/file-base64';
import { FormActions, useFormSubmit } from '../components/form-submit';
import { Badge, EmptyState, ErrorBanner, Field, Notice, PageHeader, Spinner, When, relative, type Tone } from '../components/ui';
import { useLoad } from '../components/use-load';
import { Link } from '../router';
import { useSession } from '../session';
import './settings.css';

/** The installation-wide view, whatever group the switcher is on. */
const WHOLE = { headers: { 'x-pomona-group': '' } };
const DAY = 86_400_000;

function expiryTone(notAfter: number): Tone {
  const left = notAfter - Date.now();
  return left <= 0 ? 'bad' : left < 30 * DAY ? 'warn' : 'good';
}

function Expiry({ notAfter }: { notAfter: number }) {
  const tone = expiryTone(notAfter);
  return (
    <>
      <When at={notAfter} />{' '}
      <Badge tone={tone}>{tone === 'bad' ? `expired ${relative(notAfter)}` : `expires ${relative(notAfter)}`}</Badge>
    </>
  );
}

export function Settings(_: { params: Record<string, string> }) {
  const session = useSession();
  const root = session.groups.find((g) => g.parentId === null);
  const global = root !== undefined && session.scopeGroupId === root.id;
  return (
    <>
      <PageHeader title="Settings" subtitle="Installation-wide: the same for every organization group." />
      {!global && (
        <Notice tone="warning">
          The push certificate and the device CA serve the whole installation, so only admins scoped at the top group manage them. Your scope is {session.groups[0]?.name}: you see the alerts of your groups below.
        </Notice>
      )}
      {global && !session.atScopeRoot && <Notice>The group switcher is on {session.group.name}, but everything on this page applies to the whole installation.</Notice>}
      {global && (
        <div className="grid settings-grid">
          <PushCertificate />
          <DeviceCa />
        </div>
      )}
      <Alerts />
    </>
  );
}

function PushCertificate() {
  const { can } = useSession();
  const loaded = useLoad(async () => {
    const res = await api.GET('/api/v1/push-certificate', WHOLE);
    // 404 means none imported yet: a state to explain, not an error.
    if (res.response.status === 404) return null;
    return unwrap(Promise.resolve(res));
  }, []);
  const [uploading, setUploading] = useState(false);
  const [steps, setSteps] = useState(false);
  const cert = loaded.data;
  return (
    <section className="panel" aria-labelledby="push-title">
      <h2 id="push-title">Push certificate (APNs)</h2>
      <ErrorBanner error={loaded.error} />
      {loaded.data === undefined && !loaded.error && <Spinner />}
      {cert === null && <EmptyState title="No push certificate yet">Devices cannot be woken to check in without one. Follow the renewal steps to get one from Apple, then upload it.</EmptyState>}
      {cert && (
        <dl className="facts">
          <dt>Status</dt>
          <dd>{cert.expired ? <Badge tone="bad">Expired — devices no longer get pushes</Badge> : <Badge tone={expiryTone(cert.notAfter)}>Valid</Badge>}</dd>
          <dt>Expires</dt>
          <dd>
            <Expiry notAfter={cert.notAfter} />
          </dd>
          <dt>Topic</dt>
          <dd>
            <code>{cert.topic}</code>
          </dd>
          <dt>Subject</dt>
          <dd>{cert.subject}</dd>
          <dt>Valid from</dt>
          <dd>
            <When at={cert.notBefore} />
          </dd>
        </dl>
      )}
      <div className="actions panel-actions">
        <button type="button" onClick={() => setSteps(true)}>
          How to renew
        </button>
        {can('admin') && (
          <button type="button" className="primary" onClick={() => setUploading(true)}>
            Upload new certificate
          </button>
        )}
      </div>
      {steps && <RenewalSteps onClose={() => setSteps(false)} />}
      {uploading && <UploadPushCertificate onClose={() => setUploading(false)} onUploaded={() => void loaded.reload()} />}
    </section>
  );
}

function RenewalSteps({ onClose }: { onClose(): void }) {
  return (
    <Modal title="Renewing the push certificate" onClose={onClose} wide>
      <ol className="steps">
        <li>
          <strong>Generate a key and a certificate signing request (CSR).</strong> For example <code>openssl req -new -newkey rsa:2048 -nodes -keyout push.key -out push.csr -subj "/CN=Pomona push"</code>. Apple only accepts an MDM CSR signed by an MDM vendor certificate: have it signed with yours (or your vendor's). Keep <code>push.key</code> safe — you upload it with the certificate.
        </li>
        <li>
          <strong>Apple Push Certificates Portal.</strong> Sign in at <a href="https://identity.apple.com/pushcert/" target="_blank" rel="noreferrer">identity.apple.com/pushcert</a> with the same Managed Apple Account that created the current certificate, choose <em>Renew</em> next to it (not <em>Create</em>: a new certificate has a new topic and every device would have to enroll again), upload the signed CSR, and download the .pem file.
        </li>
        <li>
          <strong>Upload it here</strong> with its key (or as one PKCS#12 file). Pomona checks that the topic is unchanged and the certificate newer, and starts using it at once — devices notice nothing.
        </li>
      </ol>
      <p className="muted">Renew before it expires: an expired certificate stops every push until devices are re-enrolled with a new one. Pomona raises an alert 30, 14, 7 and 1 days before.</p>
    </Modal>
  );
}

const readText = (f: File) => f.text();

function UploadPushCertificate({ onClose, onUploaded }: { onClose(): void; onUploaded(): void }) {
  const [format, setFormat] = useState<'pem' | 'p12'>('pem');
  const [cert, setCert] = useState<File>();
  const [key, setKey] = useState<File>();
  const [p12, setP12] = useState<File>();
  const [password, setPassword] = useState('');
  const [topicChange, setTopicChange] = useState<string>();
  const [done, setDone] = useState<{ topic: string; notAfter: number }>();

  const upload = async (force: boolean) => {
    const body =
      format === 'p12'
        ? { pkcs12: await fileBase64(p12!), password: password || undefined, force }
        : { certificate: await readText(cert!), privateKey: key ? await readText(key) : undefined, password: password || undefined, force };
    try {
      setDone(await unwrap(api.POST('/api/v1/push-certificate', { ...WHOLE, body })));
      onUploaded();
    } catch (err) {
      // A new topic strands every enrolled device: asked separately, with that said.
      if (err instanceof ApiError && err.status === 409 && err.code === 'topic-changed') setTopicChange(err.message);
      else throw err;
    }
  };
  const form = useFormSubmit(() => upload(false));
  const ready = format === 'p12' ? !!p12 : !!cert;
  return (
    <Modal title="Upload a push certificate" onClose={onClose}>
      {done ? (
        <>
          <Notice tone="success">
            Pomona now pushes with the certificate for <code>{done.topic}</code>, valid until <When at={done.notAfter} />.
          </Notice>
          <div className="dialog-actions">
            <button type="button" className="primary" onClick={onClose}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={form.onSubmit}>
          <fieldset>
            <legend>Format</legend>
            <label className="check">
              <input type="radio" name="pc-format" checked={format === 'pem'} onChange={() => setFormat('pem')} /> Certificate (.pem from Apple) and private key (.key / .pem)
            </label>
            <label className="check">
              <input type="radio" name="pc-format" checked={format === 'p12'} onChange={() => setFormat('p12')} /> One PKCS#12 file (.p12) with both
            </label>
          </fieldset>
          {format === 'pem' ? (
            <>
              <Field id="pc-cert" label="Certificate (PEM)">
                <input id="pc-cert" type="file" accept=".pem,.crt,.cer" onChange={(e) => setCert(e.target.files?.[0])} required />
              </Field>
              <Field id="pc-key" label="Private key (PEM)" hint="The key of the CSR you sent to Apple. Not needed if the certificate file holds it.">
                <input id="pc-key" type="file" accept=".key,.pem" onChange={(e) => setKey(e.target.files?.[0])} />
              </Field>
            </>
          ) : (
            <Field id="pc-p12" label="PKCS#12 file">
              <input id="pc-p12" type="file" accept=".p12,.pfx" onChange={(e) => setP12(e.target.files?.[0])} required />
            </Field>
          )}
          <Field id="pc-password" label="Password" hint="Of the PKCS#12 file or an encrypted key; empty if none.">
            <input id="pc-password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="off" />
          </Field>
          <ErrorBanner error={form.error} />
          {form.busy && <Spinner label="Checking and storing the certificate…" />}
          <FormActions label="Upload" busyLabel="Uploading…" busy={form.busy} disabled={!ready} onCancel={onClose} />
        </form>
      )}
      {topicChange && (
        <ConfirmDialog title="Replace the push topic?" confirmLabel="Replace anyway" onClose={() => setTopicChange(undefined)} onConfirm={() => upload(true)}>
          <p>{topicChange}</p>
          <p>
            <strong>After replacing, none of the enrolled devices can be reached until it enrolls again.</strong>
          </p>
        </ConfirmDialog>
      )}
    </Modal>
  );
}

function DeviceCa() {
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/ca', WHOLE)), []);
  const ca = loaded.data;
  return (
    <section className="panel" aria-labelledby="ca-title">
      <h2 id="ca-title">Device CA</h2>
      <p className="muted">Issues each device's identity certificate over SCEP. Set in the configuration file (ca.certFile / ca.keyFile) or created at first start.</p>
      <ErrorBanner error={loaded.error} />
      {!ca && !loaded.error && <Spinner />}
      {ca && (
        <dl className="facts">
          <dt>Subject</dt>
          <dd>{ca.subject}</dd>
          {ca.issuer !== ca.subject && (
            <>
              <dt>Issuer</dt>
              <dd>{ca.issuer}</dd>
            </>
          )}
          <dt>Expires</dt>
          <dd>
            <Expiry notAfter={ca.notAfter} />
          </dd>
          <dt>Valid from</dt>
          <dd>
            <When at={ca.notBefore} />
          </dd>
          <dt>Serial</dt>
          <dd>
            <code>{ca.serialNumber}</code>
          </dd>
          <dt>SHA-256 fingerprint</dt>
          <dd>
            <code className="fingerprint">{ca.fingerprintSha256}</code>
          </dd>
        </dl>
      )}
    </section>
  );
}

const SEVERITY_TONE: Record<string, Tone> = { critical: 'bad', error: 'bad', warning: 'warn', info: 'info' };

function Alerts() {
  const session = useSession();
  const loaded = useLoad(() => unwrap(api.GET('/api/v1/alerts', WHOLE)), []);
  const open = loaded.data?.open;
  const groupName = (id: string | null) => (id === null ? 'Whole installation' : (session.groups.find((g) => g.id === id)?.name ?? id));
  return (
    <section className="panel" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Open alerts</h2>
      <p className="muted">
        Who receives alerts is a group setting (alerts.recipients), inherited down the tree:{' '}
        <Link to={`/organization?group=${encodeURIComponent(session.group.id)}`}>set the recipients of {session.group.name}</Link>.
      </p>
      <ErrorBanner error={loaded.error} />
      {!open && !loaded.error && <Spinner />}
      {open && open.length === 0 && <EmptyState title="No open alerts">Expiring tokens and certificates, failing syncs and stuck enrollments appear here (and are e-mailed to the recipients) until they are resolved.</EmptyState>}
      {open && open.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Open alerts</caption>
            <thead>
              <tr>
                <th>Severity</th>
                <th>Alert</th>
                <th>Group</th>
                <th>Since</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {open.map((a) => (
                <tr key={a.key}>
                  <td>
                    <Badge tone={SEVERITY_TONE[a.severity] ?? 'neutral'}>{a.severity}</Badge>
                  </td>
                  <td>
                    {a.summary}
                    <div className="muted">
                      <code>{a.kind}</code> · {a.state}
                    </div>
                  </td>
                  <td>{groupName(a.groupId)}</td>
                  <td>
                    <When at={a.raisedAt} />
                  </td>
                  <td>
                    <When at={a.updatedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
