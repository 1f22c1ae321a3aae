/**
 * A Mac's secrets as the console may show them: whether it escrowed its bootstrap token (the
 * token itself only ever goes back to the Mac), and its managed administrator account. The
 * password is for administrators only and each view is an audit event — the console says so
 * before it asks for it; a rotation asks first and says the old password stays valid until the
 * Mac acknowledges the new one.
 */
import { useState } from 'react';
import { api, messageOf, unwrap, type paths } from '../api/client';
import { ConfirmDialog, Modal } from '../components/confirm';
import { Badge, ErrorBanner, Notice, Spinner, When } from '../components/ui';
import { useLoad } from '../components/use-load';
import { useSession } from '../session';

type Detail = paths['/api/v1/devices/{id}']['get']['responses'][200]['content']['application/json'];
type AdminStatus = paths['/api/v1/devices/{id}/managed-admin']['get']['responses'][200]['content']['application/json'];

export function DeviceSecurity({ detail }: { detail: Detail }) {
  const mac = detail.device.platform === 'macOS';
  const token = detail.bootstrapToken;
  return (
    <section className="panel" aria-labelledby="security-title">
      <h2 id="security-title">Security</h2>
      <dl className="facts">
        <dt>Bootstrap token</dt>
        <dd>
          {!mac ? (
            <span className="muted">Macs only</span>
          ) : token?.escrowed ? (
            <>
              <Badge tone="good">Escrowed</Badge> <span className="muted">since <When at={token.escrowedAt} /></span>
            </>
          ) : (
            <Badge tone="warn" title="the Mac has not sent its bootstrap token (SetBootstrapToken)">Not escrowed</Badge>
          )}
        </dd>
      </dl>
      {mac && <ManagedAdmin deviceId={detail.device.id} />}
    </section>
  );
}

function ManagedAdmin({ deviceId }: { deviceId: string }) {
  const session = useSession();
  const path = { params: { path: { id: deviceId } } };
  const status = useLoad(async () => {
    const res = await api.GET('/api/v1/devices/{id}/managed-admin', path);
    if (res.response.status === 404) return null; // no account was set up for this Mac
    return unwrap(Promise.resolve(res));
  }, [deviceId]);
  const [dialog, setDialog] = useState<'view' | 'rotate' | null>(null);
  const [notice, setNotice] = useState<string>();
  if (status.loading && status.data === undefined) return <Spinner label="Loading the managed administrator…" />;
  const a = status.data;
  return (
    <>
      <h3>Managed administrator account</h3>
      <ErrorBanner error={status.error} />
      {a === null ? (
        <p className="muted">None: no managed administrator was set up while this Mac awaited configuration (the enrollment profile’s macOS account setup).</p>
      ) : a ? (
        <>
          <dl className="facts">
            <dt>Account</dt>
            <dd>
              {a.fullName} (<span className="mono">{a.shortName}</span>){a.hidden && <span className="muted"> · hidden</span>}
            </dd>
            <dt>Password</dt>
            <dd>{a.hasPassword ? <>Set <When at={a.passwordSetAt} /></> : <span className="muted">Not acknowledged by the Mac yet</span>}</dd>
            {a.pendingChange && (
              <>
                <dt>Change under way</dt>
                <dd>
                  <Badge tone="info">{a.pendingChange.kind === 'rotate' ? 'Rotating' : 'Creating'}</Badge> since <When at={a.pendingChange.since} /> ({a.pendingChange.reason})
                </dd>
              </>
            )}
            {a.lastError && (
              <>
                <dt>Last error</dt>
                <dd className="bad-text">
                  {a.lastError.message} (<When at={a.lastError.at} />)
                </dd>
              </>
            )}
            <dt>Last viewed</dt>
            <dd>
              <When at={a.lastViewedAt} empty="Never" />
              {a.rotateAt && <> · rotates <When at={a.rotateAt} /></>}
            </dd>
          </dl>
          {notice && <Notice tone="success">{notice}</Notice>}
          {session.can('admin') && a.hasPassword && (
            <div className="actions">
              <button type="button" onClick={() => setDialog('view')}>
                View password…
              </button>
              <button type="button" onClick={() => setDialog('rotate')} disabled={!!a.pendingChange} title={a.pendingChange ? 'a change is already under way' : undefined}>
                Rotate password…
              </button>
            </div>
          )}
        </>
      ) : null}
      {dialog === 'view' && a && <RevealPassword deviceId={deviceId} account={a} onClose={() => (setDialog(null), void status.reload())} />}
      {dialog === 'rotate' && a && (
        <ConfirmDialog
          title={`Rotate the password of ${a.shortName}?`}
          confirmLabel="Rotate password"
          danger={false}
          onConfirm={async () => {
            await unwrap(api.POST('/api/v1/devices/{id}/managed-admin-password/rotate', path));
            setNotice('Rotation sent. The current password stays valid until the Mac acknowledges the new one.');
            await status.reload();
          }}
          onClose={() => setDialog(null)}
        >
          <p>
            Pomona sends the Mac a new password (SetAutoAdminPassword). The current password stays valid — and is the one Pomona shows — until
            the Mac acknowledges the new one. The rotation is recorded in the audit log.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

function RevealPassword({ deviceId, account, onClose }: { deviceId: string; account: AdminStatus; onClose(): void }) {
  const session = useSession();
  const [password, setPassword] = useState<string>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const reveal = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const out = await unwrap(api.GET('/api/v1/devices/{id}/managed-admin-password', { params: { path: { id: deviceId } } }));
      setPassword(out.password);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={`Password of ${account.shortName}`} onClose={onClose}>
      {password === undefined ? (
        <>
          <p>
            Viewing this password is recorded in the audit log as viewed by <strong>{session.name}</strong>. Depending on the enrollment profile,
            Pomona may rotate it some minutes after the view.
          </p>
          <ErrorBanner error={error} />
          <div className="dialog-actions">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="button" className="primary" onClick={() => void reveal()} disabled={busy}>
              {busy ? 'Revealing…' : 'Reveal password'}
            </button>
          </div>
        </>
      ) : (
        <>
          <p>
            Password of <span className="mono">{account.shortName}</span>:
          </p>
          <p className="secret mono" aria-label="Managed administrator password">
            {password}
          </p>
          <div className="dialog-actions">
            <button type="button" className="primary" onClick={onClose}>
              Done
            </button>
          </div>
        </>
      )}
    </Modal>
  );
}
