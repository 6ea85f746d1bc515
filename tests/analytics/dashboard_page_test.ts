/** The analytics dashboard page (routes/pages/admin_analytics.tsx) and its CSV links. */
import assert from "node:assert/strict";
import { rollupPending } from "@/lib/analytics/rollup.ts";
import { appTest } from "../support/app.ts";
import { browser, randomAdmin, randomUser } from "../support/factories.ts";

const html = (cookies: string) => ({ headers: browser(cookies, { accept: "text/html" }) });

/** The island's JSON props on a page. */
function islandProps(page: string, name: string) {
  const m = new RegExp(`data-island="${name}" data-props="([^"]*)"`).exec(page);
  assert.ok(m, `the page renders the ${name} island`);
  const json = m[1].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
  return JSON.parse(json);
}

/** The unescaped href values of the links on a page. */
const hrefs = (page: string) => [...page.matchAll(/href="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, "&"));

appTest(
  "[analytics] /admin/analytics: admins only, server-rendered KPIs, charts, tables and CSV links",
  async (t) => {
    const anon = await t.request("/admin/analytics?range=7", { headers: { accept: "text/html" } });
    assert.equal(anon.status, 303);
    assert.equal(
      anon.headers.get("location"),
      `/login?next=${encodeURIComponent("/admin/analytics?range=7")}`,
    );

    const member = await randomUser(t, "mem");
    const refused = await t.request("/admin/analytics", html(member.cookies));
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /Not allowed/);

    const admin = await randomAdmin(t);
    const res = await t.request("/admin/analytics", html(admin.cookies));
    assert.equal(res.status, 200);
    const page = await res.text();
    for (const label of ["Overview", "Community", "Events", "Orders", "Media"]) {
      assert.match(page, new RegExp(`data-section-tab="${label.toLowerCase()}"`));
    }
    for (const preset of [7, 30, 90]) assert.match(page, new RegExp(`data-preset="${preset}"`));
    assert.match(page, /Daily active users \(avg\)/);
    assert.match(page, /vs previous 30 days/);
    assert.match(page, /data-chart="traffic" data-points="30"/);
    assert.match(page, /Chart data as a table/);
    assert.match(page, /Active now \(5 min\)/);
    assert.match(page, /Messages in the last minute/);
    assert.match(page, /<form class="analytics-custom" method="get" action="\/admin\/analytics"/);
    const props = islandProps(page, "AnalyticsDashboard");
    assert.equal(props.summary.range.days, 30);
    assert.deepEqual(props.query, { section: "overview", range: 30 });
    assert.match(page, /data-island="LiveCounters"/);

    // Every chart and table has a CSV link, and it downloads.
    const links = hrefs(page).filter((h) => h.startsWith("/api/v1/analytics/export.csv"));
    assert.deepEqual(
      links.map((l) => new URL(l, "http://x").searchParams.get("table")).sort(),
      ["chart:activity", "chart:traffic", "chart:users", "top_pages"],
    );
    const csv = await t.request(links.find((l) => l.includes("chart%3Atraffic"))!, html(admin.cookies));
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    const lines = (await csv.text()).trim().split(/\r?\n/);
    assert.equal(lines[0], "Day,Page views,Visitors");
    assert.equal(lines.length, 31);

    // Sections, custom ranges and an untouched no-JS date field.
    const events = await (await t.request("/admin/analytics?section=events&range=7", html(admin.cookies)))
      .text();
    assert.match(events, /Show-up rate/);
    assert.match(events, /data-chart="rsvps" data-points="7"/);
    assert.match(events, /Events held in the range/);
    const custom = await t.request(
      "/admin/analytics?section=media&from=2026-01-01&to=2026-01-10",
      html(admin.cookies),
    );
    assert.equal(custom.status, 200);
    const customPage = await custom.text();
    assert.match(customPage, /data-range-from="2026-01-01" data-range-to="2026-01-10"/);
    assert.match(customPage, /vs previous 10 days/);
    const onlyTo = await t.request(
      "/admin/analytics?section=overview&from=&to=2026-02-28",
      html(admin.cookies),
    );
    assert.equal(onlyTo.status, 200, "an empty date field counts as absent");
    assert.match(await onlyTo.text(), /data-range-from="2026-01-30" data-range-to="2026-02-28"/);

    // Invalid queries: a clear 422 page.
    for (
      const [query, message] of [
        ["range=14", /7, 30 or 90 days/],
        ["from=2026-02-30", /start date must be a date/],
        ["from=2026-03-10&to=2026-03-01", /to must not be before from/],
        ["from=2024-01-01&to=2026-01-01", /at most 400 days/],
        ["section=secrets", /section must be one of/],
        ["colour=red", /&quot;colour&quot; is not an option/],
      ] as const
    ) {
      const bad = await t.request(`/admin/analytics?${query}`, html(admin.cookies));
      assert.equal(bad.status, 422, query);
      const text = await bad.text();
      assert.match(text, /The dashboard cannot show that/);
      assert.match(text, message, query);
    }
  },
);

appTest("[analytics] /admin/analytics shows rolled-up activity", async (t) => {
  const admin = await randomAdmin(t);
  const db = t.platform.db;
  await db.query(
    `insert into analytics.activity (kind, occurred_at, path, visitor)
     select 'page_viewed', now() - interval '1 minute', '/dashboard-test-page', 'v' || (g % 7)
     from generate_series(1, 1234) g`,
  );
  await db.query(
    `insert into analytics.activity (kind, occurred_at, user_id, data)
     select 'media_uploaded', now() - interval '2 minutes', $1::uuid, '{"kind": "image", "bytes": 1200000}'::jsonb
     from generate_series(1, 3)`,
    [admin.id],
  );
  await rollupPending(db);

  const page = await (await t.request("/admin/analytics?range=7", html(admin.cookies))).text();
  const kpi = (key: string) => {
    const m = new RegExp(`data-kpi="${key}">(.*?)</div>`).exec(page);
    assert.ok(m, `KPI ${key}`);
    return m[1].replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
  };
  assert.match(kpi("page_views"), /Page views 1,234 /);
  assert.match(kpi("visitors"), / 7 /);
  assert.match(page, /\/dashboard-test-page/);
  assert.match(page, /data-table="top_pages"/);

  const media = await (await t.request("/admin/analytics?range=7&section=media", html(admin.cookies))).text();
  assert.match(media, /3\.6 MB/, "bytes are formatted");

  // The live counters see the recent page views and the admin's uploads.
  const live = islandProps(page, "LiveCounters");
  assert.equal(live.initial.visitors, 7);
  assert.ok(live.initial.active_users >= 1);

  // Nothing happened in the previous 7 days: no change to show (docs/analytics.md: null when previous is 0).
  assert.match(kpi("page_views"), /Previous: 0 /, kpi("page_views"));
  assert.match(kpi("page_views"), /—/, kpi("page_views"));
});
