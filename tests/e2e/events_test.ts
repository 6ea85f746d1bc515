import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { freshDb } from "../support/db.ts";
import { hasChromium, launchBrowser, SCREENSHOTS, signUpInBrowser } from "../support/browser.ts";
import { eventBody } from "../support/events.ts";
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

const counts = (page: Page) => page.getByTestId("rsvp-counts");
const state = (page: Page) => page.getByTestId("rsvp-state");
const answer = (page: Page, label: string) =>
  page.getByTestId("rsvp-panel").getByRole("button", { name: label, exact: true });

Deno.test({
  name: "[e2e] events: RSVPs update the other page live, the waitlist moves up when a seat frees",
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
      const org = await signUpInBrowser(browser, server.url, "Olga", problems);
      const created = await apiFrom(
        org,
        "POST",
        "/api/v1/events",
        eventBody({ title: "One seat", capacity: 1 }),
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const url = `${server.url}/events/${created.body.event.id}`;

      const ana = await signUpInBrowser(browser, server.url, "Ana", problems);
      const ben = await signUpInBrowser(browser, server.url, "Ben", problems);
      for (const page of [ana, ben]) {
        await page.goto(url);
        await page.locator('[data-island="RsvpPanel"][data-hydrated]').waitFor();
        await counts(page).filter({ hasText: "0 going · 1 left" }).waitFor();
      }

      // Ana takes the only seat; Ben's page shows it without a reload.
      await answer(ana, "Going").click();
      await state(ana).filter({ hasText: "You're going" }).waitFor();
      assert.equal(await answer(ana, "Going").getAttribute("aria-pressed"), "true");
      await counts(ben).filter({ hasText: "Full" }).waitFor();

      // Ben joins the waitlist.
      await answer(ben, "Going").click();
      await state(ben).filter({ hasText: "You're #1 on the waitlist" }).waitFor();
      await counts(ana).filter({ hasText: "Full · 1 on the waitlist" }).waitFor();
      await ben.screenshot({ path: `${SCREENSHOTS}events-waitlisted.png` });

      // Ana cannot go after all: Ben moves up, live.
      await answer(ana, "Can't go").click();
      await state(ana).filter({ hasText: "can't go" }).waitFor();
      await state(ben).filter({ hasText: "You're going" }).waitFor({ timeout: 15_000 });
      await counts(ben).filter({ hasText: "Full" }).waitFor();
      await ben.screenshot({ path: `${SCREENSHOTS}events-promoted.png` });

      // An API error shows its message.
      await ben.locator('input[name="guests"]').fill("3");
      await answer(ben, "Going").click();
      await ben.getByTestId("rsvp-error").filter({ hasText: "Not enough seats" }).waitFor();

      assert.deepEqual(problems.filter((p) => !/WebSocket|net::|409/.test(p)), []);
    } finally {
      await browser.close();
      await server.stop();
      await testDb.drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
