import assert from "node:assert/strict";
import { signJwt } from "@/lib/auth/jwt.ts";
import { appTest } from "./support/app.ts";
import { cookieHeader, json, randomCredentials, randomUser } from "./support/factories.ts";

async function errorOf(res: Response) {
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = await res.json();
  assert.equal(typeof body.error.code, "string");
  assert.equal(typeof body.error.message, "string");
  return body.error;
}

appTest("[auth] signup returns 201 with user, session and session cookies", async (t) => {
  const creds = randomCredentials();
  const res = await t.request("/api/v1/auth/signup", json("POST", creds));
  assert.equal(res.status, 201);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = await res.json();
  assert.equal(body.user.email, creds.email);
  assert.equal(body.user.role, "member");
  assert.equal(body.user.name, creds.name);
  assert.equal(body.session.token_type, "bearer");
  assert.ok(body.session.expires_at > Date.now() / 1000 + 3500);
  const cookies = res.headers.getSetCookie();
  assert.ok(cookies.some((c) => c.startsWith("plaza_at=") && /HttpOnly/.test(c) && /SameSite=Lax/.test(c)));
  assert.ok(cookies.some((c) => c.startsWith("plaza_rt=") && /HttpOnly/.test(c)));
  // Access token carries Supabase's claim shape.
  const claims = JSON.parse(
    atob(body.session.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")),
  );
  assert.equal(claims.aud, "authenticated");
  assert.equal(claims.role, "authenticated");
  assert.equal(claims.sub, body.user.id);
  assert.equal(claims.app_metadata.role, "member");
  assert.ok(claims.exp - claims.iat === 3600);
});

appTest("[auth] password is stored as a PBKDF2 hash, never in clear", async (t) => {
  const user = await randomUser(t);
  const [row] = await t.platform.db.query<{ encrypted_password: string }>(
    "select encrypted_password from auth.users where id = $1",
    [user.id],
  );
  assert.match(row.encrypted_password, /^pbkdf2_sha256\$600000\$/);
  assert.ok(!row.encrypted_password.includes(user.password));
});

appTest("[auth] duplicate email (any case) is 409 and creates nothing", async (t) => {
  const user = await randomUser(t);
  const res = await t.request(
    "/api/v1/auth/signup",
    json("POST", { email: user.email.toUpperCase(), password: "another-password", name: "Twin" }),
  );
  assert.equal(res.status, 409);
  assert.equal((await errorOf(res)).code, "email_taken");
  const [{ n }] = await t.platform.db.query<{ n: number }>(
    "select count(*)::int as n from auth.users where lower(email) = $1",
    [user.email],
  );
  assert.equal(n, 1);
});

appTest("[auth] signup validates email, password length and name", async (t) => {
  for (
    const [body, path] of [
      [{ email: "not-an-email", password: "long-enough", name: "A" }, "email"],
      [{ email: "a@example.test", password: "short", name: "A" }, "password"],
      [{ email: "a@example.test", password: "x".repeat(129), name: "A" }, "password"],
      [{ email: "a@example.test", password: "long-enough", name: "" }, "name"],
      [{ email: "a@example.test", password: 12345678, name: "A" }, "password"],
    ] as const
  ) {
    const res = await t.request("/api/v1/auth/signup", json("POST", body));
    assert.equal(res.status, 422, JSON.stringify(body));
    const err = await errorOf(res);
    assert.equal(err.code, "validation_failed");
    assert.ok(err.details.some((d: { path: string }) => d.path === path), JSON.stringify(err.details));
  }
  const [{ n }] = await t.platform.db.query<{ n: number }>("select count(*)::int as n from auth.users");
  assert.equal(n, 0);
});

appTest("[auth] malformed JSON 400, unknown field 422 with path, wrong type 415, too big 413", async (t) => {
  const bad = await t.request("/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"email": ',
  });
  assert.equal(bad.status, 400);
  assert.equal((await errorOf(bad)).code, "bad_request");

  const unknown = await t.request(
    "/api/v1/auth/signup",
    json("POST", { ...randomCredentials(), is_admin: true }),
  );
  assert.equal(unknown.status, 422);
  assert.deepEqual((await errorOf(unknown)).details, [{ path: "is_admin", message: "Unknown field." }]);

  const form = await t.request("/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "hello",
  });
  assert.equal(form.status, 415);
  assert.equal((await errorOf(form)).code, "unsupported_media_type");

  const big = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: "a@b.test", password: "x".repeat(2_000_000) }),
  );
  assert.equal(big.status, 413);
  assert.equal((await errorOf(big)).code, "payload_too_large");

  // A streamed body without Content-Length is measured while it is read.
  const stream = new ReadableStream({
    start(ctrl) {
      for (let i = 0; i < 40; i++) ctrl.enqueue(new TextEncoder().encode("x".repeat(50_000)));
      ctrl.close();
    },
  });
  const streamed = await t.request("/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: stream,
  });
  assert.equal(streamed.status, 413);

  const array = await t.request("/api/v1/auth/login", json("POST", [1, 2]));
  assert.equal(array.status, 422);
});

