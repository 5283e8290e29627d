// Output types of the procedures the tenant pages use (types only; no server code reaches the browser).
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "~/server/api/root";

type Out = inferRouterOutputs<AppRouter>;
export type Container = Out["containers"]["get"];
export type Snapshot = Out["containers"]["snapshots"]["snapshots"][number];
export type FirewallView = Out["containers"]["firewall"];
export type AddRuleResult = Out["containers"]["addRule"];
export type Rule = FirewallView["ingress"][number];
export type Receipt = Out["containers"]["delete"];
