/**
 * The analytics dashboard body (docs/analytics.md, "Dashboard"): section tabs, range presets and a
 * custom range form, the KPI cards, one uPlot chart per series group (with its data as a table in a
 * <details>) and the section's tables, each with a CSV download. The server renders the same markup,
 * which works without JavaScript (plain links and a GET form); in the browser the links and the form
 * fetch `/api/v1/analytics/summary` and update everything in place, keeping the URL in step
 * (pushState / popstate). uPlot is loaded only in the browser, only here; charts follow the
 * container's width and the light or dark colour scheme.
 */
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type uPlot from "uplot";
import type { Chart, Format, Kpi, Section, Summary, Table } from "@/lib/analytics/dashboard.ts";

/** What the page asked for: a preset (`range`) or explicit dates, and a section. */
export interface DashboardQuery {
  section: Section;
  range?: number;
  from?: string;
  to?: string;
}

/** Props: the summary rendered by the server and the query it answers. */
export interface AnalyticsDashboardProps {
  [key: string]: unknown;
  summary: Summary;
  query: DashboardQuery;
}

const SECTION_LABELS: Record<Section, string> = {
  overview: "Overview",
  community: "Community",
  events: "Events",
  orders: "Orders",
  media: "Media",
};
const SECTION_KEYS = Object.keys(SECTION_LABELS) as Section[];
const PRESET_DAYS = [7, 30, 90];
/** KPIs where a rise is bad news (coloured red). */
const LOWER_IS_BETTER = new Set(["cancelled", "delivery_time"]);
const HEIGHT = 240;
const PAGE = "/admin/analytics";

// ---------------------------------------------------------------- formatting (shared with the page)

const numberFmt = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const decimalFmt = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "3 min 20 s", "2 h 5 min", "3 d 4 h". */
export function formatSeconds(s: number): string {
  const v = Math.round(Math.abs(s));
  const sign = s < 0 ? "-" : "";
  if (v < 60) return `${sign}${v} s`;
  if (v < 3600) {
    const m = Math.floor(v / 60), r = v % 60;
    return `${sign}${m} min${r ? ` ${r} s` : ""}`;
  }
  if (v < 86400) {
    const h = Math.floor(v / 3600), m = Math.floor((v % 3600) / 60);
    return `${sign}${h} h${m ? ` ${m} min` : ""}`;
  }
  const d = Math.floor(v / 86400), h = Math.floor((v % 86400) / 3600);
  return `${sign}${d} d${h ? ` ${h} h` : ""}`;
}

