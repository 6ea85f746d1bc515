/**
 * `/api/v1/reports` (admins): saved SQL reports, running them as JSON or streamed CSV, previews of
 * unsaved SQL, and the audit of runs (docs/analytics.md). Thin: validate -> lib/analytics -> respond.
 */
import { Hono } from "hono";
import { z } from "zod";
import { describeValues, paramDefsSchema } from "@/lib/analytics/reports/params.ts";
import {
  CSV_ROW_CAP,
  prepare,
  type Prepared,
  RUN_ROW_CAP,
  runJson,
  type RunRequest,
  streamCsv,
} from "@/lib/analytics/reports/run.ts";
import {
  createReport,
  deleteReport,
  getReport,
  listReports,
  listRuns,
  recordRun,
  type Report,
  type RunAudit,
  updateReport,
} from "@/lib/analytics/reports/store.ts";
import type { AccessClaims } from "@/lib/auth/jwt.ts";
import { AppError } from "@/lib/errors.ts";
import type { RateLimitRule } from "@/lib/kv/rate_limit.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { rateLimit } from "../rate_limit.ts";
import { requireAdmin } from "../session.ts";
import { check, readJson, text, uuidParam } from "../validate.ts";

/** Rate limits per admin. */
export const reportRules = {
  write: { name: "report-write", limit: 60, windowSeconds: 600 },
  run: { name: "report-run", limit: 120, windowSeconds: 600 },
} satisfies Record<string, RateLimitRule>;

const value = z.union([z.string().max(1000), z.array(z.string().max(1000)).max(100)]);
const scheduleSchema = z.strictObject({
  cron: z.string().min(1).max(100),
  timezone: z.string().min(1).max(64).default("UTC"),
  recipients: z.array(z.email().max(254)).min(1).max(10),
  values: z.record(z.string().max(40), value).default({}),
});
const fields = {
  name: text(1, 120).transform((s) => s.trim()),
  description: text(0, 2000),
  sql: text(1, 20_000),
  params: paramDefsSchema,
  schedule: scheduleSchema.nullable(),
};
const createBody = z.strictObject({
  ...fields,
  description: fields.description.default(""),
  params: fields.params.default([]),
  schedule: fields.schedule.default(null),
});
const patchBody = z.strictObject(fields).partial().refine(
  (b) => Object.keys(b).length > 0,
  "Nothing to change.",
);
const previewBody = z.strictObject({
  sql: fields.sql,
  params: fields.params.default([]),
  values: z.record(z.string().max(40), value.nullable()).default({}),
});
const idempotencyKey = z.string().regex(
  /^[A-Za-z0-9_.:-]{1,100}$/,
  "Use 1-100 letters, digits, '_', '-', '.' or ':'.",
);

const reportParam = (c: Ctx) => uuidParam(c, "id", "No such report.");

/** Runs `req` the way `format` asks, auditing the run whatever happens. */
async function audited<T>(
  c: Ctx,
  claims: AccessClaims,
  base: Pick<RunAudit, "reportId" | "reportName" | "sql" | "format">,
  req: RunRequest,
  cap: number,
  run: (p: Prepared) => Promise<T>,
): Promise<T> {
  const { db, log } = c.var.platform;
  const audit = (extra: Partial<RunAudit>, values: Record<string, unknown>) =>
    recordRun(db, {
      ...base,
      userId: claims.sub,
      trigger: "api",
      params: values,
      durationMs: null,
      rowCount: null,
      truncated: false,
      errorCode: null,
      errorMessage: null,
      ...extra,
    }).catch((err) => log.error("report run not audited", { err: String(err) }));
  let prepared: Prepared | undefined;
  try {
    prepared = prepare(req, cap, db.kind === "pglite");
    return await run(prepared);
  } catch (err) {
    const e = err instanceof AppError ? err : undefined;
    await audit(
      { errorCode: e?.code ?? "internal", errorMessage: e?.message ?? String(err) },
      prepared?.values ?? describeValues(req.params, req.input, { ignore: req.ignore }),
    );
    throw err;
  }
}

function requestOf(report: Report, c: Ctx): RunRequest {
  return { sql: report.sql, params: report.params, input: new URL(c.req.url).searchParams };
}

function csvName(report: Report): string {
  const slug = report.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60) ||
    "report";
  return `${slug}-${new Date().toISOString().slice(0, 10)}.csv`;
}

