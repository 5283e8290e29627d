// Reading the firewall as the host's own tools show it: a veth's netdev group (`ip -j link`) and the
// ruleset chain a group leads to in an `nft list` of the table's verdict maps.
import { execa } from "execa";

/** A link's netdev group as `ip` lists it ("default" for 0). */
export async function linkGroup(dev: string): Promise<string> {
  return JSON.parse((await execa("ip", ["-j", "link", "show", "dev", dev])).stdout)[0].group as string;
}

/** The chain the map element of `group` jumps to in one direction, in an nft listing ("" when there is none). */
export function chainOfGroup(listing: string, group: string | number, dir: "eg" | "in"): string {
  return new RegExp(`[{,\\s]${group} : jump (${dir}_r[0-9a-f]{32})`).exec(listing)?.[1] ?? "";
}
