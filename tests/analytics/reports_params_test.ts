/** Report parameters bound through the API, every type (docs/analytics.md, "Parameters"). */
import assert from "node:assert/strict";
import { compileReportSql } from "@/lib/analytics/reports/sql_guard.ts";
import type { TestContext } from "../support/app.ts";
import { appTest } from "../support/app.ts";
import { randomAdmin, type TestUser } from "../support/factories.ts";
import { auditRows, call, createReport, ok, qs, refused, reportCount } from "./reports_support.ts";

/** Saves a report with `sql` and `params`, and returns a runner for query strings. */
async function saved(t: TestContext, admin: TestUser, sql: string, params: Record<string, unknown>[]) {
  const report = await createReport(t, admin, { name: `r-${crypto.randomUUID()}`, sql, params });
  return (pairs: [string, string][]) => call(t, admin, "GET", `/reports/${report.id}/run${qs(pairs)}`);
}

appTest("[reports] text is bound, not spliced: quotes and SQL come back verbatim as data", async (t) => {
  const admin = await randomAdmin(t);
  const run = await saved(t, admin, "select {{q}} as q, length({{q}}) as len", [{ name: "q", type: "text" }]);
  const evil = `it's "quoted" '; drop table x; -- \\' $$ {{q}} ${"\u00e9"}`;
  const res = ok(await run([["q", evil]]));
  assert.deepEqual(res.columns, [{ name: "q", type: "text" }, { name: "len", type: "number" }]);
  assert.deepEqual(res.rows, [[evil, [...evil].length]]);
  assert.deepEqual(ok(await run([["q", "'; drop table x; --"]])).rows, [["'; drop table x; --", 19]]);
  assert.deepEqual(ok(await run([["q", ""]])).rows, [["", 0]], "an empty string is a value");
  assert.equal(await reportCount(t), 1);
  refused(await run([["q", "x".repeat(1001)]]), 422, "invalid_parameter");
});

appTest(
  "[reports] number: 1e3, -0.5 and integers bind as numeric; anything else is invalid_parameter",
  async (t) => {
    const admin = await randomAdmin(t);
    const run = await saved(t, admin, "select {{n}} as n, {{n}} * 2 as twice", [{
      name: "n",
      type: "number",
    }]);
    assert.deepEqual(ok(await run([["n", "1e3"]])).rows, [[1000, 2000]]);
    assert.deepEqual(ok(await run([["n", "-0.5"]])).rows, [[-0.5, -1]]);
    assert.deepEqual(ok(await run([["n", "42"]])).rows, [[42, 84]]);
    for (const bad of ["abc", "1,5", "0x10", "", " 1", "1e", "--1", "1; select 1", "NaN", "Infinity"]) {
      const err = refused(
        await run([["n", bad]]),
        422,
        bad === "" ? ["invalid_parameter", "missing_parameter"] : "invalid_parameter",
      );
      assert.equal(err.details?.param, "n", `${bad}: ${JSON.stringify(err)}`);
    }
  },
);

appTest("[reports] date: calendar dates only", async (t) => {
  const admin = await randomAdmin(t);
  const run = await saved(t, admin, "select {{d}} as d, {{d}} + 1 as next", [{ name: "d", type: "date" }]);
  const res = ok(await run([["d", "2024-02-29"]]));
  assert.deepEqual(res.columns.map((c: { type: string }) => c.type), ["date", "date"]);
  assert.deepEqual(res.rows, [["2024-02-29", "2024-03-01"]]);
  for (
    const bad of [
      "2026-02-30",
      "2025-02-29",
      "2026-13-01",
      "2026-1-1",
      "01/02/2026",
      "today",
      "2026-11-01T00:00",
    ]
  ) {
    const err = refused(await run([["d", bad]]), 422, "invalid_parameter");
    assert.equal(err.details.param, "d");
  }
});

appTest("[reports] date_range is inclusive at both ends", async (t) => {
  const admin = await randomAdmin(t);
  const run = await saved(
    t,
    admin,
    `select count(*)::int as days, min(g.day)::date as first, max(g.day)::date as last
     from generate_series('2026-01-01'::date, '2026-12-31'::date, interval '1 day') as g(day)
     where g.day::date <@ {{period}}`,
    [{ name: "period", type: "date_range" }],
  );
  assert.deepEqual(ok(await run([["period", "2026-11-01..2026-11-30"]])).rows, [[
    30,
    "2026-11-01",
    "2026-11-30",
  ]]);
  assert.deepEqual(ok(await run([["period", "2026-11-05..2026-11-05"]])).rows, [[
    1,
    "2026-11-05",
    "2026-11-05",
  ]]);
  assert.deepEqual(ok(await run([["period", "2026-02-01..2026-03-01"]])).rows, [[
    29,
    "2026-02-01",
    "2026-03-01",
  ]]);
  for (
    const bad of [
      "2026-11-30..2026-11-01",
      "2026-11-01",
      "2026-11-01..",
      "..2026-11-01",
      "2026-11-01..2026-02-30",
      "a..b",
      "2026-11-01..2026-11-02..2026-11-03",
    ]
  ) {
    const err = refused(await run([["period", bad]]), 422, "invalid_parameter");
    assert.equal(err.details.param, "period");
  }
});

