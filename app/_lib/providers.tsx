"use client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { httpBatchLink } from "@trpc/client";
import { useState, type ReactNode } from "react";
import superjson from "superjson";
import { SAME_ORIGIN_HEADER, SAME_ORIGIN_VALUE } from "~/server/web/guards";
import { api } from "./trpc";

export function Providers({ children }: { children: ReactNode }) {
  const [queryClient] = useState(() => new QueryClient({ defaultOptions: { queries: { staleTime: 2_000, retry: 1, refetchOnWindowFocus: true } } }));
  const [client] = useState(() => api.createClient({ links: [httpBatchLink({ url: "/api/trpc", transformer: superjson, headers: { [SAME_ORIGIN_HEADER]: SAME_ORIGIN_VALUE } })] }));
  return (
    <api.Provider client={client} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
    </api.Provider>
  );
}
