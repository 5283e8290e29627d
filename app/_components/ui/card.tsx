"use client";
import { type ReactNode, useId } from "react";

/** A titled section: the heading names the region; actions sit on the right of the title bar. */
export function Card({
  title,
  actions,
  children,
  className = "",
  bodyClassName = "p-4",
  id,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  bodyClassName?: string;
  id?: string;
}) {
  const hid = useId();
  return (
    <section aria-labelledby={title ? hid : undefined} id={id} className={`min-w-0 rounded-lg border border-neutral-200 bg-white shadow-sm ${className}`}>
      {(title || actions) && (
        <div className="flex flex-wrap items-center justify-between gap-2 border-b border-neutral-200 px-4 py-3">
          {title && (
            <h2 id={hid} className="text-sm font-semibold text-neutral-900">
              {title}
            </h2>
          )}
          {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
        </div>
      )}
      <div className={bodyClassName}>{children}</div>
    </section>
  );
}

/** What a page shows when it has nothing yet: a heading, a sentence, and the action that changes that. */
export function EmptyState({ title, children, action }: { title: string; children: ReactNode; action?: ReactNode }) {
  const hid = useId();
  return (
    <section aria-labelledby={hid} className="rounded-lg border border-dashed border-neutral-300 bg-white p-8 text-center">
      <h2 id={hid} className="text-base font-medium">
        {title}
      </h2>
      <p className="mt-1 text-sm text-neutral-600">{children}</p>
      {action && <div className="mt-4">{action}</div>}
    </section>
  );
}
