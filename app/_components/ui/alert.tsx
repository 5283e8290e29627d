// Messages: an Alert box in a tone, ErrorBox for a failed request (text, stable code, hint, Retry),
// and ErrorText for the one-line form under a field or a table.
import type { ReactNode } from "react";
import { errorCode, errorText } from "~/app/_lib/errors";
import { btn } from "./styles";

const TONE = {
  error: "border-red-200 bg-red-50 text-red-800",
  warning: "border-amber-200 bg-amber-50 text-amber-900",
  info: "border-blue-200 bg-blue-50 text-blue-900",
};

export function Alert({ tone = "error", title, children, className = "" }: { tone?: keyof typeof TONE; title?: ReactNode; children?: ReactNode; className?: string }) {
  return (
    <div role="alert" className={`rounded-lg border p-3 text-sm ${TONE[tone]} ${className}`}>
      {title && <p className="font-medium">{title}</p>}
      {children}
    </div>
  );
}

export function ErrorBox({ error, title, hint, onRetry, className }: { error: unknown; title?: string; hint?: ReactNode; onRetry?: () => void; className?: string }) {
  if (!error) return null;
  const code = errorCode(error);
  return (
    <Alert title={title} className={className}>
      <p className="break-words">
        {errorText(error)}
        {code && <span className="ml-2 font-mono text-xs text-red-700/80">({code})</span>}
      </p>
      {hint && <p className="mt-1 text-red-700">{hint}</p>}
      {onRetry && (
        <button type="button" onClick={onRetry} className={`${btn.secondary} mt-2`}>
          Retry
        </button>
      )}
    </Alert>
  );
}

/** One line of error text (a request's error or a local message); nothing when there is none. */
export function ErrorText({ error, className = "text-sm" }: { error: unknown; className?: string }) {
  if (!error) return null;
  return (
    <p role="alert" className={`text-red-700 ${className}`}>
      {typeof error === "string" ? error : errorText(error)}
    </p>
  );
}

/** A polite status line (success notices); stays in the DOM so screen readers hear the change. */
export function Notice({ children, className = "text-sm" }: { children?: ReactNode; className?: string }) {
  return (
    <p role="status" aria-live="polite" className={`text-green-700 empty:hidden ${className}`}>
      {children}
    </p>
  );
}
