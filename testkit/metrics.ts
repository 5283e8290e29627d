// /metrics text read with a Prometheus text-format parser from npm (prom2json's shape), for tests
// and the bench: families by name, and the series of one family whose labels match.
import parsePrometheusTextFormat, { type PromFamily, type PromSample } from "parse-prometheus-text-format";

export function parseMetrics(text: string): Map<string, PromFamily> {
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

export function series(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): PromSample[] {
  return (families.get(name)?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}
