/** `/api/v1/reports` CRUD, validation, access and audit (docs/analytics.md, "SQL reports"). */
import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { randomAdmin, randomUser } from "../support/factories.ts";
import {
  auditRows,
  call,
  createReport,
  eventually,
  ok,
  refused,
  reportCount,
  seedMetrics,
} from "./reports_support.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const simple = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  sql: "select day, value from daily_metrics order by day",
  ...extra,
});

appTest("[reports] create answers 201 with the defaults filled in", async (t) => {
  const admin = await randomAdmin(t);
  const before = Date.now();
  const report = await createReport(t, admin, simple("  Daily views  "));
  assert.match(report.id, UUID);
  assert.equal(report.name, "Daily views", "the name is trimmed");
  assert.equal(report.description, "");
  assert.equal(report.sql, "select day, value from daily_metrics order by day");
  assert.deepEqual(report.params, []);
  assert.equal(report.schedule, null);
  assert.equal(report.created_by, admin.id);
  assert.ok(Date.parse(report.created_at) >= before - 5000);
  assert.equal(report.created_at, report.updated_at);
  assert.equal(await reportCount(t), 1);
  assert.deepEqual(ok(await call(t, admin, "GET", `/reports/${report.id}`)), report);
});

appTest(
  "[reports] an Idempotency-Key retry answers 200 with the same report and creates nothing",
  async (t) => {
    const admin = await randomAdmin(t);
    const headers = { "idempotency-key": "create-report:1" };
    const first = await call(t, admin, "POST", "/reports", simple("Once"), headers);
    assert.equal(first.status, 201, first.text);
    const again = await call(t, admin, "POST", "/reports", simple("Once"), headers);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.id, first.body.id);
    assert.deepEqual(again.body, first.body);
    assert.equal(await reportCount(t), 1);
    // Another key is another request: same name, so 409.
    refused(
      await call(t, admin, "POST", "/reports", simple("Once"), { "idempotency-key": "other" }),
      409,
      "name_taken",
    );
    refused(
      await call(t, admin, "POST", "/reports", simple("Bad key"), { "idempotency-key": "no spaces" }),
      422,
    );
    assert.equal(await reportCount(t), 1);
  },
);

appTest("[reports] names are unique case-insensitively (409 name_taken), also on rename", async (t) => {
  const admin = await randomAdmin(t);
  await createReport(t, admin, simple("Weekly Signups"));
  refused(await call(t, admin, "POST", "/reports", simple("weekly signups")), 409, "name_taken");
  refused(await call(t, admin, "POST", "/reports", simple(" WEEKLY SIGNUPS ")), 409, "name_taken");
  const other = await createReport(t, admin, simple("Other"));
  refused(
    await call(t, admin, "PATCH", `/reports/${other.id}`, { name: "WEEKLY signups" }),
    409,
    "name_taken",
  );
  assert.equal(await reportCount(t), 2);
  assert.equal(ok(await call(t, admin, "GET", `/reports/${other.id}`)).name, "Other");
});

