/**
 * The SQL report workbench on `/admin/reports/new` and `/admin/reports/:id` (docs/analytics.md, "SQL
 * reports"): a monospace SQL editor (Tab indents, Ctrl/Cmd+Enter runs), the parameter declarations,
 * inputs for their values generated from the types, Run (unsaved edits run through
 * `POST /api/v1/reports/preview`; a saved, unchanged report through `GET /:id/run`), Save (POST or
 * PATCH, then the address becomes `/admin/reports/:id`), the results as a table, and a chart when the
 * shape allows: a uPlot line chart (loaded only when drawn) when the first column is a date or timestamp,
 * plain bars when it is text with one number column. Errors never touch the editor's text; a SQL error
 * with a position points at the line and column.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type uPlot from "uplot";
import type { ParamDef, ParamType } from "@/lib/analytics/reports/params.ts";

/** The saved report the page opens with (null for a new one). */
export interface WorkbenchReport {
  id: string;
  name: string;
  description: string;
  sql: string;
  params: ParamDef[];
}

/** Props: the report, the parameter types (PARAM_TYPES) and initial values from the address. */
export interface ReportWorkbenchProps {
  [key: string]: unknown;
  report: WorkbenchReport | null;
  types: string[];
  values?: Record<string, string | string[]>;
}

type ColumnType = "number" | "text" | "date" | "timestamp" | "boolean" | "json" | "other";

interface RunResult {
  columns: { name: string; type: ColumnType }[];
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
  duration_ms: number;
}

interface ApiError {
  code: string;
  message: string;
  details?: unknown;
  status: number;
}

/** One parameter as edited (default as typed: lists comma separated). */
interface ParamRow {
  key: number;
  name: string;
  type: ParamType;
  label: string;
  def: string;
  optional: boolean;
}

/** Where an error points in the SQL. */
interface Pointer {
  index: number;
  line: number;
  column: number;
  text: string;
}

const isList = (t: string) => t.endsWith("_list");
const PLACEHOLDER = /\{\{([a-z_][a-z0-9_]{0,39})\}\}/g;
const TYPE_LABELS: Record<string, string> = {
  text: "text",
  number: "number",
  date: "date",
  date_range: "date range",
  text_list: "text list",
  number_list: "number list",
  date_list: "date list",
};

let rowKey = 0;
const toRow = (p: ParamDef): ParamRow => ({
  key: ++rowKey,
  name: p.name,
  type: p.type,
  label: p.label ?? "",
  def: Array.isArray(p.default) ? p.default.join(", ") : p.default ?? "",
  optional: p.required === false,
});

function toDefs(rows: ParamRow[]): ParamDef[] {
  return rows.map((r) => {
    const def: ParamDef = { name: r.name.trim(), type: r.type };
    if (r.label.trim()) def.label = r.label.trim();
    if (r.def.trim()) {
      def.default = isList(r.type) ? r.def.split(",").map((s) => s.trim()).filter(Boolean) : r.def.trim();
    }
    if (r.optional) def.required = false;
    return def;
  });
}

/** The values to send: empty inputs left out (so defaults apply), lists one per line. */
function valuesToSend(defs: ParamDef[], values: Record<string, string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const d of defs) {
    const raw = values[d.name] ?? "";
    if (isList(d.type)) {
      const items = raw.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
      if (items.length) out[d.name] = items;
    } else if (d.type === "date_range") {
      if (raw.replace("..", "").trim()) out[d.name] = raw;
    } else if (raw.trim()) out[d.name] = raw.trim();
  }
  return out;
}

function toQuery(values: Record<string, string | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) {
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, item);
  }
  return q.toString();
}

/** Names used as `{{name}}` in the SQL (a plain scan; strings and comments are not skipped). */
function usedNames(sql: string): string[] {
  const names: string[] = [];
  for (const m of sql.matchAll(PLACEHOLDER)) if (!names.includes(m[1])) names.push(m[1]);
  return names;
}