appTest("[auth] wrong password and unknown email get the same 401", async (t) => {
  const user = await randomUser(t);
  const wrong = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: user.email, password: "wrong-password" }),
  );
  const unknown = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: "nobody@example.test", password: user.password }),
  );
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  const a = await errorOf(wrong);
  const b = await errorOf(unknown);
  assert.deepEqual(a, b);
  assert.equal(a.message, "Invalid email or password.");
  const ok = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: user.email, password: user.password }),
  );
  assert.equal(ok.status, 200);
});

appTest("[auth] /me accepts a valid bearer token and refuses forged, expired and foreign ones", async (t) => {
  const user = await randomUser(t);
  const me = await t.request("/api/v1/me", { headers: user.bearer });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).user.email, user.email);

  const [h, p] = user.session.access_token.split(".");
  const none = `${btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "")}.${p}.`;
  const wrongKey = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode("another-secret-another-secret-another"),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: user.id, role: "authenticated", aud: "authenticated", iat: now, exp: now + 60 };
  const rightKey = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode("test-secret-test-secret-test-secret-0123456789"),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  const cases: [string, string][] = [
    ["alg none", none],
    ["wrong signature", await signJwt(wrongKey, claims)],
    [
      "tampered payload",
      `${h}.${btoa(JSON.stringify({ ...claims, sub: crypto.randomUUID() }))}.${
        user.session.access_token.split(".")[2]
      }`,
    ],
    ["wrong audience", await signJwt(rightKey, { ...claims, aud: "somebody-else" })],
    ["expired", await signJwt(rightKey, { ...claims, exp: now - 1 })],
    ["garbage", "not.a.jwt"],
  ];
  for (const [label, token] of cases) {
    const res = await t.request("/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401, label);
    const err = await errorOf(res);
    assert.ok(["invalid_token", "token_expired"].includes(err.code), label);
  }
  const control = await t.request("/api/v1/me", {
    headers: { authorization: `Bearer ${await signJwt(rightKey, claims)}` },
  });
  assert.equal(control.status, 200, "a token signed with the right key passes");
  const noHeader = await t.request("/api/v1/me");
  assert.equal(noHeader.status, 401);
  const basic = await t.request("/api/v1/me", { headers: { authorization: "Basic Zm9vOmJhcg==" } });
  assert.equal(basic.status, 401);
});

appTest("[auth] refresh rotates the token; reuse of an old one ends the session", async (t) => {
  const user = await randomUser(t);
  const first = await t.request(
    "/api/v1/auth/refresh",
    json("POST", { refresh_token: user.session.refresh_token }),
  );
  assert.equal(first.status, 200);
  const rotated = (await first.json()).session;
  assert.notEqual(rotated.refresh_token, user.session.refresh_token);

  // Used again at once (two tabs racing): refused, but the session survives.
  const race = await t.request(
    "/api/v1/auth/refresh",
    json("POST", { refresh_token: user.session.refresh_token }),
  );
  assert.equal(race.status, 401);
  assert.equal((await errorOf(race)).code, "refresh_token_already_used");

  // Later, the old token is a stolen copy: the whole session is revoked.
  await t.platform.db.query(
    "update plaza.refresh_tokens set rotated_at = now() - interval '1 minute' where rotated_at is not null",
  );
  const replay = await t.request(
    "/api/v1/auth/refresh",
    json("POST", { refresh_token: user.session.refresh_token }),
  );
  assert.equal(replay.status, 401);
  const after = await t.request(
    "/api/v1/auth/refresh",
    json("POST", { refresh_token: rotated.refresh_token }),
  );
  assert.equal(after.status, 401, "the newest token of the session is revoked too");

  const unknown = await t.request("/api/v1/auth/refresh", json("POST", { refresh_token: "nope" }));
  assert.equal(unknown.status, 401);
  assert.equal((await errorOf(unknown)).code, "invalid_refresh_token");
});

