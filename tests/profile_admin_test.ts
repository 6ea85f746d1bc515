import assert from "node:assert/strict";
import { appTest } from "./support/app.ts";
import { browser, json, randomAdmin, randomUser } from "./support/factories.ts";

appTest("[profile] GET and PATCH /api/v1/me update only the caller's profile", async (t) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const res = await t.request(
    "/api/v1/me",
    json("PATCH", { name: "Alice A.", bio: "Hello", avatar_url: "https://img.example/a.png" }, alice.bearer),
  );
  assert.equal(res.status, 200);
  const { user } = await res.json();
  assert.equal(user.name, "Alice A.");
  assert.equal(user.bio, "Hello");
  assert.equal(user.avatar_url, "https://img.example/a.png");
  assert.equal(user.email, alice.email);

  const bobMe = await (await t.request("/api/v1/me", { headers: bob.bearer })).json();
  assert.equal(bobMe.user.name, bob.name);

  // Sending the same patch twice is harmless.
  const again = await t.request("/api/v1/me", json("PATCH", { bio: "Hello" }, alice.bearer));
  assert.equal(again.status, 200);
});

appTest("[profile] bad profile input is refused and changes nothing", async (t) => {
  const user = await randomUser(t);
  const cases: [unknown, number][] = [
    [{ name: "" }, 422],
    [{ name: "x".repeat(81) }, 422],
    [{ bio: "x".repeat(501) }, 422],
    [{ avatar_url: "javascript:alert(1)" }, 422],
    [{ avatar_url: 42 }, 422],
    [{ id: crypto.randomUUID() }, 422],
    [{ role: "admin" }, 422],
  ];
  for (const [body, status] of cases) {
    const res = await t.request("/api/v1/me", json("PATCH", body, user.bearer));
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal((await res.json()).error.code, "validation_failed");
  }
  const anon = await t.request("/api/v1/me", json("PATCH", { bio: "x" }));
  assert.equal(anon.status, 401);
  const me = await (await t.request("/api/v1/me", { headers: user.bearer })).json();
  assert.equal(me.user.name, user.name);
  assert.equal(me.user.bio, "");
});

appTest("[profile] RLS stops a user from updating someone else's profile even with raw SQL", async (t) => {
  const alice = await randomUser(t, "alice");
  const bob = await randomUser(t, "bob");
  const { asUser } = await import("@/lib/db/as_user.ts");
  const claims = await t.platform.auth.verifyAccessToken(alice.session.access_token);
  const rows = await asUser(
    t.platform.db,
    claims,
    (tx) => tx.query("update public.profiles set bio = 'pwned' where id = $1 returning id", [bob.id]),
  );
  assert.equal(rows.length, 0);
  await assert.rejects(
    asUser(t.platform.db, claims, (tx) => tx.query("select encrypted_password from auth.users")),
    /permission denied/,
  );
  await assert.rejects(
    asUser(t.platform.db, claims, (tx) => tx.query("select * from plaza.refresh_tokens")),
    /permission denied/,
  );
});

appTest("[admin] admins list users and change roles; members get 403", async (t) => {
  const admin = await randomAdmin(t);
  const member = await randomUser(t, "member");

  const list = await t.request("/api/v1/admin/users?limit=10", { headers: admin.bearer });
  assert.equal(list.status, 200);
  const { users } = await list.json();
  assert.ok(
    users.some((u: { email: string; role: string }) => u.email === member.email && u.role === "member"),
  );

  const forbidden = await t.request("/api/v1/admin/users", { headers: member.bearer });
  assert.equal(forbidden.status, 403);
  const selfPromote = await t.request(
    `/api/v1/admin/users/${member.id}`,
    json("PATCH", { role: "admin" }, member.bearer),
  );
  assert.equal(selfPromote.status, 403);

  const change = await t.request(
    `/api/v1/admin/users/${member.id}`,
    json("PATCH", { role: "partner" }, admin.bearer),
  );
  assert.equal(change.status, 200);
  assert.equal((await change.json()).user.role, "partner");

  // The new role is in the member's next token.
  const refreshed = await t.request(
    "/api/v1/auth/refresh",
    json("POST", { refresh_token: member.session.refresh_token }),
  );
  assert.equal((await refreshed.json()).user.role, "partner");

  const badRole = await t.request(
    `/api/v1/admin/users/${member.id}`,
    json("PATCH", { role: "root" }, admin.bearer),
  );
  assert.equal(badRole.status, 422);
  const badId = await t.request(
    "/api/v1/admin/users/not-a-uuid",
    json("PATCH", { role: "member" }, admin.bearer),
  );
  assert.equal(badId.status, 422);
  const unknown = await t.request(
    `/api/v1/admin/users/${crypto.randomUUID()}`,
    json("PATCH", { role: "member" }, admin.bearer),
  );
  assert.equal(unknown.status, 404);
});

appTest("[admin] the admin role cannot be forged through user_metadata", async (t) => {
  const user = await randomUser(t);
  await t.platform.db.query(
    `update auth.users set raw_user_meta_data = raw_user_meta_data || '{"role":"admin"}'::jsonb where id = $1`,
    [user.id],
  );
  const login = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: user.email, password: user.password }),
  );
  const { session } = await login.json();
  const res = await t.request("/api/v1/admin/users", {
    headers: { authorization: `Bearer ${session.access_token}` },
  });
  assert.equal(res.status, 403);
});

appTest("[admin] /admin/users page lists users and changes a role through its form", async (t) => {
  const admin = await randomAdmin(t);
  const member = await randomUser(t, "member");
  const page = await t.request("/admin/users", { headers: { cookie: admin.cookies, accept: "text/html" } });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.ok(html.includes(member.email));
  const post = await t.request(`/admin/users/${member.id}/role`, {
    method: "POST",
    headers: { ...browser(admin.cookies), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ role: "partner" }),
  });
  assert.equal(post.status, 303);
  assert.match(post.headers.get("location") ?? "", /^\/admin\/users\?changed=/);
  const memberPage = await t.request("/admin/users", {
    headers: { cookie: member.cookies, accept: "text/html" },
  });
  assert.equal(memberPage.status, 403);
  const anon = await t.request("/admin/users", { headers: { accept: "text/html" } });
  assert.equal(anon.status, 303);
});

appTest("[profile] saving with an expired access cookie refreshes once and keeps the session", async (t) => {
  const user = await randomUser(t);
  const { browser, cookieHeader } = await import("./support/factories.ts");
  const expired = user.cookies.replace(/plaza_at=[^;]+/, "plaza_at=expired.token.value");
  const res = await t.request("/api/v1/me", json("PATCH", { name: "Renamed" }, browser(expired)));
  assert.equal(res.status, 200);
  const jar = cookieHeader(res, expired);
  const me = await t.request("/api/v1/me", { headers: { cookie: jar } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).user.name, "Renamed");
  const refreshCookies = res.headers.getSetCookie().filter((c) => c.startsWith("plaza_rt="));
  const last = refreshCookies.at(-1)!.split(";")[0].split("=")[1];
  const ok = await t.request("/api/v1/auth/refresh", json("POST", { refresh_token: last }));
  assert.equal(ok.status, 200, "the last refresh cookie set is the live one");
});