/** SQL reports API routes. */
export const reportsApi = new Hono<AppEnv>()
  .post("/", async (c) => {
    const claims = await requireAdmin(c);
    await rateLimit(c, reportRules.write, claims.sub);
    const body = await readJson(c, createBody);
    const key = c.req.header("idempotency-key");
    const clientId = key === undefined ? undefined : check(idempotencyKey, key, "Idempotency-Key");
    const { report, created } = await createReport(c.var.platform.db, claims, body, clientId);
    return c.json(report, created ? 201 : 200);
  })
  .get("/", async (c) => {
    const claims = await requireAdmin(c);
    return c.json({ reports: await listReports(c.var.platform.db, claims) });
  })
  .post("/preview", async (c) => {
    const claims = await requireAdmin(c);
    await rateLimit(c, reportRules.run, claims.sub);
    const body = await readJson(c, previewBody);
    const req: RunRequest = { sql: body.sql, params: body.params, input: body.values };
    const { db } = c.var.platform;
    const result = await audited(
      c,
      claims,
      { reportId: null, reportName: null, sql: body.sql, format: "json" },
      req,
      RUN_ROW_CAP,
      async (p) => {
        const res = await runJson(db, p);
        await recordRun(db, {
          reportId: null,
          reportName: null,
          sql: body.sql,
          format: "json",
          userId: claims.sub,
          trigger: "api",
          params: p.values,
          durationMs: res.duration_ms,
          rowCount: res.row_count,
          truncated: res.truncated,
          errorCode: null,
          errorMessage: null,
        });
        return res;
      },
    );
    return c.json(result);
  })
  .get("/:id", async (c) => {
    const claims = await requireAdmin(c);
    return c.json(await getReport(c.var.platform.db, claims, reportParam(c)));
  })
  .patch("/:id", async (c) => {
    const claims = await requireAdmin(c);
    await rateLimit(c, reportRules.write, claims.sub);
    const id = reportParam(c);
    const body = await readJson(c, patchBody);
    return c.json(await updateReport(c.var.platform.db, claims, id, body));
  })
  .delete("/:id", async (c) => {
    const claims = await requireAdmin(c);
    await rateLimit(c, reportRules.write, claims.sub);
    await deleteReport(c.var.platform.db, claims, reportParam(c));
    return c.body(null, 204);
  })
  .get("/:id/runs", async (c) => {
    const claims = await requireAdmin(c);
    const id = reportParam(c);
    await getReport(c.var.platform.db, claims, id);
    return c.json({ runs: await listRuns(c.var.platform.db, claims, id) });
  })
  .get("/:id/run", async (c) => {
    const claims = await requireAdmin(c);
    await rateLimit(c, reportRules.run, claims.sub);
    const { db } = c.var.platform;
    const report = await getReport(db, claims, reportParam(c));
    const base = { reportId: report.id, reportName: report.name, sql: null, format: "json" as const };
    const result = await audited(c, claims, base, requestOf(report, c), RUN_ROW_CAP, async (p) => {
      const res = await runJson(db, p);
      await recordRun(db, {
        ...base,
        userId: claims.sub,
        trigger: "api",
        params: p.values,
        durationMs: res.duration_ms,
        rowCount: res.row_count,
        truncated: res.truncated,
        errorCode: null,
        errorMessage: null,
      });
      return res;
    });
    return c.json(result);
  })
  .get("/:id/run.csv", async (c) => {
    const claims = await requireAdmin(c);
    await rateLimit(c, reportRules.run, claims.sub);
    const { db, log } = c.var.platform;
    const report = await getReport(db, claims, reportParam(c));
    const base = { reportId: report.id, reportName: report.name, sql: null, format: "csv" as const };
    const stream = await audited(c, claims, base, requestOf(report, c), CSV_ROW_CAP, (p) =>
      streamCsv(db, p, {
        onDone: (outcome) =>
          void recordRun(db, {
            ...base,
            userId: claims.sub,
            trigger: "api",
            params: p.values,
            durationMs: outcome.duration_ms,
            rowCount: outcome.rows,
            truncated: outcome.error?.code === "row_cap_exceeded",
            errorCode: outcome.error?.code ?? null,
            errorMessage: outcome.error?.message ?? null,
          }).catch((err) => log.error("report run not audited", { err: String(err) })),
      }));
    return new Response(stream, {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="${csvName(report)}"`,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      },
    });
  });
