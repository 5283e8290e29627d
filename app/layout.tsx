import type { Metadata } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: 'Hoody',
  description: 'Self-hosted per-customer containers: one isolated LXC container per SaaS customer.',
  icons: {
    icon: [{ url: '/favicon.svg', type: 'image/svg+xml' }],
  },
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-neutral-50 font-sans text-neutral-900 antialiased">
        <header className="border-b border-neutral-200 bg-white">
          <div className="mx-auto flex h-14 max-w-5xl items-center justify-between px-6">
            <Link href="/" className="flex items-center gap-2 font-semibold tracking-tight">
              <img src="/favicon.svg" alt="" width={22} height={22} />
              <span>Hoody</span>
            </Link>
            <nav aria-label="Main" className="flex items-center gap-5 text-sm text-neutral-500">
              <Link href="/" className="text-neutral-900">
                Overview
              </Link>
              <span className="cursor-not-allowed" title="Coming soon">
                Tenants
              </span>
              <span className="cursor-not-allowed" title="Coming soon">
                Settings
              </span>
            </nav>
          </div>
        </header>
        <main className="mx-auto max-w-5xl px-6 py-10">{children}</main>
      </body>
    </html>
  );
}
