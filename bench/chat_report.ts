/** The Markdown report of the chat benchmark (bench/chat.ts), for docs/benchmarks.md. */
import type { CpuUse } from "./chat_cpu.ts";
import type { History } from "./chat_data.ts";
import type { DeliveryResult } from "./chat_delivery.ts";
import type { Measured, Term } from "./chat_queries.ts";
import { int, ms, type Stats, verdict } from "./chat_stats.ts";

/** Everything one run measured. */
export interface Report {
  options: {
    posts: number;
    warmup: number;
    pause: number;
    pings: number;
    history: number;
    search: number;
    messages: number;
  };
  databaseUrl: boolean;
  database: string;
  history: History;
  delivery: DeliveryResult;
  selectOne: Stats;
  me: Measured;
  pages: Measured[];
  pagesCpu?: CpuUse;
  searchCpu?: CpuUse;
  terms: Term[];
  search: { who: string; all: Measured; byKind: Measured[] }[];
  explain?: string;
  totalSeconds: number;
}

const row = (label: string, s: Stats, target = "") =>
  `| ${label} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} | ${int(s.n)} | ${target} |`;
const cores = (c: CpuUse | undefined) =>
  c
    ? `CPU cores meanwhile: this bench's processes ${c.ours.toFixed(2)}, other programs ${
      c.other.toFixed(2)
    } (load average ${c.load1.toFixed(1)}).`
    : "";
const HEAD =
  "| What | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | Samples | Target |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |";

/** Renders the report. */
export function renderReport(r: Report): string {
  const d = r.delivery;
  const h = r.history;
  const cpu = navigator.hardwareConcurrency;
  const lines = [
    `## Chat benchmark, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `- Machine: ${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch}), ${cpu} logical CPUs; Deno ${Deno.version.deno}`,
    `- Database: ${r.database}; KV: memory`,
    `- History: ${int(h.messages)} messages (${
      int(h.bigRoomIds.count)
    } in one room, ${h.smallRooms.length} rooms of ${
      int((h.messages - h.bigRoomIds.count) / Math.max(1, h.smallRooms.length))
    }, interleaved), ${int(h.replies)} replies, ${int(h.reactions)} reactions; bulk-loaded in ${
      h.loadSeconds.toFixed(1)
    } s (triggers off, full-text index built after, VACUUM ANALYZE)`,
    "",
    "### 1. Post -> delivery",
    "",
    `Plaza (main.ts) in its own process; the clients in another on the same ${cpu} cores: a room of ${d.members} members, ` +
    `${d.subscribers} supabase-js sockets (one per member, own access token) on the private channel \`room:<id>\`; ` +
    `${r.options.warmup} + ${d.http.n} posts \`POST /api/v1/rooms/:id/messages\`, one at a time, ${r.options.pause} ms apart, ` +
    `the ${d.posters} members posting in turn (60 posts a minute per person is the limit). Latency: from just before the ` +
    `request is sent to the \`message\` event at each socket. Subscribed in ${
      (d.subscribeMs / 1000).toFixed(1)
    } s. ` +
    "Nobody marks the room read during the posts except once between the two phases: in phase 1 the owner's read " +
    "position is 0 (they created the room and never opened it), the others' where they joined; then the owner " +
    "reads the room (`POST /api/v1/rooms/:id/read`) and phase 2 follows.",
    "",
    HEAD,
    row(
      "Post -> `message` event, every delivery",
      d.all,
      `p50 <= 10: ${verdict(d.all.p50, 10)}; p99 <= 40: ${verdict(d.all.p99, 40)}`,
    ),
    row("… first socket of each post", d.first),
    row("… last socket of each post", d.last),
    row("HTTP response of the post (201)", d.http),
    row(
      "Phase 1 (owner's read position 0, as created): every delivery",
      d.phases[0].all,
      `p50: ${verdict(d.phases[0].all.p50, 10)}; p99: ${verdict(d.phases[0].all.p99, 40)}`,
    ),
    row("… first socket", d.phases[0].first),
    row("… HTTP response", d.phases[0].http),
    row(
      "Phase 2 (after the owner read the room): every delivery",
      d.phases[1].all,
      `p50: ${verdict(d.phases[1].all.p50, 10)}; p99: ${verdict(d.phases[1].all.p99, 40)}`,
    ),
    row("… first socket", d.phases[1].first),
    row("… HTTP response", d.phases[1].http),
    row("Baseline: client broadcast from a member's socket -> the same sockets", d.ping),
    row("… last socket of each broadcast", d.pingLast),
    row("Baseline: `GET /health` over HTTP (same client)", d.health),
    "",
    `Delivered ${int(d.delivered)} of ${int(d.expected)}; ${d.failed} posts failed. ` +
    `Post p50 / broadcast baseline p50: ${(d.all.p50 / d.ping.p50).toFixed(1)} ×; p99: ${
      (d.all.p99 / d.ping.p99).toFixed(1)
    } ×. ` +
    cores(d.cpu),
    "",
    "### 2. History pages",
    "",
    `Through the app in process (\`app.fetch\`, bearer token), one request at a time, as a member of the room of ${
      int(h.bigRoomIds.count)
    } messages; deep pages at random ids across its whole history.`,
    "",
    HEAD,
    ...r.pages.map((p) =>
      row(p.label, p, p.label.startsWith("catch") ? "" : `p99 <= 20: ${verdict(p.p99, 20)}`)
    ),
    row("Baseline: `GET /api/v1/me` (one RLS query as the user)", r.me),
    row("Baseline: `select 1` on the database handle", r.selectOne),
    "",
    `Messages per answer: ${
      r.pages.map((p) => p.rows.toFixed(0)).join(", ")
    }. Latest page / \`GET /api/v1/me\` p50: ${(r.pages[0].p50 / r.me.p50).toFixed(1)} ×. ${
      cores(r.pagesCpu)
    }`,
    "",
    "### 3. Search",
    "",
    `\`GET /api/v1/search/messages?q=…\` (20 results, newest first), the ${r.terms.length} queries round robin:`,
    "",
    "| Query | Kind | Messages containing it (all rooms) |",
    "| --- | --- | ---: |",
    ...r.terms.map((t) =>
      `| \`${t.q}\` | ${t.kind} | ${t.kind === "two words" ? "≤ " : ""}${int(t.docs)} (${
        (100 * t.docs / h.messages).toFixed(2)
      } %) |`
    ),
    "",
    HEAD,
    ...r.search.flatMap((s) => [
      row(`**${s.who}**, all queries`, s.all, `p99 <= 50: ${verdict(s.all.p99, 50)}`),
      ...s.byKind.map((k) => row(`… ${k.label} (${k.rows.toFixed(1)} results)`, k)),
    ]),
    "",
    `20 rooms / 1 room, all queries: p50 ${(r.search[1].all.p50 / r.search[0].all.p50).toFixed(2)} ×, p99 ${
      (r.search[1].all.p99 / r.search[0].all.p99).toFixed(2)
    } ×. Search p50 / \`GET /api/v1/me\` p50: ${(r.search[0].all.p50 / r.me.p50).toFixed(1)} ×. ${
      cores(r.searchCpu)
    }`,
    "",
    `Total bench time: ${r.totalSeconds.toFixed(0)} s.`,
  ];
  if (r.explain) lines.push("", "### EXPLAIN ANALYZE as a member", "", r.explain);
  return lines.join("\n");
}
