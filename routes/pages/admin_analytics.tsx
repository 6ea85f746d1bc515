/**
 * `/admin/analytics` (docs/analytics.md, "Dashboard"): the live counters, then the section's KPIs,
 * charts and tables for a preset or custom range. Everything is rendered on the server and works
 * without JavaScript (links, a GET form, tables of the chart data, CSV links); the
 * AnalyticsDashboard island draws the charts and switches ranges and sections in place, and
 * LiveCounters follows `admin:live`. Admins only.
 */
import { Hono } from "hono";
import { AnalyticsDashboard, LiveCounters } from "@/components/islands.ts";
import { dashboardSummary, type DayRange, liveCounters } from "@/lib/analytics/dashboard.ts";
import { asUser } from "@/lib/db/as_user.ts";
import { AppError } from "@/lib/errors.ts";
import type { DashboardQuery } from "@/islands/AnalyticsDashboard.tsx";
import { rangeOf, summaryQuery } from "../api/analytics.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { clientConfig } from "../realtime.ts";
import { renderPage } from "../render.tsx";
import { requireAdmin } from "../session.ts";
import { zodIssues } from "../validate.ts";

const FIELD_HELP: Record<string, string> = {
  range: "The range must be 7, 30 or 90 days.",
  from: "The start date must be a date like 2026-11-01.",
  to: "The end date must be a date like 2026-11-30.",
  section: "The section must be one of overview, community, events, orders or media.",
};

/** Reads the query; empty fields (an untouched date input of the no-JS form) count as absent. */
function readDashboardQuery(c: Ctx): { query: DashboardQuery; range: DayRange } {
  const raw = Object.fromEntries(Object.entries(c.req.query()).filter(([, v]) => v !== ""));
  const parsed = summaryQuery.safeParse(raw);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    const lines = issues.map((i) =>
      i.message === "Unknown field."
        ? `"${i.path}" is not an option of this page.`
        : FIELD_HELP[i.path] ?? i.message
    );
    throw new AppError(422, "invalid_query", [...new Set(lines)].join(" "), issues);
  }
  const q = parsed.data;
  const range = rangeOf(q);
  const query: DashboardQuery = q.from || q.to
    ? { section: q.section, from: range.from, to: range.to }
    : { section: q.section, range: range.days };
  return { query, range };
}

/** The 422 page: what was wrong, and links that work. */
function invalidPage(c: Ctx, message: string): Response {
  return renderPage(
    c,
    <section class="card narrow" data-testid="analytics-invalid">
      <h1>The dashboard cannot show that</h1>
      <p>{message}</p>
      <p class="muted">
        A custom range needs dates like 2026-11-01, the end not before the start, at most 400 days.
      </p>
      <p class="row">
        <a class="button" href="/admin/analytics?range=30">Last 30 days</a>
        <a href="/admin/analytics?range=7">Last 7 days</a>
        <a href="/admin/analytics?range=90">Last 90 days</a>
      </p>
    </section>,
    { title: "Analytics", status: 422 },
  );
}

/** The analytics dashboard page. */
export const adminAnalyticsPage = new Hono<AppEnv>()
  .get("/admin/analytics", async (c) => {
    if (!c.var.claims) {
      const url = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    const claims = await requireAdmin(c);
    let parsed: ReturnType<typeof readDashboardQuery>;
    try {
      parsed = readDashboardQuery(c);
    } catch (err) {
      if (err instanceof AppError && err.status === 422) return invalidPage(c, err.message);
      throw err;
    }
    const { query, range } = parsed;
    const p = c.var.platform;
    const [summary, live] = await asUser(
      p.db,
      claims,
      async (tx) => [await dashboardSummary(tx, query.section, range), await liveCounters(tx)] as const,
    );
    return renderPage(
      c,
      <div class="stack analytics-page">
        <h1>Analytics</h1>
        <LiveCounters {...clientConfig(c, p)} initial={live} />
        <AnalyticsDashboard summary={summary} query={query} />
      </div>,
      { title: "Analytics" },
    );
  });
