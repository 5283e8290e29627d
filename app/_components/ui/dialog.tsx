"use client";
import { type ReactNode, useEffect, useId, useRef } from "react";
import { ErrorBox } from "./alert";
import { Button } from "./button";

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** A modal dialog: role="dialog", aria-modal, labelled by its heading; Escape and the backdrop close it; Tab stays inside. */
export function Dialog({
  open,
  title,
  onClose,
  children,
  initialFocus,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  initialFocus?: React.RefObject<HTMLElement | null>;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const hid = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  // biome-ignore lint/correctness/useExhaustiveDependencies: set up once per opening; onClose is read through closeRef, initialFocus only at opening.
  useEffect(() => {
    if (!open) return;
    const before = document.activeElement as HTMLElement | null;
    const el = ref.current;
    const first = initialFocus?.current ?? el?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? el)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.preventDefault();
        closeRef.current();
      } else if (e.key === "Tab" && el) {
        const items = Array.from(el.querySelectorAll<HTMLElement>(FOCUSABLE));
        if (!items.length) return;
        const a = items[0]!;
        const z = items[items.length - 1]!;
        if (e.shiftKey && document.activeElement === a) {
          e.preventDefault();
          z.focus();
        } else if (!e.shiftKey && document.activeElement === z) {
          e.preventDefault();
          a.focus();
        }
      }
    };
    document.addEventListener("keydown", onKey);
    const overflow = document.body.style.overflow;
    document.body.style.overflow = "hidden";
    return () => {
      document.removeEventListener("keydown", onKey);
      document.body.style.overflow = overflow;
      before?.focus?.();
    };
  }, [open]);
  if (!open) return null;
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a click on the backdrop closes the dialog; keyboard users have Escape (above).
    <div className="fixed inset-0 z-50 flex items-end justify-center bg-neutral-900/40 p-0 sm:items-center sm:p-4" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={ref}
        role="dialog"
        aria-modal="true"
        aria-labelledby={hid}
        tabIndex={-1}
        className="max-h-[90vh] w-full overflow-y-auto rounded-t-lg border border-neutral-200 bg-white p-5 shadow-xl focus:outline-none sm:max-w-lg sm:rounded-lg"
      >
        <h2 id={hid} className="mb-3 text-base font-semibold text-neutral-900">
          {title}
        </h2>
        {children}
      </div>
    </div>
  );
}

/** A Dialog asking to confirm one action: the text, the action's error, Cancel and the confirm button (busy while it runs). */
export function ConfirmDialog({
  open,
  title,
  onClose,
  onConfirm,
  busy,
  error,
  confirmLabel,
  children,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  onConfirm: () => void;
  busy: boolean;
  error: unknown;
  confirmLabel: string;
  children: ReactNode;
}) {
  return (
    <Dialog open={open} title={title} onClose={() => !busy && onClose()}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onConfirm();
        }}
      >
        {children}
        <ErrorBox error={error} className="mt-3" />
        <div className="mt-5 flex flex-wrap justify-end gap-2">
          <Button disabled={busy} onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" busy={busy}>
            {confirmLabel}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
