// The parts of Incus's REST API (doc/rest-api.yaml, API version 1.0 as in Incus 6.0) this engine
// uses. Field names are Incus's own.

export interface IncusResponse<T> {
  type: "sync" | "async" | "error";
  status: string;
  status_code: number;
  operation?: string;
  error_code?: number;
  error?: string;
  metadata: T;
}

export interface IncusOperation {
  id: string;
  class: "task" | "websocket" | "token";
  description: string;
  created_at: string;
  updated_at: string;
  status: string;
  status_code: number;
  resources: Record<string, string[]> | null;
  metadata: Record<string, unknown> | null;
  may_cancel: boolean;
  err: string;
  location: string;
}

export type IncusDevices = Record<string, Record<string, string>>;

export interface IncusInstance {
  name: string;
  status: string;
  status_code: number;
  type: "container" | "virtual-machine";
  architecture: string;
  config: Record<string, string>;
  devices: IncusDevices;
  expanded_config: Record<string, string>;
  expanded_devices: IncusDevices;
  profiles: string[];
  created_at: string;
  last_used_at: string;
  location: string;
  project: string;
  description: string;
  stateful: boolean;
  ephemeral: boolean;
}

export interface IncusInstanceState {
  status: string;
  status_code: number;
  pid: number;
  processes: number;
  cpu: { usage: number };
  memory: { usage: number; usage_peak: number; swap_usage: number };
  disk: Record<string, { usage: number; total?: number }> | null;
  network: Record<
    string,
    {
      addresses: { family: string; address: string; netmask: string; scope: string }[];
      host_name: string;
      hwaddr: string;
      counters?: {
        bytes_received: number;
        bytes_sent: number;
        packets_received: number;
        packets_sent: number;
        errors_received: number;
        errors_sent: number;
        packets_dropped_inbound: number;
        packets_dropped_outbound: number;
      };
    }
  > | null;
}

export interface IncusSnapshot {
  name: string;
  created_at: string;
  expires_at: string;
  stateful: boolean;
  size: number;
  config: Record<string, string>;
}

/** GET /1.0/instances?recursion=2: each instance with its state and snapshots. */
export interface IncusInstanceFull extends IncusInstance {
  state: IncusInstanceState | null;
  snapshots: IncusSnapshot[] | null;
}

export interface IncusServer {
  api_version: string;
  auth: "trusted" | "untrusted";
  environment: {
    server_version: string;
    server_name: string;
    server_clustered: boolean;
    driver: string;
    driver_version: string;
    firewall: string;
    kernel_version: string;
    storage: string;
    storage_version: string;
    addresses: string[];
  };
  config: Record<string, unknown>;
}

export interface IncusStoragePool {
  name: string;
  driver: string;
  config: Record<string, string>;
  status: string;
  locations: string[];
}

export interface IncusStoragePoolResources {
  space: { used: number; total: number };
}

export interface IncusNetworkAclRule {
  action: "allow" | "reject" | "drop";
  source?: string;
  destination?: string;
  protocol?: string;
  destination_port?: string;
  source_port?: string;
  icmp_type?: string;
  icmp_code?: string;
  description?: string;
  state: "enabled" | "disabled" | "logged";
}

export interface IncusNetworkAcl {
  name: string;
  description: string;
  ingress: IncusNetworkAclRule[];
  egress: IncusNetworkAclRule[];
  config: Record<string, string>;
  used_by: string[];
}

export interface IncusClusterMember {
  server_name: string;
  url: string;
  database: boolean;
  status: string;
  message: string;
  architecture: string;
  failure_domain: string;
  groups: string[];
  roles: string[];
}

export interface IncusCluster {
  server_name: string;
  enabled: boolean;
  member_config: { entity: string; name: string; key: string; value: string; description: string }[];
}

export interface IncusEvent {
  type: "lifecycle" | "operation" | "logging";
  timestamp: string;
  location: string;
  project: string;
  metadata: { action?: string; source?: string; context?: Record<string, unknown>; [k: string]: unknown };
}
