import assert from "node:assert/strict";
import { hasChromium, launchBrowser, SCREENSHOTS } from "../support/browser.ts";
import { freshDb } from "../support/db.ts";
import { startServer } from "../support/server.ts";

Deno.test({
  name: "[e2e] sign up, sign in, the profile island hydrates without console errors, sign out",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "plaza-e2e-" });
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    // On the Postgres leg the server gets its own fresh database.
    const testDb = await freshDb();
    const env: Record<string, string> = { PLAZA_DATA_DIR: dataDir, DATABASE_URL: testDb.url ?? "" };
    const server = await startServer(env);
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
      const page = await context.newPage();
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
      const email = `e2e-${crypto.randomUUID().slice(0, 8)}@example.test`;
      const password = "e2e-password-123";

      await page.goto(`${server.url}/`);
      assert.equal(await page.locator("script").count(), 0, "the home page ships no JavaScript");
      await page.screenshot({ path: `${SCREENSHOTS}home-anon.png`, fullPage: true });

      // Sign up through the form.
      await page.click("text=Sign up");
      await page.fill("input[name=name]", "Erin Endtoend");
      await page.fill("input[name=email]", email);
      await page.fill("input[name=password]", password);
      await page.click("button[type=submit]");
      await page.waitForURL(`${server.url}/`);
      await page.getByRole("heading", { name: "Hello, Erin Endtoend" }).waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}home-member.png`, fullPage: true });

      // Sign out through the account menu.
      await page.click("summary");
      await page.click("text=Sign out");
      await page.getByRole("link", { name: "Create an account" }).waitFor();

      // Sign in, with a wrong password first.
      await page.goto(`${server.url}/login`);
      await page.fill("input[name=email]", email);
      await page.fill("input[name=password]", "wrong-password");
      await page.click("button[type=submit]");
      await page.getByRole("alert").waitFor();
      // The browser logs the deliberate 401 of this step as a failed resource load; nothing else is expected.
      const expected = problems.splice(0).filter((p) => !/status of 401/.test(p));
      assert.deepEqual(expected, []);
      assert.match(await page.getByRole("alert").innerText(), /Invalid email or password/);
      await page.screenshot({ path: `${SCREENSHOTS}login-error.png`, fullPage: true });
      await page.fill("input[name=password]", password);
      await page.click("button[type=submit]");
      await page.waitForURL(`${server.url}/`);

      // The profile island hydrates: typing updates the live preview, saving goes through the API.
      await page.goto(`${server.url}/profile`);
      await page.locator('[data-island="ProfileEditor"][data-hydrated="true"]').waitFor();
      await page.fill("input[name=name]", "Erin Hydrated");
      assert.equal(await page.getByTestId("preview-name").innerText(), "Erin Hydrated");
      await page.fill("textarea[name=bio]", "Hello from Chromium");
      assert.match(await page.getByTestId("bio-count").innerText(), /481 characters left/);
      await page.click("text=Save profile");
      await page.getByTestId("profile-status").filter({ hasText: "Saved." }).waitFor();
      assert.equal(page.url(), `${server.url}/profile`, "saved without a page load");
      await page.screenshot({ path: `${SCREENSHOTS}profile.png`, fullPage: true });

      // The change is real: a reload shows it.
      await page.reload();
      assert.equal(await page.inputValue("input[name=name]"), "Erin Hydrated");
      assert.equal(
        await page.locator("summary").getAttribute("aria-label"),
        "Account menu for Erin Hydrated",
      );

      // Dark mode renders too.
      await page.emulateMedia({ colorScheme: "dark" });
      await page.screenshot({ path: `${SCREENSHOTS}profile-dark.png`, fullPage: true });

      await page.click("summary");
      await page.click("text=Sign out");
      await page.getByRole("link", { name: "Create an account" }).waitFor();
      await page.goto(`${server.url}/profile`);
      assert.match(page.url(), /\/login\?next=%2Fprofile$/);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await server.stop();
      await testDb.drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
