/**
 * Running a report (docs/analytics.md, "What a report may do"): the text is checked and compiled,
 * values are bound as real parameters, and the statement runs as `plaza_reports` in a read-only
 * transaction with a statement timeout. JSON runs return a capped page of rows; CSV streams from a
 * server-side cursor with backpressure, so memory stays flat however many rows there are.
 */
import type { ArrayResult, Db, Queryable } from "../../db/port.ts";
import { AppError } from "../../errors.ts";
import { csvLine } from "./csv.ts";
import {
  bindValues,
  describeValues,
  type ParamDef,
  ParamError,
  type ParamInput,
  SQL_CASTS,
} from "./params.ts";
import {
  type CompiledSql,
  compileReportSql,
  RUN_PREFIX,
  SqlGuardError,
  sqlPosition,
  wrapForRun,
} from "./sql_guard.ts";

export const RUN_ROW_CAP = 10_000;
export const CSV_ROW_CAP = 1_000_000;
export const STATEMENT_TIMEOUT_MS = 10_000;
/** Embedded mode cannot interrupt a statement: queries planned above this cost are refused there. */
export const EMBEDDED_MAX_COST = 10_000_000;
const FETCH_ROWS = 2_000;
/** A CSV client that stops reading this long is cut off (the transaction must not stay open). */
const STALL_MS = 30_000;

export type ColumnType = "number" | "text" | "date" | "timestamp" | "boolean" | "json" | "other";

/** A report's columns and rows as the API answers them. */
export interface RunResult {
  columns: { name: string; type: ColumnType }[];
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
  duration_ms: number;
}

/** What is needed to run: the checked SQL and where its values come from. */
export interface RunRequest {
  sql: string;
  params: ParamDef[];
  input: ParamInput;
  /** Query-string keys that are not parameters (ignored when reading values). */
  ignore?: string[];
}

/** A compiled statement with its bind values, and the values as the audit records them. */
export interface Prepared {
  text: string;
  bind: unknown[];
  values: Record<string, unknown>;
  compiled: CompiledSql;
  sqlLength: number;
}

/** Statement prefixes before the wrapped report, so error positions can be mapped back. */
const EXPLAIN_JSON = "explain (format json) ";
const DECLARE = "declare plaza_report no scroll cursor for ";

/** A Postgres array literal of strings (`{"a","b"}`), so both adapters bind lists the same way. */
function arrayLiteral(items: string[]): string {
  return `{${items.map((s) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(",")}}`;
}

/** Checks and compiles `req` for a run capped at `cap` rows. Throws AppError 422. */
export function prepare(req: RunRequest, cap: number, embedded: boolean): Prepared {
  const casts = Object.fromEntries(req.params.map((p) => [p.name, SQL_CASTS[p.type]]));
  try {
    const compiled = compileReportSql(req.sql, casts, { embedded });
    const bind = bindValues(req.params, req.input, compiled.params, { ignore: req.ignore })
      .map((v) => Array.isArray(v) ? arrayLiteral(v.map(String)) : v);
    bind.push(cap + 1);
    return {
      text: wrapForRun(compiled),
      bind,
      values: describeValues(req.params, req.input, { ignore: req.ignore }),
      compiled,
      sqlLength: req.sql.length,
    };
  } catch (err) {
    throw toAppError(err);
  }
}

interface PgError {
  code?: string;
  message?: string;
  position?: string | number;
}

/**
 * The 422 a refused or failed run answers with. With `at` (the prepared report and the text that
 * preceded it in the failing statement), `details.position` points into the admin's SQL (1-based).
 */
export function toAppError(err: unknown, at?: { prepared: Prepared; prefix: string }): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof SqlGuardError) {
    if (err.reason === "unknown_placeholder") return new AppError(422, "unknown_parameter", err.message);
    const position = err.position === undefined ? null : err.position + 1;
    return new AppError(422, "invalid_sql", err.message, { reason: err.reason, position });
  }
  if (err instanceof ParamError) {
    return new AppError(422, err.code, err.message, err.param ? { param: err.param } : undefined);
  }
  const pg = err as PgError;
  if (typeof pg?.code === "string" && /^[0-9A-Z]{5}$/.test(pg.code)) {
    const raw = pg.position ? Number(pg.position) : null;
    const position = raw && at
      ? sqlPosition(at.prepared.compiled, at.prepared.sqlLength, raw, at.prefix.length + RUN_PREFIX.length)
      : null;
    const details = { sqlstate: pg.code, position };
    if (pg.code === "57014") {
      return new AppError(
        422,
        "report_timeout",
        `The report ran longer than ${STATEMENT_TIMEOUT_MS / 1000} s and was stopped.`,
        details,
      );
    }
    if (pg.code === "42501") {
      return new AppError(
        422,
        "permission_denied",
        `${pg.message}. Reports can read only the analytics schema (see docs/analytics.md).`,
        details,
      );
    }
    if (pg.code === "25006") {
      return new AppError(422, "sql_error", `${pg.message}: reports are read-only.`, details);
    }
    return new AppError(422, "sql_error", pg.message ?? "The database refused the report.", details);
  }
  throw err;
}

