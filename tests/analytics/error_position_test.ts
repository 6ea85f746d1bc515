/** `details.position` of a failed report points into the SQL as the admin typed it, on every path. */
import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { randomAdmin } from "../support/factories.ts";
import { api } from "../support/chat.ts";

appTest("[reports] SQL error positions point into the typed SQL (preview, save, placeholders)", async (t) => {
  const admin = await randomAdmin(t);
  const sql = "select 1 from daily_metrics limitt 5";
  const at = sql.indexOf("5") + 1;
  const preview = await api(t, admin, "POST", "/reports/preview", { sql });
  assert.equal(preview.status, 422);
  assert.equal(preview.body.error.code, "sql_error");
  assert.equal(preview.body.error.details.position, at);
  const save = await api(t, admin, "POST", "/reports", { name: "Broken", sql });
  assert.equal(save.status, 422);
  assert.equal(save.body.error.details.position, at);
  // A placeholder before the error is rewritten to `$1::date`; the position still lands on the token
  // Postgres names ("limitt": no alias is possible after a WHERE expression).
  const withParam = "select 1 from daily_metrics where day = {{day}} limitt 5";
  const p = await api(t, admin, "POST", "/reports/preview", {
    sql: withParam,
    params: [{ name: "day", type: "date", default: "2026-11-01" }],
  });
  assert.equal(p.status, 422);
  assert.match(p.body.error.message, /"limitt"/);
  assert.equal(p.body.error.details.position, withParam.indexOf("limitt") + 1);
  // The text check reports where it stopped too (1-based).
  const guard = await api(t, admin, "POST", "/reports/preview", { sql: "select set_config('a', 'b', true)" });
  assert.equal(guard.body.error.code, "invalid_sql");
  assert.equal(guard.body.error.details.position, "select ".length + 1);
});