appTest("[auth] refresh tokens are stored hashed", async (t) => {
  const user = await randomUser(t);
  const rows = await t.platform.db.query<{ token_hash: string }>(
    "select token_hash from plaza.refresh_tokens where user_id = $1",
    [user.id],
  );
  assert.equal(rows.length, 1);
  assert.notEqual(rows[0].token_hash, user.session.refresh_token);
  assert.match(rows[0].token_hash, /^[0-9a-f]{64}$/);
});

appTest("[auth] logout revokes the refresh token and clears cookies", async (t) => {
  const user = await randomUser(t);
  const res = await t.request(
    "/api/v1/auth/logout",
    json("POST", { refresh_token: user.session.refresh_token }),
  );
  assert.equal(res.status, 204);
  assert.ok(
    res.headers.getSetCookie().some((c) => c.startsWith("plaza_rt=;") || /plaza_rt=.*Max-Age=0/.test(c)),
  );
  const again = await t.request(
    "/api/v1/auth/refresh",
    json("POST", { refresh_token: user.session.refresh_token }),
  );
  assert.equal(again.status, 401);
  // Logging out twice is harmless.
  const twice = await t.request(
    "/api/v1/auth/logout",
    json("POST", { refresh_token: user.session.refresh_token }),
  );
  assert.equal(twice.status, 204);
});

appTest("[auth] password change revokes every session and needs the current password", async (t) => {
  const user = await randomUser(t);
  const login = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: user.email, password: user.password }),
  );
  const otherDevice = (await login.json()).session;

  const wrong = await t.request(
    "/api/v1/auth/password",
    json("POST", { current_password: "not-it", new_password: "brand-new-password" }, user.bearer),
  );
  assert.equal(wrong.status, 403);

  const tooShort = await t.request(
    "/api/v1/auth/password",
    json("POST", { current_password: user.password, new_password: "short" }, user.bearer),
  );
  assert.equal(tooShort.status, 422);

  const ok = await t.request(
    "/api/v1/auth/password",
    json("POST", { current_password: user.password, new_password: "brand-new-password" }, user.bearer),
  );
  assert.equal(ok.status, 200);
  for (const token of [user.session.refresh_token, otherDevice.refresh_token]) {
    const r = await t.request("/api/v1/auth/refresh", json("POST", { refresh_token: token }));
    assert.equal(r.status, 401);
  }
  const oldPw = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: user.email, password: user.password }),
  );
  assert.equal(oldPw.status, 401);
  const newPw = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: user.email, password: "brand-new-password" }),
  );
  assert.equal(newPw.status, 200);
});

appTest("[auth] PLAZA_ADMIN_EMAILS makes those accounts admins once their email is confirmed", async (t) => {
  const creds = { email: "Boss@Example.test", password: "long-enough-pw", name: "Boss" };
  const res = await t.request("/api/v1/auth/signup", json("POST", creds));
  assert.equal(res.status, 201);
  assert.equal((await res.json()).user.role, "member", "signing up first with the address is not enough");
  await t.platform.db.query("update auth.users set email_confirmed_at = now() where lower(email) = $1", [
    "boss@example.test",
  ]);
  const login = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: creds.email, password: creds.password }),
  );
  assert.equal((await login.json()).user.role, "admin");
}, { env: { PLAZA_ADMIN_EMAILS: "someone@else.test, boss@example.test" } });

appTest("[auth] a demoted admin loses admin rights at once, even with a fresh token", async (t) => {
  const { randomAdmin } = await import("./support/factories.ts");
  const a = await randomAdmin(t);
  const b = await randomAdmin(t);
  const demote = await t.request(`/api/v1/admin/users/${b.id}`, json("PATCH", { role: "member" }, a.bearer));
  assert.equal(demote.status, 200);
  const comeback = await t.request(`/api/v1/admin/users/${b.id}`, json("PATCH", { role: "admin" }, b.bearer));
  assert.equal(comeback.status, 403);
  const list = await t.request("/api/v1/admin/users", { headers: b.bearer });
  assert.equal(list.status, 403);
});

appTest("[auth] cookie session works for /me and an expired access cookie is refreshed", async (t) => {
  const user = await randomUser(t);
  const me = await t.request("/api/v1/me", { headers: { cookie: user.cookies } });
  assert.equal(me.status, 200);
  const expiredJar = user.cookies.replace(/plaza_at=[^;]+/, "plaza_at=expired.token.value");
  const refreshed = await t.request("/api/v1/me", { headers: { cookie: expiredJar } });
  assert.equal(refreshed.status, 200);
  const newJar = cookieHeader(refreshed, expiredJar);
  assert.notEqual(newJar, expiredJar, "new cookies were set");
});
