/** The Markdown report of the analytics benchmark (bench/analytics.ts). */
import type { DbReport, Options } from "./analytics.ts";
import { int } from "./chat_stats.ts";

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "—");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "—");
const mb = (bytes: number) => bytes / 1e6;
const audit = (r: DbReport, i: number) => {
  const a = r.audit[i];
  return a ? `${a.rows === null ? "—" : int(a.rows)}, ${a.error ?? "none"}, ${a.ms ?? "—"}` : "no row";
};

/** One line per database, `value(r)` per column. */
function table(reports: DbReport[], head: string[], rows: [string, (r: DbReport) => string][]): string[] {
  return [
    `| ${head.join(" | ")} |`,
    `|${head.map((_, i) => (i ? "---:" : "---")).join("|")}|`,
    ...rows.map(([label, value]) => `| ${label} | ${reports.map(value).join(" | ")} |`),
  ];
}

export function renderReport(o: Options, reports: DbReport[], totalSeconds: number): string {
  const names = reports.map((r) => r.label);
  const lines = [
    `# Analytics benchmark`,
    ``,
    ...reports.map((r) => `- ${r.kind}: ${r.label}`),
    ``,
    `## 1. Rollup of one day with ${int(o.rows)} activity rows`,
    ``,
    ...table(reports, ["", ...names], [
      ["insert (one set-based statement), s", (r) => f1(r.rollup.insertSeconds)],
      ["insert rows/s", (r) => int(r.rollup.rows / r.rollup.insertSeconds)],
      ["analyze activity, s", (r) => f2(r.rollup.analyzeSeconds)],
      ["`analytics_rollup_day`, s", (r) => f2(r.rollup.daySeconds)],
      ["rollup_day rows/s", (r) => int(r.rollup.rows / r.rollup.daySeconds)],
      [
        "24 × `analytics_rollup_hour`, s (slowest)",
        (r) => `${f2(r.rollup.hoursSeconds)} (${f2(r.rollup.hourMaxSeconds)})`,
      ],
      ["rollup_hour rows/s", (r) => int(r.rollup.rows / r.rollup.hoursSeconds)],
      [
        "day again, s (ratio)",
        (r) => `${f2(r.rollup.dayAgainSeconds)} (${f2(r.rollup.dayAgainSeconds / r.rollup.daySeconds)}×)`,
      ],
      [
        "24 hours again, s (ratio)",
        (r) =>
          `${f2(r.rollup.hoursAgainSeconds)} (${f2(r.rollup.hoursAgainSeconds / r.rollup.hoursSeconds)}×)`,
      ],
      ["tables identical after the re-run", (r) => (r.rollup.identical ? "yes" : "**no**")],
      [
        "rows written: daily / users / hourly",
        (r) =>
          `${int(r.rollup.written.daily)} / ${int(r.rollup.written.users)} / ${int(r.rollup.written.hourly)}`,
      ],
      [
        "page_views / visitors / messages / DAU",
        (r) =>
          `${int(r.rollup.check.pageViews)} / ${int(r.rollup.check.visitors)} / ${
            int(r.rollup.check.messages)
          } / ${int(r.rollup.check.activeUsers)}`,
      ],
    ]),
    ``,
    `Mix: ${Object.entries(reports[0]?.rollup.kinds ?? {}).map(([k, n]) => `${k} ${int(n)}`).join(", ")}.`,
    ``,
    `## 2. Dashboard with ${o.days} days of rollups: ${o.requests} sequential requests per URL`,
    ``,
  ];
  for (const r of reports) {
    lines.push(
      `### ${r.label}`,
      ``,
      `${int(r.seeded.rows)} daily_metrics rows seeded in ${f1(r.seeded.seconds)} s; server up in ${
        int(r.seeded.startupMs)
      } ms.`,
      ``,
      `| URL | p50 ms | p95 ms | p99 ms | max ms | req/s | KB | errors | p99 / 30-day page |`,
      `|---|---:|---:|---:|---:|---:|---:|---:|---:|`,
      ...r.pages.map((p) =>
        `| ${p.label} | ${f1(p.p50)} | ${f1(p.p95)} | ${f1(p.p99)} | ${f1(p.max)} | ${f1(p.perSecond)} | ${
          int(p.meanBytes / 1024)
        } | ${p.errors}${p.firstError ? ` (${p.firstError.slice(0, 80)})` : ""} | ${
          f2(p.p99 / r.pages[0].p99)
        }× |`
      ),
      ``,
    );
  }
  lines.push(
    `## 3. CSV export of a saved report, ${int(o.csvrows)} rows (streamed, counted, not kept)`,
    ``,
    ...table(reports, ["", ...names], [
      [
        "lines (header + rows); expected " + int(o.csvrows + 1),
        (r) => `${int(r.csv.lines)} ${r.csv.lines === o.csvrows + 1 ? "(exact)" : "**(wrong)**"}`,
      ],
      [
        "content checks (header, quoting, `'=` prefix)",
        (r) => (r.csv.contentOk ? "ok" : `**failed**: ${r.csv.head}`),
      ],
      ["stream error", (r) => r.csv.error ?? "none"],
      ["first byte, ms", (r) => int(r.csv.firstByteMs)],
      ["total, s", (r) => f2(r.csv.seconds)],
      ["rows/s", (r) => int((r.csv.lines - 1) / r.csv.seconds)],
      ["MB, MB/s", (r) => `${f1(mb(r.csv.bytes))}, ${f1(mb(r.csv.bytes) / r.csv.seconds)}`],
      [
        "server RSS before -> peak (growth), MB",
        (r) =>
          `${f1(r.csv.rssBeforeMb)} -> ${f1(r.csv.rssPeakMb)} (+${f1(r.csv.rssPeakMb - r.csv.rssBeforeMb)})`,
      ],
      ["RSS samples (every 100 ms)", (r) => int(r.csv.rssSamples)],
      [
        "30-day summary sent 1 s in: latency, ms (done before the export)",
        (r) => `${int(r.csv.probeMs)} (${r.csv.probeBeforeEnd ? "yes" : "no"})`,
      ],
      ["audit of the run: rows, error, ms", (r) => audit(r, 0)],
      [`slow reader (50 ms pauses, cancel after ${o.slow} s): lines read`, (r) => int(r.slow.lines)],
      [
        "slow reader: RSS before -> peak (growth), MB",
        (r) =>
          `${f1(r.slow.rssBeforeMb)} -> ${f1(r.slow.rssPeakMb)} (+${
            f1(r.slow.rssPeakMb - r.slow.rssBeforeMb)
          })`,
      ],
      ["slow reader: audit of the run: rows, error, ms", (r) => audit(r, 1)],
      [
        "slow reader: 30-day summary sent 1 s in, ms (done before the cancel)",
        (r) => `${int(r.slow.probeMs)} (${r.slow.probeBeforeEnd ? "yes" : "no"}, HTTP ${r.slow.probeStatus})`,
      ],
    ]),
    ``,
    `## Summary`,
    ``,
    "```",
    ...reports.flatMap((r) => {
      const worstPage = Math.max(...r.pages.slice(1, 6).map((p) => p.p99));
      const worstJson = Math.max(...r.pages.slice(6).map((p) => p.p99));
      return [
        `${r.kind}: insert ${f1(r.rollup.insertSeconds)} s (${
          int(r.rollup.rows / r.rollup.insertSeconds)
        } rows/s); ` +
        `rollup_day ${f2(r.rollup.daySeconds)} s, again ${f2(r.rollup.dayAgainSeconds)} s; 24 hours ${
          f2(r.rollup.hoursSeconds)
        } s; identical ${r.rollup.identical ? "yes" : "NO"}`,
        `${r.kind}: ${o.days}-day dashboard worst p99: page ${f1(worstPage)} ms, JSON ${f1(worstJson)} ms; ` +
        `30-day page p99 ${f1(r.pages[0].p99)} ms (${f2(worstPage / r.pages[0].p99)}×)`,
        `${r.kind}: CSV ${int(r.csv.lines)} lines in ${f2(r.csv.seconds)} s = ${
          int((r.csv.lines - 1) / r.csv.seconds)
        } rows/s, ${f1(mb(r.csv.bytes) / r.csv.seconds)} MB/s; RSS +${
          f1(r.csv.rssPeakMb - r.csv.rssBeforeMb)
        } MB ` +
        `(slow reader +${f1(r.slow.rssPeakMb - r.slow.rssBeforeMb)} MB); summary during export ${
          int(r.csv.probeMs)
        } ms`,
      ];
    }),
    `total ${f1(totalSeconds)} s`,
    "```",
  );
  return lines.join("\n");
}
