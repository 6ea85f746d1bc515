/**
 * The admin dashboard's figures (docs/analytics.md): key metrics against the previous period of the
 * same length, daily series for charts and the tables of each section, all read from the rollups.
 * Callers run it as the admin (RLS lets admins read analytics).
 */
import type { Queryable } from "../db/port.ts";

export const SECTIONS = ["overview", "community", "events", "orders", "media"] as const;
export type Section = typeof SECTIONS[number];
export const PRESETS = [7, 30, 90] as const;
export const MAX_RANGE_DAYS = 400;

export type Format = "number" | "percent" | "seconds" | "bytes";

/** A date range of whole UTC days, inclusive. */
export interface DayRange {
  from: string;
  to: string;
  days: number;
}

export interface Kpi {
  key: string;
  label: string;
  value: number | null;
  previous: number | null;
  change: number | null;
  format: Format;
}

export interface Chart {
  key: string;
  title: string;
  format: Format;
  series: { key: string; label: string }[];
  days: string[];
  values: number[][];
}

export interface Table {
  key: string;
  title: string;
  columns: string[];
  /** Formats of the columns, for display ("text" for labels). */
  formats: (Format | "text" | "date")[];
  rows: (string | number | null)[][];
}

export interface Summary {
  section: Section;
  range: DayRange;
  previous: { from: string; to: string };
  kpis: Kpi[];
  charts: Chart[];
  tables: Table[];
}

const DAY_MS = 86_400_000;

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** The range of a preset ending today (UTC), or of explicit dates. Throws RangeError when invalid. */
export function resolveRange(
  input: { range?: number; from?: string; to?: string },
  now: Date = new Date(),
): DayRange {
  const today = now.toISOString().slice(0, 10);
  if (input.from || input.to) {
    const to = input.to ?? today;
    const from = input.from ?? addDays(to, -29);
    const days = Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS) + 1;
    if (Number.isNaN(days)) throw new RangeError("from and to must be dates like 2026-11-01");
    if (days < 1) throw new RangeError("to must not be before from");
    if (days > MAX_RANGE_DAYS) throw new RangeError(`a range can span at most ${MAX_RANGE_DAYS} days`);
    return { from, to, days };
  }
  const days = input.range ?? 30;
  return { from: addDays(today, -(days - 1)), to: today, days };
}

/** The period of the same length just before `range`. */
export function previousRange(range: DayRange): DayRange {
  return { from: addDays(range.from, -range.days), to: addDays(range.from, -1), days: range.days };
}

function dayList(range: DayRange): string[] {
  return Array.from({ length: range.days }, (_, i) => addDays(range.from, i));
}

function change(value: number | null, previous: number | null): number | null {
  if (value === null || previous === null || previous === 0) return null;
  return (value - previous) / previous;
}

type Daily = Map<string, Map<string, number>>; // "metric|key" -> day -> value

async function loadDaily(tx: Queryable, metrics: string[], from: string, to: string): Promise<Daily> {
  const rows = await tx.query<{ metric: string; key: string; day: string; value: number }>(
    `select metric, key, to_char(day, 'YYYY-MM-DD') as day, value from analytics.daily_metrics
     where metric = any($1::text[]) and day between $2::date and $3::date`,
    [metrics, from, to],
  );
  const out: Daily = new Map();
  for (const r of rows) {
    const id = `${r.metric}|${r.key}`;
    let days = out.get(id);
    if (!days) out.set(id, days = new Map());
    days.set(r.day, Number(r.value));
  }
  return out;
}

