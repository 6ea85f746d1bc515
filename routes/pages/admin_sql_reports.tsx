/**
 * `/admin/reports` (docs/analytics.md, "SQL reports"): saved, parameterized SQL reports for admins.
 *
 * - `GET /admin/reports`: the list, with parameters, schedule, last run and a short help box.
 * - `GET /admin/reports/new`, `GET /admin/reports/:id`: the ReportWorkbench island (editor, parameters,
 *   run, results, chart) and, for browsers without JavaScript, plain forms: save, run
 *   (`?run=1&<param>=…`, up to 200 rows rendered here, with a CSV link), delete. `?form=1` shows the
 *   plain form (with the schedule) to everyone.
 * - `POST /admin/reports`, `POST /admin/reports/:id`: save from the form; invalid input re-renders the
 *   form with the messages next to the fields and everything typed kept.
 * - `POST /admin/reports/:id/delete`: delete (the "yes, delete" box must be ticked).
 *
 * Everything calls lib/analytics/reports directly; page runs are audited like API runs.
 */
import { Hono } from "hono";
import type { VNode } from "preact";
import { z } from "zod";
import { ReportWorkbench } from "@/components/islands.ts";
import { FormAlert } from "@/components/forms.tsx";
import { PARAM_TYPES, type ParamDef, paramDefsSchema } from "@/lib/analytics/reports/params.ts";
import type { RunResult } from "@/lib/analytics/reports/run.ts";
import { runAudited } from "@/lib/analytics/reports/audited.ts";
import {
  createReport,
  deleteReport,
  getReport,
  listReports,
  listRuns,
  type Report,
  type ReportInput,
  type ReportSchedule,
  type RunRecord,
  updateReport,
} from "@/lib/analytics/reports/store.ts";
import type { AccessClaims } from "@/lib/auth/jwt.ts";
import { shortUtc } from "@/lib/dates.ts";
import { AppError } from "@/lib/errors.ts";
import { reportRules } from "../api/reports.ts";
import type { AppEnv, Ctx } from "../env.ts";
import { rateLimit } from "../rate_limit.ts";
import { renderPage } from "../render.tsx";
import { requireAdmin } from "../session.ts";
import { readForm, text, uuidParam, zodIssues } from "../validate.ts";

/** Rows the page itself renders for a run (the island and the API show up to 10,000). */
export const PAGE_ROW_CAP = 200;
/** Query keys of the report page that are not report parameters. */
const PAGE_KEYS = ["run", "form", "done"];

/** What the save form holds, as typed. */
interface FormValues {
  name: string;
  description: string;
  sql: string;
  params: string;
  schedule_cron: string;
  schedule_timezone: string;
  schedule_recipients: string;
  schedule_values: string;
  no_schedule: boolean;
}

/** Field name → message. */
type Errors = Partial<Record<keyof FormValues | "form" | "delete", string>>;

const saveForm = z.object({
  name: z.string().max(200).default(""),
  description: z.string().max(4000).default(""),
  sql: z.string().max(40_000).default(""),
  params: z.string().max(100_000).default(""),
  schedule_cron: z.string().max(200).default(""),
  schedule_timezone: z.string().max(200).default(""),
  schedule_recipients: z.string().max(4000).default(""),
  schedule_values: z.string().max(100_000).default(""),
  no_schedule: z.string().max(10).optional(),
});
const deleteForm = z.object({ confirm: z.string().max(10).optional() });

const nameField = text(1, 120);
const descriptionField = text(0, 2000);
const sqlField = text(1, 20_000);
const scheduleValue = z.union([z.string().max(1000), z.array(z.string().max(1000)).max(100)]);
const scheduleFields = z.strictObject({
  cron: z.string().min(1, "Write a cron expression, e.g. 0 8 * * 1").max(100),
  timezone: z.string().min(1).max(64),
  recipients: z.array(z.email("Each recipient must be an email address.").max(254)).min(
    1,
    "Add at least one recipient.",
  ).max(10, "At most 10 recipients."),
  values: z.record(z.string().max(40), scheduleValue),
});

/** Sign-in redirect back to this very URL. */
function signIn(c: Ctx) {
  const url = new URL(c.req.url);
  return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
}

