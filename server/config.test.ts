import { describe, expect, it } from "vitest";
import { clientConfig, dbPath, hostdSocket, scriptsDir, webConfig } from "./config";
import { hostConfigFromEnv } from "./host/config";

describe("webConfig", () => {
  it("has every default with no variable set", () => {
    const c = webConfig({});
    expect(c).toMatchObject({ dataDir: "/var/lib/hoody", engine: "host", domain: "localhost", webPort: 3000, listenPort: 3000, routerPort: 8080, eraseSweepMs: 30_000 });
    expect(c.incus).toMatchObject({ socket: "/var/lib/incus/unix.socket", pool: "default", network: "incusbr0", uidBase: undefined });
    expect(dbPath(c)).toBe("/var/lib/hoody/hoody.db");
    expect(hostdSocket(c)).toBe("/var/lib/hoody/run/hostd.sock");
    expect(scriptsDir(c)).toBe(`${process.cwd()}/scripts`);
  });

  it("reads and types what is set; derived paths follow the data directory", () => {
    const c = webConfig({ HOODY_DATA_DIR: "/d", HOODY_ROUTER_PORT: "9090", HOODY_ENGINE: "incus", HOODY_INCUS_UID_BASE: "100000", HOODY_IDLE_SWEEP_MS: "250" });
    expect([c.dataDir, c.routerPort, c.engine, c.incus.uidBase, c.idleSweepMs]).toEqual(["/d", 9090, "incus", 100000, 250]);
    expect([dbPath(c), hostdSocket(c)]).toEqual(["/d/hoody.db", "/d/run/hostd.sock"]);
  });

  it("agrees with the host daemon on the data directory and socket (one default for both)", () => {
    for (const env of [{}, { HOODY_DATA_DIR: "/srv/h" }]) expect(hostdSocket(webConfig(env))).toBe(hostConfigFromEnv(env).socketPath);
  });

  it("takes an empty variable as unset, except the lists where empty means none", () => {
    const c = webConfig({ HOODY_DATA_DIR: "", HOODY_INCUS_UID_BASE: "", HOODY_WEB_HOSTS: "", HOODY_TRUSTED_PROXIES: "" });
    expect([c.dataDir, c.incus.uidBase, c.webHosts, c.trustedProxies]).toEqual(["/var/lib/hoody", undefined, "", ""]);
  });

  it("refuses a bad value with the variable's name; a valid setting beside it is no excuse", () => {
    expect(() => webConfig({ HOODY_ROUTER_PORT: "80a" })).toThrow(/HOODY_ROUTER_PORT="80a"/);
    expect(() => webConfig({ HOODY_ENGINE: "docker", HOODY_DOMAIN: "x.test" })).toThrow(/HOODY_ENGINE="docker"/);
    expect(() => webConfig({ HOODY_INCUS_UID_RANGES: "-1" })).toThrow(/HOODY_INCUS_UID_RANGES/);
    expect(webConfig({ HOODY_ROUTER_PORT: "80" }).routerPort).toBe(80);
  });

  it("takes a metrics token of 16 characters or more, and a sample interval", () => {
    expect(() => webConfig({ HOODY_METRICS_TOKEN: "short" })).toThrow(/HOODY_METRICS_TOKEN="short": at least 16 characters/);
    expect(webConfig({ HOODY_METRICS_TOKEN: "0123456789abcdef" }).metricsToken).toBe("0123456789abcdef");
    expect([webConfig({}).metricsToken, webConfig({}).statsSampleMs, webConfig({ HOODY_STATS_SAMPLE_MS: "1000" }).statsSampleMs]).toEqual([undefined, 15_000, 1000]);
    expect(() => webConfig({ HOODY_STATS_SAMPLE_MS: "0" })).toThrow(/HOODY_STATS_SAMPLE_MS/);
  });
});

describe("clientConfig", () => {
  it("reads only the CLI's variables, so a bad server setting does not stop the client", () => {
    expect(clientConfig({ HOODY_ENGINE: "docker" })).toEqual({ url: "http://localhost:3000", token: undefined, dataDir: "/var/lib/hoody" });
    expect(clientConfig({ HOODY_URL: "http://h:1", HOODY_TOKEN: "t", HOODY_DATA_DIR: "/d" })).toEqual({ url: "http://h:1", token: "t", dataDir: "/d" });
  });
});
