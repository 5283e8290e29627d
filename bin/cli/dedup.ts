// `hoody dedup ...` (admin): start a dedup run of the pool, watch it, read what sharing saves.
import { setTimeout as sleep } from "node:timers/promises";
import { allowOnly, intOption, positionals, type Handler } from "./args";
import { call } from "./http";
import { bytes, json, note, out, table, when } from "./output";

interface Run {
  id: string;
  trigger: string;
  state: string;
  started_at: string;
  finished_at: string | null;
  deadline_s: number;
  saved_bytes: number | null;
  message: string | null;
}
interface Status {
  available: boolean;
  reason: string | null;
  running: Run | null;
  runs: Run[];
  total_saved_bytes: number;
  accounting: {
    measured_at: string;
    referenced_bytes: number;
    pool_data_bytes: number;
    shared_saved_bytes: number;
    orphan_qgroup_bytes: number;
    containers: { container_id: string; name: string; qgroup_bytes: number; referenced_bytes: number; exclusive_bytes: number; shared_bytes: number }[];
  } | null;
}

export const dedup: Record<string, Handler> = {
  async run(cfg, inv) {
    allowOnly(inv, ["deadline", "wait"]);
    positionals(inv, []);
    const deadline = intOption(inv, "deadline", 1, 86_400);
    const r = await call<{ started: boolean; run: Run }>(cfg, "POST", "/dedup", { body: deadline === undefined ? {} : { deadline_s: deadline } });
    if (!inv.values.wait) return inv.values.json ? json(r) : out(`${r.run.id}: ${r.started ? "started" : "already running"} (deadline ${r.run.deadline_s} s)`);
    if (!inv.values.json) note(`${r.run.id}: ${r.started ? "started" : "already running"}; waiting for it`);
    for (;;) {
      const st = await call<Status>(cfg, "GET", "/dedup");
      const done = st.running?.id === r.run.id ? null : st.runs.find((x) => x.id === r.run.id);
      if (done) {
        if (inv.values.json) return json(done);
        out(`${done.id}: ${done.state}, saved ${bytes(done.saved_bytes) ?? "-"}${done.message ? ` (${done.message})` : ""}`);
        if (done.state === "failed") process.exitCode = 1;
        return;
      }
      await sleep(1000);
    }
  },
  async status(cfg, inv) {
    allowOnly(inv, []);
    positionals(inv, []);
    const st = await call<Status>(cfg, "GET", "/dedup");
    if (inv.values.json) return json(st);
    if (!st.available) out(`dedup is not available here: ${st.reason}`);
    out(`saved by dedup (all runs): ${bytes(st.total_saved_bytes)}`);
    const a = st.accounting;
    if (a) {
      out(`measured ${when(a.measured_at)}: files reference ${bytes(a.referenced_bytes)}, the pool holds ${bytes(a.pool_data_bytes)} of data; sharing saves ${bytes(a.shared_saved_bytes)}`);
      if (a.orphan_qgroup_bytes)
        out(`still charged to qgroups of deleted subvolumes (erased containers, filesystems a restore replaced, template builds), shared with others: ${bytes(a.orphan_qgroup_bytes)}`);
      table(
        ["CONTAINER", "NAME", "QGROUP", "REFERENCED", "SHARED", "ERASE FREES ≥"],
        a.containers.map((c) => [c.container_id, c.name, bytes(c.qgroup_bytes), bytes(c.referenced_bytes), bytes(c.shared_bytes), bytes(c.exclusive_bytes)]),
      );
    }
    table(
      ["RUN", "TRIGGER", "STATE", "STARTED", "FINISHED", "SAVED"],
      st.runs.map((r) => [r.id, r.trigger, r.state, when(r.started_at), when(r.finished_at), bytes(r.saved_bytes)]),
    );
  },
};
