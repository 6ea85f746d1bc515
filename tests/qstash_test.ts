import assert from "node:assert/strict";
import { z } from "zod";
import { defineJob } from "@/lib/jobs/runner.ts";
import { createLogger } from "@/lib/log.ts";
import { loadConfig } from "@/lib/config.ts";
import { createPlatform } from "@/lib/platform.ts";
import { createApp } from "@/routes/app.ts";
import { freshDb } from "./support/db.ts";
import { testIslands } from "./support/app.ts";
import { startFakeQStash } from "./support/fake_qstash.ts";

const ran: number[] = [];
const ping = defineJob({
  name: "ping",
  payload: z.strictObject({ n: z.number() }),
  run: (p) => {
    ran.push(p.n);
    return Promise.resolve();
  },
});

async function cloudJobs() {
  const t = await freshDb();
  const fake = startFakeQStash("sig_current_key");
  const config = loadConfig({
    PLAZA_DATA_DIR: await Deno.makeTempDir(),
    PUBLIC_URL: "https://plaza.example.org",
    PLAZA_SECRET: "q".repeat(40),
    QSTASH_TOKEN: fake.token,
    QSTASH_URL: fake.url,
    QSTASH_CURRENT_SIGNING_KEY: "sig_current_key",
    QSTASH_NEXT_SIGNING_KEY: "sig_next_key",
  });
  const platform = await createPlatform(config, { db: t.db, log: createLogger("error") });
  return {
    fake,
    platform,
    async [Symbol.asyncDispose]() {
      await platform.close();
      await fake.close();
      await t.drop();
    },
  };
}

Deno.test({
  name: "[qstash] jobs are published to PUBLIC_URL/workers/<name> with dedup id, not-before and retries",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using env = await cloudJobs();
    const { jobs } = env.platform;
    assert.equal(jobs.kind, "qstash");
    const at = new Date(Date.now() + 3_600_000);
    const id = await jobs.enqueue("ping", { n: 1 }, { dedupId: "ping-1", notBefore: at, retries: 2 });
    assert.ok(id);
    assert.equal(await jobs.enqueue("ping", { n: 2 }, { dedupId: "ping-1" }), null, "deduplicated by QStash");
    assert.equal(env.fake.published.length, 1);
    const [msg] = env.fake.published;
    assert.equal(msg.destination, "https://plaza.example.org/workers/ping");
    assert.deepEqual(JSON.parse(msg.body), { n: 1 });
    assert.equal(msg.dedupId, "ping-1");
    assert.equal(msg.notBefore, Math.ceil(at.getTime() / 1000));
    assert.equal(msg.retries, 2);

    // Cancel deletes the message QStash holds; a second cancel finds nothing.
    assert.equal(await jobs.cancel("ping-1"), true);
    assert.equal(msg.deleted, true);
    assert.equal(await jobs.cancel("ping-1"), false);
    assert.equal(await jobs.cancel("never-queued"), false);

    // A QStash outage surfaces to the caller (who decides), nothing is recorded as queued.
    env.fake.failNext(500);
    await assert.rejects(jobs.enqueue("ping", { n: 3 }, { dedupId: "ping-3" }));
    assert.equal(await jobs.cancel("ping-3"), false);
  },
});

Deno.test({
  name: "[qstash] crons become QStash schedules with a stable id and the time zone as CRON_TZ",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using env = await cloudJobs();
    const { jobs } = env.platform;
    await jobs.schedule("digest", "0 9 * * 1", { timezone: "Europe/Paris" });
    await jobs.schedule("digest", "0 9 * * 1", { timezone: "Europe/Paris" });
    await jobs.schedule("purge", "17 * * * *");
    assert.equal(env.fake.schedules.size, 2, "re-declaring updates the same schedule");
    assert.deepEqual(env.fake.schedules.get("plaza-digest"), {
      destination: "https://plaza.example.org/workers/digest",
      cron: "CRON_TZ=Europe/Paris 0 9 * * 1",
      body: "{}",
    });
    assert.equal(env.fake.schedules.get("plaza-purge")?.cron, "17 * * * *");
    await assert.rejects(jobs.schedule("bad", "not a cron"));
    await assert.rejects(jobs.schedule("bad", "0 9 * * *", { timezone: "Mars/Olympus" }));
    assert.equal(env.fake.schedules.size, 2, "a bad schedule calls nothing");
  },
});

Deno.test({
  name: "[qstash] a published job delivered the way QStash signs it runs its handler; a forged one does not",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using env = await cloudJobs();
    const app = await createApp(env.platform, { islands: await testIslands(), workers: [ping] });
    ran.length = 0;
    await env.platform.jobs.enqueue("ping", { n: 7 });
    const [msg] = env.fake.published;
    const ok = await app.fetch(await env.fake.delivery(msg.destination, msg.body));
    assert.equal(ok.status, 200);
    assert.deepEqual(ran, [7]);
    const forged = await app.fetch(await env.fake.delivery(msg.destination, msg.body, "sig_wrong_key"));
    assert.equal(forged.status, 401);
    assert.deepEqual(ran, [7], "no side effect");
  },
});

Deno.test("[qstash] QStash without PUBLIC_URL is refused at start-up", () => {
  assert.throws(
    () =>
      loadConfig({
        QSTASH_TOKEN: "t",
        QSTASH_CURRENT_SIGNING_KEY: "a",
        QSTASH_NEXT_SIGNING_KEY: "b",
      }),
    /PUBLIC_URL: required with QStash/,
  );
});