/** Reads values of the metrics of one period. */
class Period {
  constructor(readonly range: DayRange, readonly data: Daily) {}
  series(metric: string, key = ""): number[] {
    const days = this.data.get(`${metric}|${key}`);
    return dayList(this.range).map((d) => days?.get(d) ?? 0);
  }
  /** The metric's total over this period's days only (the data holds both periods). */
  sum(metric: string, key = ""): number {
    return this.series(metric, key).reduce((a, b) => a + b, 0);
  }
  avg(metric: string): number {
    return this.sum(metric) / this.range.days;
  }
  last(metric: string): number {
    return this.data.get(`${metric}|`)?.get(this.range.to) ?? 0;
  }
  /** The metric's total over every key (e.g. all events), this period's days only. */
  sumAllKeys(metric: string): number {
    let total = 0;
    for (const id of this.data.keys()) {
      if (id.startsWith(`${metric}|`)) total += this.sum(metric, id.slice(metric.length + 1));
    }
    return total;
  }
  ratio(num: string, den: string): number | null {
    const d = this.sumAllKeys(den);
    return d ? this.sumAllKeys(num) / d : null;
  }
}

interface KpiSpec {
  key: string;
  label: string;
  format: Format;
  value: (p: Period) => number | null;
}

const sum = (metric: string, key = "") => (p: Period) => p.sum(metric, key);

const KPIS: Record<Section, KpiSpec[]> = {
  overview: [
    {
      key: "active_users",
      label: "Daily active users (avg)",
      format: "number",
      value: (p) => p.avg("active_users"),
    },
    { key: "registrations", label: "New registrations", format: "number", value: sum("registrations") },
    { key: "messages", label: "Messages", format: "number", value: sum("messages") },
    { key: "rsvps", label: "RSVP changes", format: "number", value: sum("rsvps") },
    { key: "uploads", label: "Uploads", format: "number", value: sum("uploads") },
    { key: "deliveries", label: "Deliveries", format: "number", value: sum("deliveries") },
    { key: "page_views", label: "Page views", format: "number", value: sum("page_views") },
    { key: "visitors", label: "Visitors (daily uniques, summed)", format: "number", value: sum("visitors") },
  ],
  community: [
    {
      key: "active_users",
      label: "Daily active users (avg)",
      format: "number",
      value: (p) => p.avg("active_users"),
    },
    { key: "wau", label: "Weekly active users (last day)", format: "number", value: (p) => p.last("wau") },
    { key: "mau", label: "Monthly active users (last day)", format: "number", value: (p) => p.last("mau") },
    { key: "registrations", label: "New registrations", format: "number", value: sum("registrations") },
    { key: "sign_ins", label: "Sign-ins", format: "number", value: sum("sign_ins") },
    { key: "messages", label: "Messages", format: "number", value: sum("messages") },
  ],
  events: [
    { key: "rsvps", label: "RSVP changes", format: "number", value: sum("rsvps") },
    { key: "rsvps_going", label: "RSVPs to going", format: "number", value: sum("rsvps_going") },
    { key: "checkins", label: "Check-ins", format: "number", value: sum("checkins") },
    {
      key: "show_up_rate",
      label: "Show-up rate (events held)",
      format: "percent",
      value: (p) => p.ratio("event_attended", "event_going"),
    },
  ],
  orders: [
    { key: "orders_created", label: "Orders placed", format: "number", value: sum("orders_created") },
    { key: "deliveries", label: "Delivered", format: "number", value: sum("deliveries") },
    { key: "cancelled", label: "Cancelled", format: "number", value: sum("order_status", "cancelled") },
    {
      key: "delivery_time",
      label: "Average delivery time",
      format: "seconds",
      value: (p) => p.ratio("delivery_seconds", "deliveries"),
    },
  ],
  media: [
    { key: "uploads", label: "Uploads", format: "number", value: sum("uploads") },
    { key: "upload_bytes", label: "Uploaded", format: "bytes", value: sum("upload_bytes") },
    { key: "images", label: "Images", format: "number", value: sum("uploads_kind", "image") },
    { key: "videos", label: "Videos", format: "number", value: sum("uploads_kind", "video") },
    { key: "pdfs", label: "PDFs", format: "number", value: sum("uploads_kind", "pdf") },
  ],
};

