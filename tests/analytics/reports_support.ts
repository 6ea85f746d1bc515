/** Shared helpers for the SQL reports tests (tests/analytics/reports_*_test.ts). */
import assert from "node:assert/strict";
import { type TestContext, withApp } from "../support/app.ts";
import type { TestUser } from "../support/factories.ts";

/** A raw API answer: status, parsed JSON (or null), the text and the headers. */
export interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  text: string;
  headers: Headers;
}

/**
 * Calls `/api/v1<path>` as `user` (anonymous when null). `body` is sent as JSON unless it is a string,
 * which is sent as is (with `content-type: application/json` unless `headers` say otherwise).
 */
export async function call(
  t: TestContext,
  user: TestUser | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const h: Record<string, string> = { ...(user ? user.bearer : {}) };
  let payload: string | undefined;
  if (body !== undefined) {
    h["content-type"] = "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  Object.assign(h, headers);
  const res = await t.request(`/api/v1${path}`, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** Asserts the error shape `{error: {code, message}}` with `status` (and `code`, when given). */
// deno-lint-ignore no-explicit-any
export function refused(res: Answer, status: number, code?: string | string[]): any {
  const info = `${res.status} ${res.text.slice(0, 500)}`;
  assert.equal(res.status, status, info);
  assert.equal(typeof res.body?.error?.code, "string", info);
  assert.equal(typeof res.body?.error?.message, "string", info);
  if (typeof code === "string") assert.equal(res.body.error.code, code, info);
  if (Array.isArray(code)) assert.ok(code.includes(res.body.error.code), `expected one of ${code}: ${info}`);
  return res.body.error;
}

/** Asserts a success status and returns the body. */
// deno-lint-ignore no-explicit-any
export function ok(res: Answer, status = 200): any {
  assert.equal(res.status, status, `${res.status} ${res.text.slice(0, 500)}`);
  return res.body;
}

/** Creates a report through the API and returns it (asserting 201). */
export async function createReport(
  t: TestContext,
  admin: TestUser,
  body: Record<string, unknown>,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  return ok(await call(t, admin, "POST", "/reports", body), 201);
}

/** Number of saved reports (read past RLS). */
export async function reportCount(t: TestContext): Promise<number> {
  const [row] = await t.platform.db.query<{ n: number }>("select count(*)::int as n from public.sql_reports");
  return row.n;
}

/** One audit row as stored. */
export interface RunRow {
  id: number;
  report_id: string | null;
  report_name: string | null;
  sql: string | null;
  user_id: string | null;
  format: string;
  trigger: string;
  params: Record<string, unknown>;
  row_count: number | null;
  truncated: boolean;
  error_code: string | null;
}

/** Every audit row, oldest first (read past RLS). */
export async function auditRows(t: TestContext): Promise<RunRow[]> {
  const rows = await t.platform.db.query<RunRow & { id: number | string; params: unknown }>(
    `select id, report_id, report_name, sql, user_id, format, trigger, params, row_count, truncated, error_code
     from public.sql_report_runs order by id`,
  );
  return rows.map((r) => ({
    ...r,
    id: Number(r.id),
    params: (typeof r.params === "string" ? JSON.parse(r.params) : r.params) as Record<string, unknown>,
  }));
}

/** Polls `fn` until it returns a truthy value (CSV audits are written after the stream ends). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  while (true) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Seeds a few rows of analytics.daily_metrics (the table reports usually read). */
export async function seedMetrics(t: TestContext): Promise<void> {
  await t.platform.db.query(
    `insert into analytics.daily_metrics (day, metric, key, value)
     select d::date, m, '', (extract(day from d) * 10)::float8
     from generate_series('2026-11-01'::date, '2026-11-10'::date, interval '1 day') d,
       unnest(array['page_views', 'signups']) m`,
  );
}

/** `?a=1&b=2` from pairs (repeated keys allowed). */
export function qs(pairs: [string, string][]): string {
  return pairs.length ? "?" + new URLSearchParams(pairs).toString() : "";
}

/** An {@link appTest} that is ignored: it shows a product bug (see the `// BUG:` comment above each use). */
export function bugTest(name: string, fn: (t: TestContext) => Promise<void>) {
  Deno.test({ name, ignore: true, sanitizeOps: false, sanitizeResources: false, fn: () => withApp(fn) });
}