appTest("[reports] list newest first, get, patch, delete (204 then 404)", async (t) => {
  const admin = await randomAdmin(t);
  const a = await createReport(t, admin, simple("A"));
  const b = await createReport(t, admin, simple("B", { description: "second" }));
  const list = ok(await call(t, admin, "GET", "/reports"));
  assert.deepEqual(list.reports.map((r: { id: string }) => r.id), [b.id, a.id]);
  assert.deepEqual(ok(await call(t, admin, "GET", `/reports/${b.id}`)), b);
  assert.deepEqual(
    ok(await call(t, admin, "GET", `/reports/${b.id.toUpperCase()}`)),
    b,
    "ids are case-insensitive",
  );

  await new Promise((r) => setTimeout(r, 5));
  const patched = ok(
    await call(t, admin, "PATCH", `/reports/${a.id}`, {
      description: "changed",
      sql: "select count(*) as n from daily_metrics",
      schedule: { cron: "0 8 * * 1", recipients: ["boss@example.test"] },
    }),
  );
  assert.equal(patched.id, a.id);
  assert.equal(patched.name, "A");
  assert.equal(patched.description, "changed");
  assert.equal(patched.sql, "select count(*) as n from daily_metrics");
  assert.deepEqual(patched.schedule, {
    cron: "0 8 * * 1",
    timezone: "UTC",
    recipients: ["boss@example.test"],
    values: {},
  });
  assert.equal(patched.created_at, a.created_at);
  assert.ok(patched.updated_at > a.updated_at, "updated_at moves");
  const unscheduled = ok(await call(t, admin, "PATCH", `/reports/${a.id}`, { schedule: null }));
  assert.equal(unscheduled.schedule, null, "schedule: null removes it");
  assert.equal(unscheduled.description, "changed", "other fields are kept");
  refused(await call(t, admin, "PATCH", `/reports/${a.id}`, {}), 422);

  const del = await call(t, admin, "DELETE", `/reports/${a.id}`);
  assert.equal(del.status, 204);
  assert.equal(del.text, "");
  refused(await call(t, admin, "GET", `/reports/${a.id}`), 404, "not_found");
  refused(await call(t, admin, "DELETE", `/reports/${a.id}`), 404, "not_found");
  refused(await call(t, admin, "PATCH", `/reports/${a.id}`, { description: "x" }), 404, "not_found");
  refused(await call(t, admin, "GET", `/reports/${a.id}/run`), 404, "not_found");
  assert.deepEqual(ok(await call(t, admin, "GET", "/reports")).reports.map((r: { id: string }) => r.id), [
    b.id,
  ]);
});

appTest(
  "[reports] schedule validation: cron, timezone, emails, values that do not fit the params",
  async (t) => {
    const admin = await randomAdmin(t);
    const base = {
      name: "Scheduled",
      sql: "select {{n}} as n, {{day}} as day",
      params: [{ name: "n", type: "number" }, { name: "day", type: "date", default: "2026-11-01" }],
    };
    const sched = (extra: Record<string, unknown>) => ({
      ...base,
      schedule: { cron: "0 8 * * *", recipients: ["a@example.test"], values: { n: "1" }, ...extra },
    });
    const cases: [Record<string, unknown>, string | string[]][] = [
      [{ cron: "not a cron" }, "invalid_schedule"],
      [{ cron: "61 * * * *" }, "invalid_schedule"],
      [{ timezone: "Mars/Olympus_Mons" }, "invalid_schedule"],
      [{ recipients: ["not-an-email"] }, "validation_failed"],
      [{ recipients: [] }, "validation_failed"],
      [{ recipients: Array.from({ length: 11 }, (_, i) => `r${i}@example.test`) }, "validation_failed"],
      [{ values: { n: "abc" } }, "invalid_parameter"],
      [{ values: { n: ["1", "2"] } }, "invalid_parameter"],
      [{ values: { n: "1", day: "2026-02-30" } }, "invalid_parameter"],
      [{ values: {} }, "missing_parameter"],
      [{ values: { n: "1", zzz: "x" } }, "unknown_parameter"],
      [{ extra: true }, "validation_failed"],
    ];
    for (const [extra, code] of cases) {
      const err = refused(await call(t, admin, "POST", "/reports", sched(extra)), 422, code);
      if (code === "invalid_parameter") assert.ok(err.details?.param, JSON.stringify(err));
    }
    assert.equal(await reportCount(t), 0, "nothing was saved");

    const good = await createReport(t, admin, sched({ timezone: "Europe/Berlin" }));
    assert.equal(good.schedule.timezone, "Europe/Berlin");
    assert.ok(good.next_run_at, "a scheduled report has a next run");
    refused(await call(t, admin, "PATCH", `/reports/${good.id}`, sched({ timezone: "Nowhere/Else" })), 422);
    refused(await call(t, admin, "PATCH", `/reports/${good.id}`, { params: [] }), 422, "unknown_parameter");
    assert.deepEqual(
      ok(await call(t, admin, "GET", `/reports/${good.id}`)),
      good,
      "failed patches change nothing",
    );
  },
);

