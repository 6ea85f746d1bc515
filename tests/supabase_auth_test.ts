import assert from "node:assert/strict";
import { withApp } from "./support/app.ts";
import { cookieHeader, json, randomCredentials } from "./support/factories.ts";
import { FAKE_KEYS, startFakeGoTrue } from "./support/fake_gotrue.ts";

Deno.test({
  name: "[supabase-auth] cloud mode: the same auth routes run on Supabase Auth's REST API",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const gotrue = await startFakeGoTrue();
    try {
      await withApp(async (t) => {
        gotrue.attach(t.platform.db);
        const creds = randomCredentials();
        const signup = await t.request("/api/v1/auth/signup", json("POST", creds));
        assert.equal(signup.status, 201, await signup.clone().text());
        const { user, session } = await signup.json();
        assert.equal(user.email, creds.email);
        assert.equal(user.name, creds.name);
        assert.equal(user.role, "member");
        // Supabase's token works on Plaza's API and RLS: the profile row came from the shared trigger.
        const me = await t.request("/api/v1/me", {
          headers: { authorization: `Bearer ${session.access_token}` },
        });
        assert.equal(me.status, 200);
        assert.equal((await me.json()).user.name, creds.name);

        const dup = await t.request("/api/v1/auth/signup", json("POST", creds));
        assert.equal(dup.status, 409);
        assert.equal((await dup.json()).error.code, "email_taken");

        const wrong = await t.request(
          "/api/v1/auth/login",
          json("POST", { email: creds.email, password: "nope-nope" }),
        );
        assert.equal(wrong.status, 401);
        assert.equal((await wrong.json()).error.code, "invalid_credentials");

        const login = await t.request(
          "/api/v1/auth/login",
          json("POST", { email: creds.email, password: creds.password }),
        );
        assert.equal(login.status, 200);
        const loginSession = (await login.json()).session;

        const refreshed = await t.request(
          "/api/v1/auth/refresh",
          json("POST", { refresh_token: loginSession.refresh_token }),
        );
        assert.equal(refreshed.status, 200);
        await refreshed.body?.cancel();
        const reused = await t.request(
          "/api/v1/auth/refresh",
          json("POST", { refresh_token: loginSession.refresh_token }),
        );
        assert.equal(reused.status, 401);
        assert.equal((await reused.json()).error.code, "refresh_token_already_used");

        // Password change: current password checked, every session ended, a new one returned.
        const bad = await t.request(
          "/api/v1/auth/password",
          json("POST", { current_password: "wrong-one", new_password: "another-long-pw" }, {
            authorization: `Bearer ${session.access_token}`,
          }),
        );
        assert.equal(bad.status, 403);
        const changed = await t.request(
          "/api/v1/auth/password",
          json("POST", { current_password: creds.password, new_password: "another-long-pw" }, {
            authorization: `Bearer ${session.access_token}`,
          }),
        );
        assert.equal(changed.status, 200);
        const afterChange = await t.request(
          "/api/v1/auth/refresh",
          json("POST", { refresh_token: session.refresh_token }),
        );
        assert.equal(afterChange.status, 401);

        // Logout through the cookie session ends that session at Supabase.
        const again = await t.request(
          "/api/v1/auth/login",
          json("POST", { email: creds.email, password: "another-long-pw" }),
        );
        assert.equal(again.status, 200);
        const againJar = cookieHeader(again);
        const againSession = (await again.json()).session;
        const out = await t.request("/api/v1/auth/logout", {
          method: "POST",
          headers: { cookie: againJar, origin: "http://localhost" },
        });
        assert.equal(out.status, 204);
        const afterLogout = await t.request(
          "/api/v1/auth/refresh",
          json("POST", { refresh_token: againSession.refresh_token }),
        );
        assert.equal(afterLogout.status, 401, "the signed-out session cannot be refreshed");
        assert.equal((await changed.json()).session.token_type, "bearer");

        // Tokens signed with another secret are refused.
        const forged = await t.request("/api/v1/me", {
          headers: { authorization: `Bearer ${session.access_token}x` },
        });
        assert.equal(forged.status, 401);
      }, {
        env: {
          SUPABASE_URL: gotrue.url,
          SUPABASE_ANON_KEY: FAKE_KEYS.anonKey,
          SUPABASE_SERVICE_ROLE_KEY: FAKE_KEYS.serviceRoleKey,
          SUPABASE_JWT_SECRET: FAKE_KEYS.jwtSecret,
        },
      });
    } finally {
      await gotrue.close();
    }
  },
});

Deno.test({
  name: "[supabase-auth] PLAZA_ADMIN_EMAILS promotes only a confirmed email, and the token carries the role",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const gotrue = await startFakeGoTrue({ autoconfirm: false });
    try {
      await withApp(async (t) => {
        gotrue.attach(t.platform.db);
        const creds = { email: "chief@example.test", password: "long-enough-pw", name: "Chief" };
        const res = await t.request("/api/v1/auth/signup", json("POST", creds));
        assert.equal(res.status, 403);
        assert.equal((await res.json()).error.code, "email_not_confirmed");
        const early = await t.request(
          "/api/v1/auth/login",
          json("POST", { email: creds.email, password: creds.password }),
        );
        assert.equal(early.status, 403);
        await early.body?.cancel();
        // The owner clicks the link in the confirmation email.
        await t.platform.db.query("update auth.users set email_confirmed_at = now() where email = $1", [
          creds.email,
        ]);
        const login = await t.request(
          "/api/v1/auth/login",
          json("POST", { email: creds.email, password: creds.password }),
        );
        assert.equal(login.status, 200);
        const { user, session } = await login.json();
        assert.equal(user.role, "admin");
        const list = await t.request("/api/v1/admin/users", {
          headers: { authorization: `Bearer ${session.access_token}` },
        });
        assert.equal(list.status, 200);
        await list.body?.cancel();
      }, {
        env: {
          SUPABASE_URL: gotrue.url,
          SUPABASE_ANON_KEY: FAKE_KEYS.anonKey,
          SUPABASE_SERVICE_ROLE_KEY: FAKE_KEYS.serviceRoleKey,
          SUPABASE_JWT_SECRET: FAKE_KEYS.jwtSecret,
          PLAZA_ADMIN_EMAILS: "chief@example.test",
        },
      });
    } finally {
      await gotrue.close();
    }
  },
});
