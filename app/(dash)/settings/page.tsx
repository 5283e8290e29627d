"use client";
// Operator settings: change the sign-in password (other sessions are signed out; this one stays).
import { useId, useState, type FormEvent } from "react";
import { api } from "../../_lib/trpc";
import { errorText as sharedErrorText } from "../../_lib/errors";
import { input } from "../../_lib/styles";

const MIN = 12;

/** Password-specific codes get their own sentence; the rest is the shared error text. */
function errorText(err: { message: string; data?: { hoodyCode?: string | null } | null } | null | undefined): string {
  if (!err) return "";
  if (err.data?.hoodyCode === "INVALID_CREDENTIALS") return "The current password is wrong.";
  if (err.data?.hoodyCode === "WEAK_PASSWORD") return `Use at least ${MIN} characters for the new password.`;
  return sharedErrorText(err);
}

const primary =
  "rounded bg-neutral-900 px-4 py-2 text-sm font-medium text-white hover:bg-neutral-700 disabled:cursor-not-allowed disabled:opacity-50 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600";

export default function SettingsPage() {
  const currentId = useId();
  const nextId = useId();
  const repeatId = useId();
  const hintId = useId();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [localError, setLocalError] = useState<string | null>(null);
  const change = api.auth.changePassword.useMutation({
    onSuccess: () => {
      setCurrent("");
      setNext("");
      setRepeat("");
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setLocalError(null);
    change.reset();
    if (!current) return setLocalError("Enter the current password.");
    if (next.length < MIN) return setLocalError(`Use at least ${MIN} characters for the new password.`);
    if (next !== repeat) return setLocalError("The new password and its repetition differ.");
    if (next === current) return setLocalError("The new password is the same as the current one.");
    change.mutate({ current, next });
  }

  const error = localError ?? (change.isError ? errorText(change.error) : null);

  return (
    <div className="space-y-6">
      <h1 className="text-xl font-semibold">Settings</h1>
      <form onSubmit={submit} aria-labelledby="pw-h" noValidate className="max-w-md space-y-4 rounded-lg border border-neutral-200 bg-white p-6 shadow-sm">
        <h2 id="pw-h" className="text-base font-medium">
          Change the operator password
        </h2>
        <div>
          <label htmlFor={currentId} className="mb-1 block text-sm text-neutral-600">
            Current password
          </label>
          <input id={currentId} type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} className={input} disabled={change.isPending} />
        </div>
        <div>
          <label htmlFor={nextId} className="mb-1 block text-sm text-neutral-600">
            New password
          </label>
          <input
            id={nextId}
            type="password"
            autoComplete="new-password"
            required
            minLength={MIN}
            maxLength={200}
            aria-describedby={hintId}
            value={next}
            onChange={(e) => setNext(e.target.value)}
            className={input}
            disabled={change.isPending}
          />
          <p id={hintId} className="mt-1 text-xs text-neutral-500">
            At least {MIN} characters.
          </p>
        </div>
        <div>
          <label htmlFor={repeatId} className="mb-1 block text-sm text-neutral-600">
            Repeat password
          </label>
          <input
            id={repeatId}
            type="password"
            autoComplete="new-password"
            required
            minLength={MIN}
            maxLength={200}
            value={repeat}
            onChange={(e) => setRepeat(e.target.value)}
            className={input}
            disabled={change.isPending}
          />
        </div>
        {error && (
          <p role="alert" className="text-sm text-red-700">
            {error}
          </p>
        )}
        <p role="status" aria-live="polite" className="text-sm text-green-700">
          {change.isSuccess ? "Password changed; other sessions were signed out." : ""}
        </p>
        <button type="submit" className={primary} disabled={change.isPending}>
          {change.isPending ? "Changing…" : "Change password"}
        </button>
      </form>
    </div>
  );
}
