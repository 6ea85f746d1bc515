import assert from "node:assert/strict";
import { appTest, ORIGIN } from "./support/app.ts";
import { browser, json, randomUser } from "./support/factories.ts";

function scriptTags(html: string): string[] {
  return html.match(/<script\b[^>]*>/g) ?? [];
}

appTest("[security] every page carries a CSP with a fresh nonce and the baseline headers", async (t) => {
  const a = await t.request("/", { headers: { accept: "text/html" } });
  const b = await t.request("/", { headers: { accept: "text/html" } });
  assert.equal(a.status, 200);
  assert.match(a.headers.get("content-type") ?? "", /text\/html/);
  const csp = a.headers.get("content-security-policy") ?? "";
  for (
    const part of [
      "script-src 'nonce-",
      "'strict-dynamic'",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ]
  ) assert.ok(csp.includes(part), `${part} in ${csp}`);
  const nonceA = /'nonce-([^']+)'/.exec(csp)![1];
  const nonceB = /'nonce-([^']+)'/.exec(b.headers.get("content-security-policy") ?? "")![1];
  assert.notEqual(nonceA, nonceB);
  assert.ok(nonceA.length >= 16);
  assert.equal(a.headers.get("x-content-type-options"), "nosniff");
  assert.ok(a.headers.get("referrer-policy"));
  assert.ok(a.headers.get("x-request-id"));
  assert.equal(a.headers.get("strict-transport-security"), null, "no HSTS on localhost");
});

appTest("[security] HSTS is sent when the public URL is https", async (t) => {
  const res = await t.request("/health");
  assert.match(res.headers.get("strict-transport-security") ?? "", /max-age=\d+/);
}, { env: { PUBLIC_URL: "https://plaza.example.org" } });

appTest(
  "[security] a page without islands ships no script; a page with one ships only nonce'd modules",
  async (t) => {
    const home = await (await t.request("/", { headers: { accept: "text/html" } })).text();
    assert.deepEqual(scriptTags(home), []);
    const login = await (await t.request("/login", { headers: { accept: "text/html" } })).text();
    assert.deepEqual(scriptTags(login), []);

    const user = await randomUser(t);
    const res = await t.request("/profile", { headers: { cookie: user.cookies, accept: "text/html" } });
    assert.equal(res.status, 200);
    const html = await res.text();
    const nonce = /'nonce-([^']+)'/.exec(res.headers.get("content-security-policy") ?? "")![1];
    const tags = scriptTags(html);
    assert.equal(tags.length, 1);
    assert.ok(tags[0].includes(`nonce="${nonce}"`));
    assert.ok(tags[0].includes('type="module"'));
    assert.match(html, /data-island="ProfileEditor"/);

    // The bundles it imports are served with long-lived immutable caching.
    const urls = [...html.matchAll(/"(\/_islands\/[^"]+\.js)"/g)].map((m) => m[1]);
    assert.ok(urls.length >= 2);
    for (const url of new Set(urls)) {
      const js = await t.request(url);
      assert.equal(js.status, 200, url);
      assert.match(js.headers.get("content-type") ?? "", /javascript/);
      assert.match(js.headers.get("cache-control") ?? "", /max-age=31536000, immutable/);
      await js.body?.cancel();
    }
    const missing = await t.request("/_islands/nope-123.js");
    assert.equal(missing.status, 404);
  },
);

appTest("[security] CSRF: cross-site state changes with cookies are refused", async (t) => {
  const user = await randomUser(t);
  const patch = (headers: Record<string, string>) =>
    t.request("/api/v1/me", json("PATCH", { bio: "changed" }, headers));

  const crossSite = await patch({
    cookie: user.cookies,
    origin: "https://evil.example",
    "sec-fetch-site": "cross-site",
  });
  assert.equal(crossSite.status, 403);
  assert.equal((await crossSite.json()).error.code, "csrf_failed");

  const wrongOrigin = await patch({ cookie: user.cookies, origin: "https://evil.example" });
  assert.equal(wrongOrigin.status, 403);

  const noHeaders = await patch({ cookie: user.cookies });
  assert.equal(noHeaders.status, 403);

  const sameOrigin = await patch(browser(user.cookies));
  assert.equal(sameOrigin.status, 200);

  // An API client with a bearer token and no cookies is not a CSRF target.
  const bearer = await patch(user.bearer);
  assert.equal(bearer.status, 200);

  // A cross-site form post to the login page is refused too (login CSRF).
  const login = await t.request("/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
    body: new URLSearchParams({ email: user.email, password: user.password }),
  });
  assert.equal(login.status, 403);

  const [{ bio }] = await t.platform.db.query<{ bio: string }>(
    "select bio from public.profiles where id = $1",
    [
      user.id,
    ],
  );
  assert.equal(bio, "changed", "only the allowed requests changed the profile");
});

appTest("[security] errors use one JSON shape and 500s leak nothing", async (t) => {
  const notFound = await t.request("/api/v1/nothing-here");
  assert.equal(notFound.status, 404);
  const body = await notFound.json();
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.equal(body.error.code, "not_found");

  // A Postgres failure that is not the client's fault becomes a 500 without its message.
  await t.platform.db.exec("alter table public.profiles rename to profiles_gone");
  const user = await randomUser(t).catch((e) => e);
  assert.ok(user instanceof Error && /signup failed: 500/.test(user.message), String(user));
  assert.ok(!user.message.includes("profiles"), "the SQL error does not leak");
  assert.match(user.message, /"code":"internal_error"/);
});

appTest("[security] browsers get an HTML error page, API clients JSON", async (t) => {
  const page = await t.request("/no-such-page", { headers: { accept: "text/html" } });
  assert.equal(page.status, 404);
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  assert.match(await page.text(), /Page not found/);
  const api = await t.request("/api/v1/no-such", { headers: { accept: "text/html" } });
  assert.match(api.headers.get("content-type") ?? "", /application\/json/);
  await api.body?.cancel();
});

appTest("[security] cookies are Secure off localhost", async (t) => {
  const res = await t.request("/api/v1/auth/signup", {
    ...json("POST", { email: "secure@example.test", password: "long-enough-pw", name: "S" }),
  });
  assert.equal(res.status, 201);
  for (const c of res.headers.getSetCookie()) assert.match(c, /; Secure/);
}, { env: { PUBLIC_URL: "https://plaza.example.org" } });

appTest("[security] ORIGIN helper matches the test origin", (t) => {
  assert.equal(new URL(ORIGIN).hostname, "localhost");
  assert.ok(t.app);
  return Promise.resolve();
});

appTest("[security] behind a TLS proxy the forwarded origin is the expected one", async (t) => {
  const user = await randomUser(t);
  const res = await t.request(
    "/api/v1/me",
    json("PATCH", { bio: "via proxy" }, {
      cookie: user.cookies,
      origin: "https://plaza.example.org",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "plaza.example.org",
    }),
  );
  assert.equal(res.status, 200);
  const forged = await t.request(
    "/api/v1/me",
    json("PATCH", { bio: "evil" }, {
      cookie: user.cookies,
      origin: "https://evil.example",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "plaza.example.org",
    }),
  );
  assert.equal(forged.status, 403);
}, { env: { PLAZA_TRUST_PROXY: "true" } });
