/**
 * Helpers shared by the job benchmarks (bench/jobs.ts): a `Db` wrapper that counts and times every
 * statement by kind (how many round trips one job costs), CPU sampling from /proc (what the
 * process and the machine were busy with), bounded parallelism and waiting for a count.
 */
import type { Db, Queryable } from "@/lib/db/port.ts";
import { sleep } from "./proc.ts";

/** Progress goes to stderr; the report to stdout. */
export function progress(message: string): void {
  console.error(`[bench:jobs] ${message}`);
}

/** Statement kinds, first match wins; anything else is "other". */
const KINDS: [string, RegExp][] = [
  ["claim (queued)", /set status = 'running'[\s\S]*status = 'queued'/],
  ["claim (expired locks)", /set status = 'running'[\s\S]*locked_until < now\(\)/],
  ["complete", /set status = 'done'/],
  ["enqueue", /^\s*insert into plaza\.jobs/],
  ["schedules", /plaza\.schedules/],
  ["in-app insert", /^\s*insert into public\.notifications/],
  ["read notification", /from public\.notifications n join auth\.users/],
  ["preferences", /public\.notification_(preferences|settings)/],
  ["notification ids", /^\s*select id from public\.notifications/],
  ["delivery check", /^\s*select 1 from plaza\.deliveries/],
  ["delivery insert", /^\s*insert into plaza\.deliveries/],
  ["delivery update", /^\s*update plaza\.deliveries/],
  ["outbox insert", /^\s*insert into plaza\.outbox/],
];

/** Count and total milliseconds of one statement kind. */
export interface KindStats {
  /** Statements. */
  n: number;
  /** Milliseconds they took together, as the caller saw them. */
  ms: number;
}

/** Statement counts and times by kind, shared by every handle wrapped with it. */
export class QueryStats {
  #kinds = new Map<string, KindStats>();
  /** When each kind last finished (performance.now()). */
  readonly lastDone = new Map<string, number>();

  /** Adds one statement of `kind` that took `ms`. */
  record(kind: string, ms: number): void {
    const k = this.#kinds.get(kind) ?? { n: 0, ms: 0 };
    k.n++;
    k.ms += ms;
    this.#kinds.set(kind, k);
    this.lastDone.set(kind, performance.now());
  }

  /** Forgets everything counted so far. */
  reset(): void {
    this.#kinds.clear();
    this.lastDone.clear();
  }

  /** A copy of the counts, by kind. */
  snapshot(): Record<string, KindStats> {
    return Object.fromEntries([...this.#kinds].map(([k, v]) => [k, { ...v }]));
  }
}

/** The kind of a statement. */
export function classify(sql: string): string {
  return KINDS.find(([, re]) => re.test(sql))?.[0] ?? "other";
}

function countingQueryable(q: Queryable, stats: QueryStats): Queryable {
  return {
    async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
      const t = performance.now();
      try {
        return await q.query<T>(sql, params);
      } finally {
        stats.record(classify(sql), performance.now() - t);
      }
    },
    async queryArrays(sql: string, params?: unknown[]) {
      const t = performance.now();
      try {
        return await q.queryArrays(sql, params);
      } finally {
        stats.record(classify(sql), performance.now() - t);
      }
    },
    exec: (sql) => q.exec(sql),
  };
}

/**
 * `db` with every statement counted in `stats` (a transaction counts once as "transaction", plus
 * each statement in it; a NOTIFY as "notify <channel>"). Costs a Map update per statement, nothing
 * the database sees.
 */
export function countingDb(db: Db, stats: QueryStats): Db {
  return {
    kind: db.kind,
    ...countingQueryable(db, stats),
    async transaction(fn) {
      const t = performance.now();
      try {
        return await db.transaction((tx) => fn(countingQueryable(tx, stats)));
      } finally {
        stats.record("transaction", performance.now() - t);
      }
    },
    listen: (channel, onPayload) => db.listen(channel, onPayload),
    async notify(channel, payload) {
      const t = performance.now();
      try {
        await db.notify(channel, payload);
      } finally {
        stats.record(`notify ${channel}`, performance.now() - t);
      }
    },
    close: () => db.close(),
  };
}

/** CPU seconds so far: this process, Postgres server processes, and the whole machine. */
interface CpuReading {
  wall: number;
  process: number;
  postgres: Map<string, number>;
  busy: number;
  total: number;
}

/** utime + stime of a /proc/<pid>/stat line, in seconds (USER_HZ = 100), and its command name. */
function parseStat(stat: string): { comm: string; seconds: number } {
  const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { comm, seconds: (Number(fields[11]) + Number(fields[12])) / 100 };
}

function readCpu(): CpuReading | undefined {
  try {
    const postgres = new Map<string, number>();
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const p = parseStat(Deno.readTextFileSync(`/proc/${entry.name}/stat`));
        if (p.comm === "postgres") postgres.set(entry.name, p.seconds);
      } catch { /* exited meanwhile */ }
    }
    const all = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = all.slice(0, 8).reduce((a, b) => a + b, 0);
    return {
      wall: performance.now() / 1000,
      process: parseStat(Deno.readTextFileSync("/proc/self/stat")).seconds,
      postgres,
      busy: (total - all[3] - all[4]) / 100,
      total: total / 100,
    };
  } catch {
    return undefined; // not Linux
  }
}

