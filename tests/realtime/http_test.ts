import assert from "node:assert/strict";
import { appTest } from "../support/app.ts";
import { randomAdmin, randomUser } from "../support/factories.ts";

appTest("[realtime] client config names Plaza itself and the anon key", async (t) => {
  const res = await t.request("/api/v1/client-config");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body, { supabaseUrl: "http://localhost", supabaseAnonKey: t.platform.apiKeys.anonKey });
  const claims = JSON.parse(atob(body.supabaseAnonKey.split(".")[1]));
  assert.equal(claims.role, "anon");
});

appTest(
  "[realtime] the browser token endpoint returns the session's access token, 401 when signed out",
  async (t) => {
    const user = await randomUser(t);
    const res = await t.request("/api/v1/auth/token", { headers: { cookie: user.cookies } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = await res.json();
    assert.equal(body.access_token, user.session.access_token);
    assert.equal(body.expires_at, user.session.expires_at);
    assert.equal((await t.request("/api/v1/auth/token")).status, 401);
  },
);

appTest("[realtime] admin stats: admins only, live figures", async (t) => {
  const admin = await randomAdmin(t);
  const member = await randomUser(t);
  const ok = await t.request("/api/v1/admin/realtime", { headers: admin.bearer });
  assert.equal(ok.status, 200);
  const { stats } = await ok.json();
  for (const key of ["connections", "channels", "subscriptions", "presences", "delivered", "messagesIn"]) {
    assert.equal(typeof stats[key], "number", key);
  }
  assert.equal((await t.request("/api/v1/admin/realtime", { headers: member.bearer })).status, 403);
  assert.equal((await t.request("/api/v1/admin/realtime")).status, 401);
  const page = await t.request("/admin/realtime", {
    headers: { cookie: admin.cookies, accept: "text/html" },
  });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /data-island="RealtimeStats"/);
});

appTest(
  "[realtime] the cloud publisher's REST request is accepted by Plaza's own endpoint and delivered",
  async (t) => {
    const { restPublisher } = await import("@/lib/realtime/publisher.ts");
    const { client, closeAll, collector, listen, subscribe } = await import("../support/realtime.ts");
    const server = listen(t);
    const c = client(server.url, t.platform.apiKeys.anonKey);
    try {
      const got = collector<Record<string, unknown>>();
      const ch = c.channel("announcements").on("broadcast", { event: "*" }, (m) => got.push(m));
      assert.equal((await subscribe(ch)).status, "SUBSCRIBED");
      const cloud = restPublisher(server.url, t.platform.apiKeys.serviceRoleKey);
      await cloud.broadcast([{
        topic: "announcements",
        event: "news",
        payload: { title: "Hi" },
        private: false,
      }]);
      const local = t.platform.publisher;
      await local.broadcast([{ topic: "announcements", event: "local", payload: { n: 2 }, private: false }]);
      const items = await got.waitFor(2);
      assert.deepEqual(items.map((m) => m.event), ["news", "local"]);
      await assert.rejects(
        restPublisher(server.url, "wrong-key").broadcast([{
          topic: "a",
          event: "b",
          payload: {},
          private: false,
        }]),
        /401/,
      );
    } finally {
      await closeAll(c);
      await server.stop();
    }
  },
);
