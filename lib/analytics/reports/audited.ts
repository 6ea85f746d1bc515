/**
 * Running a report with its audit row written whatever happens (docs/analytics.md, "Audit"): the API,
 * the page and CSV downloads all go through here. A run refused before it starts is audited with the
 * values it was given.
 */
import type { Db } from "../../db/port.ts";
import { AppError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import { describeValues } from "./params.ts";
import {
  CSV_ROW_CAP,
  prepare,
  type Prepared,
  RUN_ROW_CAP,
  runJson,
  type RunRequest,
  type RunResult,
  streamCsv,
} from "./run.ts";
import { recordRun, type RunAudit } from "./store.ts";

/** Which report (or preview SQL) runs, for whom, and why. */
export type RunSubject = Pick<RunAudit, "reportId" | "reportName" | "sql" | "userId" | "trigger">;

interface Deps {
  db: Db;
  log: Logger;
}

function audit(deps: Deps, subject: RunSubject, format: RunAudit["format"], extra: Partial<RunAudit>) {
  return recordRun(deps.db, {
    ...subject,
    format,
    params: {},
    durationMs: null,
    rowCount: null,
    truncated: false,
    errorCode: null,
    errorMessage: null,
    ...extra,
  }).catch((err) => deps.log.error("report run not audited", { err: String(err) }));
}

/** Prepares `req`, runs `start`, and audits a failure of either (then rethrows it). */
async function guarded<T>(
  deps: Deps,
  subject: RunSubject,
  format: RunAudit["format"],
  req: RunRequest,
  cap: number,
  start: (p: Prepared) => Promise<T>,
): Promise<T> {
  let prepared: Prepared | undefined;
  try {
    prepared = prepare(req, cap, deps.db.kind === "pglite");
    return await start(prepared);
  } catch (err) {
    const e = err instanceof AppError ? err : undefined;
    await audit(deps, subject, format, {
      params: prepared?.values ?? describeValues(req.params, req.input, { ignore: req.ignore }),
      errorCode: e?.code ?? "internal",
      errorMessage: e?.message ?? String(err),
    });
    throw err;
  }
}

/** Runs a report as JSON (at most `cap` rows) and audits it. Throws AppError 422 when refused. */
export function runAudited(
  deps: Deps,
  subject: RunSubject,
  req: RunRequest,
  cap = RUN_ROW_CAP,
): Promise<RunResult> {
  return guarded(deps, subject, "json", req, cap, async (p) => {
    const res = await runJson(deps.db, p, cap);
    await audit(deps, subject, "json", {
      params: p.values,
      durationMs: res.duration_ms,
      rowCount: res.row_count,
      truncated: res.truncated,
    });
    return res;
  });
}

/** Streams a report as CSV; the audit row is written when the stream ends (or is refused at once). */
export function csvAudited(
  deps: Deps,
  subject: RunSubject,
  req: RunRequest,
  cap = CSV_ROW_CAP,
): Promise<ReadableStream<Uint8Array>> {
  return guarded(deps, subject, "csv", req, cap, (p) =>
    streamCsv(deps.db, p, {
      cap,
      onDone: (outcome) =>
        void audit(deps, subject, "csv", {
          params: p.values,
          durationMs: outcome.duration_ms,
          rowCount: outcome.rows,
          truncated: outcome.error?.code === "row_cap_exceeded",
          errorCode: outcome.error?.code ?? null,
          errorMessage: outcome.error?.message ?? null,
        }),
    }));
}

/** A file name for a report's CSV: its name as a slug, and the day. */
export function csvFileName(name: string, day = new Date().toISOString().slice(0, 10)): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60) || "report";
  return `${slug}-${day}.csv`;
}
