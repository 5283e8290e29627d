// The operator's day, in Debian chromium against the production build and the real engine.
import fs from "node:fs";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { E2E_STATE } from "./global-setup";

const state = () => JSON.parse(fs.readFileSync(E2E_STATE, "utf8")) as { password: string; token: string; url: string; routerPort: number };
const SHOTS = "docs/screenshots";

async function api(method: string, path: string, body?: unknown) {
  const s = state();
  const res = await fetch(`${s.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${s.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await res.json()) as { statusCode: number; data: any };
}

async function signIn(page: Page) {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Password").fill(state().password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
}

/**
 * Clicks what opens a dialog until the dialog is there. Sections above the button load on their own
 * (log, audit, snapshots) and can move it between Playwright's hit check and the click: CI once saw
 * the GDPR button clicked and no dialog.
 */
async function openDialog(page: Page, trigger: Locator): Promise<Locator> {
  const dialog = page.getByRole("dialog");
  await expect(async () => {
    if (!(await dialog.isVisible())) await trigger.click();
    await expect(dialog).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  return dialog;
}

test.describe.configure({ mode: "serial" });

// The web server's Content-Security-Policy must not block anything the dashboard needs: a refused
// script or style shows up as a console error before it shows up as a broken page.
let cspViolations: string[] = [];
test.beforeEach(({ page }) => {
  cspViolations = [];
  page.on("console", (m) => m.type() === "error" && /Content Security Policy/i.test(m.text()) && cspViolations.push(m.text()));
});
test.afterEach(() => expect(cspViolations).toEqual([]));

test("sign in: a wrong password is refused, the right one opens the overview", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Password").fill("definitely-wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Wrong password" })).toBeVisible();
  await signIn(page);
});

test("an operator creates a tenant, uses it, snapshots, restores and erases it", async ({ page, context }) => {
  // A dedup run of the whole pool (templates included) before the overview screenshot.
  test.setTimeout(240_000);
  const project = (await api("POST", "/projects", { alias: "e2e-shop" })).data.id as string;
  // A realistic table: 50+ tenants (stopped ones cost only their snapshot).
  for (let i = 0; i < 52; i++) await api("POST", `/projects/${project}/containers`, { template: "mini", name: `customer-${String(i).padStart(3, "0")}`, autostart: false });
  await signIn(page);

  // New tenant from the UI.
  await page.goto("/tenants/new");
  await page
    .getByLabel("Project")
    .selectOption({ label: "e2e-shop" })
    .catch(async () => page.getByLabel("Project").selectOption(project));
  await page.getByLabel("Template").selectOption("starter");
  await page.getByLabel("Name").fill("acme-e2e");
  await page.getByRole("button", { name: "Add variable" }).click();
  await page.getByLabel("Key").last().fill("GREETING");
  await page.getByLabel("Value").last().fill("hello-from-e2e");
  await page.getByRole("button", { name: "Create tenant" }).click();
  await expect(page).toHaveURL(/\/tenants\/[0-9a-f]{24}$/, { timeout: 30_000 });
  const id = page.url().split("/").pop()!;
  const url = await page.getByTestId("tenant-url").innerText();
  expect(url).toContain(`acme-e2e.localhost:${state().routerPort}`);
  // Its creation is an event about it: listed on its own page.
  await expect(page.getByRole("cell", { name: "container.create", exact: true })).toBeVisible({ timeout: 30_000 });

  // Its URL opens the tenant's own app (through the router).
  // (The router waits a few seconds for a new tenant's app; on a busy box it may need a reload.)
  const app = await context.newPage();
  await expect
    .poll(
      async () => {
        await app.goto(url.trim());
        return app.locator("body").innerText();
      },
      { timeout: 30_000 },
    )
    .toContain("Hello from acme-e2e");
  await app.close();
  await page.screenshot({ path: `${SHOTS}/tenant.png`, fullPage: true });

  // The delta-disk number grows after a file is written inside the tenant.
  const before = Number(await page.getByTestId("stat-delta").getAttribute("data-bytes"));
  await api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", "head -c 8000000 /dev/urandom > /data/blob && sync"] });
  await expect.poll(async () => Number(await page.getByTestId("stat-delta").getAttribute("data-bytes")), { timeout: 60_000, intervals: [1000, 2000, 5000] }).toBeGreaterThan(before + 7_000_000);

  // The history chart (the server's persisted samples, every 15 s): 1 hour by default, 30 days a click away.
  const history = page.getByRole("group", { name: "History range" });
  await expect(history.getByRole("button", { name: "1 hour" })).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByRole("img", { name: /History of delta disk, memory and KSM saved over the last 1 hour/ })).toBeVisible({ timeout: 60_000 });
  await history.getByRole("button", { name: "30 days" }).click();
  await expect(history.getByRole("button", { name: "30 days" })).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByRole("img", { name: /over the last 30 days/ }).or(page.getByText(/Not enough history for the last 30 days yet/))).toBeVisible();
  await history.getByRole("button", { name: "1 hour" }).click();

  // Edit an env var; the tenant's app shows it.
  const row = page.locator("input[value='hello-from-e2e']");
  await row.fill("changed-by-operator");
  await page.getByRole("button", { name: "Save environment" }).click();
  await expect(page.getByText(/Saved/)).toBeVisible({ timeout: 30_000 });
  const info = await context.newPage();
  await expect
    .poll(
      async () => {
        await info.goto(`${url.trim()}api/info`);
        return info.locator("body").innerText();
      },
      { timeout: 30_000 },
    )
    .toContain("changed-by-operator");
  await info.close();

  // Snapshot, change, restore.
  await api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", "echo before > /data/state"] });
  await page.getByLabel("Alias").fill("e2e-point");
  await page.getByRole("button", { name: "Create snapshot" }).click();
  await expect(page.getByText("e2e-point")).toBeVisible({ timeout: 30_000 });
  await api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", "echo after > /data/state"] });
  const restore = await openDialog(page, page.getByRole("button", { name: "Restore" }).first());
  await restore.getByRole("button", { name: "Restore snapshot" }).click();
  await expect.poll(async () => (await api("POST", `/containers/${id}/exec`, { command: ["cat", "/data/state"] })).data?.stdout, { timeout: 30_000 }).toBe("before\n");

  // The Changes tab lists a file the tenant wrote, under the directory it drills into, and shows its content.
  await api("POST", `/containers/${id}/exec`, { command: ["/bin/sh", "-c", "mkdir -p /data/notes && echo 'written by e2e' > /data/notes/hello.txt"] });
  await page.getByRole("tab", { name: "Changes" }).click();
  await expect(page).toHaveURL(/\?tab=changes$/);
  const changes = page.getByRole("region", { name: "Changes" });
  await changes.getByRole("button", { name: "data/" }).click();
  await changes.getByRole("button", { name: "notes/" }).click();
  const fileRow = changes.locator("[data-testid=change-row][data-path='/data/notes/hello.txt']");
  await expect(fileRow).toBeVisible({ timeout: 30_000 });
  await expect(fileRow).toContainText("added");
  await expect(fileRow).toContainText("15 B");
  await page.screenshot({ path: `${SHOTS}/tenant-changes.png`, fullPage: true });
  const viewer = await openDialog(page, fileRow.getByRole("button", { name: "View /data/notes/hello.txt" }));
  await expect(viewer.getByTestId("change-content")).toHaveText("written by e2e\n");
  await viewer.getByRole("button", { name: "Close" }).click();
  await page.getByRole("tab", { name: "Overview" }).click();

  // Screens of the overview and the table with 50+ tenants.
  // Screens of the overview (after a dedup run from its button, so its figures show) and the table with 50+ tenants.
  await page.goto("/");
  await expect(page.getByText(/KSM/).first()).toBeVisible();
  await page.getByRole("button", { name: "Run dedup now" }).click();
  await expect(page.getByText(/Last run .*: completed/)).toBeVisible({ timeout: 90_000 });
  await expect(page.getByText("Tenant bytes after sharing")).toBeVisible({ timeout: 30_000 });
  await page.screenshot({ path: `${SHOTS}/overview.png`, fullPage: true });
  await page.goto("/tenants");
  await expect(page.getByTestId("tenant-row").first()).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/tenants.png`, fullPage: true });

  // GDPR delete with typed confirmation; the receipt is shown; the tenant leaves the table.
  await page.goto(`/tenants/${id}`);
  const dialog = await openDialog(page, page.getByRole("button", { name: "Delete tenant (GDPR)" }));
  const erase = dialog.getByRole("button", { name: "Erase permanently" });
  await expect(erase).toBeDisabled();
  await dialog.getByLabel("Type the tenant name to confirm").fill("acme-e2e");
  await erase.click();
  await expect(page.getByText(/receipt/i).first()).toBeVisible({ timeout: 60_000 });
  await expect(page.getByRole("button", { name: "Download receipt (JSON)" }).or(page.getByRole("link", { name: "Download receipt (JSON)" }))).toBeVisible();
  await page.goto("/tenants");
  await expect(page.getByRole("link", { name: "customer-051", exact: true })).toBeVisible();
  await expect(page.getByRole("link", { name: "acme-e2e" })).toHaveCount(0);
  expect((await api("GET", `/containers/${id}`)).statusCode).toBe(404);
});

