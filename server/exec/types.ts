// What an exec script sees. A script default-exports a handler (or exports GET/POST/... handlers)
// taking a Web Request and this context and returning a Response.
export interface HoodyClient {
  /** Any REST call under /api/v1, with the script's project-scoped token. Resolves to `data`; throws on an error envelope. */
  // biome-ignore lint/suspicious/noExplicitAny: a script's own code reads the answer as it likes (any unless it names a type).
  request<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  containers: {
    /** Creates a tenant in the script's project from a template. */
    create(body: { template: string; name?: string; environment_vars?: Record<string, string> }): Promise<{ id: string; name: string; url: string; status: string }>;
    /** Finds the script project's container with exactly this name. */
    find(name: string): Promise<{ id: string; name: string; url: string; status: string } | null>;
    /** Stops it; it stays suspended (requests to its URL do not wake it) until started. */
    stop(id: string): Promise<unknown>;
    /** Suspends it whatever its state: stopped now if running, and not woken by requests (billing). */
    suspend(id: string): Promise<unknown>;
    delete(id: string): Promise<unknown>;
    /** Erase it this many seconds from now (a grace period). */
    deleteAfter(id: string, seconds: number): Promise<unknown>;
  };
}

export interface ScriptContext {
  /** Route params from [name] segments of the file path. */
  params: Record<string, string>;
  /** Secrets set by the operator (`hoody scripts secrets set <script> KEY=VALUE`). */
  secrets: Record<string, string>;
  /** Non-secret settings (e.g. TEMPLATE, GRACE_SECONDS; project_id picks the project). */
  settings: Record<string, string>;
  hoody: HoodyClient;
  log: (...args: unknown[]) => void;
  /** Runs fn once per key, ever; later calls with the key get the first result (persisted). */
  runOnce<T>(key: string, fn: () => Promise<T>): Promise<{ result: T; replayed: boolean }>;
}

export type ScriptHandler = (req: Request, ctx: ScriptContext) => Response | Promise<Response>;
