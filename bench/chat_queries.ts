/**
 * Chat benchmark, parts 2 and 3 (bench/chat.ts): history pages and search through the app in
 * process (`app.fetch`, bearer tokens, the same middleware as over HTTP), sequentially, on the
 * bulk-loaded history of bench/chat_data.ts. Baselines from the same run: `select 1` on the
 * platform's database handle and `GET /api/v1/me` (one RLS query as the user through the app).
 */
import type { Platform } from "@/lib/platform.ts";
import { type History, prng, RARE_WORDS } from "./chat_data.ts";
import { type Stats, stats } from "./chat_stats.ts";

/** The app's request handler. */
export type Fetch = (req: Request) => Response | Promise<Response>;

/** Latencies of one kind of request. */
export interface Measured extends Stats {
  label: string;
  errors: number;
  firstError?: string;
  /** Mean number of messages in the answers. */
  rows: number;
}

/** Sends `count` requests (after `warmup` unmeasured ones) built by `make`, one at a time. */
export async function measure(
  fetch: Fetch,
  label: string,
  count: number,
  warmup: number,
  make: (i: number) => { path: string; token: string },
): Promise<Measured> {
  const samples: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let rows = 0;
  for (let i = 0; i < warmup + count; i++) {
    const { path, token } = make(i);
    const t = performance.now();
    const res = await fetch(
      new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${token}` } }),
    );
    const text = await res.text();
    const elapsed = performance.now() - t;
    if (i < warmup) continue;
    samples.push(elapsed);
    if (res.status !== 200) {
      errors++;
      firstError ??= `${res.status} ${text.slice(0, 200)}`;
    } else {
      rows += (JSON.parse(text).messages?.length as number | undefined) ?? 0;
    }
  }
  return { label, ...stats(samples), errors, firstError, rows: rows / Math.max(1, count - errors) };
}

/** Mean and percentiles of `select 1` on the platform's database handle. */
export async function selectOne(platform: Platform, count: number): Promise<Stats> {
  const samples: number[] = [];
  for (let i = 0; i < 50 + count; i++) {
    const t = performance.now();
    await platform.db.query("select 1");
    if (i >= 50) samples.push(performance.now() - t);
  }
  return stats(samples);
}

/** History pages of the big room, as a member of it. */
export async function historyScenario(fetch: Fetch, h: History, count: number): Promise<Measured[]> {
  const room = `/api/v1/rooms/${h.bigRoom}/messages`;
  const token = h.oneRoom.token;
  const rand = prng(99);
  const { first, last } = h.bigRoomIds;
  const deep = () => first + 60 + Math.floor(rand() * (last - first - 60));
  return [
    await measure(fetch, "latest page (`?limit=50`)", count, 30, () => ({ path: `${room}?limit=50`, token })),
    await measure(fetch, "page deep in history (`?before=<random id>&limit=50`)", count, 30, () => ({
      path: `${room}?before=${deep()}&limit=50`,
      token,
    })),
    await measure(fetch, "catch-up page (`?after=<random id>&limit=50`)", Math.ceil(count / 3), 10, () => ({
      path: `${room}?after=${deep()}&limit=50`,
      token,
    })),
  ];
}

/** A search query and how many messages (all rooms) contain its words. */
export interface Term {
  q: string;
  kind: "rare" | "medium" | "common" | "two words";
  /** Messages containing every word (estimated from the generator for two words: min of both). */
  docs: number;
}

/** Picks the query mix from the corpus' document frequencies. */
export function pickTerms(h: History): Term[] {
  const df = (w: string) => h.docFreq.get(w) ?? 0;
  const content = [...h.docFreq.keys()].filter((w) => !RARE_WORDS.includes(w)).sort((a, b) => df(b) - df(a));
  const byShare = (lo: number, hi: number) =>
    content.filter((w) => df(w) / h.messages >= lo && df(w) / h.messages < hi);
  const spread = <T>(list: T[], n: number) =>
    Array.from({ length: n }, (_, i) => list[Math.floor((i * list.length) / n)]);
  const rare = RARE_WORDS.filter((w) => df(w) > 0).sort((a, b) => df(a) - df(b));
  const medium = byShare(0.008, 0.015);
  const common = byShare(0.05, 1);
  const terms: Term[] = [
    ...spread(rare, 4).map((q) => ({ q, kind: "rare" as const, docs: df(q) })),
    ...spread(medium, 4).map((q) => ({ q, kind: "medium" as const, docs: df(q) })),
    ...spread(common, 4).map((q) => ({ q, kind: "common" as const, docs: df(q) })),
  ];
  const pairs: [string, string][] = [
    [common[0], common[1]],
    [common[2], medium[0]],
    [medium[1], medium[2]],
    [common[3], rare[0]],
  ];
  for (const [a, b] of pairs) terms.push({ q: `${a} ${b}`, kind: "two words", docs: Math.min(df(a), df(b)) });
  return terms;
}

/** Search as one reader, the query mix round robin; figures overall and per kind of query. */
export async function searchScenario(
  fetch: Fetch,
  terms: Term[],
  token: string,
  count: number,
): Promise<{ all: Measured; byKind: Measured[] }> {
  const kinds = [...new Set(terms.map((t) => t.kind))];
  const perKind: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k, []]));
  const samples: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let rows = 0;
  const rowsByKind: Record<string, number> = {};
  for (let i = 0; i < terms.length + count; i++) {
    const term = terms[i % terms.length];
    const t = performance.now();
    const res = await fetch(
      new Request(`http://localhost/api/v1/search/messages?q=${encodeURIComponent(term.q)}`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    const text = await res.text();
    const elapsed = performance.now() - t;
    if (i < terms.length) continue; // one warm-up round
    samples.push(elapsed);
    perKind[term.kind].push(elapsed);
    if (res.status !== 200) {
      errors++;
      firstError ??= `${res.status} ${text.slice(0, 200)}`;
    } else {
      const n = JSON.parse(text).messages.length as number;
      rows += n;
      rowsByKind[term.kind] = (rowsByKind[term.kind] ?? 0) + n;
    }
  }
  return {
    all: { label: "all queries", ...stats(samples), errors, firstError, rows: rows / count },
    byKind: kinds.map((k) => ({
      label: k,
      ...stats(perKind[k]),
      errors: 0,
      rows: (rowsByKind[k] ?? 0) / Math.max(1, perKind[k].length),
    })),
  };
}
