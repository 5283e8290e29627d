import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { Providers } from "./_lib/providers";
import "./globals.css";

export const metadata: Metadata = {
  title: "Hoody",
  description: "Self-hosted per-customer containers: one isolated LXC container per SaaS customer.",
  icons: { icon: [{ url: "/favicon.svg", type: "image/svg+xml" }] },
};
export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-neutral-50 font-sans text-neutral-900 antialiased">
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
