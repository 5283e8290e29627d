// Every dashboard page is behind an operator session; no session → the sign-in page.
import { cookies } from "next/headers";
import Link from "next/link";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { SESSION_COOKIE } from "~/server/core/auth";
import { getAuth } from "~/server/core/instance";
import { SignOutButton } from "./sign-out";

export const dynamic = "force-dynamic";

const NAV = [
  { href: "/", label: "Overview" },
  { href: "/tenants", label: "Tenants" },
  { href: "/templates", label: "Templates" },
  { href: "/scripts", label: "Scripts" },
  { href: "/tokens", label: "API tokens" },
  { href: "/audit", label: "Audit log" },
  { href: "/settings", label: "Settings" },
];

export default async function DashLayout({ children }: { children: ReactNode }) {
  const cookie = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!getAuth().session(cookie)) redirect("/login");
  return (
    <>
      <header className="border-b border-neutral-200 bg-white">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-3 px-4 py-3 sm:px-6">
          <Link href="/" className="flex items-center gap-2 font-semibold tracking-tight">
            <img src="/favicon.svg" alt="" width={22} height={22} />
            <span>Hoody</span>
          </Link>
          <nav aria-label="Main" className="flex flex-wrap items-center gap-x-5 gap-y-1 text-sm text-neutral-600">
            {NAV.map((n) => (
              <Link key={n.href} href={n.href} className="rounded hover:text-neutral-900 focus-visible:outline focus-visible:outline-2 focus-visible:outline-blue-600">
                {n.label}
              </Link>
            ))}
            <SignOutButton />
          </nav>
        </div>
      </header>
      <main className="mx-auto max-w-7xl px-4 py-8 sm:px-6">{children}</main>
    </>
  );
}
