"use client";
// Operator settings: change the sign-in password (other sessions are signed out; this one stays).
import { PASSWORD_MIN_LENGTH } from "~/server/shared/api-rules";
import { type FormEvent, useState } from "react";
import { Field, FormCard, Input } from "~/app/_components/ui";
import { errorCode, errorText } from "~/app/_lib/errors";
import { api } from "~/app/_lib/trpc";

// The server's rule (WEAK_PASSWORD in server/core/auth.ts, a module the browser cannot import).

/** Password-specific codes get their own sentence; the rest is the shared error text. */
function passwordErrorText(err: unknown): string {
  const code = errorCode(err);
  if (code === "INVALID_CREDENTIALS") return "The current password is wrong.";
  if (code === "WEAK_PASSWORD") return `Use at least ${PASSWORD_MIN_LENGTH} characters for the new password.`;
  return errorText(err);
}

export default function SettingsPage() {
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
    if (next.length < PASSWORD_MIN_LENGTH) return setLocalError(`Use at least ${PASSWORD_MIN_LENGTH} characters for the new password.`);
    if (next !== repeat) return setLocalError("The new password and its repetition differ.");
    if (next === current) return setLocalError("The new password is the same as the current one.");
    change.mutate({ current, next });
  }

  const error = localError ?? (change.isError ? passwordErrorText(change.error) : null);

  return (
    <div className="space-y-6">
      <h1 className="text-xl font-semibold">Settings</h1>
      <FormCard
        title="Change the operator password"
        className="max-w-md"
        noValidate
        onSubmit={submit}
        submit="Change password"
        pending={change.isPending}
        error={error}
        status={change.isSuccess ? <span className="text-green-700">Password changed; other sessions were signed out.</span> : null}
      >
        <Field label="Current password" className="sm:col-span-2">
          <Input type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} disabled={change.isPending} />
        </Field>
        <Field label="New password" hint={`At least ${PASSWORD_MIN_LENGTH} characters.`} className="sm:col-span-2">
          <Input
            type="password"
            autoComplete="new-password"
            required
            minLength={PASSWORD_MIN_LENGTH}
            maxLength={200}
            value={next}
            onChange={(e) => setNext(e.target.value)}
            disabled={change.isPending}
          />
        </Field>
        <Field label="Repeat password" className="sm:col-span-2">
          <Input
            type="password"
            autoComplete="new-password"
            required
            minLength={PASSWORD_MIN_LENGTH}
            maxLength={200}
            value={repeat}
            onChange={(e) => setRepeat(e.target.value)}
            disabled={change.isPending}
          />
        </Field>
      </FormCard>
    </div>
  );
}