appTest("[reports] garbage bodies answer 400/415/422 with the error shape and save nothing", async (t) => {
  const admin = await randomAdmin(t);
  const param = (name: string) => ({ name, type: "text", required: false });
  refused(await call(t, admin, "POST", "/reports", "{not json"), 400, "bad_request");
  refused(await call(t, admin, "POST", "/reports", ""), 400, "bad_request");
  refused(
    await call(t, admin, "POST", "/reports", JSON.stringify(simple("x")), { "content-type": "text/plain" }),
    415,
  );
  const invalid: unknown[] = [
    null,
    [],
    JSON.stringify("just a string"),
    { name: "x" },
    { sql: "select 1" },
    { ...simple("x"), unknown: 1 },
    { ...simple("x"), id: crypto.randomUUID() },
    { ...simple("x"), created_by: admin.id },
    simple("x".repeat(121)),
    simple("   "),
    simple(""),
    { name: "x", sql: "select 1 -- " + "x".repeat(20_000) },
    { name: "x", sql: "" },
    { name: 5, sql: "select 1" },
    { name: "x", sql: null },
    { name: "x", sql: ["select 1"] },
    simple("x", { description: 7 }),
    simple("x", { description: "d".repeat(2001) }),
    simple("x", { params: "q" }),
    simple("x", { params: Array.from({ length: 21 }, (_, i) => param(`p${i}`)) }),
    simple("x", { params: [param("a"), param("a")] }),
    simple("x", { params: [param("Bad")] }),
    simple("x", { params: [param("1x")] }),
    simple("x", { params: [param("a-b")] }),
    simple("x", { params: [param("a".repeat(41))] }),
    simple("x", { params: [param("")] }),
    simple("x", { params: [{ name: "a", type: "blob" }] }),
    simple("x", { params: [{ name: "a" }] }),
    simple("x", { params: [{ name: "a", type: "text", required: "yes" }] }),
    simple("x", { params: [{ name: "a", type: "text", extra: 1 }] }),
    simple("x", { params: [{ name: "a", type: "number", default: "abc" }] }),
    simple("x", { params: [{ name: "a", type: "text_list", default: "a" }] }),
    simple("x", { params: [{ name: "a", type: "date", default: ["2026-01-01"] }] }),
    simple("x", { params: [{ name: "a", type: "date_range", default: "2026-01-02..2026-01-01" }] }),
    simple("x", { schedule: "daily" }),
  ];
  for (const body of invalid) {
    const err = refused(await call(t, admin, "POST", "/reports", body), 422, "validation_failed");
    assert.ok(Array.isArray(err.details) && err.details.length > 0, JSON.stringify(err));
  }
  const unknown = refused(await call(t, admin, "POST", "/reports", { ...simple("x"), bogus: 1 }), 422);
  assert.deepEqual(unknown.details, [{ path: "bogus", message: "Unknown field." }]);
  // 20 parameters is the limit, not an error.
  const twenty = Array.from({ length: 20 }, (_, i) => param(`p${i}`));
  assert.equal(await reportCount(t), 0, "nothing was saved");
  const saved = await createReport(t, admin, simple("Twenty", { params: twenty }));
  assert.equal(saved.params.length, 20);
  assert.equal(await reportCount(t), 1);
  const name120 = await createReport(t, admin, simple("n".repeat(120)));
  assert.equal(name120.name.length, 120);
  refused(await call(t, admin, "PATCH", `/reports/${saved.id}`, { params: [...twenty, param("p20")] }), 422);
  refused(await call(t, admin, "PATCH", `/reports/${saved.id}`, { bogus: 1 }), 422, "validation_failed");
  refused(await call(t, admin, "PATCH", `/reports/${saved.id}`, "nope"), 400, "bad_request");
  assert.equal(await reportCount(t), 2);
});

appTest("[reports] invalid SQL is refused at save (422) and nothing is saved", async (t) => {
  const admin = await randomAdmin(t);
  const cases: [string, string][] = [
    ["delete from daily_metrics", "invalid_sql"],
    ["select 1; select 2", "invalid_sql"],
    ["select * from no_such_table", "sql_error"],
    ["select nosuchcolumn from daily_metrics", "sql_error"],
    ["selec 1", "invalid_sql"],
    ["select 'unterminated", "invalid_sql"],
    ["select * from public.messages", "permission_denied"],
  ];
  for (const [sql, code] of cases) {
    const err = refused(await call(t, admin, "POST", "/reports", { name: "x", sql }), 422, code);
    if (code === "sql_error") assert.match(err.details.sqlstate, /^[0-9A-Z]{5}$/);
  }
  assert.equal(await reportCount(t), 0);
});

