import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { hasChromium, launchBrowser, SCREENSHOTS, signUpInBrowser } from "../support/browser.ts";
import { startDemoServer } from "../support/demo_server.ts";

async function bellCount(page: Page, text: string) {
  await page.getByTestId("bell-count").filter({ hasText: text }).waitFor({ timeout: 15_000 });
}

Deno.test({
  name:
    "[e2e] notifications: the bell updates live, settings save, a phone is verified with the code from the outbox",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    const server = await startDemoServer();
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      const page = await signUpInBrowser(browser, server.url, "Ada", problems);
      // A second tab of the same person: the bell there follows too.
      const other = await page.context().newPage();
      await other.goto(`${server.url}/notifications`);
      await other.getByTestId("notification-bell").waitFor();

      await page.goto(`${server.url}/settings/notifications`);
      await page.getByTestId("device-channels").waitFor();
      // Let the bell join its channel before the notification is sent.
      await page.waitForTimeout(1000);
      await page.getByRole("button", { name: "Send me a test notification" }).click();
      await bellCount(page, "1");
      await bellCount(other, "1");
      await page.getByRole("button", { name: /Notifications, 1 unread/ }).click();
      await page.getByText("Test notification").first().waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}notifications-bell.png`, fullPage: true });
      await page.getByRole("button", { name: "Mark all read" }).click();
      await page.getByTestId("bell-count").waitFor({ state: "detached", timeout: 15_000 });
      await other.getByTestId("bell-count").waitFor({ state: "detached", timeout: 15_000 });
      await page.keyboard.press("Escape");

      // Preferences through the plain form.
      await page.getByLabel("Chat by email").uncheck();
      await page.getByLabel("From").fill("22:00");
      await page.getByLabel("To", { exact: true }).fill("07:00");
      await page.getByLabel("Time zone").selectOption("Europe/Paris");
      await page.getByRole("button", { name: "Save preferences" }).click();
      await page.getByText("Preferences saved.").waitFor();
      assert.equal(await page.getByLabel("Chat by email").isChecked(), false);
      assert.equal(await page.getByLabel("Time zone").inputValue(), "Europe/Paris");

      // Phone: the code goes to the outbox (no SMS provider); the admin reads it there.
      await page.getByLabel("Phone number").fill("+1 (415) 555-0199");
      await page.getByRole("button", { name: "Send code" }).click();
      await page.getByText("We sent a 6-digit code to +14155550199.").waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}notification-settings.png`, fullPage: true });
      const adminContext = await browser.newContext({ viewport: { width: 1100, height: 800 } });
      const outbox = await adminContext.newPage();
      outbox.on("pageerror", (e) => problems.push(`admin: ${e.message}`));
      await outbox.goto(`${server.url}/login?next=/admin/outbox`);
      await outbox.fill("input[name=email]", "admin@plaza.local");
      await outbox.fill("input[name=password]", (await server.account("admin")).password);
      await outbox.click("button[type=submit]");
      await outbox.waitForURL(`${server.url}/admin/outbox`);
      await outbox.getByTestId("outbox-table").waitFor();
      await outbox.screenshot({ path: `${SCREENSHOTS}admin-outbox.png`, fullPage: true });
      await outbox.getByRole("link", { name: /Your Plaza code is/ }).click();
      const text = await outbox.getByTestId("outbox-text").innerText();
      const code = /code is (\d{6})/.exec(text)?.[1];
      assert.ok(code, text);
      await page.getByLabel(/Code sent to/).fill(code);
      await page.getByRole("button", { name: "Verify" }).click();
      await page.getByText("Your number is verified.").waitFor();

      await outbox.goto(`${server.url}/admin/jobs?state=done`);
      await outbox.getByTestId("jobs-table").waitFor();
      assert.match(await outbox.getByTestId("jobs-table").innerText(), /notify-deliver/);
      await outbox.getByTestId("schedules-table").getByText("notifications-purge").waitFor();
      await outbox.screenshot({ path: `${SCREENSHOTS}admin-jobs.png`, fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});