appTest(
  "[reports] text_list, number_list and date_list take repeated keys and work with = any(...)",
  async (t) => {
    const admin = await randomAdmin(t);
    const texts = await saved(
      t,
      admin,
      "select count(*)::int as n, array_length({{kind}}, 1) as given from (values ('a'), ('b'), ('c'), ('a,b')) v(x) where x = any({{kind}})",
      [{ name: "kind", type: "text_list" }],
    );
    assert.deepEqual(ok(await texts([["kind", "a"], ["kind", "c"]])).rows, [[2, 2]]);
    assert.deepEqual(ok(await texts([["kind", "a,b"]])).rows, [[1, 1]], "a comma is part of one element");
    assert.deepEqual(
      ok(await texts([["kind", `x"}'{y`], ["kind", "\\"]])).rows,
      [[0, 2]],
      "quotes and braces are data",
    );
    const echo = await saved(t, admin, "select ({{kind}})[1] as first, ({{kind}})[2] as second", [
      { name: "kind", type: "text_list" },
    ]);
    assert.deepEqual(ok(await echo([["kind", `x"}'{y`], ["kind", "back\\slash"]])).rows, [[
      `x"}'{y`,
      "back\\slash",
    ]]);
    assert.deepEqual(
      ok(await echo([["kind", "NULL"], ["kind", ""]])).rows,
      [["NULL", ""]],
      "NULL is a string here",
    );

    const numbers = await saved(
      t,
      admin,
      "select count(*)::int as n from (values (1), (2.5), (3), (1000)) v(x) where x = any({{n}})",
      [{ name: "n", type: "number_list" }],
    );
    assert.deepEqual(ok(await numbers([["n", "2.5"], ["n", "3"], ["n", "1e3"]])).rows, [[3]]);
    const badNumber = refused(await numbers([["n", "1"], ["n", "two"]]), 422, "invalid_parameter");
    assert.equal(badNumber.details.param, "n");

    const dates = await saved(
      t,
      admin,
      `select count(*)::int as n from generate_series('2026-11-01'::date, '2026-11-30'::date, interval '1 day') g(day)
     where g.day::date = any({{d}})`,
      [{ name: "d", type: "date_list" }],
    );
    assert.deepEqual(ok(await dates([["d", "2026-11-01"], ["d", "2026-11-03"], ["d", "2026-12-01"]])).rows, [[
      2,
    ]]);
    refused(await dates([["d", "2026-11-31"]]), 422, "invalid_parameter");
    refused(await dates([]), 422, "missing_parameter");
    const tooMany = Array.from({ length: 101 }, (_, i) => ["n", String(i)] as [string, string]);
    refused(await numbers(tooMany), 422, "invalid_parameter");
  },
);

appTest("[reports] defaults fill in absent values; required: false binds null", async (t) => {
  const admin = await randomAdmin(t);
  const run = await saved(
    t,
    admin,
    "select {{q}} as q, {{n}} as n, {{kinds}} is null as no_kinds, array_length({{tags}}, 1) as tags, {{opt}} is null as opt_null",
    [
      { name: "q", type: "text", default: "hello" },
      { name: "n", type: "number", default: "7" },
      { name: "kinds", type: "text_list", required: false },
      { name: "tags", type: "text_list", default: ["a", "b"] },
      { name: "opt", type: "date", required: false },
    ],
  );
  assert.deepEqual(ok(await run([])).rows, [["hello", 7, true, 2, true]]);
  assert.deepEqual(ok(await run([["q", "bye"], ["n", "8"], ["tags", "z"], ["opt", "2026-11-01"]])).rows, [[
    "bye",
    8,
    true,
    1,
    false,
  ]]);
  const audit = (await auditRows(t)).filter((r) => r.error_code === null);
  assert.deepEqual(audit[0].params, { q: "hello", n: "7", kinds: null, tags: ["a", "b"], opt: null });
});

