import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import {
  hasChromium,
  launchBrowser,
  SCREENSHOTS,
  signInInBrowser,
  signUpInBrowser,
} from "../support/browser.ts";
import { startDemoServer } from "../support/demo_server.ts";
import { DROPOFF, PICKUP } from "../support/orders.ts";
import { distanceM, interpolate } from "@/lib/location/geo.ts";

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

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

Deno.test({
  name: "[e2e] orders live: the partner shares their location and the customer watches them arrive",
  ignore: !hasChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    const server = await startDemoServer();
    const base = server.url;
    const browser = await launchBrowser();
    const problems: string[] = [];
    try {
      // The route: 14 steps of 50 m ending at the dropoff (about 17 m/s, no "jump").
      const start = interpolate(DROPOFF, PICKUP, 50)[14];
      const path = interpolate(start, DROPOFF, 50);
      assert.ok(distanceM(start, DROPOFF) > 600);

      // Customer places the order.
      const customer = await signUpInBrowser(browser, base, "Mia", problems, { viewport: DESKTOP });
      const placed = await apiFrom(customer, "POST", "/api/v1/orders", { pickup: PICKUP, dropoff: DROPOFF });
      assert.equal(placed.status, 201, JSON.stringify(placed.body));
      const orderId = placed.body.id as string;

      // The admin assigns it to the demo partner from the dispatch board.
      const adminContext = await browser.newContext({ viewport: DESKTOP });
      const admin = await signInInBrowser(
        adminContext,
        base,
        "/admin/dispatch",
        await server.account("admin"),
        problems,
        "admin",
      );
      await admin.getByTestId("dispatch-board").waitFor();
      await admin.locator(`[data-testid="dispatch-order"][data-order-id="${orderId}"]`).click();
      await admin.getByTestId("dispatch-hint").filter({ hasText: "Now pick a partner" }).waitFor();
      await admin.getByTestId("dispatch-partner").filter({ hasText: "Paco Partner" }).click();
      await admin.getByTestId("dispatch-notice").filter({ hasText: "Assigned to Paco Partner" }).waitFor();
      await admin.locator(`[data-testid="dispatch-order"][data-order-id="${orderId}"]`)
        .filter({ hasText: "Paco Partner" }).waitFor();

      // The partner steps through to "on the way to dropoff" and shares in high accuracy mode.
      const partnerContext = await browser.newContext({ viewport: PHONE });
      await partnerContext.grantPermissions(["geolocation"]);
      await partnerContext.setGeolocation({ latitude: start.lat, longitude: start.lng, accuracy: 20 });
      const partner = await signInInBrowser(
        partnerContext,
        base,
        "/partner",
        await server.account("partner"),
        problems,
        "partner",
      );
      const card = partner.locator(`[data-testid="partner-order"][data-order-id="${orderId}"]`);
      await card.waitFor();
      for (
        const [step, label] of [
          ["en_route_pickup", "On the way to pickup"],
          ["picked_up", "Picked up"],
          ["en_route_dropoff", "On the way to dropoff"],
        ]
      ) {
        await card.getByTestId(`step-${step}`).click();
        await card.getByTestId("order-status").filter({ hasText: label }).waitFor();
      }
      // The customer follows on the order page: nothing to see until the partner shares.
      await customer.goto(`${base}/orders/${orderId}`);
      const map = customer.getByTestId("order-map");
      await map.waitFor();
      assert.equal(await map.getAttribute("data-lat"), null);

      await partner.getByTestId("mode-high").click();
      assert.equal(await partner.getByTestId("mode-high").getAttribute("aria-checked"), "true");
      await card.getByRole("button", { name: "Start sharing location" }).click();
      await card.getByRole("button", { name: "Stop" }).waitFor();
      await partner.getByTestId("last-fix").filter({ hasText: /Last fix .*±20 m/ }).waitFor();
      await card.getByTestId("sent").filter({ hasText: /^[1-9]/ }).waitFor({ timeout: 15_000 });
      // Headless Chromium grants the lock or says it has none; either is shown.
      assert.match(
        await partner.getByTestId("wake-lock").innerText(),
        /Screen (stays on|lock not supported|may sleep)/,
      );

      const markerNear = (p: { lat: number; lng: number }) =>
        customer.waitForFunction(
          ([lat, lng]) => {
            const el = document.querySelector('[data-testid="order-map"]') as HTMLElement | null;
            return !!el && Math.abs(Number(el.dataset.lat) - lat) < 0.0002 &&
              Math.abs(Number(el.dataset.lng) - lng) < 0.0002;
          },
          [p.lat, p.lng],
          { timeout: 15_000 },
        );
      await partnerContext.setGeolocation({ latitude: path[1].lat, longitude: path[1].lng, accuracy: 20 });
      await markerNear(path[1]);

      for (const p of path.slice(2, 8)) {
        await partnerContext.setGeolocation({ latitude: p.lat, longitude: p.lng, accuracy: 20 });
        await partner.waitForTimeout(600);
      }
      await markerNear(path[7]);
      assert.equal(await customer.getByTestId("arrival-notice").count(), 0, "not there yet");
      await partner.screenshot({ path: `${SCREENSHOTS}partner-390.png`, fullPage: true });

      for (const p of path.slice(8)) {
        await partnerContext.setGeolocation({ latitude: p.lat, longitude: p.lng, accuracy: 20 });
        await partner.waitForTimeout(600);
      }
      await customer.getByTestId("arrival-notice").waitFor({ timeout: 15_000 });
      const lastLat = Number(await map.getAttribute("data-lat"));
      assert.ok(Math.abs(lastLat - DROPOFF.lat) < 0.0005, `the marker ends at the dropoff (${lastLat})`);
      await customer.screenshot({ path: `${SCREENSHOTS}orders-live-customer.png`, fullPage: true });

      // The API agrees: the position is the partner's last, and the arrival is recorded.
      const track = await apiFrom(customer, "GET", `/api/v1/orders/${orderId}/track`);
      assert.equal(track.status, 200);
      assert.ok(track.body.arrived.dropoff, "arrived at the dropoff");
      assert.ok(distanceM(track.body.position, DROPOFF) < 60, JSON.stringify(track.body.position));
      assert.equal(await card.getByTestId("queued").innerText(), "0");

      // Screenshots of both pages at both widths.
      await partner.setViewportSize(DESKTOP);
      await partner.screenshot({ path: `${SCREENSHOTS}partner-1280.png`, fullPage: true });
      await admin.reload();
      await admin.locator('[data-testid="dispatch-partner-marker"]').first().waitFor();
      await admin.screenshot({ path: `${SCREENSHOTS}dispatch-1280.png`, fullPage: true });
      await admin.setViewportSize(PHONE);
      await admin.screenshot({ path: `${SCREENSHOTS}dispatch-390.png`, fullPage: true });

      // Delivered: sharing stops and the order leaves the console.
      await card.getByTestId("step-delivered").click();
      await card.waitFor({ state: "detached" });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});
