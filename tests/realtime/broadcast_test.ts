import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { client, closeAll, collector, listen, subscribe } from "../support/realtime.ts";

appTest("[realtime] subscribe, broadcast to others, self off by default, ack resolves ok", async (t) => {
  const server = listen(t);
  const anon = t.platform.apiKeys.anonKey;
  const a = client(server.url, anon);
  const b = client(server.url, anon);
  try {
    const gotA = collector<unknown>();
    const gotB = collector<unknown>();
    const chA = a.channel("lobby", { config: { broadcast: { ack: true } } }).on("broadcast", {
      event: "hello",
    }, (m) => gotA.push(m));
    const chB = b.channel("lobby").on("broadcast", { event: "*" }, (m) => gotB.push(m));
    assert.equal((await subscribe(chA)).status, "SUBSCRIBED");
    assert.equal((await subscribe(chB)).status, "SUBSCRIBED");
    assert.equal(await chA.send({ type: "broadcast", event: "hello", payload: { n: 1 } }), "ok");
    const [msg] = await gotB.waitFor(1);
    assert.deepEqual(msg, { type: "broadcast", event: "hello", payload: { n: 1 } });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(gotA.items.length, 0, "the sender does not hear itself without self");
  } finally {
    await closeAll(a, b);
    await server.stop();
  }
});

appTest(
  "[realtime] self delivery, binary payloads both ways, and a vsn 1.0.0 client on the same topic",
  async (t) => {
    const server = listen(t);
    const anon = t.platform.apiKeys.anonKey;
    const a = client(server.url, anon);
    const b = client(server.url, anon);
    const old = client(server.url, anon, { vsn: "1.0.0" });
    try {
      const gotA = collector<Record<string, unknown>>();
      const gotB = collector<Record<string, unknown>>();
      const gotOld = collector<Record<string, unknown>>();
      const chA = a.channel("bin", { config: { broadcast: { self: true, ack: true } } }).on("broadcast", {
        event: "*",
      }, (m) => gotA.push(m));
      const chB = b.channel("bin").on("broadcast", { event: "*" }, (m) => gotB.push(m));
      const chOld = old.channel("bin").on("broadcast", { event: "*" }, (m) => gotOld.push(m));
      for (const ch of [chA, chB, chOld]) assert.equal((await subscribe(ch)).status, "SUBSCRIBED");

      assert.equal(await chA.send({ type: "broadcast", event: "json", payload: { text: "héllo 👋" } }), "ok");
      await gotA.waitFor(1);
      await gotB.waitFor(1);
      await gotOld.waitFor(1);
      assert.deepEqual(gotA.items[0].payload, { text: "héllo 👋" }, "self: true delivers to the sender");
      assert.deepEqual(gotOld.items[0].payload, { text: "héllo 👋" }, "the vsn 1.0.0 client gets it as text");

      const bytes = new Uint8Array([0, 1, 2, 250, 255]);
      assert.equal(await chA.send({ type: "broadcast", event: "raw", payload: bytes.buffer }), "ok");
      await gotB.waitFor(2);
      const raw = gotB.items[1].payload;
      assert.ok(raw instanceof ArrayBuffer, "binary arrives as an ArrayBuffer");
      assert.deepEqual(new Uint8Array(raw as ArrayBuffer), bytes);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(
        gotOld.items.length,
        1,
        "a vsn 1.0.0 client cannot receive binary payloads and is skipped",
      );
    } finally {
      await closeAll(a, b, old);
      await server.stop();
    }
  },
);

appTest("[realtime] presence: sync, join and leave between three clients", async (t) => {
  const server = listen(t);
  const anon = t.platform.apiKeys.anonKey;
  const clients = [client(server.url, anon), client(server.url, anon), client(server.url, anon)];
  try {
    const events = clients.map(() => collector<{ event: string; key: string }>());
    const channels = clients.map((c, i) =>
      c.channel("room", { config: { presence: { key: `user-${i}` } } })
        .on("presence", { event: "join" }, ({ key }) => events[i].push({ event: "join", key }))
        .on("presence", { event: "leave" }, ({ key }) => events[i].push({ event: "leave", key }))
    );
    for (const [i, ch] of channels.entries()) {
      assert.equal((await subscribe(ch)).status, "SUBSCRIBED");
      assert.equal(await ch.track({ name: `User ${i}` }), "ok");
    }
    await events[0].waitFor(3);
    const state = channels[0].presenceState();
    assert.deepEqual(Object.keys(state).sort(), ["user-0", "user-1", "user-2"]);
    assert.equal((state["user-2"][0] as { name?: string }).name, "User 2");
    // Client 2 already present when client 0... joined later: it received state for 0 and 1 on join.
    assert.deepEqual(events[2].items.map((e) => e.key).sort(), ["user-0", "user-1", "user-2"]);

    await channels[1].untrack();
    await events[0].waitFor(4);
    assert.deepEqual(events[0].items.at(-1), { event: "leave", key: "user-1" });

    // A socket that drops leaves presence.
    clients[2].realtime.disconnect();
    await events[0].waitFor(5);
    assert.deepEqual(events[0].items.at(-1), { event: "leave", key: "user-2" });
    assert.deepEqual(Object.keys(channels[0].presenceState()), ["user-0"]);
  } finally {
    await closeAll(...clients);
    await server.stop();
  }
});

appTest("[realtime] postgres_changes is refused with a reason that says to use broadcast", async (t) => {
  const server = listen(t);
  const c = client(server.url, t.platform.apiKeys.anonKey);
  try {
    const ch = c.channel("db").on(
      "postgres_changes",
      { event: "*", schema: "public", table: "profiles" },
      () => {},
    );
    const result = await subscribe(ch);
    assert.equal(result.status, "CHANNEL_ERROR");
    assert.match(String(result.error?.message), /broadcast/);
  } finally {
    await closeAll(c);
    await server.stop();
  }
});

appTest(
  "[realtime] a payload over the limit is answered with an error, and the socket stays usable",
  async (t) => {
    const server = listen(t);
    const c = client(server.url, t.platform.apiKeys.anonKey);
    try {
      const ch = c.channel("big", { config: { broadcast: { ack: true, self: true } } });
      const got = collector<unknown>();
      ch.on("broadcast", { event: "*" }, (m) => got.push(m));
      assert.equal((await subscribe(ch)).status, "SUBSCRIBED");
      assert.equal(
        await ch.send({ type: "broadcast", event: "big", payload: { blob: "x".repeat(300 * 1024) } }),
        "error",
      );
      assert.equal(await ch.send({ type: "broadcast", event: "small", payload: { ok: true } }), "ok");
      await got.waitFor(1);
      assert.equal(got.items.length, 1);
    } finally {
      await closeAll(c);
      await server.stop();
    }
  },
);

appTest("[realtime] a bad API key cannot open a socket", async (t) => {
  const server = listen(t);
  try {
    const res = await fetch(`${server.url}/realtime/v1/websocket?apikey=nope&vsn=2.0.0`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    assert.equal(res.status, 401);
    await res.body?.cancel();
  } finally {
    await server.stop();
  }
});