/** "980 B", "1.2 MB" (powers of 1000). */
export function formatBytes(b: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = b, i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${decimalFmt.format(v)} ${units[i]}`;
}

/** A value in its format; "—" when there is none. */
export function formatValue(v: number | string | null | undefined, format: Format | "text" | "date"): string {
  if (v === null || v === undefined || v === "") return "—";
  if (format === "text") return String(v);
  if (format === "date") return formatDay(String(v));
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  switch (format) {
    case "percent":
      return `${Math.abs(n) < 0.1 && n !== 0 ? decimalFmt.format(n * 100) : numberFmt.format(n * 100)}%`;
    case "seconds":
      return formatSeconds(n);
    case "bytes":
      return formatBytes(n);
    default:
      return Number.isInteger(n) ? numberFmt.format(n) : decimalFmt.format(n);
  }
}

/** A change as "+12%" / "-3.5%". */
export function formatChange(change: number): string {
  const pct = change * 100;
  const text = Math.abs(pct) < 10 ? decimalFmt.format(Math.abs(pct)) : numberFmt.format(Math.abs(pct));
  return `${pct > 0 ? "+" : pct < 0 ? "-" : "±"}${text}%`;
}

/** "2026-11-01" as "1 Nov 2026" (UTC days). */
export function formatDay(day: string, withYear = true): string {
  const [y, m, d] = day.split("-").map(Number);
  if (!y || !m || !d) return day;
  return `${d} ${MONTHS[m - 1]}${withYear ? ` ${y}` : ""}`;
}

function formatPeriod(from: string, to: string): string {
  if (from === to) return formatDay(from);
  return `${formatDay(from, from.slice(0, 4) !== to.slice(0, 4))} – ${formatDay(to)}`;
}

// ---------------------------------------------------------------- URLs

/** The query string of a dashboard query (section first, then the preset or the dates). */
export function queryString(q: DashboardQuery, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams({ section: q.section });
  if (q.from || q.to) {
    if (q.from) p.set("from", q.from);
    if (q.to) p.set("to", q.to);
  } else if (q.range) p.set("range", String(q.range));
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString();
}

const pageUrl = (q: DashboardQuery) => `${PAGE}?${queryString(q)}`;
const exportUrl = (q: DashboardQuery, table: string) =>
  `/api/v1/analytics/export.csv?${queryString(q, { table })}`;

/** Reads a dashboard query from a location's search string (the browser's back and forward). */
function parseQuery(search: string): DashboardQuery {
  const p = new URLSearchParams(search);
  const section = (SECTION_KEYS as string[]).includes(p.get("section") ?? "")
    ? p.get("section") as Section
    : "overview";
  const from = p.get("from") || undefined;
  const to = p.get("to") || undefined;
  if (from || to) return { section, from, to };
  const range = Number(p.get("range"));
  return { section, range: PRESET_DAYS.includes(range) ? range : 30 };
}

/** A plain left click without modifier keys (anything else keeps the browser's behaviour). */
const plainClick = (e: MouseEvent) =>
  !(e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey);

// ---------------------------------------------------------------- charts

function colours(el: Element) {
  const css = getComputedStyle(el);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    series: [
      v("--accent", "#4338ca"),
      v("--focus", "#f59e0b"),
      v("--ok", "#067647"),
      v("--danger", "#b42318"),
    ],
    text: v("--muted", "#555770"),
    grid: v("--border", "#dcdce6"),
  };
}

/** Short axis labels of a format ("1.2 MB", "3 min", "40%"). */
function axisLabel(v: number, format: Format): string {
  if (format === "seconds") {
    if (v === 0) return "0";
    return formatSeconds(v).split(" ").slice(0, 2).join(" ");
  }
  if (format === "number" && Math.abs(v) >= 10_000) return `${decimalFmt.format(v / 1000)}k`;
  return formatValue(v, format);
}

function chartOptions(
  U: typeof uPlot,
  chart: Chart,
  width: number,
  c: ReturnType<typeof colours>,
): uPlot.Options {
  const axis = {
    stroke: c.text,
    grid: { stroke: c.grid, width: 1 },
    ticks: { stroke: c.grid, width: 1 },
    font: "12px system-ui, sans-serif",
  };
  const single = chart.series.length === 1;
  const ySize = chart.format === "number" ? 48 : 64;
  return {
    width,
    height: HEIGHT,
    tzDate: (ts) => U.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      y: {
        range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : chart.format === "percent" ? 1 : 1],
      },
    },
    axes: [
      {
        ...axis,
        space: 56,
        values: (_u, splits) =>
          splits.map((s) => formatDay(new Date(s * 1000).toISOString().slice(0, 10), false))
            .map((l, i, all) => (i > 0 && all[i - 1] === l ? "" : l)),
      },
      {
        ...axis,
        size: ySize,
        space: 32,
        values: (_u, splits) => splits.map((v) => axisLabel(v, chart.format)),
      },
    ],
    series: [
      {
        label: "Day",
        value: (_u, v) => (v == null ? "–" : formatDay(new Date(v * 1000).toISOString().slice(0, 10))),
      },
      ...chart.series.map((s, i): uPlot.Series => {
        const colour = c.series[i % c.series.length];
        return {
          label: s.label,
          stroke: colour,
          width: 2,
          fill: single ? `${colour}22` : undefined,
          points: { show: chart.days.length <= 31 },
          value: (_u, v) => (v == null ? "–" : formatValue(v, chart.format)),
        };
      }),
    ],
  };
}

/** One chart: uPlot in the browser, a table of its data for everyone. */
function ChartCard({ chart, query }: { chart: Chart; query: DashboardQuery }) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let plot: uPlot | undefined;
    let stopped = false;
    const data: uPlot.AlignedData = [
      chart.days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000),
      ...chart.values,
    ];
    const scheme = matchMedia("(prefers-color-scheme: dark)");
    let draw = () => {};
    const resize = new ResizeObserver(() => {
      if (plot && el.clientWidth && plot.width !== el.clientWidth) {
        plot.setSize({ width: el.clientWidth, height: HEIGHT });
      }
    });
    import("uplot").then(({ default: U }) => {
      if (stopped) return;
      draw = () => {
        plot?.destroy();
        plot = new U(chartOptions(U, chart, el.clientWidth || 300, colours(el)), data, el);
        el.dataset.drawn = String(chart.days.length);
      };
      draw();
      resize.observe(el);
      scheme.addEventListener("change", draw);
    }).catch(() => el.classList.add("chart-failed"));
    return () => {
      stopped = true;
      resize.disconnect();
      scheme.removeEventListener("change", draw);
      plot?.destroy();
      delete el.dataset.drawn;
    };
  }, [chart]);

  const total = chart.values.map((v) => v.reduce((a, b) => a + b, 0));
  return (
    <section class="card analytics-chart" data-chart={chart.key} data-points={chart.days.length}>
      <header class="analytics-card-head">
        <h2>{chart.title}</h2>
        <a class="analytics-csv" href={exportUrl(query, `chart:${chart.key}`)} download>
          Download CSV<span class="sr-only">: {chart.title}</span>
        </a>
      </header>
      <div ref={box} class="analytics-chart-canvas" aria-hidden="true" />
      <details class="chart-data">
        <summary>Chart data as a table</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Day</th>
                {chart.series.map((s) => <th key={s.key} scope="col" class="num">{s.label}</th>)}
              </tr>
            </thead>
            <tbody>
              {chart.days.map((d, i) => (
                <tr key={d}>
                  <td>
                    <time dateTime={d}>{formatDay(d)}</time>
                  </td>
                  {chart.values.map((v, j) => <td key={j} class="num">{formatValue(v[i], chart.format)}</td>)}
                </tr>
              ))}
            </tbody>
            {chart.format !== "seconds" && chart.format !== "percent" && (
              <tfoot>
                <tr>
                  <th scope="row">Total</th>
                  {total.map((t, j) => <td key={j} class="num">{formatValue(t, chart.format)}</td>)}
                </tr>
              </tfoot>
            )}
          </table>
        </div>
      </details>
    </section>
  );
}

// ---------------------------------------------------------------- KPIs and tables

function KpiCard({ kpi, days }: { kpi: Kpi; days: number }) {
  const better = kpi.change === null || kpi.change === 0
    ? "flat"
    : (kpi.change > 0) !== LOWER_IS_BETTER.has(kpi.key)
    ? "good"
    : "bad";
  const arrow = kpi.change === null || kpi.change === 0 ? "" : kpi.change > 0 ? "▲" : "▼";
  return (
    <div class="kpi" data-kpi={kpi.key}>
      <dt>{kpi.label}</dt>
      <dd class="kpi-value">{formatValue(kpi.value, kpi.format)}</dd>
      <dd class={`kpi-change ${better}`}>
        {kpi.change === null ? <span title="No figure for the previous period">—</span> : (
          <>
            {arrow && <span aria-hidden="true">{arrow}</span>} {formatChange(kpi.change)}
          </>
        )} <span class="kpi-vs">vs previous {days} days</span>
      </dd>
      <dd class="kpi-previous">Previous: {formatValue(kpi.previous, kpi.format)}</dd>
    </div>
  );
}

const isChangeColumn = (name: string) => /^(change|growth)$/i.test(name);

function TableCard({ table, query }: { table: Table; query: DashboardQuery }) {
  return (
    <section class="card analytics-table" data-table={table.key}>
      <header class="analytics-card-head">
        <h2>{table.title}</h2>
        <a class="analytics-csv" href={exportUrl(query, table.key)} download>
          Download CSV<span class="sr-only">: {table.title}</span>
        </a>
      </header>
      {table.rows.length === 0 ? <p class="muted">Nothing in this period.</p> : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                {table.columns.map((c, i) => (
                  <th key={c} scope="col" class={table.formats[i] === "text" ? undefined : "num"}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((row, r) => (
                <tr key={r}>
                  {row.map((cell, i) => {
                    const format = table.formats[i] ?? "text";
                    const change = isChangeColumn(table.columns[i]) && typeof cell === "number";
                    return (
                      <td
                        key={i}
                        class={format === "text"
                          ? "text"
                          : change
                          ? `num ${(cell as number) > 0 ? "good" : (cell as number) < 0 ? "bad" : ""}`
                          : "num"}
                      >
                        {change ? formatChange(cell as number) : formatValue(cell, format)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

// ---------------------------------------------------------------- the dashboard

/** The dashboard. */
export default function AnalyticsDashboard(props: AnalyticsDashboardProps) {
  const summary = useSignal<Summary>(props.summary);
  const query = useSignal<DashboardQuery>(props.query);
  const loading = useSignal(false);
  const error = useSignal("");
  const pending = useRef<AbortController | null>(null);

  const load = async (q: DashboardQuery, push: boolean) => {
    pending.current?.abort();
    const ctl = new AbortController();
    pending.current = ctl;
    loading.value = true;
    error.value = "";
    try {
      const res = await fetch(`/api/v1/analytics/summary?${queryString(q)}`, {
        credentials: "same-origin",
        headers: { accept: "application/json" },
        signal: ctl.signal,
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) {
        throw new Error(
          body?.error?.message ??
            (res.status === 401
              ? "Your session has expired: sign in again."
              : `Could not load (HTTP ${res.status}).`),
        );
      }
      if (ctl.signal.aborted) return;
      summary.value = body as Summary;
      query.value = q;
      if (push) history.pushState({ analytics: q }, "", pageUrl(q));
    } catch (err) {
      if (ctl.signal.aborted) return;
      error.value = err instanceof TypeError
        ? "The dashboard could not reach the server. Check the connection and try again."
        : (err as Error).message;
    } finally {
      if (pending.current === ctl) {
        loading.value = false;
        pending.current = null;
      }
    }
  };

  useEffect(() => {
    history.replaceState({ analytics: query.value }, "", location.href);
    const onPop = () => load(parseQuery(location.search), false);
    addEventListener("popstate", onPop);
    return () => {
      removeEventListener("popstate", onPop);
      pending.current?.abort();
    };
  }, []);

  const go = (q: DashboardQuery) => (e: MouseEvent) => {
    if (!plainClick(e)) return;
    e.preventDefault();
    load(q, true);
  };

  const onSubmit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const from = String(form.get("from") ?? "") || undefined;
    const to = String(form.get("to") ?? "") || undefined;
    if (!from && !to) {
      error.value = "Pick a start date, an end date or both.";
      return;
    }
    if (from && to && to < from) {
      error.value = "The end date must not be before the start date.";
      return;
    }
    load({ section: query.value.section, from, to }, true);
  };

  const s = summary.value;
  const q = query.value;
  const custom = Boolean(q.from || q.to);
  return (
    <div
      class={`analytics${loading.value ? " is-loading" : ""}`}
      data-testid="analytics"
      data-section={s.section}
      data-range-from={s.range.from}
      data-range-to={s.range.to}
      aria-busy={loading.value ? "true" : "false"}
    >
      <nav class="tabs analytics-sections" aria-label="Dashboard sections">
        {SECTION_KEYS.map((key) => {
          const to = { ...q, section: key };
          return (
            <a
              key={key}
              href={pageUrl(to)}
              data-section-tab={key}
              aria-current={key === s.section ? "page" : undefined}
              onClick={go(to)}
            >
              {SECTION_LABELS[key]}
            </a>
          );
        })}
      </nav>

      <div class="analytics-controls">
        <nav class="analytics-presets" aria-label="Date range">
          {PRESET_DAYS.map((days) => {
            const to = { section: q.section, range: days };
            return (
              <a
                key={days}
                href={pageUrl(to)}
                data-preset={days}
                aria-current={!custom && s.range.days === days ? "true" : undefined}
                onClick={go(to)}
              >
                {days} days
              </a>
            );
          })}
        </nav>
        <form class="analytics-custom" method="get" action={PAGE} onSubmit={onSubmit}>
          <input type="hidden" name="section" value={q.section} />
          <label>
            From
            <input type="date" name="from" value={custom ? s.range.from : ""} max={s.range.to} />
          </label>
          <label>
            To
            <input type="date" name="to" value={custom ? s.range.to : ""} />
          </label>
          <button type="submit" class="small" disabled={loading.value}>Show</button>
        </form>
      </div>

      <p class="analytics-period muted" data-testid="analytics-period">
        {formatPeriod(s.range.from, s.range.to)} ({s.range.days}{" "}
        {s.range.days === 1 ? "day" : "days"}, UTC), compared with{" "}
        {formatPeriod(s.previous.from, s.previous.to)}
      </p>
      <div class="analytics-state" aria-live="polite">
        {loading.value && <p class="status" role="status">Loading…</p>}
        {error.value && (
          <p class="status error analytics-error" role="alert" data-testid="analytics-error">{error.value}</p>
        )}
      </div>

      <dl class="analytics-kpis" data-testid="analytics-kpis">
        {s.kpis.map((k) => <KpiCard key={k.key} kpi={k} days={s.range.days} />)}
      </dl>

      {s.charts.map((chart) => <ChartCard key={`${s.section}:${chart.key}`} chart={chart} query={q} />)}
      {s.tables.map((table) => <TableCard key={`${s.section}:${table.key}`} table={table} query={q} />)}
    </div>
  );
}
