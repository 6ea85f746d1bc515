/**
 * `/api/v1/reports` (admins): saved SQL reports, running them as JSON or streamed CSV, previews of
 * unsaved SQL, and the audit of runs (docs/analytics.md). Thin: validate -> lib/analytics -> respond.
 */
import { Hono } from "hono";
import { z } from "zod";
import { csvAudited, csvFileName, runAudited, type RunSubject } from "@/lib/analytics/reports/audited.ts";
import { paramDefsSchema } from "@/lib/analytics/reports/params.ts";
import type { RunRequest } from "@/lib/analytics/reports/run.ts";
import {
  createReport,
  deleteReport,
  getReport,
  listReports,
  listRuns,
  type Report,
  updateReport,
} from "@/lib/analytics/reports/store.ts";
import type { AccessClaims } from "@/lib/auth/jwt.ts";
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

function subjectOf(report: Report, claims: AccessClaims): RunSubject {
  return { reportId: report.id, reportName: report.name, sql: null, userId: claims.sub, trigger: "api" };
}

function requestOf(report: Report, c: Ctx): RunRequest {
  return { sql: report.sql, params: report.params, input: new URL(c.req.url).searchParams };
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
    const subject = {
      reportId: null,
      reportName: null,
      sql: body.sql,
      userId: claims.sub,
      trigger: "api" as const,
    };
    const result = await runAudited(c.var.platform, subject, req);
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
    const result = await runAudited(c.var.platform, subjectOf(report, claims), requestOf(report, c));
    return c.json(result);
  })
  .get("/:id/run.csv", async (c) => {
    const claims = await requireAdmin(c);
    await rateLimit(c, reportRules.run, claims.sub);
    const { db } = c.var.platform;
    const report = await getReport(db, claims, reportParam(c));
    const stream = await csvAudited(c.var.platform, subjectOf(report, claims), requestOf(report, c));
    return new Response(stream, {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="${csvFileName(report.name)}"`,
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      },
    });
  });