appTest("[reports] missing, unknown and repeated values are refused with the parameter named", async (t) => {
  const admin = await randomAdmin(t);
  const run = await saved(t, admin, "select {{q}} as q, {{n}} as n", [
    { name: "q", type: "text" },
    { name: "n", type: "number", default: "1" },
  ]);
  const missing = refused(await run([]), 422, "missing_parameter");
  assert.equal(missing.details.param, "q");
  const unknown = refused(await run([["q", "x"], ["zzz", "1"]]), 422, "unknown_parameter");
  assert.equal(unknown.details.param, "zzz");
  const repeated = refused(await run([["q", "a"], ["q", "b"]]), 422, "invalid_parameter");
  assert.equal(repeated.details.param, "q");
  const repeatedNumber = refused(await run([["q", "a"], ["n", "1"], ["n", "2"]]), 422, "invalid_parameter");
  assert.equal(repeatedNumber.details.param, "n");
  assert.deepEqual(ok(await run([["q", "a"]])).rows, [["a", 1]]);
});

appTest("[reports] an undeclared {{x}} is refused at save and in previews (unknown_parameter)", async (t) => {
  const admin = await randomAdmin(t);
  const err = refused(
    await call(t, admin, "POST", "/reports", { name: "x", sql: "select {{x}} as x" }),
    422,
    "unknown_parameter",
  );
  assert.equal(err.details?.param, "x");
  refused(
    await call(t, admin, "POST", "/reports", {
      name: "x",
      sql: "select {{a}} as a, {{x}} as x",
      params: [{ name: "a", type: "text" }],
    }),
    422,
    "unknown_parameter",
  );
  assert.equal(await reportCount(t), 0);
  refused(
    await call(t, admin, "POST", "/reports/preview", { sql: "select {{x}} as x" }),
    422,
    "unknown_parameter",
  );
  // In strings and comments braces are just text.
  const ok1 = ok(
    await call(t, admin, "POST", "/reports/preview", { sql: "select '{{x}}' as s -- {{y}}\n" }),
  );
  assert.deepEqual(ok1.rows, [["{{x}}"]]);
  // A declared parameter the SQL does not use is still validated.
  refused(
    await call(t, admin, "POST", "/reports/preview", {
      sql: "select 1 as one",
      params: [{ name: "n", type: "number" }],
      values: { n: "x" },
    }),
    422,
    "invalid_parameter",
  );
});

appTest("[reports] the same placeholder used twice binds once", async (t) => {
  const admin = await randomAdmin(t);
  const compiled = compileReportSql("select {{q}} as a, {{q}} || {{r}} as b, {{q}} as c", {
    q: "text",
    r: "text",
  });
  assert.deepEqual(compiled.params, ["q", "r"]);
  assert.equal(compiled.text, "select $1::text as a, $1::text || $2::text as b, $1::text as c");
  const res = ok(
    await call(t, admin, "POST", "/reports/preview", {
      sql: "select {{q}} as a, {{q}} || {{r}} as b, {{q}} = {{q}} as same",
      params: [{ name: "q", type: "text" }, { name: "r", type: "text" }],
      values: { q: "x", r: "y" },
    }),
  );
  assert.deepEqual(res.rows, [["x", "xy", true]]);
});

appTest("[reports] preview values: JSON strings and lists, null counts as absent", async (t) => {
  const admin = await randomAdmin(t);
  const preview = (values: Record<string, unknown>) =>
    call(t, admin, "POST", "/reports/preview", {
      sql: "select {{q}} as q, array_length({{l}}, 1) as l",
      params: [{ name: "q", type: "text", required: false }, {
        name: "l",
        type: "number_list",
        default: ["1"],
      }],
      values,
    });
  assert.deepEqual(ok(await preview({ q: "a", l: ["1", "2"] })).rows, [["a", 2]]);
  assert.deepEqual(ok(await preview({ q: null })).rows, [[null, 1]]);
  refused(await preview({ q: 5 }), 422, "validation_failed");
  refused(await preview({ q: ["a", "b"] }), 422, "invalid_parameter");
  refused(await preview({ zzz: "1" }), 422, "unknown_parameter");
});

appTest("[reports] a NUL character in a value is refused with a 4xx, not a server error", async (t) => {
  const admin = await randomAdmin(t);
  const run = await saved(t, admin, "select {{q}} as q, {{l}} as l", [
    { name: "q", type: "text", default: "a" },
    { name: "l", type: "text_list", default: ["a"] },
  ]);
  for (const pairs of [[["q", "a\u0000b"]], [["l", "a\u0000b"]]] as [string, string][][]) {
    const res = await run(pairs);
    assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${res.text}`);
    refused(res, res.status);
  }
});

// A value with NUL is refused as invalid_parameter, and that run is audited too (jsonb cannot hold NUL).
appTest("[reports] a run refused for a NUL character is still audited", async (t) => {
  const admin = await randomAdmin(t);
  const run = await saved(t, admin, "select {{q}} as q", [{ name: "q", type: "text" }]);
  const res = await run([["q", "a\u0000b"]]);
  assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${res.text}`);
  const rows = await auditRows(t);
  assert.equal(rows.length, 1, "the refused run has an audit row");
  assert.ok(rows[0].error_code);
});
