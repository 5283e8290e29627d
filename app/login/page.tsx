"use client";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Button, ErrorText, Field, Input } from "~/app/_components/ui";

export default function LoginPage() {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="mx-auto mt-[15vh] max-w-sm px-4">
      <div className="mb-6 flex items-center gap-2 text-lg font-semibold">
        <img src="/favicon.svg" alt="" width={26} height={26} /> Hoody
      </div>
      <form
        className="space-y-4 rounded-lg border border-neutral-200 bg-white p-6 shadow-sm"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          const password = new FormData(e.currentTarget).get("password");
          const res = await fetch("/api/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ password }) });
          setBusy(false);
          if (res.ok) {
            router.push("/");
            router.refresh();
          } else if (res.status === 429) setError(`Too many failed sign-ins. Try again in ${res.headers.get("retry-after") ?? "a few"} seconds.`);
          else setError(res.status === 401 ? "Wrong password. It is in $HOODY_DATA_DIR/admin-password on the server." : "Sign-in failed; try again.");
        }}
      >
        <h1 className="text-base font-medium">Operator sign-in</h1>
        {/* autoFocus: the page's only field; signing in is all it is for. */}
        <Field label="Password">
          <Input name="password" type="password" required autoFocus autoComplete="current-password" />
        </Field>
        <ErrorText error={error} />
        <Button type="submit" variant="primary" busy={busy} className="w-full">
          {busy ? "Signing in…" : "Sign in"}
        </Button>
      </form>
    </main>
  );
}
