/** The SQL reports pages (routes/pages/admin_sql_reports.tsx): list, no-JS forms, server-side runs, delete. */
import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { browser, randomAdmin, randomUser } from "../support/factories.ts";

const html = (cookies: string) => ({ headers: browser(cookies, { accept: "text/html" }) });
const form = (cookies: string, fields: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: browser(cookies, { "content-type": "application/x-www-form-urlencoded", accept: "text/html" }),
  body: new URLSearchParams(fields).toString(),
});
const unescape = (s: string) =>
  s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(
    /&amp;/g,
    "&",
  );

const SQL =
  "select day, value from daily_metrics where metric = {{metric}} and day <@ {{period}} order by day";
const PARAMS = JSON.stringify([
  { name: "metric", type: "text", label: "Metric", default: "messages" },
  { name: "period", type: "date_range" },
]);

appTest(
  "[analytics] /admin/reports: admins only, create, run, errors and delete with plain forms",
  async (t) => {
    const anon = await t.request("/admin/reports/new?x=1", { headers: { accept: "text/html" } });
    assert.equal(anon.status, 303);
    assert.equal(anon.headers.get("location"), `/login?next=${encodeURIComponent("/admin/reports/new?x=1")}`);
    assert.equal((await t.request("/admin/reports", { headers: { accept: "text/html" } })).status, 303);

    const member = await randomUser(t, "mem");
    const refused = await t.request("/admin/reports", html(member.cookies));
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /Not allowed/);
    assert.equal(
      (await t.request("/admin/reports", form(member.cookies, { name: "x", sql: "select 1" }))).status,
      403,
    );

    const admin = await randomAdmin(t);
    const empty = await t.request("/admin/reports", html(admin.cookies));
    assert.equal(empty.status, 200);
    const emptyPage = await empty.text();
    assert.match(emptyPage, /No saved reports yet/);
    assert.match(emptyPage, /href="\/admin\/reports\/new"/);
    assert.match(emptyPage, /daily_metrics/);
    assert.match(emptyPage, /room_messages/);

    const blank = await (await t.request("/admin/reports/new", html(admin.cookies))).text();
    assert.match(blank, /data-island="ReportWorkbench"/);
    assert.match(blank, /<form method="post" action="\/admin\/reports"/);

    // A SQL error re-renders the form with the message and keeps everything typed.
    const badSql = "select day, valu from daily_metrics where metric = {{metric}} and day <@ {{period}}";
    const bad = await t.request(
      "/admin/reports",
      form(admin.cookies, { name: "Daily <metric>", description: "Per day", sql: badSql, params: PARAMS }),
    );
    assert.equal(bad.status, 422);
    const badPage = await bad.text();
    assert.match(badPage, /The report was not saved/);
    assert.match(badPage, /id="form-sql-error" class="field-error">[^<]*valu/);
    assert.ok(unescape(badPage).includes(badSql), "the SQL is kept");
    assert.ok(unescape(badPage).includes(PARAMS), "the parameters are kept");
    assert.match(badPage, /value="Daily &lt;metric>"/);

    // Broken parameter JSON and a bad recipient: messages next to the fields.
    const badParams = await t.request(
      "/admin/reports",
      form(admin.cookies, {
        name: "Daily",
        sql: SQL,
        params: "[{",
        schedule_cron: "0 8 * * 1",
        schedule_recipients: "not-an-email",
      }),
    );
    assert.equal(badParams.status, 422);
    const badParamsPage = await badParams.text();
    assert.match(badParamsPage, /id="form-params-error"[^>]*>Not valid JSON/);
    assert.match(badParamsPage, /id="form-schedule_recipients-error"[^>]*>Each recipient must be an email/);

    // Create.
    const created = await t.request(
      "/admin/reports",
      form(admin.cookies, {
        name: "Daily metric",
        description: "One metric per day",
        sql: SQL,
        params: PARAMS,
        schedule_cron: "0 8 * * 1",
        schedule_timezone: "Europe/Berlin",
        schedule_recipients: "a@example.test, b@example.test",
        schedule_values: '{"period": "2026-01-01..2026-01-31"}',
      }),
    );
    assert.equal(created.status, 303, await created.clone().text());
    const location = created.headers.get("location")!;
    const id = /^\/admin\/reports\/([0-9a-f-]{36})\?done=/.exec(location)?.[1];
    assert.ok(id, location);

    const list = await (await t.request("/admin/reports", html(admin.cookies))).text();
    assert.match(list, /Daily metric/);
    assert.match(list, /One metric per day/);
    assert.match(list, /\{\{period\}\}/);
    assert.match(list, /0 8 \* \* 1/);
    assert.match(list, /Europe\/Berlin/);
    assert.match(list, /to 2 recipients/);
    assert.match(list, /no recent runs/);

    const shown = await t.request(location, html(admin.cookies));
    assert.equal(shown.status, 200);
    const shownPage = await shown.text();
    assert.match(shownPage, /Saved “Daily metric”/);
    assert.match(shownPage, /data-island="ReportWorkbench"/);
    assert.match(shownPage, /data-testid="run-form"/);
    assert.match(shownPage, /Not run yet/);

    // Run from the no-JS form: rows, a CSV link with the same values, and the audit.
    await t.platform.db.query(
      `insert into analytics.daily_metrics (day, metric, key, value)
     select d::date, 'messages', '', extract(day from d)::int from generate_series('2026-01-01'::date, '2026-01-10', '1 day') d`,
    );
    const ran = await t.request(
      `/admin/reports/${id}?run=1&metric=&period=2026-01-02..2026-01-04`,
      html(admin.cookies),
    );
    assert.equal(ran.status, 200);
    const ranPage = await ran.text();
    assert.match(ranPage, /3 rows in \d+ ms/);
    assert.match(ranPage, /<td>2026-01-03<\/td><td class="num">3<\/td>/);
    const csv = unescape(/href="(\/api\/v1\/reports\/[^"]+\/run\.csv[^"]*)"/.exec(ranPage)![1]);
    assert.equal(csv, `/api/v1/reports/${id}/run.csv?period=2026-01-02..2026-01-04`);
    const download = await t.request(csv, html(admin.cookies));
    assert.equal(download.status, 200);
    assert.equal((await download.text()).trim().split(/\r?\n/).length, 4);
    assert.match(ranPage, /data-testid="report-runs"/);
    assert.match(ranPage, /<td>json<\/td>/);

    // A bad parameter value: the message, next to the field.
    const badRun = await t.request(
      `/admin/reports/${id}?run=1&period=2026-02-30..2026-03-01`,
      html(admin.cookies),
    );
    assert.equal(badRun.status, 422);
    const badRunPage = await badRun.text();
    assert.match(badRunPage, /Check the parameter values: period must be a date range like/);
    assert.match(badRunPage, /class="field invalid"[^>]*>Period|for="run-period" class="field invalid"/);
    const unknown = await t.request(
      `/admin/reports/${id}?run=1&period=2026-01-01..2026-01-02&x=1`,
      html(admin.cookies),
    );
    assert.equal(unknown.status, 422);
    assert.match(await unknown.text(), /is not a parameter of this report/);

    // The audit lists page runs, failed ones included.
    const audited = await (await t.request(`/admin/reports/${id}`, html(admin.cookies))).text();
    assert.match(audited, /invalid_parameter: period must be a date range/);
    const listAfter = await (await t.request("/admin/reports", html(admin.cookies))).text();
    assert.doesNotMatch(listAfter, /no recent runs/);

    // Edit from the form (?form=1), remove the schedule.
    const editPage = await (await t.request(`/admin/reports/${id}?form=1`, html(admin.cookies))).text();
    assert.match(editPage, new RegExp(`action="/admin/reports/${id}"`));
    assert.doesNotMatch(editPage, /data-island="ReportWorkbench"/);
    const edited = await t.request(
      `/admin/reports/${id}`,
      form(admin.cookies, { name: "Daily metric v2", sql: SQL, params: PARAMS, no_schedule: "1" }),
    );
    assert.equal(edited.status, 303);
    const after = await (await t.request(`/admin/reports/${id}`, html(admin.cookies))).text();
    assert.match(after, /Daily metric v2/);
    assert.match(after, /not scheduled/);

    // Delete: the box must be ticked.
    const unticked = await t.request(`/admin/reports/${id}/delete`, form(admin.cookies, {}));
    assert.equal(unticked.status, 422);
    assert.match(await unticked.text(), /Tick “Yes, delete” to confirm/);
    const deleted = await t.request(`/admin/reports/${id}/delete`, form(admin.cookies, { confirm: "yes" }));
    assert.equal(deleted.status, 303);
    assert.match(decodeURIComponent(deleted.headers.get("location")!), /Deleted “Daily metric v2”/);
    assert.equal((await t.request(`/admin/reports/${id}`, html(admin.cookies))).status, 404);
    assert.match(
      await (await t.request("/admin/reports", html(admin.cookies))).text(),
      /No saved reports yet/,
    );
  },
);
