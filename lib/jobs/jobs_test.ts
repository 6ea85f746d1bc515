import assert from "node:assert/strict";
import { z } from "zod";
import { createLogger } from "@/lib/log.ts";
import { freshDb, type TestDb } from "@/tests/support/db.ts";
import { retryDelaySeconds } from "./backoff.ts";
import { CronError, nextSlot } from "./cron.ts";
import { createRunner, defineJob, type JobHandler } from "./runner.ts";

const log = createLogger("error");
const opts = { sanitizeOps: false, sanitizeResources: false };

function jobsTest(name: string, fn: (t: TestDb) => Promise<void>) {
  Deno.test({
    name,
    ...opts,
    fn: async () => {
      const t = await freshDb();
      try {
        await fn(t);
      } finally {
        await t.drop();
      }
    },
  });
}

const calls: unknown[] = [];
const echo = defineJob({
  name: "echo",
  payload: z.strictObject({ n: z.number() }),
  run: (p) => {
    calls.push(p.n);
    return Promise.resolve();
  },
});

jobsTest(
  "[jobs] a queued job runs once with its validated payload; a dedup id suppresses repeats",
  async (t) => {
    calls.length = 0;
    const runner = createRunner({ db: t.db, log, handlers: [echo] });
    assert.ok(await runner.jobs.enqueue("echo", { n: 1 }, { dedupId: "once" }));
    assert.equal(await runner.jobs.enqueue("echo", { n: 2 }, { dedupId: "once" }), null, "already queued");
    await runner.drain();
    assert.deepEqual(calls, [1]);
    assert.equal(await runner.jobs.enqueue("echo", { n: 3 }, { dedupId: "once" }), null, "already done");
    await runner.drain();
    assert.deepEqual(calls, [1]);
    const [row] = await t.db.query<{ status: string; attempts: number }>(
      "select status, attempts from plaza.jobs",
    );
    assert.deepEqual(row, { status: "done", attempts: 1 });
  },
);

jobsTest("[jobs] delays are honoured and a queued job can be cancelled by its dedup id", async (t) => {
  calls.length = 0;
  const runner = createRunner({ db: t.db, log, handlers: [echo] });
  await runner.jobs.enqueue("echo", { n: 1 }, { delaySeconds: 3600 });
  await runner.jobs.enqueue("echo", { n: 2 }, {
    notBefore: new Date(Date.now() + 3600_000),
    dedupId: "reminder:1",
  });
  await runner.drain();
  assert.deepEqual(calls, []);
  assert.equal(await runner.jobs.cancel("reminder:1"), true);
  assert.equal(await runner.jobs.cancel("reminder:1"), false);
  await t.db.query("update plaza.jobs set run_at = now()");
  await runner.drain();
  assert.deepEqual(calls, [1]);
});

jobsTest(
  "[jobs] failures retry with backoff, then land in the dead letters, from where they can be retried",
  async (t) => {
    let failures = 0;
    const flaky: JobHandler = defineJob({
      name: "flaky",
      payload: z.object({}),
      run: () => {
        failures++;
        return Promise.reject(new Error(`provider 503 #${failures}`));
      },
    });
    const runner = createRunner({ db: t.db, log, handlers: [flaky] });
    await runner.jobs.enqueue("flaky", {}, { retries: 1 });
    await runner.drain();
    const [queued] = await t.db.query<{ status: string; delay: number; last_error: string }>(
      "select status, extract(epoch from run_at - now())::int as delay, last_error from plaza.jobs",
    );
    assert.equal(queued.status, "queued");
    assert.ok(queued.delay >= 9 && queued.delay <= 14, `about 12 s, got ${queued.delay}`);
    assert.equal(queued.last_error, "provider 503 #1");
    await t.db.query("update plaza.jobs set run_at = now()");
    await runner.drain();
    assert.equal((await t.db.query("select 1 from plaza.jobs")).length, 0);
    const dead = await t.db.query<{ id: string; attempts: number; last_error: string }>(
      "select id, attempts, last_error from plaza.dead_jobs",
    );
    assert.equal(dead.length, 1);
    assert.equal(dead[0].attempts, 2);
    assert.equal(dead[0].last_error, "provider 503 #2");
    assert.equal(await runner.queue.retryDead(Number(dead[0].id)), true);
    await runner.drain();
    assert.equal(failures, 3, "the retried job ran again");
    const [requeued] = await t.db.query<{ status: string; max_attempts: number }>(
      "select status, max_attempts from plaza.jobs",
    );
    assert.deepEqual(requeued, { status: "queued", max_attempts: 6 }, "with a fresh attempt budget");
    await runner.jobs.enqueue("no-such-job", {});
    await runner.drain();
    const [gone] = await t.db.query<{ id: string }>(
      "select id from plaza.dead_jobs where name = 'no-such-job'",
    );
    assert.equal(await runner.queue.deleteDead(Number(gone.id)), true);
    assert.equal((await t.db.query("select 1 from plaza.dead_jobs")).length, 0);
  },
);

