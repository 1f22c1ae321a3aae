/**
 * The guided token upload of an ABM server: 1 download Pomona's public key, 2 in Apple Business
 * Manager add (or edit) the MDM server, upload the key and download the server token, 3 upload
 * that file here. The API's refusal of a bad file is shown next to the file field; a token of a
 * different MDM server is only taken when the admin says so (force), since it swaps the devices.
 */
import { useEffect, useRef, useState } from 'react';
import { api, ApiError, messageOf, unwrap, type paths } from '../api/client';
import { Modal } from '../components/confirm';
import { Field, Notice } from '../components/ui';
import { fileNameOf, saveFile } from '../components/save-file';
import './abm-servers.css';

export type AbmServer = paths['/api/v1/abm-servers']['get']['responses'][200]['content']['application/json']['items'][number];

/** Downloads the server's public key (the staged one while a key change is under way). */
export async function downloadPublicKey(server: AbmServer): Promise<void> {
  const res = await api.GET('/api/v1/abm-servers/{id}/public-key', { params: { path: { id: server.id } }, parseAs: 'text' });
  const pem = await unwrap(Promise.resolve(res));
  saveFile(fileNameOf(res.response, `${server.name}.pem`), String(pem), 'application/x-pem-file');
}

const STEPS = ['Download the public key', 'Get the token from Apple', 'Upload the token'];

