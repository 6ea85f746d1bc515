import assert from "node:assert/strict";
import { appTest } from "./support/app.ts";
import { browser, cookieHeader, randomCredentials, randomUser } from "./support/factories.ts";

const form = (cookies: string, body: Record<string, string>) => ({
  method: "POST",
  headers: { ...browser(cookies), "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
  body: new URLSearchParams(body),
});

appTest("[pages] sign up, see the home page signed in, sign out, all without JavaScript", async (t) => {
  const creds = randomCredentials();
  const signup = await t.request("/signup?next=/profile", form("", creds));
  assert.equal(signup.status, 303);
  assert.equal(signup.headers.get("location"), "/profile");
  const jar = cookieHeader(signup);
  assert.match(jar, /plaza_at=/);

  const home = await t.request("/", { headers: { cookie: jar, accept: "text/html" } });
  const html = await home.text();
  assert.match(html, new RegExp(`Hello, ${creds.name}`));
  assert.match(html, /Newest members/);
  assert.match(html, /Sign out/);

  const logout = await t.request("/logout", form(jar, {}));
  assert.equal(logout.status, 303);
  const after = cookieHeader(logout, jar);
  assert.doesNotMatch(after, /plaza_at=/);
  const anon = await (await t.request("/", { headers: { cookie: after, accept: "text/html" } })).text();
  assert.match(anon, /Create an account/);
});

appTest("[pages] sign-in form shows a clear error and keeps the email", async (t) => {
  const user = await randomUser(t);
  const res = await t.request("/login", form("", { email: user.email, password: "nope-nope" }));
  assert.equal(res.status, 401);
  const html = await res.text();
  assert.match(html, /Invalid email or password/);
  assert.ok(html.includes(`value="${user.email}"`));
  assert.match(html, /role="alert"/);
});

appTest("[pages] sign-up form shows field errors with the status of the problem", async (t) => {
  const invalid = await t.request("/signup", form("", { email: "nope", password: "short", name: "" }));
  assert.equal(invalid.status, 422);
  const html = await invalid.text();
  assert.match(html, /Enter a valid email address/);
  assert.match(html, /Use at least 8 characters/);
  assert.match(html, /aria-invalid="true"/);

  const user = await randomUser(t);
  const taken = await t.request(
    "/signup",
    form("", { email: user.email, password: "long-enough-pw", name: "X" }),
  );
  assert.equal(taken.status, 409);
  assert.match(await taken.text(), /already exists/);
});

appTest("[pages] an open redirect through ?next= is not possible", async (t) => {
  for (
    const next of ["https://evil.example", "//evil.example", "/\\evil.example", "/\t/evil.example", "/ /evil"]
  ) {
    const res = await t.request(`/signup?next=${encodeURIComponent(next)}`, form("", randomCredentials()));
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/", next);
  }
});

appTest("[pages] the profile form saves without JavaScript and validates", async (t) => {
  const user = await randomUser(t);
  const ok = await t.request(
    "/profile",
    form(user.cookies, { name: "New Name", bio: "About me", avatar_url: "" }),
  );
  assert.equal(ok.status, 200);
  const html = await ok.text();
  assert.match(html, /Saved\./);
  assert.match(html, /New Name/);
  const bad = await t.request("/profile", form(user.cookies, { name: "", bio: "", avatar_url: "ftp://x" }));
  assert.equal(bad.status, 422);
  assert.match(await bad.text(), /role="alert"/);
  const anon = await t.request("/profile", { headers: { accept: "text/html" } });
  assert.equal(anon.status, 303);
  assert.equal(anon.headers.get("location"), "/login?next=%2Fprofile");
});

appTest("[pages] static assets are versioned and cached", async (t) => {
  const html = await (await t.request("/", { headers: { accept: "text/html" } })).text();
  const href = /href="(\/static\/styles\.css\?v=[0-9a-f]+)"/.exec(html)![1];
  const css = await t.request(href);
  assert.equal(css.status, 200);
  assert.match(css.headers.get("content-type") ?? "", /text\/css/);
  assert.match(css.headers.get("cache-control") ?? "", /immutable/);
  const etag = css.headers.get("etag")!;
  await css.body?.cancel();
  const notModified = await t.request("/static/styles.css", { headers: { "if-none-match": etag } });
  assert.equal(notModified.status, 304);
});