/** The form values of a saved report (or of a new one). */
function formOf(report: Report | null): FormValues {
  const s = report?.schedule;
  return {
    name: report?.name ?? "",
    description: report?.description ?? "",
    sql: report?.sql ?? "",
    params: JSON.stringify(report?.params ?? [], null, 2),
    schedule_cron: s?.cron ?? "",
    schedule_timezone: s?.timezone ?? "UTC",
    schedule_recipients: s?.recipients.join(", ") ?? "",
    schedule_values: s ? JSON.stringify(s.values ?? {}, null, 2) : "{}",
    no_schedule: !s,
  };
}

/** Reads the typed form into a report input, or field errors. */
function parseForm(form: FormValues): { input?: ReportInput; errors: Errors } {
  const errors: Errors = {};
  const first = (r: z.ZodSafeParseResult<unknown>) => r.success ? undefined : r.error.issues[0]?.message;
  const name = form.name.trim();
  errors.name = first(nameField.safeParse(name));
  errors.description = first(descriptionField.safeParse(form.description));
  errors.sql = first(sqlField.safeParse(form.sql));
  let params: ParamDef[] = [];
  try {
    const raw = form.params.trim() ? JSON.parse(form.params) : [];
    const parsed = paramDefsSchema.safeParse(raw);
    if (parsed.success) params = parsed.data;
    else errors.params = zodIssues(parsed.error).map((i) => `${i.path}: ${i.message}`).join("; ");
  } catch {
    errors.params = 'Not valid JSON: write a list like [{"name": "day", "type": "date"}].';
  }
  let schedule: ReportSchedule | null = null;
  const anySchedule = [form.schedule_cron, form.schedule_recipients].some((v) => v.trim());
  if (!form.no_schedule && anySchedule) {
    let values: unknown = {};
    try {
      values = form.schedule_values.trim() ? JSON.parse(form.schedule_values) : {};
    } catch {
      errors.schedule_values = 'Not valid JSON: write an object like {"period": "2026-11-01..2026-11-30"}.';
    }
    const parsed = scheduleFields.safeParse({
      cron: form.schedule_cron.trim(),
      timezone: form.schedule_timezone.trim() || "UTC",
      recipients: form.schedule_recipients.split(/[,\s]+/).map((s) => s.trim()).filter(Boolean),
      values,
    });
    if (parsed.success) schedule = parsed.data;
    else {
      for (const issue of parsed.error.issues) {
        const key = `schedule_${String(issue.path[0] ?? "cron")}` as keyof Errors;
        errors[key] ??= issue.message;
      }
    }
  }
  for (const k of Object.keys(errors) as (keyof Errors)[]) if (!errors[k]) delete errors[k];
  if (Object.keys(errors).length) return { errors };
  return { input: { name, description: form.description, sql: form.sql, params, schedule }, errors };
}

/** Maps a refused save (lib AppError) to the field it is about. */
function saveErrors(err: AppError): Errors {
  const message = err.message;
  switch (err.code) {
    case "name_taken":
      return { name: message };
    case "invalid_schedule":
      return { schedule_cron: message };
    case "invalid_sql":
    case "sql_error":
    case "permission_denied":
    case "too_expensive":
    case "report_timeout":
      return { sql: message };
    case "unknown_parameter":
    case "invalid_parameter":
    case "missing_parameter":
      return message.startsWith("Schedule values") ? { schedule_values: message } : {
        [err.code === "unknown_parameter" ? "sql" : "params"]: message,
      };
    case "validation_failed": {
      const out: Errors = {};
      for (const d of (err.details as { path: string; message: string }[] | undefined) ?? []) {
        const head = d.path.split(".")[0];
        const key: keyof Errors = head === "schedule"
          ? "schedule_cron"
          : (["name", "description", "sql", "params"].includes(head) ? head : "form") as keyof Errors;
        out[key] = `${out[key] ? out[key] + "; " : ""}${d.message}`;
      }
      return Object.keys(out).length ? out : { form: message };
    }
    default:
      return { form: message };
  }
}

/** A summary of parameters: `{{period}} date range, {{metric}} text`. */
function paramsSummary(params: ParamDef[]) {
  if (!params.length) return <span class="muted">none</span>;
  return (
    <span class="report-params">
      {params.map((p) => (
        <code key={p.name} title={p.label}>
          {`{{${p.name}}}`} <span class="muted">{p.type.replace("_", " ")}</span>
        </code>
      ))}
    </span>
  );
}

