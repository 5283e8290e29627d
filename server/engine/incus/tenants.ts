// Tenants on Incus: listing, allocation (id, address, idmap range), placement and create.
import { parseCreateTenant } from "../../shared/engine-input";
import { randomBytes } from "node:crypto";
import { firstFreeIp } from "../../shared/ip";
import { issuesText } from "../../shared/issues";
import { Revert } from "../../shared/revert";
import { LimitsSchema, NAME_RE, TemplateSettingsSchema, type CreateTenantInput, type FirewallRule, type Limits, type TenantInfo } from "../../shared/protocol";
import { K } from "./templates";
import type { IncusInstanceFull } from "./types";
import { type IncusContext, T, UID_RANGE, fail, mapError } from "./context";
import { aclName, aclRules, attachAcl, limitsConfig, rawLxc } from "./network";

export async function listTenants(cx: IncusContext): Promise<TenantInfo[]> {
  return (await cx.instances(true)).filter((i) => i.config[K.kind] === "tenant").map((i) => cx.tenantInfo(i));
}

export async function getTenant(cx: IncusContext, id: string): Promise<TenantInfo> {
  return cx.tenantInfo(await cx.tenantInstance(id));
}

/** Id, address and idmap range, reserved synchronously so concurrent creates never share them. */
export async function allocate(cx: IncusContext, list: IncusInstanceFull[]): Promise<{ id: string; ip: string; uidBase?: number; release: () => void }> {
  const net = await cx.network();
  const names = new Set(list.map((i) => i.name));
  let id: string;
  do id = `c${randomBytes(8).toString("hex").slice(0, 10)}`;
  while (names.has(id));
  // The bridge's own address may sit anywhere in the subnet: never leased.
  const usedIp = new Set([...list.flatMap((i) => i.config[T.ip] ?? []), ...cx.reservedIps, net.gateway]);
  const ip = firstFreeIp(net.subnet, usedIp);
  if (!ip) fail("EXHAUSTED", `no free address in ${net.subnet}`);
  let uidBase: number | undefined;
  if (cx.config.uidBase !== undefined) {
    const usedUid = new Set([...list.map((i) => Number(i.config["security.idmap.base"] ?? -1)), ...cx.reservedUids]);
    // Range 0 is the templates' (they never run).
    for (let k = 1; k < (cx.config.uidRanges ?? 64); k++) {
      const b = cx.config.uidBase + k * UID_RANGE;
      if (!usedUid.has(b)) {
        uidBase = b;
        break;
      }
    }
    if (uidBase === undefined) fail("EXHAUSTED", "no free uid range: raise HOODY_INCUS_UID_RANGES");
    cx.reservedUids.add(uidBase);
  }
  cx.reservedIps.add(ip);
  const chosenIp = ip;
  const chosenUid = uidBase;
  return {
    id,
    ip,
    uidBase,
    release: () => {
      cx.reservedIps.delete(chosenIp);
      if (chosenUid !== undefined) cx.reservedUids.delete(chosenUid);
    },
  };
}

export async function chooseSource(cx: IncusContext, template: string, list: IncusInstanceFull[], member?: string): Promise<{ source: string; target?: string }> {
  const tpls = list.filter((i) => i.config[K.kind] === "template" && i.config[K.template] === template);
  if (!tpls.length) fail("TEMPLATE_NOT_FOUND", `template ${template} not found`);
  const server = await cx.serverInfo();
  if (!server.environment.server_clustered) return { source: tpls[0]!.name };
  // A member asked for by the caller (the API's server_id) wins over the configured default.
  const target = member ?? cx.config.target;
  if (target && !target.startsWith("@")) {
    const local = tpls.find((t) => t.location === target);
    // No template on that member yet: Incus transfers the primary's copy (a full copy).
    return { source: (local ?? tpls[0]!).name, target };
  }
  if (target) return { source: tpls[0]!.name, target };
  // Least-loaded member that holds the template: the copy stays a local clone.
  const load = (m: string) => list.filter((i) => i.config[K.kind] === "tenant" && i.location === m).length;
  const best = [...tpls].sort((a, b) => load(a.location) - load(b.location))[0]!;
  return { source: best.name, target: best.location };
}

