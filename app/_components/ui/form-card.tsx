// A form in a card: its fields in a grid, the submit button (spinner while pending), a live status
// line beside it and the error under it. The dashboard's create/build/change forms are all this.
import type { FormEvent, ReactNode } from "react";
import { ErrorText } from "./alert";
import { Button } from "./button";
import { Card } from "./card";

export function FormCard({
  title,
  intro,
  onSubmit,
  submit,
  pending,
  disabled,
  status,
  error,
  className,
  noValidate,
  children,
}: {
  title: string;
  intro?: ReactNode;
  onSubmit: (e: FormEvent) => void;
  submit: string;
  pending: boolean;
  disabled?: boolean;
  status?: ReactNode;
  error?: unknown;
  className?: string;
  noValidate?: boolean;
  children: ReactNode;
}) {
  return (
    <Card title={title} className={className}>
      <form onSubmit={onSubmit} aria-label={title} noValidate={noValidate} className="space-y-3">
        {intro && <p className="text-sm text-neutral-600">{intro}</p>}
        <div className="grid gap-3 sm:grid-cols-2">{children}</div>
        <div className="flex flex-wrap items-center gap-3">
          <Button type="submit" variant="primary" busy={pending} disabled={disabled}>
            {submit}
          </Button>
          <p role="status" aria-live="polite" className="text-sm text-neutral-600 empty:hidden">
            {status}
          </p>
        </div>
        <ErrorText error={error} />
      </form>
    </Card>
  );
}