/** The line and column of a 1-based `position` in the SQL as typed (the server maps it there). */
function pointAt(sql: string, position: number): Pointer | null {
  const index = Math.min(position - 1, sql.length);
  if (index < 0) return null;
  const before = sql.slice(0, index);
  const line = before.split("\n").length;
  const start = before.lastIndexOf("\n") + 1;
  const end = sql.indexOf("\n", index);
  return { index, line, column: index - start + 1, text: sql.slice(start, end < 0 ? undefined : end) };
}

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: body === undefined ? { accept: "application/json" } : {
        accept: "application/json",
        "content-type": "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw {
      code: "network",
      message: "Could not reach Plaza. Check the connection and try again.",
      status: 0,
    };
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data?.error ?? {};
    throw {
      code: e.code ?? "error",
      message: e.message ?? `The request failed (${res.status}).`,
      details: e.details,
      status: res.status,
    } satisfies ApiError;
  }
  return data as T;
}

function palette(el: Element): { text: string; grid: string; series: string[] } {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    text: v("--muted", "#555770"),
    grid: v("--border", "#dcdce6"),
    series: [
      v("--accent", "#4338ca"),
      v("--focus", "#f59e0b"),
      v("--ok", "#067647"),
      v("--danger", "#b42318"),
    ]
      .concat(["#0891b2", "#a21caf", "#65a30d", "#be123c"]),
  };
}

const num = (v: unknown): number | null => {
  if (v === null || v === undefined || v === "") return null;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : null;
};

/** The chart a result allows: a time series, bars, or none. */
function chartShape(
  r: RunResult,
): { kind: "line"; series: number[] } | { kind: "bars"; value: number } | null {
  if (r.rows.length === 0 || r.columns.length < 2) return null;
  const first = r.columns[0].type;
  const numbers = r.columns.map((c, i) => (i > 0 && c.type === "number" ? i : -1)).filter((i) => i > 0);
  if ((first === "date" || first === "timestamp") && numbers.length) {
    return r.rows.length >= 2 ? { kind: "line", series: numbers } : null;
  }
  if (first === "text" && numbers.length === 1) return { kind: "bars", value: numbers[0] };
  return null;
}

const HEIGHT = 260;

/** A uPlot line chart of the number columns over the first (date or timestamp) column. */
function LineChart({ result, series }: { result: RunResult; series: number[] }) {
  const box = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const isDate = result.columns[0].type === "date";
    const points = result.rows
      .map((row) => ({ x: Date.parse(isDate ? `${row[0]}T00:00:00Z` : String(row[0])) / 1000, row }))
      .filter((p) => Number.isFinite(p.x))
      .sort((a, b) => a.x - b.x);
    const data: uPlot.AlignedData = [
      points.map((p) => p.x),
      ...series.map((i) => points.map((p) => num(p.row[i]))),
    ];
    let chart: uPlot | undefined;
    let stopped = false;
    let draw = () => {};
    const scheme = matchMedia("(prefers-color-scheme: dark)");
    const resize = new ResizeObserver(() => chart?.setSize({ width: el.clientWidth, height: HEIGHT }));
    import("uplot").then(({ default: U }) => {
      if (stopped) return;
      draw = () => {
        chart?.destroy();
        const c = palette(el);
        const axis = {
          stroke: c.text,
          grid: { stroke: c.grid, width: 1 },
          ticks: { stroke: c.grid, width: 1 },
        };
        chart = new U(
          {
            width: el.clientWidth,
            height: HEIGHT,
            tzDate: (ts) => U.tzDate(new Date(ts * 1000), "Etc/UTC"),
            cursor: { drag: { x: true, y: false } },
            axes: [axis, { ...axis, size: 60 }],
            series: [
              {
                label: result.columns[0].name,
                value: (_u, v) =>
                  v == null
                    ? "–"
                    : new Date(v * 1000).toISOString().slice(0, isDate ? 10 : 16).replace("T", " "),
              },
              ...series.map((i, n) => ({
                label: result.columns[i].name,
                stroke: c.series[n % c.series.length],
                width: 2,
                points: { show: data[0].length <= 60 },
              })),
            ],
          },
          data,
          el,
        );
      };
      draw();
      resize.observe(el);
      scheme.addEventListener("change", draw);
    }).catch(() => setFailed(true));
    return () => {
      stopped = true;
      resize.disconnect();
      scheme.removeEventListener("change", draw);
      chart?.destroy();
    };
  }, [result, series.join(",")]);
  if (failed) return <p class="muted">The chart could not be loaded.</p>;
  return (
    <div ref={box} class="rw-chart-canvas" data-testid="report-chart" data-kind="line" aria-hidden="true" />
  );
}

