// Refuses "__proto__" keys in parsed JSON bodies. JSON.parse makes them own keys; zod's z.record
// then drops them without an issue, so `{"__proto__": …}` would pass as an empty env patch (and
// restart the tenant) instead of being refused like any other invalid key.

/** The JSON pointer of the first own "__proto__" key in a parsed JSON value, or null. Iterative: bodies may nest deeply. */
export function findProtoKey(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) stack.push([x, `${at}/${i}`]);
      continue;
    }
    for (const k of Object.keys(v)) {
      if (k === "__proto__") return `${at}/__proto__`;
      stack.push([(v as Record<string, unknown>)[k], `${at}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`]);
    }
  }
  return null;
}
