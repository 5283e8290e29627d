// The API's output shapes (what REST and tRPC answer), and the small pure helpers that build them.
import type { TenantStats } from "../shared/protocol";
import type { ContainerOperation, ContainerStatus } from "./status";

export type { ContainerOperation, ContainerStatus };

export interface ContainerView {
  id: string;
  /** The engine's name of the tenant (its LXC container / Incus instance); not an API id. */
  engine_name: string;
  name: string;
  project_id: string;
  project_alias: string | null;
  /** Where it runs (GET /servers); null only for an old row the reconciler has not placed yet. */
  server_id: string | null;
  server_name: string | null;
  template: string;
  /** Hoody's name of the template. */
  container_image: string;
  color: string;
  autostart: boolean;
  /** Hoody features this server does not offer: always false here (a true on create is refused). */
  ai: false;
  hoody_kit: false;
  dev_kit: false;
  kvm: false;
  prespawn: false;
  is_default: false;
  /** The key Hoody manages as the tenant's /root/.ssh/authorized_keys (null: none). */
  ssh_public_key: string | null;
  ramdisk_scope: "container";
  realm_ids: string[];
  last_used_snapshot: string | null;
  status: ContainerStatus;
  url: string;
  ip: string | null;
  environment_vars: Record<string, string>;
  source_container_id: string | null;
  snapshot_count: number;
  comment: string | null;
  ramdisk: boolean;
  /** null: the template's idle timeout; 0: never stopped for idleness. */
  idle_timeout_s: number | null;
  /** Scheduled erasure (grace period), if any. */
  delete_at: string | null;
  /** Stopped by an operator, the API or a script: requests to its URL get 503, they do not wake it. */
  suspended: boolean;
  requests_total: number;
  last_request_at: string | null;
  created_at: string;
  updated_at: string;
  stats?: ContainerStatsView;
  /** Incus engine: the cluster member the container runs on. */
  member?: string;
}

/** What the tenant router needs to route a host name. */
export interface RouteTarget {
  id: string;
  status: ContainerStatus;
  ip: string | null;
  appPort: number;
  /** The port a request goes to: the app port, or a per-port URL's (`<label>-http-<port>`). */
  port: number;
  /** Whether the tenant's firewall lets the host reach `port` (a per-port URL is refused otherwise). */
  portOpen: boolean;
  /** Effective idle timeout in seconds; null = never stop for idleness. */
  idleTimeoutS: number | null;
  /** Not to be woken by requests (stopped by an operator, the API or a script). */
  suspended: boolean;
}

export interface ContainerStatsView {
  delta_disk_bytes: number;
  snapshots_bytes: number;
  ksm_saved_bytes: number;
  ksm_merging_pages: number;
  memory_bytes: number;
  cpu_usage_ns: number;
  pids: number;
}

export interface ProjectView {
  id: string;
  /** The one operator of this box (a stable 24-hex id): Hoody's projects belong to a user. */
  user_id: string;
  alias: string;
  color: string;
  is_default: false;
  realm_ids: string[];
  max_containers: number | null;
  /** Operator-set ceilings for what the project's tokens may ask for; absent keys: the template's defaults. */
  ceilings: Record<string, number> | null;
  container_count: number;
  created_at: string;
  updated_at: string;
}

export interface ServerView {
  /** One id serves as the rental's, the server's and the server_id create takes (Hoody has three; here they are one place). */
  id: string;
  server_id: string;
  name: string;
  status: "active" | "offline";
  engine: "host" | "incus";
  /** Incus: the cluster member; null on the host engine and a lone incusd. */
  member: string | null;
  containers: number;
  is_free_tier: false;
  pool_id: null;
  created_at: string;
  server: {
    id: string;
    name: string;
    is_vm: false;
    specs: {
      cpu: { model: string | null; cores: null; threads: number | null } | null;
      ram: { capacity_gb: number } | null;
      disks: { total_gb: number } | null;
    };
  };
}

export function statsView(s: TenantStats | undefined): ContainerStatsView {
  return {
    delta_disk_bytes: s?.deltaBytes ?? 0,
    snapshots_bytes: s?.snapshotBytes ?? 0,
    ksm_saved_bytes: Math.max(0, s?.ksmProfitBytes ?? 0),
    ksm_merging_pages: s?.ksmMergingPages ?? 0,
    memory_bytes: s?.memoryBytes ?? 0,
    cpu_usage_ns: s?.cpuUsageNs ?? 0,
    pids: s?.pids ?? 0,
  };
}

export function pagination(total: number, page: number, limit: number) {
  return { total, page, limit, totalPages: Math.max(1, Math.ceil(total / limit)) };
}
