"use client";
// The dashboard's tRPC client (types only from the server: no server code reaches the browser).
import { createTRPCReact } from "@trpc/react-query";
import type { AppRouter } from "~/server/api/root";

export const api = createTRPCReact<AppRouter>();
