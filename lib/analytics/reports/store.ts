/**
 * Saved SQL reports and the audit of their runs (docs/analytics.md). Reports are read and written as
 * the admin (RLS: admins only); runs are audited with the server's rights, failed ones included.
 */
import type { Claims } from "../../db/as_user.ts";
import { asUser } from "../../db/as_user.ts";
import type { Db } from "../../db/port.ts";
import { AppError, conflict, notFound } from "../../errors.ts";
import { nextSlot } from "../../jobs/cron.ts";
import type { ParamDef } from "./params.ts";
import { bindValues } from "./params.ts";
import { compileReportSql, placeholderNames } from "./sql_guard.ts";
import { prepare, toAppError } from "./run.ts";

/** When and to whom a report is emailed. */
export interface ReportSchedule {
  cron: string;
  timezone: string;
  recipients: string[];
  values: Record<string, string | string[]>;
}

/** A saved report as the API shows it. */
export interface Report {
  id: string;
  name: string;
  description: string;
  sql: string;
  params: ParamDef[];
  schedule: ReportSchedule | null;
  next_run_at: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** What a create or update may set. */
export interface ReportInput {
  name: string;
  description: string;
  sql: string;
  params: ParamDef[];
  schedule: ReportSchedule | null;
}

interface Row {
  id: string;
  name: string;
  description: string;
  sql: string;
  params: ParamDef[];
  schedule: ReportSchedule | null;
  next_run_at: Date | string | null;
  created_by: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS =
  "id, name, description, sql, params, schedule, next_run_at, created_by, created_at, updated_at";
const iso = (v: Date | string) => new Date(v).toISOString();

function toReport(r: Row): Report {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    sql: r.sql,
    params: r.params,
    schedule: r.schedule,
    next_run_at: r.next_run_at ? iso(r.next_run_at) : null,
    created_by: r.created_by,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

/**
 * Checks a report before it is saved: the SQL passes the text check, every `{{name}}` is declared,
 * the database can plan it (syntax, names, permissions) with every parameter bound as null, and a
 * schedule's cron, time zone and values are usable. Throws AppError 422.
 */
export async function validateReport(db: Db, input: ReportInput): Promise<void> {
  const embedded = db.kind === "pglite";
  const declared = new Set(input.params.map((p) => p.name));
  try {
    for (const name of placeholderNames(input.sql)) {
      if (!declared.has(name)) {
        throw new AppError(422, "unknown_parameter", `{{${name}}} is used in the SQL but not declared.`, {
          param: name,
        });
      }
    }
    compileReportSql(input.sql, Object.fromEntries(input.params.map((p) => [p.name, "text"])), { embedded });
  } catch (err) {
    throw toAppError(err);
  }
  // Plan it with nulls for every parameter: the database's own parse, name and permission checks.
  const nulls = prepare(
    {
      sql: input.sql,
      params: input.params.map((p) => ({ ...p, required: false, default: undefined })),
      input: {},
    },
    1,
    embedded,
  );
  try {
    await db.transaction(async (tx) => {
      await tx.exec(
        `set transaction read only; set local statement_timeout = '5s'; set local search_path = analytics;
         set local role plaza_reports`,
      );
      await tx.query(`explain ${nulls.text}`, nulls.bind);
    });
  } catch (err) {
    throw toAppError(err, { prepared: nulls, prefix: "explain " });
  }
  if (input.schedule) {
    try {
      nextSlot(input.schedule.cron, input.schedule.timezone, new Date());
    } catch (err) {
      throw new AppError(422, "invalid_schedule", (err as Error).message);
    }
    try {
      const compiled = compileReportSql(
        input.sql,
        Object.fromEntries(input.params.map((p) => [p.name, "text"])),
        { embedded },
      );
      bindValues(input.params, input.schedule.values, compiled.params);
    } catch (err) {
      const mapped = toAppError(err);
      throw new AppError(422, mapped.code, `Schedule values: ${mapped.message}`, mapped.details);
    }
  }
}

function nextRun(schedule: ReportSchedule | null): string | null {
  return schedule ? nextSlot(schedule.cron, schedule.timezone, new Date()).toISOString() : null;
}

function uniqueName(err: unknown): never {
  if ((err as { code?: string }).code === "23505") {
    throw conflict("A report with that name exists.", "name_taken");
  }
  throw err;
}

/**
 * Saves a new report (validated first). With a `clientId` (the Idempotency-Key), a retry returns the
 * report the first request created (`created: false`).
 */
export async function createReport(
  db: Db,
  claims: Claims,
  input: ReportInput,
  clientId?: string,
): Promise<{ report: Report; created: boolean }> {
  if (clientId) {
    const [seen] = await asUser(db, claims, (tx) =>
      tx.query<Row>(
        `select ${COLUMNS} from public.sql_reports where created_by = auth.uid() and client_id = $1`,
        [clientId],
      ));
    if (seen) return { report: toReport(seen), created: false };
  }
  await validateReport(db, input);
  const [row] = await asUser(db, claims, (tx) =>
    tx.query<Row>(
      `insert into public.sql_reports (name, description, sql, params, schedule, next_run_at, created_by, client_id)
       values ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6, auth.uid(), $7) returning ${COLUMNS}`,
      [
        input.name,
        input.description,
        input.sql,
        JSON.stringify(input.params),
        input.schedule ? JSON.stringify(input.schedule) : null,
        nextRun(input.schedule),
        clientId ?? null,
      ],
    )).catch(async (err) => {
      // The same key raced us: answer with the report that request created.
      if (clientId && (err as { code?: string }).code === "23505") {
        const [seen] = await asUser(db, claims, (tx) =>
          tx.query<Row>(
            `select ${COLUMNS} from public.sql_reports where created_by = auth.uid() and client_id = $1`,
            [clientId],
          ));
        if (seen) return [{ ...seen, raced: true }];
      }
      return uniqueName(err);
    });
  if ((row as Row & { raced?: boolean }).raced) return { report: toReport(row), created: false };
  return { report: toReport(row), created: true };
}

/** All reports, newest first. */
export async function listReports(db: Db, claims: Claims): Promise<Report[]> {
  const rows = await asUser(
    db,
    claims,
    (tx) => tx.query<Row>(`select ${COLUMNS} from public.sql_reports order by created_at desc, id limit 500`),
  );
  return rows.map(toReport);
}

/** One report; 404 when it does not exist or the caller may not see it. */
export async function getReport(db: Db, claims: Claims, id: string): Promise<Report> {
  const [row] = await asUser(
    db,
    claims,
    (tx) => tx.query<Row>(`select ${COLUMNS} from public.sql_reports where id = $1`, [id]),
  );
  if (!row) throw notFound("No such report.");
  return toReport(row);
}

/** Changes a report: the merged result is validated as a whole. */
export async function updateReport(
  db: Db,
  claims: Claims,
  id: string,
  patch: Partial<ReportInput>,
): Promise<Report> {
  const current = await getReport(db, claims, id);
  const next: ReportInput = {
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    sql: patch.sql ?? current.sql,
    params: patch.params ?? current.params,
    schedule: patch.schedule === undefined ? current.schedule : patch.schedule,
  };
  await validateReport(db, next);
  const [row] = await asUser(db, claims, (tx) =>
    tx.query<Row>(
      `update public.sql_reports set name = $2, description = $3, sql = $4, params = $5::text::jsonb,
         schedule = $6::text::jsonb, next_run_at = $7, updated_at = now()
       where id = $1 returning ${COLUMNS}`,
      [
        id,
        next.name,
        next.description,
        next.sql,
        JSON.stringify(next.params),
        next.schedule ? JSON.stringify(next.schedule) : null,
        nextRun(next.schedule),
      ],
    )).catch(uniqueName);
  if (!row) throw notFound("No such report.");
  return toReport(row);
}

/** Deletes a report (its audit rows stay, with the name). */
export async function deleteReport(db: Db, claims: Claims, id: string): Promise<void> {
  const rows = await asUser(
    db,
    claims,
    (tx) => tx.query("delete from public.sql_reports where id = $1 returning id", [id]),
  );
  if (!rows.length) throw notFound("No such report.");
}

/** One run as the audit records it. */
export interface RunAudit {
  reportId: string | null;
  reportName: string | null;
  sql: string | null;
  userId: string | null;
  format: "json" | "csv" | "email";
  trigger: "api" | "schedule";
  params: Record<string, unknown>;
  durationMs: number | null;
  rowCount: number | null;
  truncated: boolean;
  errorCode: string | null;
  errorMessage: string | null;
}

/** Writes the audit row of one run (with the server's rights: it is not the admin's to skip). */
export async function recordRun(db: Db, run: RunAudit): Promise<void> {
  await db.query(
    `insert into public.sql_report_runs (report_id, report_name, sql, user_id, format, trigger, params,
       duration_ms, row_count, truncated, error_code, error_message)
     values ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10, $11, $12)`,
    [
      run.reportId,
      run.reportName,
      run.sql,
      run.userId,
      run.format,
      run.trigger,
      // jsonb cannot hold NUL: a refused value with one is still audited, with U+FFFD in its place.
      JSON.stringify(run.params).replace(/\\u0000/g, "\\ufffd"),
      run.durationMs,
      run.rowCount,
      run.truncated,
      run.errorCode,
      run.errorMessage?.slice(0, 1000).replaceAll("\u0000", "\ufffd") ?? null,
    ],
  );
}

/** An audit row as the API shows it. */
export interface RunRecord {
  id: number;
  report_id: string | null;
  report_name: string | null;
  sql: string | null;
  user_id: string | null;
  user_name: string | null;
  format: string;
  trigger: string;
  params: Record<string, unknown>;
  started_at: string;
  duration_ms: number | null;
  row_count: number | null;
  truncated: boolean;
  error_code: string | null;
  error_message: string | null;
}

/** The latest runs of one report (or of every report and preview when `reportId` is null). */
export async function listRuns(
  db: Db,
  claims: Claims,
  reportId: string | null,
  limit = 100,
): Promise<RunRecord[]> {
  const rows = await asUser(
    db,
    claims,
    (tx) =>
      tx.query<RunRecord & { started_at: Date | string; id: number | string }>(
        `select r.id, r.report_id, r.report_name, r.sql, r.user_id,
         (select p.name from public.profiles p where p.id = r.user_id) as user_name, r.format, r.trigger,
         r.params, r.started_at, r.duration_ms, r.row_count, r.truncated, r.error_code, r.error_message
       from public.sql_report_runs r
       where $1::uuid is null or r.report_id = $1::uuid
       order by r.id desc limit $2`,
        [reportId, limit],
      ),
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), started_at: iso(r.started_at) }));
}
