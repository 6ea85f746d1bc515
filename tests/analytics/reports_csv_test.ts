/** `GET /api/v1/reports/:id/run.csv` (docs/analytics.md, "Results"): headers, quoting, streaming, errors, audit. */
import assert from "node:assert/strict";
import type { TestContext } from "../support/app.ts";
import { appTest } from "../support/app.ts";
import { randomAdmin, type TestUser } from "../support/factories.ts";
import { auditRows, createReport, eventually, qs } from "./reports_support.ts";

/** Saves a report and downloads its CSV. */
async function download(
  t: TestContext,
  admin: TestUser,
  body: Record<string, unknown>,
  pairs: [string, string][] = [],
) {
  const report = await createReport(t, admin, body);
  const res = await t.request(`/api/v1/reports/${report.id}/run.csv${qs(pairs)}`, { headers: admin.bearer });
  return { report, res };
}

appTest("[reports csv] text/csv attachment with a dated file name, header row and CRLF lines", async (t) => {
  const admin = await randomAdmin(t);
  const { res } = await download(t, admin, {
    name: "Daily Views (Nov) / 2026!",
    sql: "select 1 as a, 'x' as b union all select 2, 'y'",
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
  const today = new Date().toISOString().slice(0, 10);
  assert.equal(
    res.headers.get("content-disposition"),
    `attachment; filename="daily-views-nov-2026-${today}.csv"`,
  );
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(await res.text(), "a,b\r\n1,x\r\n2,y\r\n");
});

appTest("[reports csv] RFC 4180 quoting of commas, quotes and line breaks; nulls are empty", async (t) => {
  const admin = await randomAdmin(t);
  const { res } = await download(t, admin, {
    name: "Quoting",
    sql: `select 'a,b' as "comma, col", 'say "hi"' as quote, E'line1\\nline2' as lf, E'cr\\rhere' as cr,
      null::text as nothing, null::int as no_number, '' as empty, 'plain' as plain, true as yes, 1.5 as num`,
  });
  assert.equal(res.status, 200);
  assert.equal(
    await res.text(),
    `"comma, col",quote,lf,cr,nothing,no_number,empty,plain,yes,num\r\n` +
      `"a,b","say ""hi""","line1\nline2","cr\rhere",,,,plain,true,1.5\r\n`,
  );
});

appTest("[reports csv] formula-like text cells get a leading quote; numbers do not", async (t) => {
  const admin = await randomAdmin(t);
  const { res } = await download(t, admin, {
    name: "Formulas",
    sql: `select '=1+2' as eq, '+x' as plus, '-x' as minus, '@x' as at, E'\\tx' as tab, -5 as neg,
      '-5' as neg_text, '+3' as plus_text, '-1.5e3' as sci_text, '=HYPERLINK("http://evil","x")' as link,
      '1=1' as inner_eq, -0.25::numeric as neg_decimal`,
  });
  assert.equal(res.status, 200);
  const [header, row, end] = (await res.text()).split("\r\n");
  assert.equal(header, "eq,plus,minus,at,tab,neg,neg_text,plus_text,sci_text,link,inner_eq,neg_decimal");
  assert.equal(row, `'=1+2,'+x,'-x,'@x,'\tx,-5,-5,+3,-1.5e3,"'=HYPERLINK(""http://evil"",""x"")",1=1,-0.25`);
  assert.equal(end, "");
});

appTest("[reports csv] more rows than one fetch batch arrive complete and in order", async (t) => {
  const admin = await randomAdmin(t);
  const { report, res } = await download(t, admin, {
    name: "Many",
    sql: "select g as n, 'row ' || g as label from generate_series(1, {{count}}) g order by g",
    params: [{ name: "count", type: "number" }],
  }, [["count", "5000"]]);
  assert.equal(res.status, 200);
  const lines = (await res.text()).split("\r\n");
  assert.equal(lines.pop(), "", "the file ends with CRLF");
  assert.equal(lines.length, 5001);
  assert.equal(lines[0], "n,label");
  for (let i = 1; i <= 5000; i++) assert.equal(lines[i], `${i},row ${i}`);
  const audit = await eventually(async () =>
    (await auditRows(t)).find((r) => r.report_id === report.id && r.format === "csv")
  );
  assert.equal(audit.row_count, 5000);
  assert.equal(audit.error_code, null);
  assert.equal(audit.truncated, false);
  assert.deepEqual(audit.params, { count: "5000" });
  // Exactly a multiple of the batch size also ends cleanly.
  const exact = await t.request(`/api/v1/reports/${report.id}/run.csv?count=4000`, { headers: admin.bearer });
  assert.equal((await exact.text()).split("\r\n").length, 4002);
  // No rows: just the header.
  const none = await t.request(`/api/v1/reports/${report.id}/run.csv?count=0`, { headers: admin.bearer });
  assert.equal(await none.text(), "n,label\r\n");
});

appTest("[reports csv] an error before the first row answers 422 JSON, not a broken CSV", async (t) => {
  const admin = await randomAdmin(t);
  const { report, res } = await download(t, admin, {
    name: "Broken",
    sql: "select 1 / {{d}} as x",
    params: [{ name: "d", type: "number" }],
  }, [["d", "0"]]);
  assert.equal(res.status, 422);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(res.headers.get("content-disposition"), null);
  const body = await res.json();
  assert.equal(body.error.code, "sql_error");
  assert.equal(body.error.details.sqlstate, "22012");
  const missing = await t.request(`/api/v1/reports/${report.id}/run.csv`, { headers: admin.bearer });
  assert.equal(missing.status, 422);
  assert.equal((await missing.json()).error.code, "missing_parameter");
  const audit = await eventually(async () => {
    const rows = (await auditRows(t)).filter((r) => r.report_id === report.id);
    return rows.length === 2 ? rows : undefined;
  });
  assert.deepEqual(audit.map((r) => [r.format, r.error_code]), [["csv", "sql_error"], [
    "csv",
    "missing_parameter",
  ]]);
});

appTest("[reports csv] an error after the first batch fails the download and is audited", async (t) => {
  const admin = await randomAdmin(t);
  const { report, res } = await download(t, admin, {
    name: "Late failure",
    sql: "select g, 1 / (g - 3000) as x from generate_series(1, 5000) g",
  });
  assert.equal(res.status, 200, "the header was already sent");
  await assert.rejects(res.text(), "the download fails instead of looking complete");
  const audit = await eventually(async () =>
    (await auditRows(t)).find((r) => r.report_id === report.id && r.error_code !== null)
  );
  assert.equal(audit.error_code, "sql_error");
  assert.equal(audit.format, "csv");
  assert.equal(audit.row_count, 2000);
});
