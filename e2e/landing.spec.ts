import { expect, test } from "@playwright/test";

test("the dashboard shell renders and the health route answers", async ({ page, request }) => {
  await page.goto("/");
  await expect(page).toHaveTitle(/Hoody/);
  await expect(page.getByRole("banner")).toContainText("Hoody");
  const health = await request.get("/api/health");
  expect(health.status()).toBe(200);
  const body = await health.json();
  expect(body).toMatchObject({ statusCode: 200, data: { status: "ok" } });
});
