// Signup form or JSON → a tenant of its own → 303 to its URL ("redirect the user into their sandbox").
// Settings: project_id, TEMPLATE (default "starter").
import type { ScriptContext } from "../server/exec/types";

export async function POST(req: Request, ctx: ScriptContext): Promise<Response> {
  const type = req.headers.get("content-type") ?? "";
  const input = type.includes("application/json")
    ? ((await req.json().catch(() => ({}))) as Record<string, unknown>)
    : Object.fromEntries((await req.formData().catch(() => new FormData())).entries());
  const name = String(input.name ?? "")
    .trim()
    .toLowerCase();
  if (!/^[a-z0-9][a-z0-9-]{2,60}$/.test(name)) {
    return new Response(JSON.stringify({ error: "name: 3-61 lowercase letters, digits and dashes" }), { status: 400, headers: { "content-type": "application/json" } });
  }
  try {
    const c = await ctx.hoody.containers.create({ template: ctx.settings.TEMPLATE ?? "starter", name, environment_vars: { TENANT_NAME: name } });
    ctx.log("signup", name, c.id);
    return new Response(null, { status: 303, headers: { location: c.url } });
  } catch (e) {
    const code = (e as { code?: string }).code;
    return new Response(JSON.stringify({ error: (e as Error).message }), { status: code === "CONTAINER_NAME_TAKEN" ? 409 : 502, headers: { "content-type": "application/json" } });
  }
}