/** Opens the report's sandbox in `tx`: read-only, timeout, search path, role. */
async function enterSandbox(tx: Queryable): Promise<void> {
  await tx.exec(
    `set transaction read only;
     set local statement_timeout = '${STATEMENT_TIMEOUT_MS}ms';
     set local idle_in_transaction_session_timeout = '${STALL_MS * 2}ms';
     set local search_path = analytics;
     select set_config('request.jwt.claims', '', true);
     set local role plaza_reports`,
  );
}

/** In embedded mode, refuses statements the planner expects to be expensive. */
async function checkCost(tx: Queryable, p: Prepared): Promise<void> {
  const [row] = await tx.query<{ "QUERY PLAN": unknown }>(`${EXPLAIN_JSON}${p.text}`, p.bind);
  const plan = row["QUERY PLAN"];
  const parsed = (typeof plan === "string" ? JSON.parse(plan) : plan) as { Plan: { "Total Cost": number } }[];
  const cost = parsed[0]?.Plan?.["Total Cost"] ?? 0;
  if (cost > EMBEDDED_MAX_COST) {
    throw new AppError(
      422,
      "too_expensive",
      `The planner estimates this report at ${
        Math.round(cost).toLocaleString("en")
      } cost units; embedded mode cannot interrupt a running query, so it refuses anything above ${
        EMBEDDED_MAX_COST.toLocaleString(
          "en",
        )
      }. Narrow it down, or run Plaza on Postgres.`,
      { cost: Math.round(cost) },
    );
  }
}

const NUMBER_OIDS = new Set([20, 21, 23, 26, 700, 701, 1700]);
const TEXT_OIDS = new Set([18, 19, 25, 1042, 1043]);

function columnType(oid: number): ColumnType {
  if (NUMBER_OIDS.has(oid)) return "number";
  if (TEXT_OIDS.has(oid)) return "text";
  if (oid === 1082) return "date";
  if (oid === 1114 || oid === 1184) return "timestamp";
  if (oid === 16) return "boolean";
  if (oid === 114 || oid === 3802) return "json";
  return "other";
}

