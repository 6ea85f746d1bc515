import assert from "node:assert/strict";
import { freshDb } from "../support/db.ts";
import { hasChromium, launchBrowser, SCREENSHOTS, signUpInBrowser } from "../support/browser.ts";
import { startServer } from "../support/server.ts";

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
      const ana = await signUpInBrowser(browser, server.url, "Ana", problems);
      await ana.locator('[data-testid="online-members"][data-status="online"]').waitFor();
      const ben = await signUpInBrowser(browser, server.url, "Ben", problems);
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