/** Horizontal bars for a text column and one number column (the first 30 rows). */
function BarList({ result, value }: { result: RunResult; value: number }) {
  const rows = result.rows.slice(0, 30).map((r) => ({
    label: r[0] === null ? "null" : String(r[0]),
    n: num(r[value]),
  }));
  const max = Math.max(0, ...rows.map((r) => Math.abs(r.n ?? 0))) || 1;
  return (
    <ol
      class="rw-bars"
      data-testid="report-chart"
      data-kind="bars"
      aria-label={`${result.columns[value].name} by ${result.columns[0].name}`}
    >
      {rows.map((r, i) => (
        <li key={i}>
          <span class="rw-bar-label" title={r.label}>{r.label}</span>
          <span class="rw-bar-track">
            {/* Set through the DOM by Preact (CSSOM), which the page's CSP allows. */}
            <span class="rw-bar" style={{ width: `${(Math.abs(r.n ?? 0) / max) * 100}%` }} />
          </span>
          <span class="rw-bar-value">{r.n === null ? "null" : r.n.toLocaleString("en")}</span>
        </li>
      ))}
    </ol>
  );
}

function cellText(v: unknown): string {
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** The results table with count, duration and the truncation banner. */
function Results({ result, csv }: { result: RunResult; csv: string | null }) {
  const shape = useMemo(() => chartShape(result), [result]);
  return (
    <section class="card rw-results" aria-labelledby="rw-results-title" data-testid="report-results">
      <div class="row spread">
        <h2 id="rw-results-title">Results</h2>
        {csv && (
          <a class="button secondary small" href={csv} download data-testid="report-csv">Download CSV</a>
        )}
      </div>
      <p class="hint" data-testid="report-summary">
        {result.row_count.toLocaleString("en")} row{result.row_count === 1 ? "" : "s"} · {result.duration_ms}
        {" "}
        ms
      </p>
      {result.truncated && (
        <p class="report-banner" role="status" data-testid="report-truncated">
          Showing the first {result.row_count.toLocaleString("en")} rows — download the CSV for all of them.
          {!csv && " (Save the report first.)"}
        </p>
      )}
      {shape?.kind === "line" && <LineChart result={result} series={shape.series} />}
      {shape?.kind === "bars" && <BarList result={result} value={shape.value} />}
      {result.rows.length === 0
        ? <p class="muted">The query returned no rows.</p>
        : (
          <div class="table-wrap report-results" tabIndex={0} aria-label="Result rows">
            <table data-testid="report-table">
              <thead>
                <tr>
                  {result.columns.map((c, i) => (
                    <th key={i} scope="col" class={c.type === "number" ? "num" : undefined} title={c.type}>
                      {c.name}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {result.rows.map((row, i) => (
                  <tr key={i}>
                    {row.map((v, j) =>
                      v === null || v === undefined
                        ? <td key={j} class="null">null</td>
                        : (
                          <td key={j} class={result.columns[j].type === "number" ? "num" : undefined}>
                            {cellText(v)}
                          </td>
                        )
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </section>
  );
}

/** The value input(s) of one parameter. */
function ValueInput(
  { def, value, onInput, invalid }: {
    def: ParamDef;
    value: string;
    onInput: (v: string) => void;
    invalid: boolean;
  },
) {
  const id = `rw-value-${def.name}`;
  const placeholder = Array.isArray(def.default) ? def.default.join("\n") : def.default;
  const common = { "aria-invalid": invalid ? "true" as const : undefined };
  if (def.type === "date_range") {
    const [from = "", to = ""] = value.split("..");
    const fromDefault = typeof def.default === "string" ? def.default.split("..")[0] : undefined;
    return (
      <span class="rw-range">
        <input
          id={id}
          type="date"
          value={from}
          aria-label={`${def.label || def.name}: from`}
          title={fromDefault ? `default ${def.default}` : undefined}
          onInput={(e) => onInput(`${e.currentTarget.value}..${to}`)}
          {...common}
        />
        <span aria-hidden="true">–</span>
        <input
          type="date"
          value={to}
          aria-label={`${def.label || def.name}: to`}
          onInput={(e) => onInput(`${from}..${e.currentTarget.value}`)}
          {...common}
        />
      </span>
    );
  }
  if (isList(def.type)) {
    return (
      <textarea
        id={id}
        rows={3}
        value={value}
        placeholder={placeholder ?? "one per line"}
        onInput={(e) => onInput(e.currentTarget.value)}
        {...common}
      />
    );
  }
  if (def.type === "date") {
    return (
      <input
        id={id}
        type="date"
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        {...common}
      />
    );
  }
  return (
    <input
      id={id}
      type="text"
      inputMode={def.type === "number" ? "decimal" : undefined}
      value={value}
      placeholder={placeholder}
      onInput={(e) => onInput(e.currentTarget.value)}
      {...common}
    />
  );
}

/** The workbench. */
export default function ReportWorkbench({ report, types, values: initialValues }: ReportWorkbenchProps) {
  const [id, setId] = useState<string | null>(report?.id ?? null);
  const [name, setName] = useState(report?.name ?? "");
  const [description, setDescription] = useState(report?.description ?? "");
  const [sql, setSql] = useState(report?.sql ?? "");
  const [rows, setRows] = useState<ParamRow[]>(() => (report?.params ?? []).map(toRow));
  const [values, setValues] = useState<Record<string, string>>(() => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(initialValues ?? {})) out[k] = Array.isArray(v) ? v.join("\n") : v;
    return out;
  });
  const [saved, setSaved] = useState(() => report ? JSON.stringify([report.sql, report.params]) : null);
  const [result, setResult] = useState<RunResult | null>(null);
  const [ranWith, setRanWith] = useState<string | null>(null);
  const [error, setError] = useState<
    (ApiError & { pointer?: Pointer | null; during: "run" | "save" }) | null
  >(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<"run" | "save" | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  const editor = useRef<HTMLTextAreaElement>(null);
  const escaped = useRef(false);

  useEffect(() => setReady(true), []);

  const defs = useMemo(() => toDefs(rows), [rows]);
  const dirty = saved === null || saved !== JSON.stringify([sql, defs]);
  const undeclared = usedNames(sql).filter((n) => !rows.some((r) => r.name.trim() === n));
  const sent = valuesToSend(defs, values);
  const query = toQuery(sent);
  const csv = id && !dirty && ranWith === query
    ? `/api/v1/reports/${id}/run.csv${query ? `?${query}` : ""}`
    : null;

  const fail = (e: unknown, during: "run" | "save") => {
    const err = e as ApiError;
    if (typeof err?.code !== "string") throw e;
    const pos = (err.details as { position?: number | null } | undefined)?.position;
    const pointer = typeof pos === "number" && pos > 0 ? pointAt(sql, pos) : null;
    setError({ ...err, pointer, during });
  };

  async function run() {
    if (busy) return;
    setBusy("run");
    setError(null);
    setNotice(null);
    try {
      const res = id && !dirty
        ? await call<RunResult>("GET", `/api/v1/reports/${id}/run${query ? `?${query}` : ""}`)
        : await call<RunResult>("POST", "/api/v1/reports/preview", { sql, params: defs, values: sent });
      setResult(res);
      setRanWith(query);
    } catch (e) {
      fail(e, "run");
    } finally {
      setBusy(null);
    }
  }

  async function save() {
    if (busy) return;
    setBusy("save");
    setError(null);
    setNotice(null);
    setFieldErrors({});
    try {
      const body = { name: name.trim(), description, sql, params: defs };
      const saved = id
        ? await call<WorkbenchReport>("PATCH", `/api/v1/reports/${id}`, body)
        : await call<WorkbenchReport>("POST", "/api/v1/reports", body);
      setId(saved.id);
      setSaved(JSON.stringify([saved.sql, saved.params]));
      setRows(saved.params.map(toRow));
      setNotice(`Saved “${saved.name}”.`);
      const url = `/admin/reports/${saved.id}`;
      if (location.pathname !== url) history.replaceState(null, "", url);
      document.title = `${saved.name} · Plaza`;
    } catch (e) {
      const err = e as ApiError;
      if (err?.code === "validation_failed" && Array.isArray(err.details)) {
        const out: Record<string, string> = {};
        for (const d of err.details as { path: string; message: string }[]) {
          const key = d.path.startsWith("params.")
            ? d.path.split(".").slice(0, 2).join(".")
            : d.path.split(".")[0];
          out[key] = out[key] ? `${out[key]}; ${d.message}` : d.message;
        }
        setFieldErrors(out);
      } else if (err?.code === "name_taken") setFieldErrors({ name: err.message });
      fail(e, "save");
    } finally {
      setBusy(null);
    }
  }

  function onKeyDown(e: KeyboardEvent) {
    const el = e.currentTarget as HTMLTextAreaElement;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void run();
      return;
    }
    if (e.key === "Escape") {
      escaped.current = true; // the next Tab leaves the editor
      return;
    }
    if (e.key === "Tab" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !escaped.current) {
      e.preventDefault();
      el.setRangeText("  ", el.selectionStart, el.selectionEnd, "end");
      setSql(el.value);
      return;
    }
    escaped.current = false;
  }

  function showError(p: Pointer) {
    const el = editor.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(p.index, Math.min(sql.length, p.index + 1));
  }

  const updateRow = (key: number, patch: Partial<ParamRow>) =>
    setRows((all) => all.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const addRow = (name = "") =>
    setRows((all) => [...all, { key: ++rowKey, name, type: "text", label: "", def: "", optional: false }]);
  const invalidParam = error && (error.details as { param?: string } | undefined)?.param;

  return (
    <div class="rw" data-testid="report-workbench" data-ready={ready ? "true" : undefined}>
      <div class="rw-meta">
        <label class={fieldErrors.name ? "field invalid" : "field"}>
          Name
          <input
            value={name}
            maxLength={120}
            required
            data-testid="report-name"
            onInput={(e) => setName(e.currentTarget.value)}
            aria-invalid={fieldErrors.name ? "true" : undefined}
          />
          {fieldErrors.name && <span class="field-error">{fieldErrors.name}</span>}
        </label>
        <label class={fieldErrors.description ? "field invalid" : "field"}>
          Description
          <input value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          {fieldErrors.description && <span class="field-error">{fieldErrors.description}</span>}
        </label>
      </div>
      <div class="rw-grid">
        <div class="rw-editor">
          <label class={fieldErrors.sql ? "field invalid" : "field"} for="rw-sql">SQL</label>
          <textarea
            id="rw-sql"
            ref={editor}
            class="mono rw-sql"
            rows={14}
            spellcheck={false}
            autocapitalize="off"
            autocomplete="off"
            value={sql}
            data-testid="report-sql"
            aria-describedby="rw-sql-hint"
            aria-invalid={error?.pointer || fieldErrors.sql ? "true" : undefined}
            onInput={(e) => setSql(e.currentTarget.value)}
            onKeyDown={onKeyDown}
            placeholder="select day, value
from daily_metrics
where metric = {{metric}} and day <@ {{period}}
order by day"
          />
          <span id="rw-sql-hint" class="hint">
            Tab indents (Esc then Tab leaves) · Ctrl/⌘+Enter runs · write <code>{"{{name}}"}</code>{" "}
            for a parameter
          </span>
          {fieldErrors.sql && <span class="field-error">{fieldErrors.sql}</span>}
          {undeclared.length > 0 && (
            <p class="rw-undeclared">
              Not declared yet: {undeclared.map((n) => (
                <button
                  key={n}
                  type="button"
                  class="small secondary"
                  onClick={() => addRow(n)}
                >
                  Declare {`{{${n}}}`}
                </button>
              ))}
            </p>
          )}
        </div>
        <div class="rw-side">
          <fieldset class="rw-params">
            <legend>Parameters</legend>
            {rows.length === 0 && <p class="hint">None. Use {"{{name}}"} in the SQL, then declare it here.
            </p>}
            {rows.map((r, i) => {
              const err = Object.entries(fieldErrors).filter(([k]) =>
                k === `params.${i}`
              ).map(([, v]) => v)[0];
              return (
                <div key={r.key} class={err ? "rw-param invalid" : "rw-param"} data-testid="report-param">
                  <label>
                    <span class="hint">Name</span>
                    <input
                      value={r.name}
                      class="mono"
                      autocapitalize="off"
                      data-testid="param-name"
                      onInput={(e) => updateRow(r.key, { name: e.currentTarget.value })}
                    />
                  </label>
                  <label>
                    <span class="hint">Type</span>
                    <select
                      value={r.type}
                      data-testid="param-type"
                      onChange={(e) =>
                        updateRow(r.key, { type: e.currentTarget.value as ParamType })}
                    >
                      {types.map((t) => <option key={t} value={t}>{TYPE_LABELS[t] ?? t}</option>)}
                    </select>
                  </label>
                  <label>
                    <span class="hint">Label</span>
                    <input
                      value={r.label}
                      onInput={(e) =>
                        updateRow(r.key, { label: e.currentTarget.value })}
                    />
                  </label>
                  <label>
                    <span class="hint">Default{isList(r.type) ? " (comma separated)" : ""}</span>
                    <input
                      value={r.def}
                      placeholder={r.type === "date_range"
                        ? "2026-11-01..2026-11-30"
                        : r.type === "date"
                        ? "2026-11-01"
                        : ""}
                      onInput={(e) => updateRow(r.key, { def: e.currentTarget.value })}
                    />
                  </label>
                  <label class="rw-optional">
                    <input
                      type="checkbox"
                      checked={r.optional}
                      onChange={(e) => updateRow(r.key, { optional: e.currentTarget.checked })}
                    />{" "}
                    Optional
                  </label>
                  <button
                    type="button"
                    class="small secondary rw-remove"
                    aria-label={`Remove parameter ${r.name || i + 1}`}
                    onClick={() => setRows((all) => all.filter((x) => x.key !== r.key))}
                  >
                    Remove
                  </button>
                  {err && <span class="field-error rw-param-error">{err}</span>}
                </div>
              );
            })}
            <button type="button" class="small secondary" onClick={() => addRow()} data-testid="param-add">
              Add parameter
            </button>
            {fieldErrors.params && <span class="field-error">{fieldErrors.params}</span>}
          </fieldset>
          {defs.some((d) => d.name) && (
            <fieldset class="rw-values">
              <legend>Values</legend>
              {defs.filter((d) => d.name).map((d) => (
                <label
                  key={d.name}
                  for={`rw-value-${d.name}`}
                  class={invalidParam === d.name ? "field invalid" : "field"}
                >
                  <span>
                    {d.label || d.name}{" "}
                    <span class="hint">{TYPE_LABELS[d.type]}{isList(d.type) ? ", one per line" : ""}</span>
                  </span>
                  <ValueInput
                    def={d}
                    value={values[d.name] ?? ""}
                    invalid={invalidParam === d.name}
                    onInput={(v) => setValues((all) => ({ ...all, [d.name]: v }))}
                  />
                  {d.default !== undefined && (
                    <span class="hint">
                      Default: {Array.isArray(d.default) ? d.default.join(", ") : d.default}
                    </span>
                  )}
                </label>
              ))}
            </fieldset>
          )}
        </div>
      </div>
      <div class="row rw-actions">
        <button
          type="button"
          onClick={run}
          disabled={!ready || busy !== null || !sql.trim()}
          data-testid="report-run"
        >
          {busy === "run" ? "Running…" : "Run"}
        </button>
        <button
          type="button"
          class="secondary"
          onClick={save}
          disabled={!ready || busy !== null}
          data-testid="report-save"
        >
          {busy === "save" ? "Saving…" : id ? "Save" : "Save report"}
        </button>
        {csv && <a href={csv} download data-testid="report-csv-top">Download CSV</a>}
        <span class="hint" role="status" aria-live="polite">
          {busy === "run" ? "Running the query…" : id && dirty ? "Unsaved changes" : ""}
        </span>
      </div>
      {notice && <p class="notice" role="status" data-testid="report-notice">{notice}</p>}
      {error && (
        <div class="alert rw-error" role="alert" data-testid="report-error" data-code={error.code}>
          <strong>{error.during === "save" ? "Not saved: " : "The report failed: "}</strong>
          {error.message}
          {error.code === "invalid_parameter" && invalidParam && (
            <span>(see the value of {invalidParam})</span>
          )}
          {error.pointer && (
            <div class="rw-pointer">
              <button type="button" class="link-button" onClick={() => showError(error.pointer!)}>
                Line {error.pointer.line}, column {error.pointer.column}
              </button>
              <pre
                class="mono"
                data-testid="report-error-pointer"
              >{error.pointer.text}
{" ".repeat(Math.max(0, error.pointer.column - 1))}^</pre>
            </div>
          )}
        </div>
      )}
      <div aria-busy={busy === "run" ? "true" : undefined} class={busy === "run" ? "rw-stale" : undefined}>
        {result && <Results result={result} csv={csv} />}
      </div>
    </div>
  );
}
