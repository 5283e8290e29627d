import Link from "next/link";

/** "Tenants / <here>" above a tenant page. */
export function Breadcrumb({ here }: { here: string }) {
  return (
    <nav aria-label="Breadcrumb" className="text-sm text-neutral-500">
      <Link href="/tenants" className="hover:text-neutral-900 hover:underline">
        Tenants
      </Link>{" "}
      / <span className="text-neutral-700">{here}</span>
    </nav>
  );
}