function toNumber(v: unknown): number | string {
  const s = String(v);
  const n = Number(s);
  // Exact as a double: integers within 2^53, decimals with at most 15 significant digits.
  const digits = s.replace(/^-/, "").replace(/e.*$/i, "").replace(".", "").replace(/^0+/, "").length;
  return Number.isFinite(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER && digits <= 15 ? n : s;
}

function hex(bytes: Uint8Array): string {
  return "\\x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One value as JSON and CSV show it, the same whichever adapter read it. */
function normalize(v: unknown, type: ColumnType): unknown {
  if (v === null || v === undefined) return null;
  if (type === "number") return typeof v === "number" ? v : toNumber(v);
  if (type === "date") return v instanceof Date ? v.toISOString().slice(0, 10) : String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (v instanceof Uint8Array) return hex(v);
  if (typeof v === "bigint") return toNumber(v);
  if (type === "json" && typeof v === "string") {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
}

function shape(res: ArrayResult) {
  const types = res.columns.map((c) => columnType(c.type));
  return {
    columns: res.columns.map((c, i) => ({ name: c.name, type: types[i] })),
    normalizeRow: (row: unknown[]) => row.map((v, i) => normalize(v, types[i])),
  };
}

/** Runs a prepared report and returns at most `cap` rows (`truncated` when there were more). */
export async function runJson(db: Db, p: Prepared, cap: number = RUN_ROW_CAP): Promise<RunResult> {
  const started = performance.now();
  let prefix = "";
  try {
    const res = await db.transaction(async (tx) => {
      await enterSandbox(tx);
      if (db.kind === "pglite") {
        prefix = EXPLAIN_JSON;
        await checkCost(tx, p);
      }
      prefix = "";
      return await tx.queryArrays(p.text, p.bind);
    });
    const { columns, normalizeRow } = shape(res);
    const truncated = res.rows.length > cap;
    const rows = (truncated ? res.rows.slice(0, cap) : res.rows).map(normalizeRow);
    return {
      columns,
      rows,
      row_count: rows.length,
      truncated,
      duration_ms: Math.round(performance.now() - started),
    };
  } catch (err) {
    throw toAppError(err, { prepared: p, prefix });
  }
}

/** How a CSV export ended, for the audit. */
export interface CsvOutcome {
  rows: number;
  duration_ms: number;
  error?: AppError;
}

/**
 * Streams a prepared report as CSV. Resolves once the header is ready (so a refused report still
 * answers 422, not a broken download); the stream then pulls 2,000 rows at a time. More than `cap`
 * rows ends the stream with an error (`row_cap_exceeded`) rather than a file that looks complete.
 */
export async function streamCsv(
  db: Db,
  p: Prepared,
  options: { cap?: number; onDone?: (outcome: CsvOutcome) => void } = {},
): Promise<ReadableStream<Uint8Array>> {
  const cap = options.cap ?? CSV_ROW_CAP;
  const started = performance.now();
  const encoder = new TextEncoder();
  let wake: (() => void) | undefined;
  let cancelled = false;
  let ready!: (ok: boolean) => void;
  let failed!: (err: unknown) => void;
  const header = new Promise<boolean>((res, rej) => {
    ready = res;
    failed = rej;
  });
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
    pull: () => {
      wake?.();
    },
    cancel: () => {
      cancelled = true;
      wake?.();
    },
  }, { highWaterMark: 4 });

  const waitForDemand = async () => {
    while (!cancelled && (controller.desiredSize ?? 0) <= 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = await new Promise<boolean>((resolve) => {
        wake = () => resolve(false);
        timer = setTimeout(() => resolve(true), STALL_MS);
      });
      clearTimeout(timer);
      wake = undefined;
      if (stalled) throw new AppError(408, "export_stalled", "The client stopped reading the export.");
    }
  };

  let total = 0;
  let headerSent = false;
  let prefix = "";
  const done = db.transaction(async (tx) => {
    await enterSandbox(tx);
    if (db.kind === "pglite") {
      prefix = EXPLAIN_JSON;
      await checkCost(tx, p);
    }
    prefix = DECLARE;
    await tx.query(`${DECLARE}${p.text}`, p.bind);
    prefix = "";
    let first = true;
    while (!cancelled) {
      const batch = await tx.queryArrays(`fetch ${FETCH_ROWS} from plaza_report`);
      const { normalizeRow } = shape(batch);
      if (first) {
        controller.enqueue(encoder.encode(csvLine(batch.columns.map((c) => c.name))));
        first = false;
        headerSent = true;
        ready(true);
      }
      if (total + batch.rows.length > cap) {
        throw new AppError(
          422,
          "row_cap_exceeded",
          `The report returned more than ${cap.toLocaleString("en")} rows; narrow it down.`,
        );
      }
      let chunk = "";
      for (const row of batch.rows) chunk += csvLine(normalizeRow(row));
      total += batch.rows.length;
      if (chunk) controller.enqueue(encoder.encode(chunk));
      if (batch.rows.length < FETCH_ROWS) break;
      await waitForDemand();
    }
  });
  done.then(
    () => {
      const duration_ms = Math.round(performance.now() - started);
      if (!cancelled) {
        controller.close();
        options.onDone?.({ rows: total, duration_ms });
        return;
      }
      // `rows` counts what was read from the database, some of which the client never received.
      const error = new AppError(499, "client_cancelled", "The client stopped the download before the end.");
      options.onDone?.({ rows: total, duration_ms, error });
    },
    (err) => {
      let mapped: AppError;
      try {
        mapped = toAppError(err, { prepared: p, prefix });
      } catch {
        mapped = new AppError(500, "internal", "The export failed.");
      }
      failed(mapped); // before the header: the caller answers with this error (and audits it)
      if (!headerSent) return;
      try {
        controller.error(mapped);
      } catch { /* already closed */ }
      options.onDone?.({ rows: total, duration_ms: Math.round(performance.now() - started), error: mapped });
    },
  );
  await header;
  return stream;
}