/** CPU used between two readings, in cores (1 = one core busy all the time). */
export interface CpuUse {
  /** This process (PGlite runs inside it). */
  process: number;
  /** Postgres server processes on this machine (backends started meanwhile count from zero). */
  postgres: number;
  /** Everything else on the machine: other programs competing for the cores. */
  other: number;
  /** Logical CPUs of the machine. */
  cores: number;
}

/** Starts measuring; call the result to get the CPU use since. */
export function cpuMeter(): () => CpuUse | undefined {
  const start = readCpu();
  return () => {
    const end = readCpu();
    if (!start || !end || end.wall <= start.wall || end.total <= start.total) return undefined;
    const wall = end.wall - start.wall;
    const cores = navigator.hardwareConcurrency;
    let pg = 0;
    for (const [pid, s] of end.postgres) pg += s - (start.postgres.get(pid) ?? 0);
    const busy = (end.busy - start.busy) / (end.total - start.total) * cores;
    const process = (end.process - start.process) / wall;
    const postgres = pg / wall;
    return { process, postgres, other: Math.max(0, busy - process - postgres), cores };
  };
}

/** Runs `fn(0..count-1)` with at most `callers` calls in flight. */
export async function inParallel(count: number, callers: number, fn: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(callers, count) }, async () => {
    while (next < count) await fn(next++);
  }));
}

/**
 * Waits until `count()` reaches `target` or `limitS` seconds after `start` have passed; resolves to
 * the last count and the seconds since `start`. `ready()` is a cheap in-process signal that the
 * target is near: the database is only asked after it (or at the limit), so polling does not
 * compete with the runner.
 */
export async function waitFor(
  start: number,
  limitS: number,
  target: number,
  ready: () => boolean,
  count: () => Promise<number>,
): Promise<{ reached: number; seconds: number }> {
  for (;;) {
    const over = performance.now() - start >= limitS * 1000;
    if (over || ready()) {
      const reached = await count();
      const seconds = (performance.now() - start) / 1000;
      if (reached >= target || over) return { reached, seconds };
    }
    await sleep(ready() ? 2 : 10);
  }
}

/** One integer from `sql` (a query returning a column `n`). */
export async function countOf(db: Queryable, sql: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(sql);
  return Number(row.n);
}

/** Handler calls per job id: a job that ran twice shows up with a count of 2. */
export class CallCounter {
  /** Calls by job id. */
  readonly calls = new Map<number, number>();

  /** Records one call for `jobId`. */
  record(jobId: number): void {
    this.calls.set(jobId, (this.calls.get(jobId) ?? 0) + 1);
  }

  /** Jobs whose handler ran more than once. */
  twice(): number {
    return [...this.calls.values()].filter((n) => n > 1).length;
  }
}

/** Mean milliseconds of `n` sequential `select 1` on `db`: the cost of one round trip. */
export async function roundTripMs(db: Queryable, n = 500): Promise<number> {
  for (let i = 0; i < 50; i++) await db.query("select 1");
  const t = performance.now();
  for (let i = 0; i < n; i++) await db.query("select 1");
  return (performance.now() - t) / n;
}
