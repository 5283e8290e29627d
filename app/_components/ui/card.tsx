"use client";
import { type ReactNode, useId } from "react";

/** A titled section: the heading names the region; actions sit on the right of the title bar. */
export function Card({ title, actions, children, className = "", bodyClassName = "p-4", id }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; bodyClassName?: string; id?: string }) {
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