export function TokenUpload({ server, onDone, onClose }: { server: AbmServer; onDone(s: AbmServer): void; onClose(): void }) {
  const [step, setStep] = useState(0);
  const [downloaded, setDownloaded] = useState(false);
  const [file, setFile] = useState<File>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [otherServer, setOtherServer] = useState(false);
  // A new key pair waits for its token (prepared now or in an earlier visit): step 1 offers its key.
  const [staged, setStaged] = useState(server.stagedKey);
  const renewing = server.tokenState !== 'no-token';

  // Next and Back replace the step's content: the focus moves to its heading, so the keyboard
  // and a screen reader start at the new step instead of staying on a button whose text did not change.
  const shown = useRef(step);
  useEffect(() => {
    if (shown.current === step) return;
    shown.current = step;
    document.getElementById(`step-${step + 1}`)?.focus();
  }, [step]);

  const download = async () => {
    setError(undefined);
    try {
      await downloadPublicKey(server);
      setDownloaded(true);
    } catch (err) {
      setError(messageOf(err));
    }
  };

  /** Stages a new key pair (the current token keeps working) and downloads its public key. */
  const prepareKey = async () => {
    setError(undefined);
    setBusy(true);
    try {
      await unwrap(api.POST('/api/v1/abm-servers/{id}/public-key', { params: { path: { id: server.id } } }));
      setStaged(true);
      await downloadPublicKey(server);
      setDownloaded(true);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const upload = async (force = false) => {
    if (!file) return setError('Choose the token file you downloaded from Apple Business Manager.');
    setBusy(true);
    setError(undefined);
    try {
      const body = await file.arrayBuffer();
      const out = await unwrap(
        api.PUT('/api/v1/abm-servers/{id}/token', {
          params: { path: { id: server.id }, query: force ? { force: true } : {} },
          // The token file goes as it is: the route takes the raw S/MIME, DER or JSON body.
          body: body as never,
          bodySerializer: (b: unknown) => b as ArrayBuffer,
          headers: { 'content-type': 'application/pkcs7-mime' },
        }),
      );
      onDone(out.server);
    } catch (err) {
      setOtherServer(err instanceof ApiError && err.code === 'consumer_key_mismatch');
      setError(messageOf(err));
      setBusy(false);
    }
  };

  return (
    <Modal title={renewing ? `Upload a new token for ${server.name}` : `Connect ${server.name} to Apple Business Manager`} onClose={onClose} wide>
      <ol className="stepper" aria-label="Steps">
        {STEPS.map((label, i) => (
          <li key={label} aria-current={i === step ? 'step' : undefined} className={i < step ? 'done' : undefined}>
            <span className="step-number" aria-hidden="true">
              {i + 1}
            </span>
            {label}
          </li>
        ))}
      </ol>

      {step === 0 && (
        <section aria-labelledby="step-1">
          <h3 id="step-1" tabIndex={-1}>Step 1 — Download Pomona’s public key</h3>
          <p>Apple encrypts the server token to this key, so only this Pomona can read it.</p>
          {renewing && !staged && (
            <p>
              Renewing the token of the same MDM server? Apple Business Manager still has the current key: you can go on to step 2 without a download. To replace the key pair as well (a yearly
              rotation, or when the private key may have leaked), prepare a new one: the current token keeps working until you upload a token encrypted to the new key.
            </p>
          )}
          {staged && (
            <Notice tone="info">
              A new key pair is prepared and waits for its token: the download is its public key. Upload it in Apple Business Manager (step 2); the current token keeps working until then.
            </Notice>
          )}
          <div className="actions">
            <button type="button" className="primary" disabled={busy} onClick={() => void download()}>
              {staged ? 'Download the new public key' : 'Download public key'}
            </button>
            {renewing && !staged && (
              <button type="button" disabled={busy} onClick={() => void prepareKey()}>
                {busy ? 'Preparing…' : 'Prepare a new key pair'}
              </button>
            )}
          </div>
          {downloaded && <p className="step-ok">✓ Saved the {staged ? 'new ' : ''}public key (.pem) to your downloads.</p>}
        </section>
      )}

      {step === 1 && (
        <section aria-labelledby="step-2">
          <h3 id="step-2" tabIndex={-1}>Step 2 — In Apple Business Manager</h3>
          <ol className="instructions">
            <li>
              Sign in at <strong>business.apple.com</strong> (or school.apple.com) as an Administrator or Device Enrollment Manager.
            </li>
            <li>
              Open your name at the bottom left → <strong>Preferences</strong> → <strong>Your MDM Servers</strong>.
            </li>
            <li>
              {renewing ? (
                <>Choose the MDM server this Pomona server is connected to{server.apple.serverName ? <> (“{server.apple.serverName}”)</> : null}, then <strong>Edit</strong>.</>
              ) : (
                <>
                  <strong>Add</strong> an MDM server and give it a name (for example “{server.name}”).
                </>
              )}
            </li>
            <li>
              {renewing && !staged ? (
                <>Leave the public key as it is (you kept the key pair).</>
              ) : (
                <>
                  Under <strong>MDM Server Settings</strong>, upload the public key file from step 1, then <strong>Save</strong>.
                </>
              )}
            </li>
            <li>
              Choose <strong>Download Token</strong>. Apple gives you a file ending in <code>_smime.p7m</code>.
            </li>
          </ol>
        </section>
      )}

      {step === 2 && (
        <section aria-labelledby="step-3">
          <h3 id="step-3" tabIndex={-1}>Step 3 — Upload the token here</h3>
          <Field id="token-file" label="Server token file (.p7m)" hint="The file exactly as Apple Business Manager gave it to you." error={error}>
            <input
              id="token-file"
              type="file"
              accept=".p7m,.json,application/pkcs7-mime"
              aria-describedby={error ? 'token-file-error' : undefined}
              onChange={(e) => {
                setFile(e.target.files?.[0]);
                setError(undefined);
                setOtherServer(false);
              }}
            />
          </Field>
          {otherServer && (
            <Notice tone="warning">
              Replacing the connection makes this Pomona server follow the other MDM server: its device list is fetched again and its profiles are defined there anew.{' '}
              <button type="button" className="danger" disabled={busy} onClick={() => void upload(true)}>
                Replace the connection
              </button>
            </Notice>
          )}
          <p className="muted">After the upload Pomona checks the token with Apple and starts the first sync.</p>
        </section>
      )}

      {step < 2 && error && (
        <div className="notice error" role="alert">
          {error}
        </div>
      )}
      <div className="dialog-actions">
        {step > 0 && (
          <button type="button" onClick={() => setStep(step - 1)} disabled={busy}>
            Back
          </button>
        )}
        {step < 2 ? (
          <button type="button" className="primary" onClick={() => setStep(step + 1)}>
            Next
          </button>
        ) : (
          <button type="button" className="primary" disabled={busy || !file} onClick={() => void upload()}>
            {busy ? 'Uploading…' : 'Upload token'}
          </button>
        )}
      </div>
    </Modal>
  );
}