/** A summary of a schedule with its next run. */
function scheduleSummary(report: Report) {
  const s = report.schedule;
  if (!s) return <span class="muted">not scheduled</span>;
  return (
    <span>
      <code>{s.cron}</code> ({s.timezone}) to {s.recipients.length}{" "}
      recipient{s.recipients.length === 1 ? "" : "s"}
      {report.next_run_at && (
        <span class="hint">
          {` · next ${shortUtc(report.next_run_at)} UTC`}
        </span>
      )}
    </span>
  );
}

/** The outcome of one audited run. */
function runOutcome(r: RunRecord) {
  if (r.error_code) {
    return <span class="error-cell" title={r.error_message ?? undefined}>{r.error_code}</span>;
  }
  return (
    <span>
      {r.row_count ?? 0} rows{r.truncated ? " (cut)" : ""}
    </span>
  );
}

/** The help box: what reports can read and how parameters work. */
function HelpBox() {
  return (
    <aside class="card report-help" aria-labelledby="report-help-title">
      <h2 id="report-help-title">Writing reports</h2>
      <p>
        Reports run read-only as the <code>plaza_reports</code> role, for at most 10 s, with{" "}
        <code>search_path = analytics</code>. They can read:
      </p>
      <ul>
        <li>
          <code>activity</code> (one row per product event), <code>daily_metrics</code>,{" "}
          <code>hourly_metrics</code>, <code>daily_users</code>
        </li>
        <li>
          the views <code>users</code>, <code>rooms</code>, <code>room_messages</code>, <code>events</code>,
          {" "}
          <code>rsvps</code>, <code>orders</code>, <code>media</code>
        </li>
      </ul>
      <p>
        Nothing in <code>public</code>, <code>auth</code> or other schemas. One query per report (
        <code>select</code>, <code>with</code>, <code>values</code>, <code>table</code>).
      </p>
      <p>
        Parameters: write <code>{"{{name}}"}</code>{" "}
        and declare it. Each becomes a bound value, never spliced text. Types: <code>text</code>,{" "}
        <code>number</code>, <code>date</code>, <code>date_range</code>{" "}
        (<code>2026-11-01..2026-11-30</code>, use <code>day &lt;@ {"{{period}}"}</code>),{" "}
        <code>text_list</code>, <code>number_list</code>, <code>date_list</code> (use{" "}
        <code>= any({"{{kinds}}"})</code>).
      </p>
      <p class="hint">
        Results show up to 10,000 rows; the CSV download has them all (up to 1,000,000). Every run is audited.
      </p>
    </aside>
  );
}

