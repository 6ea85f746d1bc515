import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { hasChromium, launchBrowser, signInInBrowser } from "../support/browser.ts";
import { startDemoServer } from "../support/demo_server.ts";

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

/** Waits until every chart of the dashboard is drawn by uPlot with `points` days. */
async function chartsDrawn(page: Page, points: number) {
  await page.waitForFunction((n) => {
    const charts = [...document.querySelectorAll<HTMLElement>("[data-chart]")];
    return charts.length > 0 && charts.every((c) =>
      c.dataset.points === String(n) &&
      c.querySelector<HTMLElement>(`.analytics-chart-canvas[data-drawn="${n}"] canvas`)
    );
  }, points);
}

const range = (page: Page) =>
  page.getByTestId("analytics").evaluate((
    el,
  ) => [el.dataset.rangeFrom, el.dataset.rangeTo, el.dataset.section]);

/** No part of the page is wider than the viewport. */
async function noOverflow(page: Page, width: number) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= width, `the page is ${wide} px wide at ${width} px`);
}

Deno.test({
  name: "[e2e] analytics dashboard: charts, presets and sections switch in place, phone and desktop",
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
        "/admin/analytics",
        await server.account("admin"),
        problems,
        "admin",
      );

      // Server-rendered 30 days, then drawn by uPlot.
      await chartsDrawn(page, 30);
      assert.equal(await page.locator("[data-chart]").count(), 3);
      assert.equal(await page.locator("[data-chart] canvas").count() >= 3, true);
      assert.equal(await page.getByTestId("live-active").count(), 1);
      const kpis = await page.locator("[data-kpi]").count();
      assert.equal(kpis, 8);
      assert.match(await page.locator('[data-kpi="page_views"] .kpi-value').innerText(), /^[\d,]+$/);
      await page.screenshot({ path: "/tmp/analytics-1280.png", fullPage: true });

      // 7 days: the charts redraw in place, the URL follows.
      const before = await range(page);
      await page.click('[data-preset="7"]');
      await chartsDrawn(page, 7);
      await page.waitForURL(/range=7/);
      const week = await range(page);
      assert.notDeepEqual(week, before);
      assert.equal(await page.locator('[data-preset="7"]').getAttribute("aria-current"), "true");
      assert.match(await page.locator('[data-kpi="page_views"] .kpi-vs').innerText(), /previous 7 days/);

      // 90 days.
      await page.click('[data-preset="90"]');
      await chartsDrawn(page, 90);
      await page.waitForURL(/range=90/);

      // The events section, same range; then back.
      await page.click('[data-section-tab="events"]');
      await page.waitForURL(/section=events/);
      await page.waitForFunction(() =>
        document.querySelector<HTMLElement>("[data-testid=analytics]")?.dataset.section === "events"
      );
      await chartsDrawn(page, 90);
      assert.equal(await page.locator('[data-chart="rsvps"]').count(), 1);
      await page.getByText("Show-up rate (events held)").waitFor();
      await page.screenshot({ path: "/tmp/analytics-events-1280.png", fullPage: true });
      await page.goBack();
      await page.waitForFunction(() =>
        document.querySelector<HTMLElement>("[data-testid=analytics]")?.dataset.section === "overview"
      );
      await chartsDrawn(page, 90);

      // A custom range through the form (the island fetches, no reload).
      await page.fill('.analytics-custom input[name="from"]', "2026-01-01");
      await page.fill('.analytics-custom input[name="to"]', "2026-01-14");
      await page.click('.analytics-custom button[type="submit"]');
      await chartsDrawn(page, 14);
      await page.waitForURL(/from=2026-01-01&to=2026-01-14/);
      // An invalid one: a clear message, the dashboard stays.
      await page.fill('.analytics-custom input[name="from"]', "2024-01-01");
      await page.fill('.analytics-custom input[name="to"]', "2026-01-14");
      await page.click('.analytics-custom button[type="submit"]');
      await page.getByTestId("analytics-error").filter({ hasText: "400 days" }).waitFor();
      assert.equal(await page.locator('[data-chart][data-points="14"]').count(), 3);
      await noOverflow(page, DESKTOP.width);

      // Phone.
      const phone = await browser.newContext({ viewport: PHONE, storageState: await context.storageState() });
      const small = await phone.newPage();
      small.on("pageerror", (e) => problems.push(`phone: ${e.message}`));
      await small.goto(`${base}/admin/analytics?range=30`);
      await chartsDrawn(small, 30);
      await noOverflow(small, PHONE.width);
      const columns = await small.locator(".analytics-kpis").evaluate((el) =>
        getComputedStyle(el).gridTemplateColumns.split(" ").length
      );
      assert.equal(columns, 2, "two KPI columns on a phone");
      const canvasWidth = await small.locator('[data-chart="traffic"] canvas').first().evaluate((c) =>
        c.getBoundingClientRect().width
      );
      assert.ok(canvasWidth > 250 && canvasWidth <= 390, `the chart fits the phone (${canvasWidth} px)`);
      await small.screenshot({ path: "/tmp/analytics-390.png", fullPage: true });
      await small.screenshot({ path: "/tmp/analytics-390-top.png" });
      await small.locator('[data-chart="traffic"]').scrollIntoViewIfNeeded();
      await small.screenshot({ path: "/tmp/analytics-390-chart.png" });
      await small.locator('[data-table="top_pages"]').scrollIntoViewIfNeeded();
      await small.screenshot({ path: "/tmp/analytics-390-table.png" });
      await small.goto(`${base}/admin/analytics?range=30&section=community`);
      await chartsDrawn(small, 30);
      await noOverflow(small, PHONE.width);
      await small.screenshot({ path: "/tmp/analytics-community-390.png", fullPage: true });
      // Dark mode, desktop.
      await page.emulateMedia({ colorScheme: "dark" });
      await page.goto(`${base}/admin/analytics?range=30&section=media`);
      await chartsDrawn(page, 30);
      await page.screenshot({ path: "/tmp/analytics-media-dark-1280.png", fullPage: true });

      // The invalid range above answered 422 on purpose.
      assert.deepEqual(problems.filter((p) => !/WebSocket|realtime|status of 422/i.test(p)), []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});
