import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { freshDb } from "../support/db.ts";
import { hasChromium, launchBrowser, SCREENSHOTS, signUpInBrowser } from "../support/browser.ts";
import { startServer } from "../support/server.ts";

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

const DESKTOP = { width: 1100, height: 800 };
const messages = (page: Page) => page.locator('[data-testid="chat-message"]:not(.chat-system)');

Deno.test({
  name: "[e2e] chat: two people talk, see typing and receipts, and a reconnect loses nothing",
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
      const ana = await signUpInBrowser(browser, server.url, "Ana", problems, { viewport: DESKTOP });
      const ben = await signUpInBrowser(browser, server.url, "Ben", problems, { viewport: DESKTOP });

      // Ben's realtime socket goes through a switch the test can open and close.
      let online = true;
      const benSockets: { close(): Promise<void> }[] = [];
      await ben.routeWebSocket(/realtime\/v1\/websocket/, (ws) => {
        if (!online) return void ws.close();
        ws.connectToServer();
        benSockets.push(ws);
      });

      const room = await apiFrom(ana, "POST", "/api/v1/rooms", { name: "Book club", kind: "public" });
      assert.equal(room.status, 201);
      assert.equal((await apiFrom(ben, "POST", `/api/v1/rooms/${room.body.id}/join`)).status, 200);
      await ana.goto(`${server.url}/chat/${room.body.id}`);
      await ben.goto(`${server.url}/chat/${room.body.id}`);
      for (const [page, other] of [[ana, "Ben"], [ben, "Ana"]] as const) {
        await page.locator('[data-testid="chat-online"] li', { hasText: other }).waitFor();
      }

      // Typing shows on the other side; Enter sends; Shift+Enter is a new line.
      const composer = ana.getByTestId("composer");
      await composer.click();
      await composer.pressSequentially("Hello Ben", { delay: 20 });
      await ben.getByTestId("typing").filter({ hasText: "Ana is typing" }).waitFor();
      await composer.press("Shift+Enter");
      await composer.pressSequentially("second line");
      await composer.press("Enter");
      await messages(ben).filter({ hasText: "second line" }).waitFor();
      assert.equal(await composer.inputValue(), "");
      await ben.getByTestId("typing").filter({ hasText: /^$/ }).waitFor();
      assert.match(await messages(ben).last().innerText(), /Hello Ben\s+second line/);

      // Ben has the room open and visible: he reads it, and Ana sees it.
      await ana.getByTestId("seen-by").filter({ hasText: "Seen by Ben" }).waitFor();
      await ana.screenshot({ path: `${SCREENSHOTS}chat-seen-by.png` });

      await ben.getByTestId("composer").fill("Hi Ana 👋");
      await ben.getByTestId("send").click();
      await messages(ana).filter({ hasText: "Hi Ana" }).waitFor();

      // Ben drops off; Ana writes while he is away; he comes back with every message once.
      online = false;
      for (const s of benSockets.splice(0)) await s.close();
      await ben.getByTestId("chat-reconnecting").waitFor();
      await ben.screenshot({ path: `${SCREENSHOTS}chat-reconnecting.png` });
      const away = ["one while you were away", "two while you were away", "three while you were away"];
      for (const text of away) {
        await composer.fill(text);
        await composer.press("Enter");
        await messages(ana).filter({ hasText: text }).locator("xpath=self::*[@data-id]").waitFor();
      }
      online = true;
      await ben.getByTestId("chat-reconnecting").waitFor({ state: "detached", timeout: 30_000 });
      for (const text of away) await messages(ben).filter({ hasText: text }).waitFor();
      const ids = await messages(ben).evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-id"))));
      assert.equal(new Set(ids).size, ids.length, `no message twice: ${ids}`);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "in order");
      const history = await apiFrom(ben, "GET", `/api/v1/rooms/${room.body.id}/messages?limit=100`);
      const people = history.body.messages.filter((m: { kind: string }) => m.kind !== "system");
      assert.deepEqual(
        ids,
        people.map((m: { id: number }) => m.id).reverse(),
        "the same as the server's history",
      );

      // After the reconnect, live messages flow again.
      await composer.fill("and one more, live");
      await composer.press("Enter");
      await messages(ben).filter({ hasText: "and one more, live" }).waitFor();
      await ben.screenshot({ path: `${SCREENSHOTS}chat-after-reconnect.png` });
      assert.deepEqual(problems.filter((p) => !/WebSocket|ERR_INTERNET_DISCONNECTED|net::/.test(p)), []);
    } finally {
      await browser.close();
      await server.stop();
      await testDb.drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
