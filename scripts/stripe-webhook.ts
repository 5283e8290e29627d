// Stripe (billing) webhook → tenant lifecycle. Settings: project_id, TEMPLATE (default "starter"),
// GRACE_SECONDS (0 = delete at once on cancellation). Secret: STRIPE_WEBHOOK_SECRET.
//   hoody scripts secrets set stripe-webhook STRIPE_WEBHOOK_SECRET=whsec_...
//   hoody scripts settings set stripe-webhook project_id=<project id> TEMPLATE=starter
import Stripe from "stripe";
import type { ScriptContext } from "../server/exec/types";

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** A tenant name from a Stripe customer id: cus_ABC123 → cus-abc123 (URL-safe, unique per customer). */
const tenantName = (customer: string) =>
  customer
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 90);

export async function POST(req: Request, ctx: ScriptContext): Promise<Response> {
  const secret = ctx.secrets.STRIPE_WEBHOOK_SECRET;
  if (!secret) return json(500, { error: "STRIPE_WEBHOOK_SECRET is not set for this script" });
  const payload = await req.text();
  let event: Stripe.Event;
  try {
    // Verifies the signature and the timestamp (tolerance 300 s): nothing happens for a forged or stale event.
    event = new Stripe("sk_unused_for_verification").webhooks.constructEvent(payload, req.headers.get("stripe-signature") ?? "", secret);
  } catch (e) {
    ctx.log("rejected:", (e as Error).message);
    return json(400, { error: `signature check failed: ${(e as Error).message}` });
  }
  // Stripe delivers at least once: the event id makes the work happen once.
  const { result, replayed } = await ctx.runOnce(event.id, async () => handle(event, ctx));
  return json(200, { received: true, event: event.id, replayed, ...result });
}

async function handle(event: Stripe.Event, ctx: ScriptContext): Promise<Record<string, unknown>> {
  const obj = event.data.object as unknown as Record<string, unknown>;
  const customer = String(obj.customer ?? "");
  if (!customer) return { ignored: "no customer on this event" };
  const name = tenantName(customer);
  switch (event.type) {
    case "checkout.session.completed": {
      const existing = await ctx.hoody.containers.find(name);
      if (existing) return { tenant: existing.id, url: existing.url, note: "already provisioned" };
      const metadata = (obj.metadata ?? {}) as Record<string, string>;
      const c = await ctx.hoody.containers.create({
        template: ctx.settings.TEMPLATE ?? "starter",
        name,
        environment_vars: { STRIPE_CUSTOMER: customer, PLAN: metadata.plan ?? "default", TENANT_NAME: String((obj.customer_details as { name?: string } | undefined)?.name ?? name) },
      });
      ctx.log("provisioned", c.id, c.url);
      return { tenant: c.id, url: c.url };
    }
    case "customer.subscription.deleted": {
      const c = await ctx.hoody.containers.find(name);
      if (!c) return { ignored: "no tenant for this customer" };
      // Suspended, not just stopped: a visitor to its URL must not wake it during the grace period.
      await ctx.hoody.containers.suspend(c.id);
      if (Number(ctx.settings.GRACE_SECONDS ?? 0) === 0) {
        await ctx.hoody.containers.delete(c.id);
        return { tenant: c.id, action: "deleted" };
      }
      await ctx.hoody.containers.deleteAfter(c.id, Number(ctx.settings.GRACE_SECONDS));
      return { tenant: c.id, action: "stopped", erase_after_s: Number(ctx.settings.GRACE_SECONDS) };
    }
    case "invoice.payment_failed": {
      const c = await ctx.hoody.containers.find(name);
      if (c) await ctx.hoody.containers.suspend(c.id);
      return { tenant: c?.id ?? null, action: c ? "stopped" : "none" };
    }
    default:
      return { ignored: event.type };
  }
}