interface ChartSpec {
  key: string;
  title: string;
  format: Format;
  series: { key: string; label: string; values: (p: Period) => number[] }[];
}

const line = (key: string, label: string, metric = key, k = "") => ({
  key,
  label,
  values: (p: Period) => p.series(metric, k),
});

const CHARTS: Record<Section, ChartSpec[]> = {
  overview: [
    { key: "users", title: "Active users", format: "number", series: [line("active_users", "Daily active")] },
    {
      key: "traffic",
      title: "Traffic",
      format: "number",
      series: [line("page_views", "Page views"), line("visitors", "Visitors")],
    },
    {
      key: "activity",
      title: "Activity",
      format: "number",
      series: [line("messages", "Messages"), line("rsvps", "RSVP changes"), line("uploads", "Uploads")],
    },
  ],
  community: [
    {
      key: "users",
      title: "Active users",
      format: "number",
      series: [line("active_users", "DAU"), line("wau", "WAU"), line("mau", "MAU")],
    },
    {
      key: "growth",
      title: "Registrations and sign-ins",
      format: "number",
      series: [line("registrations", "Registrations"), line("sign_ins", "Sign-ins")],
    },
    { key: "messages", title: "Messages", format: "number", series: [line("messages", "Messages")] },
  ],
  events: [
    {
      key: "rsvps",
      title: "RSVPs and check-ins",
      format: "number",
      series: [line("rsvps", "RSVP changes"), line("rsvps_going", "To going"), line("checkins", "Check-ins")],
    },
  ],
  orders: [
    {
      key: "orders",
      title: "Orders",
      format: "number",
      series: [
        line("orders_created", "Placed"),
        line("deliveries", "Delivered"),
        line("cancelled", "Cancelled", "order_status", "cancelled"),
      ],
    },
    {
      key: "delivery_time",
      title: "Average delivery time",
      format: "seconds",
      series: [{
        key: "delivery_time",
        label: "Average",
        values: (p) => {
          const secs = p.series("delivery_seconds");
          return p.series("deliveries").map((n, i) => n ? Math.round(secs[i] / n) : 0);
        },
      }],
    },
  ],
  media: [
    { key: "uploads", title: "Uploads", format: "number", series: [line("uploads", "Uploads")] },
    { key: "bytes", title: "Uploaded bytes", format: "bytes", series: [line("upload_bytes", "Bytes")] },
  ],
};

const SCALAR_METRICS = [
  "active_users",
  "wau",
  "mau",
  "registrations",
  "sign_ins",
  "messages",
  "rsvps",
  "rsvps_going",
  "checkins",
  "event_going",
  "event_attended",
  "uploads",
  "upload_bytes",
  "uploads_kind",
  "orders_created",
  "order_status",
  "deliveries",
  "delivery_seconds",
  "page_views",
  "visitors",
];

/** Totals of a keyed metric per key in two periods, with a label looked up by `names`. */
async function keyedTotals(
  tx: Queryable,
  metric: string,
  cur: DayRange,
  prev: { from: string; to: string },
  limit: number,
) {
  return await tx.query<{ key: string; value: number; previous: number }>(
    `select key, sum(value) filter (where day between $2::date and $3::date)::float8 as value,
       coalesce(sum(value) filter (where day between $4::date and $5::date), 0)::float8 as previous
     from analytics.daily_metrics
     where metric = $1 and day between $4::date and $3::date
     group by key having sum(value) filter (where day between $2::date and $3::date) > 0
     order by 2 desc, key limit $6`,
    [metric, cur.from, cur.to, prev.from, prev.to, limit],
  );
}

