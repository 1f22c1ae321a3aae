/**
 * Asks before a destructive action and says exactly what will happen. A native modal <dialog>:
 * focus stays inside, Escape cancels, and the safe choice has the focus first. When it closes,
 * the focus goes back to what opened it, so a keyboard user carries on where they were.
 */
import { useEffect, useId, useRef, useState, type ReactNode, type RefObject } from 'react';
import { messageOf } from '../api/client';

/**
 * Opens the dialog as a modal and, when the page unmounts it, gives the focus back to the
 * element that had it before (the button that opened it) — or to the page's main region when
 * that element is gone (a deleted row): removing an open <dialog> from the document leaves the
 * focus on <body>, and the next Tab would start from the top of the page.
 */
function useModal(ref: RefObject<HTMLDialogElement | null>): void {
  useEffect(() => {
    const active = document.activeElement;
    const opener = active instanceof HTMLElement && active !== document.body ? active : null;
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => {
      // After the commit that removes the dialog: the opener may be re-rendered or removed by then.
      queueMicrotask(() => {
        if (document.activeElement && document.activeElement !== document.body) return;
        opener?.focus();
        // gone, or disabled by what the dialog did (a sync now running): the page itself
        if (document.activeElement !== opener) document.getElementById('main')?.focus();
      });
    };
  }, [ref]);
}

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
  const titleId = useId();
  useModal(ref);
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
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onCancel={(e) => (busy ? e.preventDefault() : onClose())}>
      <h2 id={titleId}>{title}</h2>
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
  const titleId = useId();
  useModal(ref);
  return (
    <dialog ref={ref} className={`dialog${wide ? ' wide' : ''}`} aria-labelledby={titleId} onCancel={onClose}>
      <div className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="ghost" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      {children}
    </dialog>
  );
}
