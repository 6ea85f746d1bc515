import assert from "node:assert/strict";
import { appTest, type TestContext } from "../support/app.ts";
import { randomUser } from "../support/factories.ts";
import { client, closeAll, collector, listen, subscribe } from "../support/realtime.ts";

async function feedPolicy(t: TestContext) {
  await t.platform.db.exec(`
    create policy "test feed read" on realtime.messages for select to authenticated
      using (realtime.topic() = 'feed');`);
}

appTest(
  "[realtime] realtime.send from SQL reaches subscribers, payloads over NOTIFY's limit included",
  async (t) => {
    await feedPolicy(t);
    const server = listen(t);
    const user = await randomUser(t);
    const c = client(server.url, t.platform.apiKeys.anonKey, {
      accessToken: () => Promise.resolve(user.session.access_token),
    });
    try {
      const got = collector<Record<string, unknown>>();
      const ch = c.channel("feed", { config: { private: true } }).on(
        "broadcast",
        { event: "*" },
        (m) => got.push(m),
      );
      assert.equal((await subscribe(ch)).status, "SUBSCRIBED");
      await t.platform.db.query("select realtime.send($1::text::jsonb, 'small', 'feed', true)", [
        JSON.stringify({ n: 1 }),
      ]);
      const big = { text: "y".repeat(20_000) };
      await t.platform.db.query("select realtime.send($1::text::jsonb, 'big', 'feed', true)", [
        JSON.stringify(big),
      ]);
      // A public message on the same name does not reach the private channel.
      await t.platform.db.query("select realtime.send('{}'::jsonb, 'public-one', 'feed', false)");
      const items = await got.waitFor(2);
      assert.equal(items[0].event, "small");
      assert.deepEqual(items[0].payload, { n: 1 });
      assert.equal(items[1].event, "big");
      assert.deepEqual(items[1].payload, big);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(got.items.length, 2);
      // Inside a transaction that rolls back, nothing is sent.
      await t.platform.db.transaction(async (tx) => {
        await tx.query("select realtime.send('{}'::jsonb, 'rolled-back', 'feed', true)");
        throw new Error("rollback");
      }).catch(() => {});
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(got.items.length, 2);
    } finally {
      await closeAll(c);
      await server.stop();
    }
  },
);

appTest(
  "[realtime] replay: a private channel joined with replay gets stored messages first, marked replayed",
  async (t) => {
    await feedPolicy(t);
    const server = listen(t);
    const user = await randomUser(t);
    const since = Date.now() - 1000;
    for (let i = 1; i <= 3; i++) {
      await t.platform.db.query("select realtime.send($1::text::jsonb, 'update', 'feed', true)", [
        JSON.stringify({ i }),
      ]);
    }
    // Let the live deliveries of those sends pass first (nobody listens yet): a subscriber joining
    // while they are in flight may get a message both live and replayed, and dedupes by meta.id.
    await new Promise((r) => setTimeout(r, 300));
    const c = client(server.url, t.platform.apiKeys.anonKey, {
      accessToken: () => Promise.resolve(user.session.access_token),
    });
    try {
      const got = collector<Record<string, unknown>>();
      const ch = c.channel("feed", { config: { private: true, broadcast: { replay: { since, limit: 2 } } } })
        .on("broadcast", { event: "*" }, (m) => got.push(m));
      assert.equal((await subscribe(ch)).status, "SUBSCRIBED");
      const replayed = await got.waitFor(2);
      assert.deepEqual(replayed.map((m) => (m.payload as { i: number }).i), [1, 2], "oldest first, limited");
      for (const m of replayed) assert.equal((m.meta as { replayed?: boolean }).replayed, true);
      await t.platform.db.query("select realtime.send('{\"i\":4}'::jsonb, 'update', 'feed', true)");
      const all = await got.waitFor(3);
      assert.equal((all[2].payload as { i: number }).i, 4);
      assert.notEqual(
        (all[2].meta as { replayed?: boolean } | undefined)?.replayed,
        true,
        "live messages are not marked",
      );
    } finally {
      await closeAll(c);
      await server.stop();
    }
  },
);

appTest("[realtime] messages older than three days are purged", async (t) => {
  await t.platform.db.query(
    `insert into realtime.messages (topic, event, payload, private, inserted_at)
     values ('old', 'e', '{}', true, now() - interval '4 days'), ('new', 'e', '{}', true, now())`,
  );
  await t.platform.realtime.purge();
  const rows = await t.platform.db.query<{ topic: string }>(
    "select topic from realtime.messages where topic in ('old', 'new') order by topic",
  );
  assert.deepEqual(rows.map((r) => r.topic), ["new"]);
});

appTest("[realtime] after a dropped connection, replay since the last message fills the gap", async (t) => {
  await feedPolicy(t);
  const server = listen(t);
  const user = await randomUser(t);
  const token = () => Promise.resolve(user.session.access_token);
  const first = client(server.url, t.platform.apiKeys.anonKey, { accessToken: token });
  const second = client(server.url, t.platform.apiKeys.anonKey, { accessToken: token });
  try {
    const got = collector<Record<string, unknown>>();
    const ch = first.channel("feed", { config: { private: true } }).on(
      "broadcast",
      { event: "*" },
      (m) => got.push(m),
    );
    assert.equal((await subscribe(ch)).status, "SUBSCRIBED");
    await t.platform.db.query("select realtime.send('{\"i\":1}'::jsonb, 'update', 'feed', true)");
    await got.waitFor(1);
    const lastSeen = Date.now();
    first.realtime.disconnect(); // the phone goes through a tunnel
    await new Promise((r) => setTimeout(r, 20));
    for (const i of [2, 3]) {
      await t.platform.db.query("select realtime.send($1::text::jsonb, 'update', 'feed', true)", [
        JSON.stringify({ i }),
      ]);
    }
    await new Promise((r) => setTimeout(r, 300)); // their live deliveries reach nobody
    // A subscriber that joins while a send is in flight may get it live and replayed (dedupe by meta.id).
    const missed = collector<Record<string, unknown>>();
    const again = second.channel("feed", {
      config: { private: true, broadcast: { replay: { since: lastSeen } } },
    })
      .on("broadcast", { event: "*" }, (m) => missed.push(m));
    assert.equal((await subscribe(again)).status, "SUBSCRIBED");
    const items = await missed.waitFor(2);
    assert.deepEqual(items.map((m) => (m.payload as { i: number }).i), [2, 3]);
  } finally {
    await closeAll(first, second);
    await server.stop();
  }
});
