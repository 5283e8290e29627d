import { describe, expect, it } from "vitest";
import { parseNetDev, parseStartTicks } from "./procinfo.js";

describe("parseNetDev", () => {
  it("reads rx and tx counters per interface, skipping the two header lines", () => {
    const text = [
      "Inter-|   Receive                                                |  Transmit",
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
      "    lo: 3765224818  951953    0    0    0     0          0         0 3765224818  951953    0    0    0     0       0          0",
      "hxa1b2c3:    1200      10    1    2    0     0          0         0     3400      20    3    4    0     0       0          0",
      "",
    ].join("\n");
    const m = parseNetDev(text);
    expect(m.get("hxa1b2c3")).toEqual({ rxBytes: 1200, rxPackets: 10, rxErrors: 1, rxDropped: 2, txBytes: 3400, txPackets: 20, txErrors: 3, txDropped: 4 });
    expect(m.get("lo")?.txBytes).toBe(3765224818);
    expect(m.size).toBe(2);
  });
});

describe("parseStartTicks", () => {
  it("takes field 22 even when the command name holds spaces and parentheses", () => {
    const rest = "S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 994021 3133440 412";
    expect(parseStartTicks(`8337 (cat) ${rest}`)).toBe(994021);
    expect(parseStartTicks(`8337 (a (b) c) ${rest}`)).toBe(994021);
  });
});