export async function createTenant(cx: IncusContext, input: CreateTenantInput): Promise<TenantInfo> {
  const req = parseCreateTenant(input);
  const list = await cx.instances(true);
  const tplInst = list.find((i) => i.config[K.kind] === "template" && i.config[K.template] === req.template);
  if (!tplInst) fail("TEMPLATE_NOT_FOUND", `template ${req.template} not found`);
  const tpl = TemplateSettingsSchema.parse(JSON.parse(tplInst.config[K.settings] ?? "{}"));
  let source: { source: string; target?: string };
  let base: { initCmd: string[]; appPort: number; env: Record<string, string>; limits: Limits; ramdiskMiB: number; firewall: FirewallRule[] };
  if (req.sourceTenant) {
    const src = list.find((i) => i.name === req.sourceTenant && i.config[K.kind] === "tenant");
    if (!src) fail("TENANT_NOT_FOUND", `tenant ${req.sourceTenant} not found`);
    const info = cx.tenantInfo(src);
    if (req.sourceSnapshot && !(src.snapshots ?? []).some((s) => s.name === req.sourceSnapshot)) fail("SNAPSHOT_NOT_FOUND", `snapshot ${req.sourceSnapshot} of ${src.name} not found`);
    const clustered = (await cx.serverInfo()).environment.server_clustered;
    source = {
      source: req.sourceSnapshot ? `${src.name}/${req.sourceSnapshot}` : src.name,
      target: clustered ? (req.member ?? (src.location && src.location !== "none" ? src.location : undefined)) : undefined,
    };
    base = { initCmd: JSON.parse(src.config[T.init] ?? "[]"), appPort: info.appPort, env: info.env, limits: info.limits, ramdiskMiB: info.ramdiskMiB, firewall: info.firewall };
  } else {
    source = await chooseSource(cx, req.template, list, req.member);
    base = { initCmd: tpl.initCmd, appPort: tpl.appPort, env: tpl.env, limits: tpl.limits, ramdiskMiB: tpl.ramdiskMiB, firewall: tpl.firewall };
  }
  const limits = LimitsSchema.safeParse({ ...base.limits, ...req.limits });
  if (!limits.success) fail("INVALID_INPUT", issuesText(limits.error.issues));
  const net = await cx.network();
  const lease = await allocate(cx, list);
  const { id, ip } = lease;
  const name = req.name ?? id;
  if (!NAME_RE.test(name)) {
    lease.release();
    fail("INVALID_INPUT", `invalid name ${name}`);
  }
  const env = { ...base.env, TENANT_NAME: name, ...req.env };
  const firewall = req.firewall ?? base.firewall;
  const ramdiskMiB = req.ramdiskMiB ?? base.ramdiskMiB;
  const diskMiB = (limits.data as { diskMiB?: number }).diskMiB;
  const config: Record<string, string> = {
    [K.kind]: "tenant",
    [K.template]: req.template,
    [K.settings]: "",
    [K.recipe]: "",
    [K.created]: new Date().toISOString(),
    [T.name]: name,
    [T.ip]: ip,
    [T.appPort]: String(base.appPort),
    [T.init]: JSON.stringify(base.initCmd),
    [T.ramdisk]: String(ramdiskMiB),
    [T.limits]: JSON.stringify(limits.data),
    [T.firewall]: JSON.stringify(firewall),
    ...Object.fromEntries(Object.entries(req.labels).map(([k, v]) => [`${T.labelPrefix}${k}`, v])),
    ...Object.fromEntries(Object.entries(env).map(([k, v]) => [`environment.${k}`, v])),
    "environment.HOODY_TENANT_ID": id,
    "environment.HOODY_TENANT_NAME": name,
    // Unset, Incus brings an instance back at boot if it was running; false keeps it stopped (Hoody's autostart).
    ...(!req.autostart && { "boot.autostart": "false" }),
    "security.idmap.isolated": "true",
    ...(lease.uidBase !== undefined && { "security.idmap.base": String(lease.uidBase) }),
    ...limitsConfig(limits.data),
    "raw.lxc": rawLxc({ initCmd: base.initCmd, ip, gateway: net.gateway, ramdiskMiB }),
  };
  // Template-only keys have no meaning on a tenant: an empty value drops them.
  for (const k of [K.settings, K.recipe]) delete config[k];
  const acl = aclName(id);
  try {
    await Revert.run(async (revert) => {
      await cx.client.post("/1.0/network-acls", { name: acl, description: `hoody tenant ${id}`, ...aclRules(ip, firewall, net.gateway) });
      revert.add("network ACL", () => cx.client.delete(`/1.0/network-acls/${acl}`));
      await attachAcl(cx, id, true);
      revert.add("ACL on the bridge", () => attachAcl(cx, id, false));
      // The copy may have failed before the instance existed: nothing to undo then, not a problem.
      revert.add("instance", () => cx.client.delete(`/1.0/instances/${id}`).catch(() => undefined));
      revert.add("instance stop", () => cx.client.put(`/1.0/instances/${id}/state`, { action: "stop", force: true }).catch(() => undefined));
      await cx.client.post(
        "/1.0/instances",
        {
          name: id,
          type: "container",
          source: { type: "copy", source: source.source, instance_only: true },
          config,
          devices: {
            root: { type: "disk", path: "/", pool: cx.config.pool, ...(diskMiB && { size: `${diskMiB}MiB` }) },
            eth0: {
              type: "nic",
              network: cx.config.network,
              name: "eth0",
              "ipv4.address": ip,
              "security.port_isolation": "true",
              "security.mac_filtering": "true",
              "security.ipv4_filtering": "true",
            },
          },
          start: req.start,
        },
        source.target ? { target: source.target } : undefined,
      );
    });
  } catch (e) {
    mapError(e);
  } finally {
    lease.release();
    cx.invalidate();
  }
  return getTenant(cx, id);
}
