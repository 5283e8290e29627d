"use client";
import { useRouter } from "next/navigation";
import { SAME_ORIGIN_HEADER, SAME_ORIGIN_VALUE } from "~/server/web/guards";

export function SignOutButton() {
  const router = useRouter();
  return (
    <button
      type="button"
      className="rounded text-neutral-500 hover:text-neutral-900 focus-visible:outline focus-visible:outline-2 focus-visible:outline-blue-600"
      onClick={async () => {
        await fetch("/api/auth/logout", { method: "POST", headers: { [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE } });
        router.push("/login");
        router.refresh();
      }}
    >
      Sign out
    </button>
  );
}
