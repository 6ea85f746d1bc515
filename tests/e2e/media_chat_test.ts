import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { freshDb } from "../support/db.ts";
import { hasChromium, launchBrowser, signUpInBrowser } from "../support/browser.ts";
import { eventBody } from "../support/events.ts";
import { jpegBytes } from "../support/images.ts";
import { startServer } from "../support/server.ts";

/** Screenshots of this test, looked at by people (not compared). */
const SHOTS = "/tmp/shots/";

/** Calls the JSON API from the page (its cookies, same origin). */
function apiFrom(page: Page, method: string, path: string, body?: unknown) {
  return page.evaluate(async ([method, path, body]) => {
    const res = await fetch(path as string, {
      method: method as string,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, [method, path, body] as const);
}

/** Drops a JPEG built from `bytes` on the element `selector`, as a file dragged from the desktop. */
function dropFile(page: Page, selector: string, bytes: Uint8Array, name: string) {
  return page.evaluate(async ([selector, data, name]) => {
    const target = document.querySelector(selector as string)!;
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(data as number[])], name as string, { type: "image/jpeg" }));
    for (const type of ["dragenter", "dragover"]) {
      target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
    // The highlight shows once the island has re-rendered.
    await new Promise((ok) => setTimeout(ok, 100));
    const highlighted = target.closest(".chat-drop, .dragging") !== null;
    target.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    return highlighted;
  }, [selector, [...bytes], name] as const);
}

const messages = (page: Page) => page.locator('[data-testid="chat-message"]:not(.chat-system)');

Deno.test({
  name: "[e2e] media: a dropped photo is sent in chat, the other side sees it and opens the lightbox",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "plaza-e2e-" });
    await Deno.mkdir(SHOTS, { recursive: true });
    const testDb = await freshDb();
    // The server runs the embedded job runner, so `media-process` jobs run by themselves.
    const server = await startServer({ PLAZA_DATA_DIR: dataDir, DATABASE_URL: testDb.url ?? "" });
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      const ana = await signUpInBrowser(browser, server.url, "Ana", problems);
      const ben = await signUpInBrowser(browser, server.url, "Ben", problems, {
        viewport: { width: 1280, height: 860 },
      });
      const room = await apiFrom(ana, "POST", "/api/v1/rooms", { name: "Photos", kind: "public" });
      assert.equal(room.status, 201);
      assert.equal((await apiFrom(ben, "POST", `/api/v1/rooms/${room.body.id}/join`)).status, 200);
      for (const page of [ana, ben]) {
        await page.goto(`${server.url}/chat/${room.body.id}`);
        await page.locator('[data-island="ChatApp"][data-hydrated]').waitFor();
        await page.getByTestId("composer").waitFor();
      }
      await ana.locator('[data-testid="chat-online"] li', { hasText: "Ben" }).waitFor();

      // Ana drags a photo onto the conversation: it joins the tray, uploads, and is processed.
      const photo = await jpegBytes(1200, 800, { pattern: "marked" });
      assert.equal(await dropFile(ana, '[data-testid="chat-messages"]', photo, "harbour.jpg"), true);
      const item = ana.getByTestId("tray-item");
      await item.waitFor();
      assert.equal(
        await item.locator("img").evaluate((img: HTMLImageElement) => img.src.startsWith("blob:")),
        true,
      );
      await ana.getByTestId("tray-busy").waitFor();
      assert.equal(await ana.getByTestId("send").isDisabled(), true);
      await ana.screenshot({ path: `${SHOTS}chat-tray-390.png` });
      await item.locator('[data-testid="tray-state"]', { hasText: "Ready" }).waitFor({ timeout: 60_000 });
      await ana.screenshot({ path: `${SHOTS}chat-tray-ready-390.png` });
      const send = ana.getByTestId("send");
      assert.equal(await send.isDisabled(), false);
      await ana.getByTestId("composer").fill("The harbour this morning");
      await send.click();
      await ana.getByTestId("attachment-tray").waitFor({ state: "detached" });

      // Ben sees the thumbnail load in the message, then opens it.
      const msg = messages(ben).filter({ hasText: "The harbour this morning" });
      await msg.waitFor();
      const thumb = msg.locator('[data-testid="attachment-image"] img');
      await thumb.waitFor();
      await ben.waitForFunction(
        (el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0,
        await thumb.elementHandle(),
      );
      assert.match((await thumb.getAttribute("src")) ?? "", /\/media\/[0-9a-f-]{36}\/thumb\?exp=\d+&sig=/);
      await ben.screenshot({ path: `${SHOTS}chat-message-1280.png` });
      await ana.locator('[data-testid="attachment-image"] img').waitFor();
      await ana.screenshot({ path: `${SHOTS}chat-message-390.png` });

      await msg.getByTestId("attachment-image").click();
      const box = ben.getByTestId("lightbox");
      await box.waitFor();
      await ben.waitForFunction(() => {
        const img = document.querySelector<HTMLImageElement>('[data-testid="lightbox"] img');
        return !!img && img.complete && img.naturalWidth > 0;
      });
      await ben.screenshot({ path: `${SHOTS}chat-lightbox-1280.png` });
      await ben.keyboard.press("Escape");
      await box.waitFor({ state: "detached" });

      // A message with only a photo (no text) works too, and shows for Ben after a reload (history).
      assert.equal(await dropFile(ana, '[data-testid="composer"]', photo, "again.jpg"), true);
      await ana.getByTestId("tray-item").locator('[data-testid="tray-state"]', { hasText: "Ready" })
        .waitFor({ timeout: 60_000 });
      await ana.getByTestId("send").click();
      await ben.reload();
      await messages(ben).locator('[data-testid="attachment-image"] img').nth(1).waitFor();

      // A moderator hides the first photo: Ben sees a placeholder instead, the second stays.
      const firstId = /\/media\/([0-9a-f-]{36})\//.exec((await thumb.getAttribute("src")) ?? "")![1];
      // (Hidden media is left out of `/media/urls` for everyone but its owner and admins, which the
      // media API tests cover; here the response is filtered as the server would.)
      await ben.route("**/api/v1/media/urls?*", async (route) => {
        const res = await route.fetch();
        const body = await res.json();
        body.items = body.items.filter((i: { id: string }) => i.id !== firstId);
        await route.fulfill({ response: res, json: body });
      });
      await ben.reload();
      await msg.getByTestId("attachment-removed").filter({ hasText: "Removed by a moderator" }).waitFor();
      assert.equal(await msg.getByTestId("attachment-image").count(), 0);
      await messages(ben).locator('[data-testid="attachment-image"] img').first().waitFor();
      await ben.screenshot({ path: `${SHOTS}chat-removed-1280.png` });
      await ben.unroute("**/api/v1/media/urls?*");

      // The event page with a cover, and the organizer's form with the picker.
      const cover = await apiFrom(ana, "GET", "/api/v1/media?limit=1");
      const mediaId = cover.body.items[0].id;
      const created = await apiFrom(ana, "POST", "/api/v1/events", eventBody({ cover_media_id: mediaId }));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const eventUrl = `${server.url}/events/${created.body.event.id}`;
      for (const [page, width] of [[ana, 390], [ben, 1280]] as const) {
        await page.goto(eventUrl);
        await page.waitForFunction(() => {
          const img = document.querySelector<HTMLImageElement>('[data-testid="event-cover"]');
          return !!img && img.complete && img.naturalWidth > 0;
        });
        await page.screenshot({ path: `${SHOTS}event-cover-${width}.png` });
      }
      for (const [page, width] of [[ana, 390], [ben, 1280]] as const) {
        await page.goto(`${server.url}/events`);
        const card = page.getByTestId("event-card-cover");
        await card.waitFor();
        assert.match((await card.getAttribute("src")) ?? "", /\/thumb\?event=/);
        await page.screenshot({ path: `${SHOTS}event-list-${width}.png` });
      }
      await ben.goto(`${server.url}/events/new`);
      await ben.locator('[data-island="CoverPicker"][data-hydrated]').waitFor();
      await ben.getByTestId("cover-picker").scrollIntoViewIfNeeded();
      await ben.screenshot({ path: `${SHOTS}event-form-empty-1280.png` });
      await ana.goto(`${eventUrl}/edit`);
      await ana.locator('[data-island="CoverPicker"][data-hydrated]').waitFor();
      await ana.getByTestId("cover-preview").waitFor();
      await ana.getByTestId("cover-picker").scrollIntoViewIfNeeded();
      await ana.screenshot({ path: `${SHOTS}event-form-cover-390.png` });

      // A new cover dropped on the picker replaces the old one.
      await ana.getByTestId("cover-remove").click();
      assert.equal(await ana.locator('input[name="cover_media_id"]').inputValue(), "");
      assert.equal(await dropFile(ana, '[data-testid="cover-picker"]', photo, "cover.jpg"), true);
      await ana.getByTestId("cover-preview").waitFor({ timeout: 60_000 });
      const newId = await ana.locator('input[name="cover_media_id"]').inputValue();
      assert.match(newId, /^[0-9a-f-]{36}$/);
      assert.notEqual(newId, mediaId);
      await ana.getByTestId("cover-picker").scrollIntoViewIfNeeded();
      await ana.screenshot({ path: `${SHOTS}event-form-new-cover-390.png` });
      await ana.getByRole("button", { name: "Save changes" }).click();
      await ana.waitForURL(eventUrl);
      assert.match((await ana.getByTestId("event-cover").getAttribute("src")) ?? "", new RegExp(newId));

      assert.deepEqual(problems.filter((p) => !/WebSocket|net::/.test(p)), []);
    } finally {
      await browser.close();
      await server.stop();
      await testDb.drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