/** Keys whose last 7 days of the range beat the 7 days before (at least 3 in the last 7). */
async function trending(tx: Queryable, metric: string, range: DayRange, limit: number) {
  const lastFrom = addDays(range.to, -6);
  const beforeFrom = addDays(range.to, -13);
  return await tx.query<{ key: string; recent: number; before: number }>(
    `select key, sum(value) filter (where day >= $2::date)::float8 as recent,
       coalesce(sum(value) filter (where day < $2::date), 0)::float8 as before
     from analytics.daily_metrics
     where metric = $1 and day between $3::date and $4::date
     group by key having coalesce(sum(value) filter (where day >= $2::date), 0) >= 3
     order by (sum(value) filter (where day >= $2::date) + 1)
       / (coalesce(sum(value) filter (where day < $2::date), 0) + 1) desc, 2 desc, key
     limit $5`,
    [metric, lastFrom, beforeFrom, range.to, limit],
  );
}

async function names(tx: Queryable, table: "rooms" | "events", ids: string[]): Promise<Map<string, string>> {
  const uuids = ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  if (!uuids.length) return new Map();
  const col = table === "rooms" ? "case when kind = 'dm' then 'Direct message' else name end" : "title";
  const rows = await tx.query<{ id: string; name: string }>(
    `select id::text as id, ${col} as name from public.${table} where id = any($1::uuid[])`,
    [uuids],
  );
  return new Map(rows.map((r) => [r.id, r.name]));
}

async function sectionTables(
  tx: Queryable,
  section: Section,
  range: DayRange,
  prev: DayRange,
  cur: Period,
): Promise<Table[]> {
  const pct = (v: number, p: number) => (p ? (v - p) / p : null);
  switch (section) {
    case "overview": {
      const pages = await keyedTotals(tx, "page_path", range, prev, 20);
      const total = cur.sum("page_views") || 1;
      return [{
        key: "top_pages",
        title: "Top pages",
        columns: ["Page", "Views", "Share", "Change"],
        formats: ["text", "number", "percent", "percent"],
        rows: pages.map((r) => [r.key, r.value, r.value / total, pct(r.value, r.previous)]),
      }];
    }
    case "community": {
      const top = await keyedTotals(tx, "room_messages", range, prev, 20);
      const hot = await trending(tx, "room_messages", range, 10);
      const label = await names(tx, "rooms", [...top, ...hot].map((r) => r.key));
      return [
        {
          key: "top_rooms",
          title: "Busiest rooms",
          columns: ["Room", "Messages", "Previous period", "Change"],
          formats: ["text", "number", "number", "percent"],
          rows: top.map((
            r,
          ) => [label.get(r.key) ?? "Deleted room", r.value, r.previous, pct(r.value, r.previous)]),
        },
        {
          key: "trending_rooms",
          title: "Trending rooms (last 7 days against the 7 before)",
          columns: ["Room", "Last 7 days", "7 days before", "Growth"],
          formats: ["text", "number", "number", "percent"],
          rows: hot.map((
            r,
          ) => [label.get(r.key) ?? "Deleted room", r.recent, r.before, pct(r.recent, r.before)]),
        },
      ];
    }
    case "events": {
      const held = await tx.query<{ key: string; going: number; attended: number; day: string }>(
        `select key, to_char(min(day), 'YYYY-MM-DD') as day,
           coalesce(sum(value) filter (where metric = 'event_going'), 0)::float8 as going,
           coalesce(sum(value) filter (where metric = 'event_attended'), 0)::float8 as attended
         from analytics.daily_metrics
         where metric in ('event_going', 'event_attended') and day between $1::date and $2::date
         group by key order by 2 desc, key limit 50`,
        [range.from, range.to],
      );
      const hot = await trending(tx, "event_rsvps", range, 10);
      const label = await names(tx, "events", [...held, ...hot].map((r) => r.key));
      return [
        {
          key: "events_held",
          title: "Events held in the range",
          columns: ["Event", "Day", "Going", "Attended", "Show-up rate"],
          formats: ["text", "date", "number", "number", "percent"],
          rows: held.map((r) => [
            label.get(r.key) ?? "Deleted event",
            r.day,
            r.going,
            r.attended,
            r.going ? r.attended / r.going : null,
          ]),
        },
        {
          key: "trending_events",
          title: "Trending events (RSVP changes, last 7 days against the 7 before)",
          columns: ["Event", "Last 7 days", "7 days before", "Growth"],
          formats: ["text", "number", "number", "percent"],
          rows: hot.map((
            r,
          ) => [label.get(r.key) ?? "Deleted event", r.recent, r.before, pct(r.recent, r.before)]),
        },
      ];
    }
    case "orders": {
      const statuses = await keyedTotals(tx, "order_status", range, prev, 20);
      return [{
        key: "order_status",
        title: "Orders by status (changes into each status)",
        columns: ["Status", "Orders", "Previous period", "Change"],
        formats: ["text", "number", "number", "percent"],
        rows: statuses.map((r) => [r.key, r.value, r.previous, pct(r.value, r.previous)]),
      }];
    }
    case "media": {
      const kinds = await keyedTotals(tx, "uploads_kind", range, prev, 10);
      return [{
        key: "uploads_by_kind",
        title: "Uploads by kind",
        columns: ["Kind", "Uploads", "Previous period", "Change"],
        formats: ["text", "number", "number", "percent"],
        rows: kinds.map((r) => [r.key, r.value, r.previous, pct(r.value, r.previous)]),
      }];
    }
  }
}

