import assert from "node:assert/strict";
import { signJwt } from "@/lib/auth/jwt.ts";
import { appTest, type TestContext } from "../support/app.ts";
import { randomUser } from "../support/factories.ts";
import { client, closeAll, collector, listen, subscribe } from "../support/realtime.ts";

/** A test policy: only members (emails starting with "member-") may read and write topic "club". */
async function clubPolicy(t: TestContext) {
  await t.platform.db.exec(`
    create policy "test club read" on realtime.messages for select to authenticated
      using (realtime.topic() = 'club' and (auth.jwt() ->> 'email') like 'member-%');
    create policy "test club write" on realtime.messages for insert to authenticated
      with check (realtime.topic() = 'club' and (auth.jwt() ->> 'email') like 'member-%');
    create policy "test notice read" on realtime.messages for select to authenticated
      using (realtime.topic() = 'notice');`);
}

appTest("[realtime] a private topic is refused to a stranger and allowed to a member", async (t) => {
  await clubPolicy(t);
  const server = listen(t);
  const anon = t.platform.apiKeys.anonKey;
  const member = await randomUser(t, "member");
  const stranger = await randomUser(t, "stranger");
  const m = client(server.url, anon, { accessToken: () => Promise.resolve(member.session.access_token) });
  const s = client(server.url, anon, { accessToken: () => Promise.resolve(stranger.session.access_token) });
  const nobody = client(server.url, anon);
  const opened = [m, s, nobody];
  try {
    const got = collector<Record<string, unknown>>();
    const chM = m.channel("club", { config: { private: true, broadcast: { ack: true } } }).on("broadcast", {
      event: "*",
    }, (x) => got.push(x));
    const joined = await subscribe(chM);
    assert.equal(joined.status, "SUBSCRIBED", String(joined.error));
    const refused = await subscribe(s.channel("club", { config: { private: true } }));
    assert.equal(refused.status, "CHANNEL_ERROR");
    assert.match(String(refused.error?.message), /Unauthorized/);
    const anonRefused = await subscribe(nobody.channel("club", { config: { private: true } }));
    assert.equal(anonRefused.status, "CHANNEL_ERROR");

    // The public channel of the same name is a different channel: nothing private leaks into it.
    const pub = collector<unknown>();
    const onlooker = client(server.url, anon);
    opened.push(onlooker);
    const chPub = onlooker.channel("club").on("broadcast", { event: "*" }, (x) => pub.push(x));
    assert.equal((await subscribe(chPub)).status, "SUBSCRIBED");
    const res = await fetch(`${server.url}/realtime/v1/api/broadcast`, {
      method: "POST",
      headers: { "content-type": "application/json", apikey: t.platform.apiKeys.serviceRoleKey },
      body: JSON.stringify({
        messages: [{ topic: "club", event: "news", payload: { secret: 1 }, private: true }],
      }),
    });
    assert.equal(res.status, 202);
    await got.waitFor(1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(pub.items.length, 0);

    // Read-only access: joining is allowed, sending is not.
    const reader = s.channel("notice", { config: { private: true, broadcast: { ack: true } } });
    assert.equal((await subscribe(reader)).status, "SUBSCRIBED");
    assert.equal(await reader.send({ type: "broadcast", event: "x", payload: {} }), "error");
    assert.equal(await chM.send({ type: "broadcast", event: "y", payload: {} }), "ok");
  } finally {
    await closeAll(...opened);
    await server.stop();
  }
});

appTest(
  "[realtime] REST broadcast: 202 for the service key, 403 for a user without the insert policy, 401 without a key",
  async (t) => {
    await clubPolicy(t);
    const server = listen(t);
    const stranger = await randomUser(t, "stranger");
    const member = await randomUser(t, "member");
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${server.url}/realtime/v1/api/broadcast`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: r.status === 202 ? null : await r.json() }));
    const msg = { messages: [{ topic: "club", event: "e", payload: {}, private: true }] };
    try {
      assert.equal((await post({ apikey: t.platform.apiKeys.serviceRoleKey }, msg)).status, 202);
      assert.equal((await post({ authorization: `Bearer ${member.session.access_token}` }, msg)).status, 202);
      const forbidden = await post({ authorization: `Bearer ${stranger.session.access_token}` }, msg);
      assert.equal(forbidden.status, 403);
      assert.equal(forbidden.body.error.code, "forbidden");
      assert.equal((await post({}, msg)).status, 401);
      assert.equal((await post({ apikey: "garbage" }, msg)).status, 401);
      const bad = await post({ apikey: t.platform.apiKeys.anonKey }, {
        messages: [{ topic: "", event: "e" }],
      });
      assert.equal(bad.status, 422);
      const extra = await post({ apikey: t.platform.apiKeys.anonKey }, {
        messages: [{ topic: "a", event: "e", sneaky: 1 }],
      });
      assert.equal(extra.status, 422);
      const perEvent = await fetch(
        `${server.url}/realtime/v1/api/broadcast/lobby/events/ping?apikey=${t.platform.apiKeys.anonKey}`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ hi: 1 }),
        },
      );
      assert.equal(perEvent.status, 202);
      await perEvent.body?.cancel();
    } finally {
      await server.stop();
    }
  },
);

appTest(
  "[realtime] a refreshed token keeps the channel; an expired one ends it with a system message",
  async (t) => {
    await clubPolicy(t);
    const server = listen(t);
    const member = await randomUser(t, "member");
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode("test-secret-test-secret-test-secret-0123456789"),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const now = Math.floor(Date.now() / 1000);
    const claims = JSON.parse(
      atob(member.session.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")),
    );
    const shortLived = await signJwt(key, { ...claims, iat: now, exp: now + 2 });
    let current = shortLived;
    const c = client(server.url, t.platform.apiKeys.anonKey, { accessToken: () => Promise.resolve(current) });
    try {
      const system = collector<Record<string, unknown>>();
      const statuses = collector<string>();
      const ch = c.channel("club", { config: { private: true } }).on("system", {}, (p) => system.push(p));
      await c.realtime.setAuth();
      ch.subscribe((status, err) => statuses.push(err ? `${status} ${err.message}` : status));
      await statuses.waitFor(1);
      assert.equal(statuses.items[0], "SUBSCRIBED");
      // Without a refresh the 2-second token expires and the server ends the channel.
      await system.waitFor(1, 6000);
      assert.equal(system.items[0].status, "error");
      assert.match(String(system.items[0].message), /expired/i);
      await statuses.waitFor(2, 3000);
      assert.equal(statuses.items[1], "CLOSED");

      // A fresh token sent with setAuth keeps a channel alive past the old expiry.
      current = await signJwt(key, { ...claims, iat: now, exp: now + 3 });
      const again = c.channel("club", { config: { private: true } });
      const sys2 = collector<Record<string, unknown>>();
      again.on("system", {}, (p) => sys2.push(p));
      assert.equal((await subscribe(again)).status, "SUBSCRIBED");
      current = await signJwt(key, { ...claims, iat: now, exp: now + 3600 });
      await c.realtime.setAuth(current);
      await new Promise((r) => setTimeout(r, 4000));
      assert.equal(sys2.items.length, 0, "no expiry after the refresh");
    } finally {
      await closeAll(c);
      await server.stop();
    }
  },
);

appTest(
  "[realtime] presence carries the tracker's user id from the token: a member cannot pose as another",
  async (t) => {
    await t.platform.db.exec("select 1"); // migration 0004 already allows every member on 'online'
    const server = listen(t);
    const anon = t.platform.apiKeys.anonKey;
    const alice = await randomUser(t, "alice");
    const mallory = await randomUser(t, "mallory");
    const a = client(server.url, anon, { accessToken: () => Promise.resolve(alice.session.access_token) });
    const m = client(server.url, anon, { accessToken: () => Promise.resolve(mallory.session.access_token) });
    try {
      const synced = collector<number>();
      const chA = a.channel("online", { config: { private: true, presence: { key: alice.id } } })
        .on("presence", { event: "sync" }, () => synced.push(1));
      assert.equal((await subscribe(chA)).status, "SUBSCRIBED");
      const chM = m.channel("online", { config: { private: true, presence: { key: alice.id } } });
      assert.equal((await subscribe(chM)).status, "SUBSCRIBED");
      assert.equal(await chM.track({ name: "Alice", user_id: alice.id }), "ok");
      await synced.waitFor(2);
      const metas = Object.values(chA.presenceState()).flat() as { user_id?: string; name?: string }[];
      assert.deepEqual(
        metas.map((x) => x.user_id),
        [mallory.id],
        "the stamped id is Mallory's, whatever she claims",
      );
      assert.equal(await chM.track({ blob: "x".repeat(5000) }), "error", "presence metas are small");
    } finally {
      await closeAll(a, m);
      await server.stop();
    }
  },
);

appTest(
  "[realtime] REST broadcasts are rate limited per IP and payloads over the limit are 413",
  async (t) => {
    const server = listen(t);
    const anon = t.platform.apiKeys.anonKey;
    const post = (body: unknown) =>
      fetch(`${server.url}/realtime/v1/api/broadcast`, {
        method: "POST",
        headers: { "content-type": "application/json", apikey: anon },
        body: JSON.stringify(body),
      }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      });
    try {
      assert.equal(
        await post({ messages: [{ topic: "big", event: "e", payload: { x: "y".repeat(300 * 1024) } }] }),
        413,
      );
      assert.equal(await post({ messages: [{ topic: "t".repeat(250), event: "e", payload: {} }] }), 422);
      let last = 0;
      for (let i = 0; i < 125; i++) {
        last = await post({
          messages: [{ topic: "spam", event: "e", payload: {} }],
        });
      }
      assert.equal(last, 429);
    } finally {
      await server.stop();
    }
  },
);
