import assert from "node:assert/strict";
import { freshDb } from "../support/db.ts";
import { hasChromium, launchBrowser, SCREENSHOTS, signUpInBrowser } from "../support/browser.ts";
import { jpegBytes } from "../support/images.ts";
import { startServer } from "../support/server.ts";

const SHOTS = "/tmp/shots/";

Deno.test({
  name: "[e2e] media: upload a JPEG, see it ready, browse it in the lightbox, switch to the list",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "plaza-e2e-" });
    const files = await Deno.makeTempDir({ prefix: "plaza-e2e-files-" });
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    await Deno.mkdir(SHOTS, { recursive: true });
    const testDb = await freshDb();
    const server = await startServer({ PLAZA_DATA_DIR: dataDir, DATABASE_URL: testDb.url ?? "" });
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      const page = await signUpInBrowser(browser, server.url, "Mia", problems);
      await page.goto(`${server.url}/media`);
      await page.locator('[data-island="MediaUploader"][data-hydrated]').waitFor();
      await page.locator('[data-island="MediaLibrary"][data-hydrated]').waitFor();
      await page.getByTestId("media-empty").waitFor();

      // Two photos (one wide, one tall), chosen through the file input.
      const wide = `${files}/harbour.jpg`;
      const tall = `${files}/tower.jpg`;
      await Deno.writeFile(wide, await jpegBytes(1600, 900));
      await Deno.writeFile(tall, await jpegBytes(600, 1000, { pattern: "marked" }));
      await page.getByTestId("file-input").setInputFiles([wide, tall]);
      const rows = page.getByTestId("upload-row");
      await rows.filter({ hasText: "harbour.jpg" }).filter({ hasText: "Ready ✓" }).waitFor({
        timeout: 60_000,
      });
      await rows.filter({ hasText: "tower.jpg" }).filter({ hasText: "Ready ✓" }).waitFor({ timeout: 60_000 });

      // Both appear in the grid, ready, with thumbnails.
      const items = page.getByTestId("media-item");
      await items.filter({ hasText: "harbour.jpg" }).locator("img").waitFor();
      await items.filter({ hasText: "tower.jpg" }).locator("img").waitFor();
      assert.equal(await items.count(), 2);
      assert.equal(await page.locator('[data-testid="media-item"][data-status="ready"]').count(), 2);
      // Wait for the thumbnails to have loaded.
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLImageElement>(".media-thumb img")].every((i) =>
          i.complete && i.naturalWidth > 0
        )
      );

      // A client-side refusal: an empty file, with the API's wording.
      const empty = `${files}/empty.jpg`;
      await Deno.writeFile(empty, new Uint8Array());
      await page.getByTestId("file-input").setInputFiles(empty);
      await rows.filter({ hasText: "empty.jpg" }).filter({ hasText: "Failed: The file is empty." }).waitFor();
      await page.evaluate(() => scrollTo(0, 0));
      await page.screenshot({ path: `${SHOTS}media-grid-390.png`, fullPage: true });

      // The lightbox from the first tile: → goes to the other photo, Escape closes, focus returns.
      const firstName = (await items.first().locator(".media-name").textContent())!;
      const otherName = firstName === "tower.jpg" ? "harbour.jpg" : "tower.jpg";
      await items.first().locator("a.media-thumb").click();
      const box = page.getByTestId("lightbox");
      await box.waitFor();
      assert.equal(await page.getByTestId("lightbox-count").textContent(), "1 / 2");
      await page.waitForFunction(() => {
        const img = document.querySelector<HTMLImageElement>(".lightbox-img");
        return !!img && img.complete && img.naturalWidth > 0;
      });
      await page.screenshot({ path: `${SHOTS}media-lightbox-390.png` });
      await page.keyboard.press("ArrowRight");
      await page.getByTestId("lightbox-count").filter({ hasText: "2 / 2" }).waitFor();
      assert.match(await box.getAttribute("aria-label") ?? "", new RegExp(otherName));
      await page.keyboard.press("Escape");
      await box.waitFor({ state: "detached" });
      // Focus returns to the opener.
      await page.waitForFunction(
        (label) => document.activeElement?.getAttribute("aria-label") === label,
        `View ${firstName}`,
        { timeout: 5_000 },
      );
      assert.equal(await page.evaluate(() => document.body.classList.contains("lightbox-open")), false);

      // List view, remembered across a reload.
      await page.getByRole("button", { name: "List", exact: true }).click();
      await page.locator('[data-testid="media-items"][data-view="list"]').waitFor();
      await page.reload();
      await page.locator('[data-island="MediaLibrary"][data-hydrated]').waitFor();
      await page.locator('[data-testid="media-items"][data-view="list"]').waitFor();
      await page.evaluate(() => scrollTo(0, 0));
      await page.screenshot({ path: `${SHOTS}media-list-390.png`, fullPage: true });

      // Wide screen: grid and lightbox.
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.getByRole("button", { name: "Grid", exact: true }).click();
      await page.locator('[data-testid="media-items"][data-view="grid"]').waitFor();
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLImageElement>(".media-thumb img")].every((i) =>
          i.complete && i.naturalWidth > 0
        )
      );
      await page.evaluate(() => scrollTo(0, 0));
      await page.screenshot({ path: `${SHOTS}media-grid-1280.png`, fullPage: true });
      await items.filter({ hasText: "harbour.jpg" }).locator("a.media-thumb").click();
      await box.waitFor();
      await page.waitForFunction(() => {
        const img = document.querySelector<HTMLImageElement>(".lightbox-img");
        return !!img && img.complete && img.naturalWidth > 0;
      });
      await page.screenshot({ path: `${SHOTS}media-lightbox-1280.png` });
      await page.getByRole("button", { name: "Zoom in" }).click();
      await page.screenshot({ path: `${SHOTS}media-lightbox-zoom-1280.png` });
      await page.getByRole("button", { name: "Close" }).click();
      await box.waitFor({ state: "detached" });

      // Images filter (a link, handled in place).
      await page.getByRole("link", { name: "PDFs" }).click();
      await page.getByTestId("media-empty").waitFor();
      assert.match(page.url(), /\?kind=pdf$/);

      assert.deepEqual(problems.filter((p) => !/WebSocket|net::/.test(p)), []);
    } finally {
      await browser.close();
      await server.stop();
      await testDb.drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      await Deno.remove(files, { recursive: true }).catch(() => {});
    }
  },
});
