// The dashboard and a tenant over HTTPS, in Debian chromium, through a real Caddy with its internal
// CA. Chromium trusts Caddy's root because it is in the browser's own trust store (an NSS database
// in a temporary HOME, filled by certutil), not because certificate errors are ignored: a browser
// with an empty store is refused on the same URL (the control).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Browser, chromium, expect, type Page, test } from "@playwright/test";
import { CaddyStack } from "../testkit/caddy-harness";

test.describe.configure({ mode: "serial" });

let c: CaddyStack;
let homes: string[] = [];
const customDomain = `shop.customer-${Date.now().toString(36)}.dev`;

/** A chromium whose NSS store (in a temp HOME) trusts Caddy's root when `trust` is set; names of the test resolve to loopback. */
async function browser(trust: boolean): Promise<Browser> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "hoody-e2e-home-"));
  homes.push(home);
  const db = path.join(home, ".pki", "nssdb");
  fs.mkdirSync(db, { recursive: true });
  execFileSync("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"]);
  if (trust) execFileSync("certutil", ["-A", "-d", `sql:${db}`, "-n", "hoody-test-caddy-root", "-t", "C,,", "-i", c.files.rootCert]);
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    env: { ...process.env, HOME: home },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--host-resolver-rules=MAP *.${c.domain} 127.0.0.1, MAP ${customDomain} 127.0.0.1`,
    ],
  });
}

/**
 * page.goto, again when chromium reports ERR_NETWORK_CHANGED: a tenant's veth appearing on the host
 * (the warm pool refilling after this test's create, or another test's tenant) is a network change to
 * chromium, which then aborts the navigation. Chromium reports it either in the error itself or by
 * committing its error page first ("interrupted by another navigation to chrome-error://"), whose
 * code the page shows; any other failure is thrown with that code.
 */
async function goto(page: Page, url: string) {
  for (let i = 0; ; i++) {
    try {
      return await page.goto(url);
    } catch (e) {
      let reason = String((e as Error).message);
      if (reason.includes("chrome-error://")) {
        await page.waitForURL(/^chrome-error:/, { timeout: 5_000 }).catch(() => undefined);
        const code = await page
          .locator(".error-code")
          .textContent({ timeout: 5_000 })
          .catch(() => "no error code shown");
        reason = `${reason} (${code})`;
      }
      if (i >= 5 || !reason.includes("ERR_NETWORK_CHANGED")) throw new Error(reason);
    }
  }
}

test.beforeAll(async () => {
  test.setTimeout(300_000);
  c = await CaddyStack.create({ templates: ["mini"] });
});
test.afterAll(async () => {
  await c?.stop();
  for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
  homes = [];
});

test("the dashboard and a tenant over HTTPS, trusted through the browser's store, with a Secure session cookie", async () => {
  const project = (await c.stack.api("POST", "/projects", { alias: "https-e2e" })).body.data.id;
  const tenant = (await c.stack.api("POST", `/projects/${project}/containers`, { template: "mini", name: "visitor", idle_timeout_s: 0 })).body.data;
  expect(tenant.url).toBe(`https://visitor.${c.domain}:${c.httpsPort}/`);

  // Control: the same URL in a browser whose store lacks Caddy's root is refused.
  const untrusting = await browser(false);
  const refused = await untrusting.newPage().then((p) =>
    goto(p, tenant.url).then(
      () => "loaded",
      (e: Error) => e.message,
    ),
  );
  expect(refused).toContain("ERR_CERT_AUTHORITY_INVALID");
  await untrusting.close();

  const b = await browser(true);
  const ctx = await b.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const answer = await goto(page, tenant.url);
  expect(answer?.status()).toBe(200);
  await expect(page.locator("body")).toContainText("hello from visitor");
  expect((await answer!.securityDetails())?.issuer).toMatch(/Caddy Local Authority/);

  const dash = `https://${c.dashboardHost}:${c.httpsPort}`;
  await goto(page, `${dash}/`);
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Password").fill(c.stack.adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  const session = (await ctx.cookies(dash)).filter((k) => k.httpOnly);
  expect(session.length).toBeGreaterThan(0);
  expect(session.every((k) => k.secure)).toBe(true);

  // The tenant page shows its https URL, and its custom domains card attaches a name that points here.
  await c.pointName(customDomain);
  await goto(page, `${dash}/tenants/${tenant.id}`);
  await expect(page.getByText(tenant.url).first()).toBeVisible();
  const card = page.getByRole("region", { name: "Custom domains" });
  await card.getByLabel("Domain").fill(customDomain);
  await card.getByRole("button", { name: "Attach domain" }).click();
  await expect(page.getByTestId("domain-row").filter({ hasText: customDomain })).toBeVisible();
  const own = await goto(page, `https://${customDomain}:${c.httpsPort}/`);
  expect(own?.status()).toBe(200);
  await expect(page.locator("body")).toContainText("hello from visitor");
  await b.close();
});
