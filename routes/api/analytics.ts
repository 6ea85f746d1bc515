/**
 * `/api/v1/analytics/*` (admins): the dashboard's figures as JSON, one of its tables as CSV, and the
 * live counters (docs/analytics.md). Thin: validate -> lib/analytics -> respond.
 */
import { Hono } from "hono";
import { z } from "zod";
import { asUser } from "@/lib/db/as_user.ts";
import {
  dashboardSummary,
  type DayRange,
  exportTable,
  liveCounters,
  PRESETS,
  resolveRange,
  SECTIONS,
} from "@/lib/analytics/dashboard.ts";
import { csvLine } from "@/lib/analytics/reports/csv.ts";
import { AppError, notFound } from "@/lib/errors.ts";
import type { AppEnv } from "../env.ts";
import { requireAdmin } from "../session.ts";
import { readQuery } from "../validate.ts";

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "Use a date like 2026-11-01.").refine(
  (s) =>
    !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s),
  "Not a calendar date.",
);

/** The query of the dashboard page and API. */
export const summaryQuery = z.strictObject({
  section: z.enum(SECTIONS).default("overview"),
  range: z.enum(PRESETS.map(String) as [string, ...string[]]).transform(Number).optional(),
  from: day.optional(),
  to: day.optional(),
});

/** The range a validated query asks for; 422 `invalid_range` when it cannot be used. */
export function rangeOf(q: { range?: number; from?: string; to?: string }): DayRange {
  try {
    return resolveRange(q);
  } catch (err) {
    throw new AppError(422, "invalid_range", (err as Error).message);
  }
}

/** Analytics API routes. */
export const analyticsApi = new Hono<AppEnv>()
  .get("/summary", async (c) => {
    const claims = await requireAdmin(c);
    const q = readQuery(c, summaryQuery);
    const range = rangeOf(q);
    const summary = await asUser(c.var.platform.db, claims, (tx) => dashboardSummary(tx, q.section, range));
    return c.json(summary);
  })
  .get("/export.csv", async (c) => {
    const claims = await requireAdmin(c);
    const q = readQuery(c, summaryQuery.extend({ table: z.string().min(1).max(80) }));
    const range = rangeOf(q);
    const summary = await asUser(c.var.platform.db, claims, (tx) => dashboardSummary(tx, q.section, range));
    const table = exportTable(summary, q.table);
    if (!table) throw notFound(`The ${q.section} section has no table "${q.table}".`);
    const body = csvLine(table.columns) + table.rows.map((r) => csvLine(r)).join("");
    const name = `plaza-${q.section}-${q.table.replace(/[^a-z0-9_-]/gi, "-")}-${range.from}-${range.to}.csv`;
    return c.body(body, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${name}"`,
      "cache-control": "no-store",
    });
  })
  .get("/live", async (c) => {
    const claims = await requireAdmin(c);
    return c.json(await asUser(c.var.platform.db, claims, (tx) => liveCounters(tx)));
  });
