// The fake engine's delta browser: the tenant's files (the few the fake keeps) compared with its
// template's or a snapshot's, through the same tree and listing code as the host daemon.
import { dirNode, type FileContent, listChanges, MAX_CONTENT_BYTES, normalizeTenantPath, placeChange, sumTotals } from "../../shared/changes";
import type { DeltaBrowser } from "../types";
import { fail, type FakeMethod, type FakeTemplate, type FakeTenant } from "./model";

type Op = <T>(method: FakeMethod, args: unknown[], effect: () => T) => Promise<T>;

export function fakeDeltas(op: Op, tenant: (id: string) => FakeTenant, template: (name: string) => FakeTemplate): DeltaBrowser {
  return {
    changes: (id, query) =>
      op("changes", [id, query], () => {
        const t = tenant(id);
        const base = query.compare ? (t.snapshots.find((s) => s.name === query.compare) ?? fail("SNAPSHOT_NOT_FOUND", `snapshot ${query.compare} not found`)).files : template(t.template).files;
        const path = normalizeTenantPath(query.path ?? "/") ?? fail("PATH_REFUSED", "not a path inside the tenant");
        const root = dirNode("");
        const bytes = (s: string) => Buffer.byteLength(s);
        for (const [p, content] of t.files) {
          const was = base.get(p);
          if (was === content) continue;
          Object.assign(placeChange(root, p), { type: "file", change: was === undefined ? "added" : "modified", size: bytes(content), written: bytes(content) });
        }
        for (const [p, content] of base) if (!t.files.has(p)) Object.assign(placeChange(root, p), { type: "file", change: "deleted", size: bytes(content) });
        sumTotals(root);
        const now = new Date().toISOString();
        const base_ = query.compare ? { kind: "snapshot" as const, name: query.compare } : { kind: "template" as const, name: t.template };
        return { base: base_, generation: 1, computedAt: now, computeMs: 0, cached: false, ...listChanges(root, path, query.sort ?? "size", query.order, query.limit ?? 500) };
      }),
    readFile: (id, p) =>
      op("readFile", [id, p], (): FileContent => {
        const path = normalizeTenantPath(p) ?? fail("PATH_REFUSED", "not a path inside the tenant");
        const content = tenant(id).files.get(path) ?? fail("PATH_NOT_FOUND", `${path} does not exist`);
        const size = Buffer.byteLength(content);
        return { path, size, base64: size > MAX_CONTENT_BYTES ? null : Buffer.from(content).toString("base64") };
      }),
  };
}
