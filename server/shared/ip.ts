// IPv4 arithmetic for address leases (both engines), the firewall schema, and test and bench tools.

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** The block "a.b.c.d/bits" lies in (host bits may be set): its first address as a number, and its size. */
export function cidrBlock(cidr: string): { network: number; size: number; bits: number } {
  const [addr = "", bitsText = "32"] = cidr.split("/");
  const bits = Number(bitsText);
  const size = 2 ** (32 - bits);
  return { network: Math.floor(ipToInt(addr) / size) * size, size, bits };
}

/** Lowest free address in the subnet, skipping network, the .1 gateway convention and broadcast. */
export function firstFreeIp(subnet: string, used: Set<string>): string | null {
  const { network, size } = cidrBlock(subnet);
  for (let i = 2; i < size - 1; i++) {
    const ip = intToIp(network + i);
    if (!used.has(ip)) return ip;
  }
  return null;
}

/** How many tenant addresses the subnet has (firstFreeIp hands out network+2 … broadcast-1). */
export function usableAddresses(subnet: string): number {
  return Math.max(0, cidrBlock(subnet).size - 3);
}