/** Everything one section of the dashboard shows. */
export async function dashboardSummary(tx: Queryable, section: Section, range: DayRange): Promise<Summary> {
  const prev = previousRange(range);
  const data = await loadDaily(tx, SCALAR_METRICS, prev.from, range.to);
  const cur = new Period(range, data);
  const before = new Period(prev, data);
  const kpis = KPIS[section].map((spec): Kpi => {
    const value = spec.value(cur);
    const previous = spec.value(before);
    return {
      key: spec.key,
      label: spec.label,
      value,
      previous,
      change: change(value, previous),
      format: spec.format,
    };
  });
  const days = dayList(range);
  const charts = CHARTS[section].map((spec): Chart => ({
    key: spec.key,
    title: spec.title,
    format: spec.format,
    series: spec.series.map(({ key, label }) => ({ key, label })),
    days,
    values: spec.series.map((s) => s.values(cur)),
  }));
  const tables = await sectionTables(tx, section, range, prev, cur);
  return { section, range, previous: { from: prev.from, to: prev.to }, kpis, charts, tables };
}

/** One table of a summary (or `chart:<key>` as a table of days) as rows for CSV export. */
export function exportTable(summary: Summary, key: string): { columns: string[]; rows: unknown[][] } | null {
  if (key.startsWith("chart:")) {
    const chart = summary.charts.find((c) => c.key === key.slice(6));
    if (!chart) return null;
    return {
      columns: ["Day", ...chart.series.map((s) => s.label)],
      rows: chart.days.map((day, i) => [day, ...chart.values.map((v) => v[i])]),
    };
  }
  const table = summary.tables.find((t) => t.key === key);
  return table ? { columns: table.columns, rows: table.rows } : null;
}

/** Live counters (also broadcast on `admin:live`). */
export interface LiveCounters {
  active_users: number;
  visitors: number;
  messages_last_minute: number;
  at: string;
}

/** Who was active in the last 5 minutes and how many messages the last minute saw. */
export async function liveCounters(tx: Queryable): Promise<LiveCounters> {
  const [row] = await tx.query<{ users: number; visitors: number; messages: number; at: Date | string }>(
    `select count(distinct user_id)::int as users,
       count(distinct visitor) filter (where kind = 'page_viewed')::int as visitors,
       count(*) filter (where kind = 'message_sent' and occurred_at > now() - interval '1 minute')::int as messages,
       now() as at
     from analytics.activity where occurred_at > now() - interval '5 minutes'`,
  );
  return {
    active_users: row.users,
    visitors: row.visitors,
    messages_last_minute: row.messages,
    at: new Date(row.at).toISOString(),
  };
}
