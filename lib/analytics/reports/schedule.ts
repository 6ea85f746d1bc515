/**
 * Scheduled reports (docs/analytics.md, "Schedules"): a minutely job claims the reports whose slot
 * has come, moves each to its next slot and queues one email job per slot (deduplicated); the email
 * job runs the report with the schedule's values and mails the CSV to every recipient once.
 */
import type { Db } from "../../db/port.ts";
import { AppError } from "../../errors.ts";
import { nextSlot } from "../../jobs/cron.ts";
import type { Jobs } from "../../jobs/port.ts";
import type { Logger } from "../../log.ts";
import type { OutboxDeps } from "../../notify/outbox.ts";
import { sendEmail } from "../../notify/outbox.ts";
import { csvFileName } from "./audited.ts";
import { csvLine } from "./csv.ts";
import { prepare, runJson } from "./run.ts";
import { recordRun, type ReportSchedule } from "./store.ts";
import type { ParamDef } from "./params.ts";

export const REPORT_EMAIL_JOB = "report-email";
export const EMAIL_ROW_CAP = 50_000;
export const EMAIL_MAX_BYTES = 5 * 1024 * 1024;

/** Queues an email job for every report whose slot has come; returns how many were queued. */
export async function queueDueReports(
  deps: { db: Db; jobs: Jobs; log: Logger },
  now = new Date(),
): Promise<number> {
  const due = await deps.db.transaction(async (tx) => {
    const rows = await tx.query<{ id: string; schedule: ReportSchedule; next_run_at: Date | string }>(
      `select id, schedule, next_run_at from public.sql_reports
       where next_run_at <= $1 and schedule is not null
       order by next_run_at limit 50 for update skip locked`,
      [now.toISOString()],
    );
    for (const r of rows) {
      let next: string | null = null;
      try {
        next = nextSlot(r.schedule.cron, r.schedule.timezone, now).toISOString();
      } catch (err) {
        deps.log.warn("report schedule unusable; disabled", { report_id: r.id, err: String(err) });
      }
      await tx.query("update public.sql_reports set next_run_at = $2 where id = $1", [r.id, next]);
    }
    return rows;
  });
  for (const r of due) {
    const slot = new Date(r.next_run_at).toISOString();
    await deps.jobs.enqueue(REPORT_EMAIL_JOB, { report_id: r.id, slot }, {
      dedupId: `report:${r.id}:${slot}`,
    });
  }
  return due.length;
}

/** The CSV of at most EMAIL_ROW_CAP rows and EMAIL_MAX_BYTES, and whether it was cut. */
function csvFor(result: { columns: { name: string }[]; rows: unknown[][]; truncated: boolean }) {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [enc.encode(csvLine(result.columns.map((c) => c.name)))];
  let bytes = parts[0].length;
  let rows = 0;
  let cut = result.truncated;
  for (const row of result.rows) {
    const line = enc.encode(csvLine(row));
    if (bytes + line.length > EMAIL_MAX_BYTES) {
      cut = true;
      break;
    }
    parts.push(line);
    bytes += line.length;
    rows++;
  }
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { content: out, rows, cut };
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!,
  );

/**
 * Runs one scheduled report for `slot` and emails it. Idempotent per slot and recipient: a retry
 * sends only what was not sent. A report that fails is emailed as its error (and audited).
 */
export async function sendScheduledReport(
  deps: OutboxDeps & { db: Db },
  reportId: string,
  slot: string,
): Promise<{ sent: number; rows: number; error: string | null }> {
  const [report] = await deps.db.query<{
    id: string;
    name: string;
    sql: string;
    params: ParamDef[];
    schedule: ReportSchedule | null;
    created_by: string | null;
  }>("select id, name, sql, params, schedule, created_by from public.sql_reports where id = $1", [reportId]);
  if (!report?.schedule) return { sent: 0, rows: 0, error: null }; // deleted or unscheduled since
  const { schedule } = report;
  const started = performance.now();
  let body: { text: string; html: string };
  let attachments: { filename: string; contentType: string; content: Uint8Array }[] = [];
  let rows = 0;
  let cut = false;
  let error: AppError | null = null;
  const values: Record<string, unknown> = {};
  const day = slot.slice(0, 10);
  const link = deps.config.publicUrl ? `${deps.config.publicUrl}/admin/reports/${report.id}` : null;
  try {
    const p = prepare(
      { sql: report.sql, params: report.params, input: schedule.values },
      EMAIL_ROW_CAP,
      deps.db.kind === "pglite",
    );
    Object.assign(values, p.values);
    const result = await runJson(deps.db, p, EMAIL_ROW_CAP);
    const csv = csvFor(result);
    rows = csv.rows;
    cut = csv.cut;
    attachments = [{
      filename: csvFileName(report.name, day),
      contentType: "text/csv",
      content: csv.content,
    }];
    const note = csv.cut
      ? `The report returned more than fits in an email: the attached CSV holds the first ${
        rows.toLocaleString("en")
      } rows. Download the whole result from Plaza.`
      : `${rows.toLocaleString("en")} row(s), attached as CSV.`;
    body = {
      text: `${report.name} (${day})\n\n${note}\n${link ? `\n${link}\n` : ""}`,
      html: `<p><strong>${escapeHtml(report.name)}</strong> (${day})</p><p>${escapeHtml(note)}</p>${
        link ? `<p><a href="${escapeHtml(link)}">Open the report in Plaza</a></p>` : ""
      }`,
    };
  } catch (err) {
    if (!(err instanceof AppError)) throw err; // a database outage: the job retries
    error = err;
    body = {
      text: `${report.name} (${day}) could not run: ${err.message}\n${link ? `\n${link}\n` : ""}`,
      html: `<p><strong>${escapeHtml(report.name)}</strong> (${day}) could not run:</p><p>${
        escapeHtml(err.message)
      }</p>${link ? `<p><a href="${escapeHtml(link)}">Open the report in Plaza</a></p>` : ""}`,
    };
  }
  let sent = 0;
  for (const to of schedule.recipients) {
    const res = await sendEmail(
      deps,
      { to, subject: `Plaza report: ${report.name} (${day})`, ...body, attachments },
      { dedupKey: `report:${report.id}:${slot}:${to.toLowerCase()}` },
    );
    if (res.status !== "failed") sent++;
  }
  await recordRun(deps.db, {
    reportId: report.id,
    reportName: report.name,
    sql: null,
    userId: report.created_by,
    format: "email",
    trigger: "schedule",
    params: values,
    durationMs: Math.round(performance.now() - started),
    rowCount: error ? null : rows,
    truncated: cut,
    errorCode: error?.code ?? null,
    errorMessage: error?.message ?? null,
  });
  return { sent, rows, error: error?.message ?? null };
}