jobsTest(
  "[jobs] unknown job names and invalid payloads are dead-lettered at once, not retried",
  async (t) => {
    const runner = createRunner({ db: t.db, log, handlers: [echo] });
    await runner.jobs.enqueue("nobody-handles-this", {});
    await runner.jobs.enqueue("echo", { n: "not a number" });
    await runner.drain();
    const dead = await t.db.query<{ name: string; attempts: number }>(
      "select name, attempts from plaza.dead_jobs order by name",
    );
    assert.deepEqual(dead, [{ name: "echo", attempts: 1 }, { name: "nobody-handles-this", attempts: 1 }]);
  },
);

jobsTest(
  "[jobs] a job claimed by a process that died is picked up after the visibility timeout",
  async (t) => {
    calls.length = 0;
    const crashed = createRunner({ db: t.db, log, handlers: [echo], visibilitySeconds: 1 });
    await crashed.jobs.enqueue("echo", { n: 7 });
    const claimed = await crashed.queue.claim(crashed.node, 1, 1); // ...and the process dies here
    assert.equal(claimed.length, 1);
    const survivor = createRunner({ db: t.db, log, handlers: [echo] });
    assert.deepEqual(await survivor.queue.claim(survivor.node, 1, 60), [], "still hidden");
    await new Promise((r) => setTimeout(r, 1200));
    await survivor.drain();
    assert.deepEqual(calls, [7]);
    const [row] = await t.db.query<{ attempts: number; status: string }>(
      "select attempts, status from plaza.jobs",
    );
    assert.deepEqual(row, { attempts: 2, status: "done" });
  },
);

jobsTest("[jobs] two runners on one queue never run a job twice", async (t) => {
  const seen = new Map<number, number>();
  const count = defineJob({
    name: "count",
    payload: z.object({ i: z.number() }),
    run: async (p) => {
      seen.set(p.i, (seen.get(p.i) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 2));
    },
  });
  const a = createRunner({ db: t.db, log, handlers: [count], concurrency: 4 });
  const b = createRunner({ db: t.db, log, handlers: [count], concurrency: 4 });
  for (let i = 0; i < 60; i++) await a.jobs.enqueue("count", { i });
  await Promise.all([a.drain(), b.drain()]);
  assert.equal(seen.size, 60);
  assert.ok([...seen.values()].every((n) => n === 1));
});

jobsTest(
  "[jobs] a cron schedule fires once per slot, however many runners tick, and survives re-declaration",
  async (t) => {
    const fired: string[] = [];
    const tick = defineJob({
      name: "tick",
      payload: z.object({ slot: z.string() }),
      run: (p) => {
        fired.push(p.slot);
        return Promise.resolve();
      },
    });
    const a = createRunner({ db: t.db, log, handlers: [tick] });
    const b = createRunner({ db: t.db, log, handlers: [tick] });
    await a.jobs.schedule("tick", "*/5 * * * *", { timezone: "Europe/Berlin" });
    const [before] = await t.db.query<{ next_run_at: Date }>("select next_run_at from plaza.schedules");
    await b.jobs.schedule("tick", "*/5 * * * *", { timezone: "Europe/Berlin" });
    const [after] = await t.db.query<{ next_run_at: Date }>("select next_run_at from plaza.schedules");
    assert.equal(new Date(after.next_run_at).getTime(), new Date(before.next_run_at).getTime());
    await t.db.query("update plaza.schedules set next_run_at = now() - interval '1 second'");
    await Promise.all([a.drain(), b.drain(), a.drain()]);
    assert.equal(fired.length, 1);
    const [s] = await t.db.query<{ next_run_at: Date }>("select next_run_at from plaza.schedules");
    assert.ok(new Date(s.next_run_at).getTime() > Date.now(), "the next slot is in the future");
    await assert.rejects(a.jobs.schedule("bad", "* * * * *", { timezone: "Mars/Olympus" }), CronError);
    await assert.rejects(a.jobs.schedule("bad", "every minute"), CronError);
  },
);

Deno.test("[jobs] cron slots follow the time zone across daylight saving changes", () => {
  // 02:30 does not exist in Berlin on 29 March 2026: the slot moves to 03:30 CEST.
  const first = nextSlot("30 2 * * *", "Europe/Berlin", new Date("2026-03-28T12:00:00Z"));
  assert.equal(first.toISOString(), "2026-03-29T01:30:00.000Z");
  assert.equal(nextSlot("30 2 * * *", "Europe/Berlin", first).toISOString(), "2026-03-30T00:30:00.000Z");
  // Autumn: 09:00 local is 07:00 UTC in summer and 08:00 UTC in winter.
  assert.equal(
    nextSlot("0 9 * * *", "Europe/Berlin", new Date("2026-10-24T12:00:00Z")).toISOString(),
    "2026-10-25T08:00:00.000Z",
  );
});

Deno.test("[jobs] retry delays grow from about 12 s to 24 h", () => {
  const mid = () => 0.5;
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => retryDelaySeconds(n, mid)), [
    12,
    150,
    1800,
    21600,
    86400,
    86400,
  ]);
  const low = retryDelaySeconds(1, () => 0);
  const high = retryDelaySeconds(1, () => 0.999);
  assert.ok(low >= 10 && high <= 14);
});
