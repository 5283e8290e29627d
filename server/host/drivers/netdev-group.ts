// The netdev group of host-side veths: the number of the firewall ruleset a tenant's packets are
// judged by (nft.ts says why a group and not the veth's name).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** Reads and writes the netdev group of host-side veths (a recorder in unit tests). */
export interface LinkGroups {
  /** Sets a veth's group; false when there is no such veth (its tenant is not running). */
  write(veth: string, group: number): boolean;
  /** The group of every veth whose name starts with `prefix`. */
  read(prefix: string): Map<string, number>;
}

/** The kernel's: /sys/class/net/<veth>/netdev_group (a write needs CAP_NET_ADMIN in the host's network namespace). */
export const netdevGroups: LinkGroups = {
  write(veth, group) {
    // A name with a slash or a dot-only one would be another path, never an interface.
    if (!/^[^/]{1,15}$/.test(veth) || /^\.\.?$/.test(veth)) return false;
    try {
      writeFileSync(`/sys/class/net/${veth}/netdev_group`, String(group));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    }
  },
  read(prefix) {
    const groups = new Map<string, number>();
    for (const name of readdirSync("/sys/class/net")) {
      if (!name.startsWith(prefix)) continue;
      try {
        groups.set(name, Number(readFileSync(`/sys/class/net/${name}/netdev_group`, "utf8")));
      } catch {
        // Gone since the listing (its tenant stopped): it carries nothing any more.
      }
    }
    return groups;
  },
};
