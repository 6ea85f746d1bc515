import assert from "node:assert/strict";
import { quietUntil } from "./preferences.ts";
import { emailFor, renderTemplate, smsFor } from "./templates.ts";

Deno.test("[preferences] quiet hours hold inside the window, across midnight, in the person's time zone", () => {
  const paris = (start: string, end: string) => ({
    timezone: "Europe/Paris",
    quietStart: start,
    quietEnd: end,
  });
  // 2026-11-21 22:30 UTC is 23:30 in Paris (UTC+1 in winter).
  const at = new Date("2026-11-21T22:30:00Z");
  assert.equal(quietUntil(paris("22:00", "07:00"), at)?.toISOString(), "2026-11-22T06:00:00.000Z");
  assert.equal(quietUntil(paris("23:45", "07:00"), at), null, "not yet quiet");
  assert.equal(quietUntil(paris("12:00", "14:00"), at), null);
  assert.equal(quietUntil(paris("23:00", "23:59"), at)?.toISOString(), "2026-11-21T22:59:00.000Z");
  assert.equal(quietUntil({ timezone: "UTC", quietStart: null, quietEnd: null }, at), null);
  assert.equal(quietUntil(paris("08:00", "08:00"), at), null, "an empty window is no window");
  // In summer Paris is UTC+2: 05:30 UTC is 07:30 local, after a 22:00-07:00 window.
  assert.equal(quietUntil(paris("22:00", "07:00"), new Date("2026-07-01T05:30:00Z")), null);
  assert.equal(
    quietUntil(paris("22:00", "07:00"), new Date("2026-07-01T04:30:00Z"))?.toISOString(),
    "2026-07-01T05:00:00.000Z",
  );
});

Deno.test("[templates] every channel says the same thing, escaped and bounded", () => {
  const n = renderTemplate("system.announcement", {
    title: "<b>Hi</b> & welcome",
    body: "Line one\nLine two",
    url: "/chat",
  });
  const email = emailFor(n, "https://plaza.example.org");
  assert.equal(email.subject, "<b>Hi</b> & welcome");
  assert.match(email.html, /&lt;b&gt;Hi&lt;\/b&gt; &amp; welcome/);
  assert.doesNotMatch(email.html, /<b>Hi/);
  assert.match(email.html, /Line one<br>Line two/);
  assert.match(email.text, /Open: https:\/\/plaza\.example\.org\/chat/);
  const sms = smsFor({ title: "T", body: "x".repeat(1000), url: "/chat" }, "https://plaza.example.org");
  assert.ok(sms.length <= 300, `${sms.length}`);
  assert.match(sms, /…/);
  assert.match(sms, /https:\/\/plaza\.example\.org\/chat$/);
  assert.throws(() => renderTemplate("system.announcement", { title: "x", url: "https://evil.example" }));
  assert.throws(() => renderTemplate("system.announcement", { title: "x", url: "//evil.example" }));
});

Deno.test("[preferences] quiet hours end at the local end time across daylight-saving changes", () => {
  const paris = { timezone: "Europe/Paris", quietStart: "22:00", quietEnd: "07:00" };
  // Night of 2025-10-25/26: clocks go back at 03:00; 07:00 local is 06:00 UTC.
  assert.equal(
    quietUntil(paris, new Date("2025-10-25T20:30:00Z"))?.toISOString(),
    "2025-10-26T06:00:00.000Z",
  );
  // Night of 2026-03-28/29: clocks go forward at 02:00; 07:00 local is 05:00 UTC.
  assert.equal(
    quietUntil(paris, new Date("2026-03-28T21:30:00Z"))?.toISOString(),
    "2026-03-29T05:00:00.000Z",
  );
  // An unknown zone (written around the API) is read as UTC rather than failing every delivery.
  assert.equal(
    quietUntil(
      { timezone: "Not/AZone", quietStart: "22:00", quietEnd: "07:00" },
      new Date("2026-01-01T23:00:00Z"),
    )
      ?.toISOString(),
    "2026-01-02T07:00:00.000Z",
  );
});
