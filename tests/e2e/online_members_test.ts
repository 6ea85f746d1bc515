import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { freshDb } from "../support/db.ts";
import { hasChromium, launchBrowser, SCREENSHOTS } from "../support/browser.ts";
import { startServer } from "../support/server.ts";

async function signUp(browser: Browser, base: string, name: string, problems: string[]): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && problems.push(`${name}: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`${name}: ${e.message}`));
  await page.goto(`${base}/signup`);
  await page.fill("input[name=name]", name);
  await page.fill(
    "input[name=email]",
    `${name.toLowerCase()}-${crypto.randomUUID().slice(0, 6)}@example.test`,
  );
  await page.fill("input[name=password]", "online-password-1");
  await page.click("button[type=submit]");
  await page.waitForURL(`${base}/`);
  return page;
}

Deno.test({
  name: "[e2e] members online: presence shows both people live and drops one who leaves",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "plaza-e2e-" });
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    const testDb = await freshDb();
    const server = await startServer({ PLAZA_DATA_DIR: dataDir, DATABASE_URL: testDb.url ?? "" });
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      const ana = await signUp(browser, server.url, "Ana", problems);
      await ana.locator('[data-testid="online-members"][data-status="online"]').waitFor();
      const ben = await signUp(browser, server.url, "Ben", problems);
      await ben.locator('[data-testid="online-members"][data-status="online"]').waitFor();
      await ana.getByTestId("online-count").filter({ hasText: "2" }).waitFor();
      await ben.getByTestId("online-count").filter({ hasText: "2" }).waitFor();
      assert.match(await ana.getByTestId("online-members").innerText(), /Ben/);
      await ana.screenshot({ path: `${SCREENSHOTS}online-members.png`, fullPage: true });
      await ben.context().close();
      await ana.getByTestId("online-count").filter({ hasText: "1" }).waitFor({ timeout: 15_000 });
      assert.doesNotMatch(await ana.getByTestId("online-members").innerText(), /Ben/);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await server.stop();
      await testDb.drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
