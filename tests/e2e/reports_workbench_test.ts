/** The SQL report workbench in Chromium: write, declare, run, chart, save, and a SQL error. */
import assert from "node:assert/strict";
import { hasChromium, launchBrowser, signInInBrowser } from "../support/browser.ts";
import { startDemoServer } from "../support/demo_server.ts";

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

Deno.test({
  name: "[e2e] reports workbench: run a parameterized query, see the table and chart, save, fix an error",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const server = await startDemoServer();
    const base = server.url;
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      const context = await browser.newContext({ viewport: DESKTOP });
      const page = await signInInBrowser(
        context,
        base,
        "/admin/reports/new",
        await server.account("admin"),
        problems,
        "admin",
      );
      await page.locator('[data-testid="report-workbench"][data-ready="true"]').waitFor();

      await page.getByTestId("report-name").fill("Daily messages");
      const sql = page.getByTestId("report-sql");
      await sql.click();
      await page.keyboard.type("select day, value from daily_metrics\nwhere metric = {{metric}}");
      await page.keyboard.press("Enter");
      await page.keyboard.press("Tab");
      await page.keyboard.type("and day <@ {{period}} order by day");
      assert.match(await sql.inputValue(), /\n {2}and day <@/, "Tab inserts two spaces");

      // Declare both parameters from the hints, the second as a date range.
      await page.getByRole("button", { name: "Declare {{metric}}" }).click();
      await page.getByRole("button", { name: "Declare {{period}}" }).click();
      await page.getByTestId("param-type").nth(1).selectOption("date_range");
      const today = new Date();
      const from = new Date(today.getTime() - 20 * 86_400_000).toISOString().slice(0, 10);
      const to = today.toISOString().slice(0, 10);
      await page.locator("#rw-value-metric").fill("messages");
      await page.getByLabel("period: from").fill(from);
      await page.getByLabel("period: to").fill(to);

      await sql.click();
      await page.keyboard.press("Control+Enter");
      const table = page.getByTestId("report-table");
      await table.waitFor();
      const rows = await table.locator("tbody tr").count();
      assert.ok(rows >= 10, `the demo data has daily messages (${rows} rows)`);
      assert.match(await page.getByTestId("report-summary").innerText(), /\d+ rows · \d+ ms/);
      await page.locator('[data-testid="report-chart"][data-kind="line"] canvas').first().waitFor();
      assert.equal(await table.locator("th.num").innerText(), "value");

      await page.screenshot({ path: "/tmp/reports-1280.png", fullPage: true });

      // Save: the address becomes the report's.
      await page.getByTestId("report-save").click();
      await page.getByTestId("report-notice").filter({ hasText: "Saved “Daily messages”" }).waitFor();
      await page.waitForURL(/\/admin\/reports\/[0-9a-f-]{36}$/);
      // Saved and unchanged: the run goes through GET /:id/run and offers the CSV.
      await page.getByTestId("report-run").click();
      await page.getByTestId("report-csv").waitFor();
      const href = await page.getByTestId("report-csv").getAttribute("href");
      assert.match(href!, new RegExp(`/run\\.csv\\?metric=messages&period=${from}\\.\\.${to}$`));

      // A syntax error: the message and where it is; the text stays.
      await sql.click();
      await page.keyboard.press("Control+End");
      await page.keyboard.type(" limitt 5");
      const broken = await sql.inputValue();
      await page.getByTestId("report-run").click();
      const error = page.getByTestId("report-error");
      await error.waitFor();
      assert.match(await error.innerText(), /syntax error/);
      assert.equal(await sql.inputValue(), broken, "the editor keeps the text");
      const pointer = await page.getByTestId("report-error-pointer").innerText();
      assert.match(pointer, /order by day limitt 5/);
      assert.match(await error.innerText(), /Line 3, column/);
      await page.screenshot({ path: "/tmp/reports-error-1280.png", fullPage: true });

      // A bar list: text column and one number column.
      await sql.fill(
        "select metric, sum(value) as total from daily_metrics where day <@ {{period}} group by 1 order by 2 desc",
      );
      await page.getByRole("button", { name: "Remove parameter metric" }).click();
      await page.getByTestId("report-run").click();
      await page.locator('[data-testid="report-chart"][data-kind="bars"]').waitFor();

      // Phone width.
      await page.setViewportSize(PHONE);
      await page.waitForTimeout(300);
      await page.screenshot({ path: "/tmp/reports-390.png", fullPage: true });
      const overflow = await page.evaluate(() =>
        document.documentElement.scrollWidth - globalThis.innerWidth
      );
      assert.ok(overflow <= 1, `no sideways scrolling of the page at 390 px (${overflow}px)`);

      // The list shows the saved report.
      await page.goto(`${base}/admin/reports`);
      await page.getByTestId("report-list").filter({ hasText: "Daily messages" }).waitFor();
      await page.screenshot({ path: "/tmp/reports-list-390.png", fullPage: true });
      assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});