/** The list page. */
async function listPage(c: Ctx, claims: AccessClaims) {
  const db = c.var.platform.db;
  const reports = await listReports(db, claims);
  const runs = reports.length ? await listRuns(db, claims, null, 1000) : [];
  const last = new Map<string, RunRecord>();
  for (const r of runs) if (r.report_id && !last.has(r.report_id)) last.set(r.report_id, r);
  const done = c.req.query("done");
  return renderPage(
    c,
    <div class="stack report-page">
      <div class="row spread">
        <h1>SQL reports</h1>
        <a class="button" href="/admin/reports/new">New report</a>
      </div>
      {done && <p class="notice" role="status">{done.slice(0, 200)}</p>}
      <section class="card">
        {reports.length === 0
          ? <p class="muted">No saved reports yet. Write one with “New report”.</p>
          : (
            <div class="table-wrap">
              <table class="report-table" data-testid="report-list">
                <thead>
                  <tr>
                    <th scope="col">Report</th>
                    <th scope="col">Parameters</th>
                    <th scope="col">Schedule</th>
                    <th scope="col">Last run</th>
                  </tr>
                </thead>
                <tbody>
                  {reports.map((r) => {
                    const run = last.get(r.id);
                    return (
                      <tr key={r.id} data-report-id={r.id}>
                        <td data-label="Report">
                          <a href={`/admin/reports/${r.id}`}>
                            <strong>{r.name}</strong>
                          </a>
                          {r.description && <span class="hint report-desc">{r.description}</span>}
                        </td>
                        <td data-label="Parameters">{paramsSummary(r.params)}</td>
                        <td data-label="Schedule">{scheduleSummary(r)}</td>
                        <td data-label="Last run">
                          {run
                            ? (
                              <span>
                                <time dateTime={run.started_at}>{shortUtc(run.started_at)}</time>
                                <span class="hint">
                                  {` by ${
                                    run.user_name ?? (run.trigger === "schedule" ? "schedule" : "—")
                                  }, `} {run.format}
                                </span>{" "}
                                {runOutcome(run)}
                              </span>
                            )
                            : <span class="muted">no recent runs</span>}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
      </section>
      <HelpBox />
    </div>,
    { title: "SQL reports" },
  );
}

/** A labelled textarea with its error. */
function Area(
  { label, name, value, error, hint, rows = 4, mono = false, required = false }: {
    label: string;
    name: keyof FormValues;
    value: string;
    error?: string;
    hint?: string;
    rows?: number;
    mono?: boolean;
    required?: boolean;
  },
) {
  const id = `form-${name}`;
  return (
    <label class={error ? "field invalid" : "field"} for={id}>
      {label}
      <textarea
        id={id}
        name={name}
        rows={rows}
        class={mono ? "mono" : undefined}
        spellcheck={false}
        required={required}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={[error && `${id}-error`, hint && `${id}-hint`].filter(Boolean).join(" ") ||
          undefined}
      >
        {value}
      </textarea>
      {hint && <span id={`${id}-hint`} class="hint">{hint}</span>}
      {error && <span id={`${id}-error`} class="field-error">{error}</span>}
    </label>
  );
}

/** A labelled one-line input with its error. */
function Input(
  { label, name, value, error, hint, required = false }: {
    label: string;
    name: keyof FormValues;
    value: string;
    error?: string;
    hint?: string;
    required?: boolean;
  },
) {
  const id = `form-${name}`;
  return (
    <label class={error ? "field invalid" : "field"} for={id}>
      {label}
      <input
        id={id}
        name={name}
        value={value}
        required={required}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={[error && `${id}-error`, hint && `${id}-hint`].filter(Boolean).join(" ") ||
          undefined}
      />
      {hint && <span id={`${id}-hint`} class="hint">{hint}</span>}
      {error && <span id={`${id}-error`} class="field-error">{error}</span>}
    </label>
  );
}

/** The plain save form (name, description, SQL, parameters as JSON, schedule). */
function SaveForm({ id, form, errors }: { id: string | null; form: FormValues; errors: Errors }) {
  return (
    <form
      method="post"
      action={id ? `/admin/reports/${id}` : "/admin/reports"}
      class="stack report-form"
      data-testid="report-form"
    >
      <FormAlert message={errors.form} />
      {Object.keys(errors).length > 0 && !errors.form && (
        <p class="alert" role="alert">The report was not saved: see the messages below.</p>
      )}
      <Input label="Name" name="name" value={form.name} error={errors.name} required />
      <Area
        label="Description"
        name="description"
        value={form.description}
        error={errors.description}
        rows={2}
      />
      <Area
        label="SQL"
        name="sql"
        value={form.sql}
        error={errors.sql}
        rows={10}
        mono
        required
        hint="One query; write {{name}} for a parameter."
      />
      <Area
        label="Parameters (JSON)"
        name="params"
        value={form.params}
        error={errors.params}
        rows={5}
        mono
        hint={`A list of {"name", "type", "label"?, "default"?, "required"?}; types: ${
          PARAM_TYPES.join(", ")
        }.`}
      />
      <fieldset class="stack">
        <legend>Schedule</legend>
        <label class="report-check">
          <input type="checkbox" name="no_schedule" value="1" checked={form.no_schedule} /> No schedule
        </label>
        <Input
          label="Cron"
          name="schedule_cron"
          value={form.schedule_cron}
          error={errors.schedule_cron}
          hint="minute hour day month weekday, e.g. 0 8 * * 1 (Mondays at 08:00)"
        />
        <Input
          label="Time zone"
          name="schedule_timezone"
          value={form.schedule_timezone}
          error={errors.schedule_timezone}
        />
        <Input
          label="Recipients"
          name="schedule_recipients"
          value={form.schedule_recipients}
          error={errors.schedule_recipients}
          hint="Email addresses, comma separated (1–10)."
        />
        <Area
          label="Values (JSON)"
          name="schedule_values"
          value={form.schedule_values}
          error={errors.schedule_values}
          rows={3}
          mono
          hint='Parameter values for scheduled runs, e.g. {"metric": "messages"}.'
        />
      </fieldset>
      <div class="row">
        <button type="submit">{id ? "Save report" : "Create report"}</button>
      </div>
    </form>
  );
}

/** A parameter's query-string name and the type hint for the no-JS run form. */
const RUN_HINTS: Record<string, string> = {
  text: "",
  number: "a number",
  date: "YYYY-MM-DD",
  date_range: "YYYY-MM-DD..YYYY-MM-DD",
  text_list: "one per line",
  number_list: "one number per line",
  date_list: "one date per line",
};

/** The no-JS run form: one input per parameter, GET to this page. */
function RunForm(
  { report, query, paramError }: {
    report: Report;
    query: URLSearchParams;
    paramError?: { param?: string; message: string };
  },
) {
  return (
    <form
      method="get"
      action={`/admin/reports/${report.id}`}
      class="stack report-run-form"
      data-testid="run-form"
    >
      <input type="hidden" name="run" value="1" />
      {report.params.map((p) => {
        const id = `run-${p.name}`;
        const list = p.type.endsWith("_list");
        const value = query.getAll(p.name).join("\n");
        const error = paramError?.param === p.name ? paramError.message : undefined;
        const placeholder = Array.isArray(p.default) ? p.default.join("\n") : p.default ?? RUN_HINTS[p.type];
        return (
          <label key={p.name} for={id} class={error ? "field invalid" : "field"}>
            {p.label || p.name} <span class="hint">{`{{${p.name}}}`} {p.type.replace("_", " ")}</span>
            {list
              ? <textarea id={id} name={p.name} rows={3} placeholder={placeholder}>{value}</textarea>
              : (
                <input
                  id={id}
                  name={p.name}
                  value={value}
                  {...({
                    type: p.type === "date" ? "date" : "text",
                    inputMode: p.type === "number" ? "decimal" : undefined,
                  } as Record<string, string | undefined>)}
                  placeholder={placeholder}
                />
              )}
            {error && <span class="field-error">{error}</span>}
          </label>
        );
      })}
      {report.params.length === 0 && <p class="hint">This report has no parameters.</p>}
      <div class="row">
        <button type="submit">Run</button>
      </div>
    </form>
  );
}

/** One result cell. */
function Cell({ v, type }: { v: unknown; type: string }) {
  if (v === null || v === undefined) return <td class="null">null</td>;
  const text = typeof v === "object" ? JSON.stringify(v) : String(v);
  return <td class={type === "number" ? "num" : undefined}>{text}</td>;
}

/** The server-rendered result of a `?run=1`. */
function ResultTable({ result, csv }: { result: RunResult; csv: string }) {
  return (
    <section class="card stack" aria-labelledby="run-result-title" data-testid="run-result">
      <div class="row spread">
        <h2 id="run-result-title">Result</h2>
        <a class="button" href={csv} download>Download CSV</a>
      </div>
      <p class="hint">
        {result.row_count} row{result.row_count === 1 ? "" : "s"} in {result.duration_ms} ms
      </p>
      {result.truncated && (
        <p class="report-banner" role="status">
          Showing the first {PAGE_ROW_CAP} rows — download the CSV for all of them.
        </p>
      )}
      <div class="table-wrap report-results">
        <table>
          <thead>
            <tr>
              {result.columns.map((col, i) => (
                <th key={i} scope="col" class={col.type === "number" ? "num" : undefined}>{col.name}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {result.rows.map((row, i) => (
              <tr key={i}>
                {row.map((v, j) => <Cell key={j} v={v} type={result.columns[j].type} />)}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {result.rows.length === 0 && <p class="muted">No rows.</p>}
    </section>
  );
}

/** The last runs of a report. */
function AuditTable({ runs }: { runs: RunRecord[] }) {
  return (
    <section class="card" aria-labelledby="report-runs-title">
      <h2 id="report-runs-title">Recent runs</h2>
      {runs.length === 0 ? <p class="muted">Not run yet.</p> : (
        <div class="table-wrap">
          <table class="report-audit" data-testid="report-runs">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Format</th>
                <th scope="col">Parameters</th>
                <th scope="col" class="num">Rows</th>
                <th scope="col" class="num">ms</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id}>
                  <td>
                    <time dateTime={r.started_at}>{shortUtc(r.started_at)}</time>
                  </td>
                  <td>{r.user_name ?? (r.trigger === "schedule" ? "schedule" : "—")}</td>
                  <td>{r.format}</td>
                  <td>
                    <code class="payload">{JSON.stringify(r.params)}</code>
                  </td>
                  <td class="num">{r.row_count ?? "—"}{r.truncated ? "+" : ""}</td>
                  <td class="num">{r.duration_ms ?? "—"}</td>
                  <td>
                    {r.error_code
                      ? <span class="error-cell">{r.error_code}: {r.error_message}</span>
                      : <span class="muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Turns the page's query into report input: list params one per line, empty scalars left out. */
function runInput(report: Report, query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  const types = new Map(report.params.map((p) => [p.name, p.type]));
  for (const [key, value] of query) {
    if (PAGE_KEYS.includes(key)) continue;
    const type = types.get(key);
    if (type?.endsWith("_list")) {
      for (const line of value.split(/\r?\n/)) if (line.trim()) out.append(key, line.trim());
    } else if (!type || value.trim() !== "") out.append(key, type ? value.trim() : value);
  }
  return out;
}

/** Runs a saved report for the page (capped at PAGE_ROW_CAP), audited like any run. */
async function runForPage(c: Ctx, claims: AccessClaims, report: Report, input: URLSearchParams) {
  const subject = {
    reportId: report.id,
    reportName: report.name,
    sql: null,
    userId: claims.sub,
    trigger: "api" as const,
  };
  try {
    const result = await runAudited(c.var.platform, subject, {
      sql: report.sql,
      params: report.params,
      input,
    }, PAGE_ROW_CAP);
    return { result };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { error: err };
  }
}

/** The report page: workbench, no-JS forms, run result, delete, audit. */
async function reportPage(
  c: Ctx,
  claims: AccessClaims,
  report: Report | null,
  state: { form?: FormValues; errors?: Errors; status?: number; showForm?: boolean } = {},
) {
  const db = c.var.platform.db;
  const url = new URL(c.req.url);
  const query = url.searchParams;
  const errors = state.errors ?? {};
  const formMode = state.showForm || query.get("form") === "1";
  const form = state.form ?? formOf(report);
  let run: { result?: RunResult; error?: AppError } | undefined;
  let input = new URLSearchParams();
  let status = state.status ?? 200;
  if (report && query.get("run") === "1" && c.req.method === "GET") {
    await rateLimit(c, reportRules.run, claims.sub);
    input = runInput(report, query);
    run = await runForPage(c, claims, report, input);
    if (run.error) status = 422;
  }
  const runs = report ? await listRuns(db, claims, report.id, 20) : [];
  const paramError = run?.error
    ? {
      message: run.error.message,
      param: (run.error.details as { param?: string } | undefined)?.param,
    }
    : undefined;
  const csv = report ? `/api/v1/reports/${report.id}/run.csv${input.size ? `?${input}` : ""}` : "";
  const initialValues: Record<string, string | string[]> = {};
  if (report) {
    const given = runInput(report, query);
    for (const p of report.params) {
      const all = given.getAll(p.name);
      if (all.length) initialValues[p.name] = p.type.endsWith("_list") ? all : all[0];
    }
  }
  const title = report ? report.name : "New report";
  const saveForm = <SaveForm id={report?.id ?? null} form={form} errors={errors} />;
  const body: VNode = (
    <div class="stack report-page">
      <nav class="org-crumbs" aria-label="Breadcrumb">
        <a href="/admin/reports">SQL reports</a>
      </nav>
      <div class="row spread">
        <h1>{title}</h1>
        {report && !formMode && <a href={`/admin/reports/${report.id}?form=1`}>Edit as a form (schedule)</a>}
        {formMode && (
          <a href={report ? `/admin/reports/${report.id}` : "/admin/reports/new"}>Back to the editor</a>
        )}
      </div>
      {query.get("done") && <p class="notice" role="status">{query.get("done")!.slice(0, 200)}</p>}
      {formMode ? <section class="card">{saveForm}</section> : (
        <>
          <ReportWorkbench
            report={report
              ? {
                id: report.id,
                name: report.name,
                description: report.description,
                sql: report.sql,
                params: report.params,
              }
              : null}
            types={[...PARAM_TYPES]}
            values={initialValues}
          />
          <noscript>
            <section class="card">
              <h2>{report ? "Edit" : "Create"} without JavaScript</h2>
              {saveForm}
            </section>
          </noscript>
        </>
      )}
      {report && (
        <section class="card" aria-labelledby="report-schedule-title">
          <h2 id="report-schedule-title">Schedule</h2>
          <p>
            {scheduleSummary(report)}
            {report.schedule && (
              <span class="hint">
                {` · ${report.schedule.recipients.join(", ")}`}
              </span>
            )}
          </p>
          {!formMode && <a href={`/admin/reports/${report.id}?form=1`}>Change the schedule</a>}
        </section>
      )}
      {report && (
        <noscript>
          <section class="card">
            <h2>Run</h2>
            <RunForm report={report} query={query} paramError={paramError} />
          </section>
        </noscript>
      )}
      {report && formMode && (
        <section class="card">
          <h2>Run</h2>
          <RunForm report={report} query={query} paramError={paramError} />
        </section>
      )}
      {run?.error && (
        <p class="alert" role="alert" data-testid="run-error">
          {run.error.code === "invalid_parameter" || run.error.code === "missing_parameter"
            ? "Check the parameter values: "
            : "The report failed: "}
          {run.error.message}
        </p>
      )}
      {run?.result && <ResultTable result={run.result} csv={csv} />}
      {report && <AuditTable runs={runs} />}
      {report && (
        <section class="card report-danger" aria-labelledby="report-delete-title">
          <h2 id="report-delete-title">Delete</h2>
          <form method="post" action={`/admin/reports/${report.id}/delete`} class="row">
            <label class="report-check">
              <input type="checkbox" name="confirm" value="yes" required /> Yes, delete “{report.name}”
            </label>
            <button type="submit" class="danger small">Delete report</button>
          </form>
          {errors.delete && <p class="field-error" role="alert">{errors.delete}</p>}
          <p class="hint">Its audit rows stay.</p>
        </section>
      )}
    </div>
  );
  return renderPage(c, body, { title, status });
}

/** Reads and checks the save form; re-renders on errors, redirects to the report when saved. */
async function save(c: Ctx, claims: AccessClaims, report: Report | null) {
  await rateLimit(c, reportRules.write, claims.sub);
  const raw = await readForm(c, saveForm);
  const form: FormValues = { ...raw, no_schedule: raw.no_schedule !== undefined };
  const { input, errors } = parseForm(form);
  const again = (errs: Errors) =>
    reportPage(c, claims, report, { form, errors: errs, status: 422, showForm: true });
  if (!input) return again(errors);
  const db = c.var.platform.db;
  try {
    const saved = report
      ? await updateReport(db, claims, report.id, input)
      : (await createReport(db, claims, input)).report;
    return c.redirect(`/admin/reports/${saved.id}?done=${encodeURIComponent(`Saved “${saved.name}”.`)}`, 303);
  } catch (err) {
    if (err instanceof AppError && (err.status === 422 || err.status === 409)) return again(saveErrors(err));
    throw err;
  }
}

/** The SQL reports pages. */
export const adminSqlReportsPage = new Hono<AppEnv>()
  .get("/admin/reports", async (c) => {
    if (!c.var.claims) return signIn(c);
    return await listPage(c, await requireAdmin(c));
  })
  .get("/admin/reports/new", async (c) => {
    if (!c.var.claims) return signIn(c);
    return await reportPage(c, await requireAdmin(c), null);
  })
  .get("/admin/reports/:id", async (c) => {
    if (!c.var.claims) return signIn(c);
    const claims = await requireAdmin(c);
    const report = await getReport(c.var.platform.db, claims, uuidParam(c, "id", "No such report."));
    return await reportPage(c, claims, report);
  })
  .post("/admin/reports", async (c) => {
    if (!c.var.claims) return c.redirect("/login?next=%2Fadmin%2Freports%2Fnew", 303);
    return await save(c, await requireAdmin(c), null);
  })
  .post("/admin/reports/:id", async (c) => {
    if (!c.var.claims) return signIn(c);
    const claims = await requireAdmin(c);
    const report = await getReport(c.var.platform.db, claims, uuidParam(c, "id", "No such report."));
    return await save(c, claims, report);
  })
  .post("/admin/reports/:id/delete", async (c) => {
    if (!c.var.claims) return c.redirect("/login?next=%2Fadmin%2Freports", 303);
    const claims = await requireAdmin(c);
    const db = c.var.platform.db;
    const report = await getReport(db, claims, uuidParam(c, "id", "No such report."));
    await rateLimit(c, reportRules.write, claims.sub);
    const { confirm } = await readForm(c, deleteForm);
    if (confirm !== "yes") {
      return await reportPage(c, claims, report, {
        errors: { delete: "Tick “Yes, delete” to confirm." },
        status: 422,
      });
    }
    await deleteReport(db, claims, report.id);
    return c.redirect(`/admin/reports?done=${encodeURIComponent(`Deleted “${report.name}”.`)}`, 303);
  });
