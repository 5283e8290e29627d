import { expect, test } from "vitest";
import { ksmField } from "./ksm";

// /proc/PID/ksm_stat of Linux 6.18 (a process that opted in with PR_SET_MEMORY_MERGE).
const KSM_STAT = "ksm_rmap_items 1204\nksm_zero_pages 0\nksm_merging_pages 812\nksm_process_profit -3129344\nksm_merge_any: yes\nksm_mergeable: yes\n";

test("reads ksm_stat's fields by line, a negative profit included", () => {
  expect(ksmField(KSM_STAT, "ksm_merging_pages ")).toBe(812);
  expect(ksmField(KSM_STAT, "ksm_process_profit ")).toBe(-3129344);
  expect(ksmField(KSM_STAT, "ksm_rmap_items ")).toBe(1204);
});

test("a field the kernel does not show, or an empty read (the process exited), is 0", () => {
  expect(ksmField("ksm_rmap_items 3\n", "ksm_process_profit ")).toBe(0);
  expect(ksmField("", "ksm_merging_pages ")).toBe(0);
  // A longer name that starts like the asked one is not it.
  expect(ksmField("ksm_merging_pages_total 9\nksm_merging_pages 4", "ksm_merging_pages ")).toBe(4);
});
