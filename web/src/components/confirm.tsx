/**
 * Asks before a destructive action and says exactly what will happen. A native modal <dialog>:
 * focus stays inside, Escape cancels, and the safe choice has the focus first.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { messageOf } from '../api/client';

export interface ConfirmProps {
  title: string;
  /** what will happen, in plain words */
  children: ReactNode;
  confirmLabel: string;
  /** red button for things that cannot be undone */
  danger?: boolean;
  onConfirm(): Promise<void> | void;
  onClose(): void;
}

export function ConfirmDialog({ title, children, confirmLabel, danger = true, onConfirm, onClose }: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      onClose();
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="confirm-title" onCancel={(e) => (busy ? e.preventDefault() : onClose())}>
      <h2 id="confirm-title">{title}</h2>
      <div className="dialog-body">{children}</div>
      {error && (
        <div className="notice error" role="alert">
          {error}
        </div>
      )}
      <div className="dialog-actions">
        <button type="button" autoFocus onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button type="button" className={danger ? 'danger' : 'primary'} onClick={() => void confirm()} disabled={busy}>
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A modal for a form or a guided step (token upload, command form…), closed by Escape or its buttons. */
export function Modal({ title, children, onClose, wide }: { title: string; children: ReactNode; onClose(): void; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} className={`dialog${wide ? ' wide' : ''}`} aria-labelledby="modal-title" onCancel={onClose}>
      <div className="dialog-head">
        <h2 id="modal-title">{title}</h2>
        <button type="button" className="ghost" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      {children}
    </dialog>
  );
}