appTest("[reports] members get 403 and anonymous callers 401 on every route", async (t) => {
  const admin = await randomAdmin(t);
  const member = await randomUser(t, "member");
  const report = await createReport(t, admin, simple("Private"));
  const routes: [string, string, unknown?][] = [
    ["POST", "/reports", simple("Mine")],
    ["GET", "/reports"],
    ["POST", "/reports/preview", { sql: "select 1" }],
    ["GET", `/reports/${report.id}`],
    ["PATCH", `/reports/${report.id}`, { description: "hacked" }],
    ["DELETE", `/reports/${report.id}`],
    ["GET", `/reports/${report.id}/runs`],
    ["GET", `/reports/${report.id}/run`],
    ["GET", `/reports/${report.id}/run.csv`],
  ];
  for (const [method, path, body] of routes) {
    refused(await call(t, member, method, path, body), 403, "forbidden");
    refused(await call(t, null, method, path, body), 401);
  }
  assert.equal(await reportCount(t), 1);
  assert.deepEqual(ok(await call(t, admin, "GET", `/reports/${report.id}`)), report, "unchanged");
  assert.equal((await auditRows(t)).length, 0, "refused callers ran nothing");
});

appTest("[reports] unknown and malformed ids answer 404 on every id route", async (t) => {
  const admin = await randomAdmin(t);
  const unknown = crypto.randomUUID();
  for (const id of [unknown, "abc", "123", "00000000-0000-0000-0000-00000000000g", "%27%20or%201=1--"]) {
    refused(await call(t, admin, "GET", `/reports/${id}`), 404, "not_found");
    refused(await call(t, admin, "PATCH", `/reports/${id}`, { description: "x" }), 404, "not_found");
    refused(await call(t, admin, "DELETE", `/reports/${id}`), 404, "not_found");
    refused(await call(t, admin, "GET", `/reports/${id}/runs`), 404, "not_found");
    refused(await call(t, admin, "GET", `/reports/${id}/run`), 404, "not_found");
    refused(await call(t, admin, "GET", `/reports/${id}/run.csv`), 404, "not_found");
  }
  assert.equal((await auditRows(t)).length, 0);
});

appTest("[reports] the audit records every run: ok, failed (error_code), CSV and previews", async (t) => {
  const admin = await randomAdmin(t);
  await seedMetrics(t);
  const report = await createReport(t, admin, {
    name: "Audited",
    sql: "select day, value from daily_metrics where metric = {{metric}} and 1 / {{div}} > 0 order by day",
    params: [{ name: "metric", type: "text" }, { name: "div", type: "number", default: "1" }],
  });
  const run = ok(await call(t, admin, "GET", `/reports/${report.id}/run?metric=signups`));
  assert.equal(run.row_count, 10);
  refused(await call(t, admin, "GET", `/reports/${report.id}/run`), 422, "missing_parameter");
  refused(await call(t, admin, "GET", `/reports/${report.id}/run?metric=signups&div=0`), 422, "sql_error");
  const csv = await t.request(`/api/v1/reports/${report.id}/run.csv?metric=page_views`, {
    headers: admin.bearer,
  });
  assert.equal(csv.status, 200);
  assert.equal((await csv.text()).trim().split("\r\n").length, 11);
  await eventually(async () => (await auditRows(t)).some((r) => r.format === "csv"));
  ok(await call(t, admin, "POST", "/reports/preview", { sql: "select 42 as answer" }));
  refused(await call(t, admin, "POST", "/reports/preview", { sql: "select 1/0" }), 422, "sql_error");
  refused(
    await call(t, admin, "POST", "/reports/preview", { sql: "delete from daily_metrics" }),
    422,
    "invalid_sql",
  );

  const runs = ok(await call(t, admin, "GET", `/reports/${report.id}/runs`)).runs;
  assert.equal(runs.length, 4, JSON.stringify(runs));
  assert.deepEqual(
    runs.map((r: { format: string; error_code: string | null; row_count: number | null }) => [
      r.format,
      r.error_code,
      r.row_count,
    ]),
    [["csv", null, 10], ["json", "sql_error", null], ["json", "missing_parameter", null], ["json", null, 10]],
    "newest first",
  );
  for (const r of runs) {
    assert.equal(r.report_id, report.id);
    assert.equal(r.report_name, "Audited");
    assert.equal(r.user_id, admin.id);
    assert.equal(r.user_name, admin.name);
    assert.equal(r.trigger, "api");
    assert.equal(r.sql, null, "saved reports keep their SQL in the report");
  }
  assert.deepEqual(runs[3].params, { metric: "signups", div: "1" });
  assert.deepEqual(runs[0].params, { metric: "page_views", div: "1" });
  assert.equal(runs[1].params.div, "0");

  const previews = (await auditRows(t)).filter((r) => r.report_id === null);
  assert.deepEqual(
    previews.map((r) => [r.sql, r.error_code, r.row_count, r.report_name, r.user_id]),
    [
      ["select 42 as answer", null, 1, null, admin.id],
      ["select 1/0", "sql_error", null, null, admin.id],
      ["delete from daily_metrics", "invalid_sql", null, null, admin.id],
    ],
  );

  // Deleting the report keeps its audit rows (with the name).
  assert.equal((await call(t, admin, "DELETE", `/reports/${report.id}`)).status, 204);
  const kept = (await auditRows(t)).filter((r) => r.report_name === "Audited");
  assert.equal(kept.length, 4);
  assert.ok(kept.every((r) => r.report_id === null));
});