test("the tenants table: every column readable at 1280 × 800, usable at 390 px", async ({ page }) => {
  // Rows of its own, with the longest names (and so URLs) a table must show whole.
  const project = (await api("POST", "/projects", { alias: "e2e-wide" })).data.id as string;
  for (let i = 0; i < 3; i++) await api("POST", `/projects/${project}/containers`, { template: "mini", name: `wide-${"x".repeat(40)}-${i}`, autostart: false });
  await page.setViewportSize({ width: 1280, height: 800 });
  await signIn(page);
  await page.goto("/tenants");
  await expect(page.getByTestId("tenant-row").first()).toBeVisible();
  const headers = page.locator("table thead th");
  // Measured in the page: no sideways scrolling, every header inside the visible box, not clipped and
  // not covered (the pinned actions column sits on top of whatever scrolls under it), no URL cut off.
  const problems = await page.evaluate(() => {
    const table = document.querySelector("table")!;
    const scroller = table.parentElement!;
    const box = scroller.getBoundingClientRect();
    const out: string[] = [];
    if (scroller.scrollWidth > scroller.clientWidth) out.push(`the table scrolls: ${scroller.scrollWidth} > ${scroller.clientWidth} px`);
    for (const th of Array.from(table.querySelectorAll("thead th"))) {
      const r = th.getBoundingClientRect();
      const label = th.textContent!.trim();
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) out.push(`${label}: outside the visible table`);
      if (th.scrollWidth > th.clientWidth) out.push(`${label}: clipped`);
      if (!th.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2))) out.push(`${label}: covered`);
    }
    for (const a of Array.from(document.querySelectorAll<HTMLElement>("[data-testid=tenant-url-cell]"))) {
      if (a.scrollWidth > a.clientWidth || a.getBoundingClientRect().right > box.right + 0.5) out.push(`URL cut off: ${a.textContent}`);
    }
    return out;
  });
  expect(problems).toEqual([]);
  await expect(headers).toHaveCount(10);
  for (const label of ["Name and URL", "Project / template", "Status", "Delta disk", "KSM saved", "Memory", "CPU", "Last request", "Created"]) {
    await expect(headers.filter({ hasText: label })).toBeInViewport({ ratio: 1 });
  }

  // A phone: the table scrolls sideways inside its box, the actions stay reachable, a row opens.
  await page.setViewportSize({ width: 390, height: 844 });
  const first = page.getByTestId("tenant-row").first();
  const scroller = page.locator("table").locator("..");
  expect(await scroller.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true);
  await expect(first.getByRole("link", { name: /^Open / })).toBeInViewport({ ratio: 1 });
  await scroller.evaluate((el) => el.scrollTo({ left: el.scrollWidth }));
  await expect(headers.filter({ hasText: "Created" })).toBeInViewport({ ratio: 1 });
  const name = await first.getAttribute("data-id");
  await first.getByRole("link", { name: /^Open / }).click();
  await expect(page).toHaveURL(new RegExp(`/tenants/${name}$`));
});

test("sign out ends the session", async ({ page }) => {
  await signIn(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/tenants");
  await expect(page).toHaveURL(/\/login$/);
});
