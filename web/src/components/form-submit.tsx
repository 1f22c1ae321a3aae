/**
 * The submit side of a form in a dialog: runs the action once at a time, keeps the server's
 * refusal to show (in place or on top), and the Cancel / submit buttons every such form ends with.
 */
import { useState, type FormEvent } from 'react';
import { messageOf } from '../api/client';

export interface FormSubmit {
  /** the form's onSubmit */
  onSubmit(e: FormEvent): void;
  busy: boolean;
  /** the refusal, as thrown (an ApiError carries field problems) */
  failure: unknown;
  /** its text, or undefined */
  error: string | undefined;
  /** shows a message of the form's own (a check before calling the server) */
  fail(message: string): void;
}

export function useFormSubmit(action: () => Promise<void>): FormSubmit {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  return {
    busy,
    failure,
    error: failure === undefined ? undefined : messageOf(failure),
    fail: (message) => setFailure(new Error(message)),
    onSubmit(e) {
      e.preventDefault();
      if (busy) return;
      setBusy(true);
      setFailure(undefined);
      action().then(
        () => setBusy(false),
        (err: unknown) => {
          setFailure(err);
          setBusy(false);
        },
      );
    },
  };
}

/** Cancel, then the primary submit button (its label while busy, e.g. "Saving…"). */
export function FormActions({ label, busy, onCancel, busyLabel = 'Saving…', disabled }: { label: string; busy: boolean; onCancel(): void; busyLabel?: string; disabled?: boolean }) {
  return (
    <div className="dialog-actions">
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className="primary" disabled={busy || disabled}>
        {busy ? busyLabel : label}
      </button>
    </div>
  );
}