appTest("[reports] a JSON run returns at most 10,000 rows and says when it was truncated", async (t) => {
  const admin = await randomAdmin(t);
  const report = await createReport(t, admin, {
    name: "Big",
    sql: "select g as n from generate_series(1, {{count}}) g",
    params: [{ name: "count", type: "number" }],
  });
  const full = ok(await call(t, admin, "GET", `/reports/${report.id}/run?count=10000`));
  assert.equal(full.row_count, 10_000);
  assert.equal(full.truncated, false);
  const cut = ok(await call(t, admin, "GET", `/reports/${report.id}/run?count=10001`));
  assert.equal(cut.row_count, 10_000);
  assert.equal(cut.rows.length, 10_000);
  assert.equal(cut.truncated, true);
  assert.deepEqual(cut.rows.at(-1), [10_000]);
  const runs = ok(await call(t, admin, "GET", `/reports/${report.id}/runs`)).runs;
  assert.deepEqual(runs.map((r: { truncated: boolean; row_count: number }) => [r.truncated, r.row_count]), [
    [true, 10_000],
    [false, 10_000],
  ]);
});

// Two requests with the same Idempotency-Key at once (a client retrying while the first is still being
// validated): the one that loses the insert answers with the winner's report.
appTest(
  "[reports] concurrent requests with the same Idempotency-Key create one report and both succeed",
  async (t) => {
    const admin = await randomAdmin(t);
    const headers = { "idempotency-key": "double-click" };
    const [a, b] = await Promise.all([
      call(t, admin, "POST", "/reports", simple("Concurrent"), headers),
      call(t, admin, "POST", "/reports", simple("Concurrent"), headers),
    ]);
    assert.deepEqual(
      [a.status, b.status].sort(),
      [200, 201],
      `${a.status} ${a.text} / ${b.status} ${b.text}`,
    );
    assert.equal(a.body.id, b.body.id);
    assert.equal(await reportCount(t), 1);
  },
);

// A run refused for its parameters is audited with the values it was given.
appTest("[reports] the audit of a run refused for its parameters records the values given", async (t) => {
  const admin = await randomAdmin(t);
  const report = await createReport(t, admin, {
    name: "Refused",
    sql: "select {{n}} as n",
    params: [{ name: "n", type: "number" }],
  });
  refused(await call(t, admin, "GET", `/reports/${report.id}/run?n=abc`), 422, "invalid_parameter");
  refused(await call(t, admin, "GET", `/reports/${report.id}/run?n=1&extra=x`), 422, "unknown_parameter");
  const runs = ok(await call(t, admin, "GET", `/reports/${report.id}/runs`)).runs;
  assert.deepEqual(runs.map((r: { error_code: string }) => r.error_code), [
    "unknown_parameter",
    "invalid_parameter",
  ]);
  assert.deepEqual(runs[1].params, { n: "abc" });
  assert.deepEqual(runs[0].params, { n: "1", extra: "x" });
});
