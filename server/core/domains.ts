// Customer domains: `app.acme.com` pointed at a tenant. A name is attached only after it resolves to
// this box (so nobody can make Caddy ask a CA for a name that is not ours), to one tenant only; the
// router routes it and Caddy's `ask` says yes to it. Erasing the tenant removes its domains.
import dns from "node:dns/promises";
import fs from "node:fs";
import os from "node:os";
import { and, asc, eq } from "drizzle-orm";
import type { WebConfig } from "../config";
import * as t from "../db/schema";
import { isHostname } from "../shared/hostnames";
import type { Actor, CoreContext, CoreSettings } from "./context";
import { count } from "./context";
import { CoreError, notFound } from "./errors";

/** More than this many names on one tenant is a mistake or abuse (each one is a certificate). */
export const MAX_DOMAINS_PER_CONTAINER = 20;
const RESOLVE_TIMEOUT_MS = 5_000;

export interface DomainView {
  hostname: string;
  container_id: string;
  url: string;
  addresses: string[];
  created_at: string;
}

export class DomainService {
  constructor(private readonly ctx: CoreContext) {}

  private view(r: typeof t.customDomains.$inferSelect): DomainView {
    return { hostname: r.hostname, container_id: r.containerId, url: this.ctx.urlOf(r.hostname), addresses: r.addresses, created_at: r.createdAt };
  }

  list(actor: Actor, containerId: string): { domains: DomainView[] } {
    const row = this.ctx.containerRow(actor, containerId);
    const rows = this.ctx.db.select().from(t.customDomains).where(eq(t.customDomains.containerId, row.id)).orderBy(asc(t.customDomains.hostname)).all();
    return { domains: rows.map((r) => this.view(r)) };
  }

  async add(actor: Actor, containerId: string, given: string): Promise<DomainView> {
    const row = this.ctx.containerRow(actor, containerId);
    const hostname = given.trim().toLowerCase().replace(/\.$/, "");
    return this.ctx.audited(
      actor,
      "container.domain.add",
      `container:${row.id}`,
      async () => {
        if (!isHostname(hostname)) throw new CoreError(422, "INVALID_DOMAIN", `${JSON.stringify(given.slice(0, 100))} is not a domain name (like app.example.com)`);
        const { domain, dashboardHost } = this.ctx.settings;
        if (hostname === domain || hostname.endsWith(`.${domain}`) || hostname === dashboardHost) {
          throw new CoreError(422, "DOMAIN_RESERVED", `${hostname} is under this server's own domain ${domain}; tenants already answer there`);
        }
        if (this.ownerOf(hostname)) throw new CoreError(409, "DOMAIN_TAKEN", `${hostname} is already attached to a tenant; DELETE it there first`);
        if (count(this.ctx.db, t.customDomains, eq(t.customDomains.containerId, row.id)) >= MAX_DOMAINS_PER_CONTAINER) {
          throw new CoreError(422, "TOO_MANY_DOMAINS", `a tenant has at most ${MAX_DOMAINS_PER_CONTAINER} custom domains`);
        }
        const addresses = await this.resolve(hostname);
        const box = new Set(boxAddresses(this.ctx.settings));
        const foreign = addresses.filter((a) => !box.has(a));
        if (foreign.length) {
          throw new CoreError(
            422,
            "DOMAIN_NOT_POINTED",
            `${hostname} resolves to ${foreign.join(", ")}, which is not this server (${[...box].join(", ") || "no public address"}); point an A record at this server first`,
            { addresses, expected: [...box] },
          );
        }
        try {
          this.ctx.db.insert(t.customDomains).values({ hostname, containerId: row.id, addresses }).run();
        } catch (e) {
          // Two requests for one name at once: the primary key lets one win.
          if (String(e).includes("UNIQUE constraint failed")) throw new CoreError(409, "DOMAIN_TAKEN", `${hostname} is already attached to a tenant`);
          throw e;
        }
        return this.view(this.ctx.db.select().from(t.customDomains).where(eq(t.customDomains.hostname, hostname)).get()!);
      },
      (d) => ({ hostname: d.hostname }),
    );
  }

  remove(actor: Actor, containerId: string, given: string): { hostname: string; removed: true } {
    const row = this.ctx.containerRow(actor, containerId);
    const hostname = given.trim().toLowerCase().replace(/\.$/, "");
    const where = and(eq(t.customDomains.hostname, hostname), eq(t.customDomains.containerId, row.id));
    if (!this.ctx.db.select({ h: t.customDomains.hostname }).from(t.customDomains).where(where).get()) {
      this.ctx.audit(actor, "container.domain.remove", `container:${row.id}`, "error:DOMAIN_NOT_FOUND");
      throw notFound("DOMAIN", hostname);
    }
    this.ctx.db.delete(t.customDomains).where(where).run();
    this.ctx.audit(actor, "container.domain.remove", `container:${row.id}`, "ok", { hostname });
    return { hostname, removed: true };
  }

  /** The container a custom domain belongs to, or null. */
  ownerOf(hostname: string): string | null {
    return this.ctx.db.select({ c: t.customDomains.containerId }).from(t.customDomains).where(eq(t.customDomains.hostname, hostname)).get()?.c ?? null;
  }

  private async resolve(hostname: string): Promise<string[]> {
    const lookup = this.ctx.settings.resolveHost ?? systemResolve;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${RESOLVE_TIMEOUT_MS} ms`)), RESOLVE_TIMEOUT_MS);
    });
    try {
      const addresses = [...new Set(await Promise.race([lookup(hostname), timeout]))];
      if (!addresses.length) throw new Error("no address");
      return addresses;
    } catch (e) {
      throw new CoreError(422, "DOMAIN_NOT_RESOLVED", `${hostname} does not resolve (${(e as Error).message}); add an A record pointing at this server first`);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function systemResolve(name: string): Promise<string[]> {
  return (await dns.lookup(name, { all: true })).map((a) => a.address);
}

function boxAddresses(settings: CoreSettings): string[] {
  if (settings.boxAddresses) return settings.boxAddresses();
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal)
    .map((a) => a!.address);
}

/**
 * The resolver and "this box" from the web settings: HOODY_RESOLVE_FILE (hosts format, read on
 * each check) replaces DNS (tests ask no outside resolver; a box without DNS can still attach
 * names), else the system resolver; HOODY_PUBLIC_IPS names the box's addresses.
 */
export function domainResolution(c: Pick<WebConfig, "publicIps" | "resolveFile">): Pick<CoreSettings, "resolveHost" | "boxAddresses"> {
  const out: Pick<CoreSettings, "resolveHost" | "boxAddresses"> = {};
  if (c.publicIps) {
    const list = c.publicIps
      .split(",")
      .map((a) => a.trim())
      .filter(Boolean);
    out.boxAddresses = () => list;
  }
  const file = c.resolveFile;
  if (file) {
    out.resolveHost = async (name) => {
      const found = fs
        .readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.replace(/#.*/, "").trim().split(/\s+/))
        .filter(([addr, ...names]) => addr && names.includes(name))
        .map(([addr]) => addr!);
      if (!found.length) throw new Error(`not in ${file}`);
      return found;
    };
  }
  return out;
}
