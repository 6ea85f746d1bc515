/**
 * A small stand-in for Supabase Auth (GoTrue) speaking its REST format, for testing Plaza's cloud
 * auth adapter without the internet: signup, password and refresh-token grants, logout with scopes,
 * and the admin user update. Users are written to `auth.users` of the test database, as GoTrue does;
 * sessions and refresh tokens are kept in memory. Errors carry GoTrue's `code` and the
 * `X-Supabase-Api-Version` header that makes supabase-js read it.
 */
import { hmacKey, signJwt } from "@/lib/auth/jwt.ts";
import { hashPassword, verifyPassword } from "@/lib/auth/password.ts";
import type { Db } from "@/lib/db/port.ts";

/** Keys the fake and Plaza share. */
export const FAKE_KEYS = {
  anonKey: "fake-anon-key",
  serviceRoleKey: "fake-service-role-key",
  jwtSecret: "fake-supabase-jwt-secret-fake-supabase-jwt-secret",
};

interface Row {
  id: string;
  email: string;
  encrypted_password: string;
  raw_app_meta_data: Record<string, unknown>;
  raw_user_meta_data: Record<string, unknown>;
  created_at: Date;
  email_confirmed_at: Date | null;
}

/** A running fake. `attach` gives it the database once the test has one. */
export interface FakeGoTrue {
  url: string;
  attach(db: Db): void;
  close(): Promise<void>;
}

/** Starts the fake on a free port; `autoconfirm` mirrors Supabase's "Confirm email" being off. */
export async function startFakeGoTrue(
  options: { autoconfirm: boolean } = { autoconfirm: true },
): Promise<FakeGoTrue> {
  const key = await hmacKey(FAKE_KEYS.jwtSecret);
  let db: Db | undefined;
  const refresh = new Map<string, { userId: string; sessionId: string; used: boolean }>();
  const revokedSessions = new Set<string>();

  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", "x-supabase-api-version": "2024-01-01" },
    });
  const fail = (status: number, code: string, msg: string) => json({ code, error_code: code, msg }, status);

  const userJson = (r: Row) => ({
    id: r.id,
    aud: "authenticated",
    role: "authenticated",
    email: r.email,
    app_metadata: r.raw_app_meta_data,
    user_metadata: r.raw_user_meta_data,
    created_at: new Date(r.created_at).toISOString(),
    email_confirmed_at: r.email_confirmed_at ? new Date(r.email_confirmed_at).toISOString() : null,
    identities: [],
  });

  const findBy = async (where: string, value: string) =>
    (await db!.query<Row>(
      `select id, email, encrypted_password, raw_app_meta_data, raw_user_meta_data, created_at,
              email_confirmed_at
       from auth.users where ${where} = $1`,
      [value],
    ))[0];

  async function session(r: Row, sessionId: string = crypto.randomUUID()) {
    const now = Math.floor(Date.now() / 1000);
    const access = await signJwt(key, {
      aud: "authenticated",
      exp: now + 3600,
      iat: now,
      sub: r.id,
      email: r.email,
      role: "authenticated",
      app_metadata: r.raw_app_meta_data,
      user_metadata: r.raw_user_meta_data,
      session_id: sessionId,
    });
    const token = crypto.randomUUID().replaceAll("-", "");
    refresh.set(token, { userId: r.id, sessionId, used: false });
    return {
      access_token: access,
      token_type: "bearer",
      expires_in: 3600,
      expires_at: now + 3600,
      refresh_token: token,
      user: userJson(r),
    };
  }

  const claimsOf = (auth: string | null) => {
    const token = /^Bearer (.+)$/.exec(auth ?? "")?.[1];
    const payload = token?.split(".")[1];
    if (!payload) return null;
    try {
      return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    } catch {
      return null;
    }
  };

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const apikey = req.headers.get("apikey");
    if (apikey !== FAKE_KEYS.anonKey && apikey !== FAKE_KEYS.serviceRoleKey) {
      return fail(401, "no_api_key", "No API key found in request");
    }
    const path = url.pathname.replace(/^\/auth\/v1/, "");
    const body = req.method === "GET" || req.method === "DELETE" ? {} : await req.json().catch(() => ({}));

    if (req.method === "POST" && path === "/signup") {
      if (await findBy("lower(email)", String(body.email).toLowerCase())) {
        return fail(422, "user_already_exists", "User already registered");
      }
      const [row] = await db!.query<Row>(
        `insert into auth.users (email, encrypted_password, raw_app_meta_data, raw_user_meta_data,
           email_confirmed_at)
         values ($1, $2, $3::text::jsonb, $4::text::jsonb, case when $5 then now() end)
         returning id, email, encrypted_password, raw_app_meta_data, raw_user_meta_data, created_at,
                   email_confirmed_at`,
        [
          String(body.email).toLowerCase(),
          await hashPassword(body.password, 1000),
          JSON.stringify({ provider: "email", providers: ["email"] }),
          JSON.stringify(body.data ?? {}),
          options.autoconfirm,
        ],
      );
      // With "Confirm email" on, GoTrue answers with the user only; no session until confirmed.
      return json(options.autoconfirm ? await session(row) : userJson(row));
    }
    if (req.method === "POST" && path === "/token" && url.searchParams.get("grant_type") === "password") {
      const row = await findBy("lower(email)", String(body.email).toLowerCase());
      if (!row || !await verifyPassword(body.password, row.encrypted_password)) {
        return fail(400, "invalid_credentials", "Invalid login credentials");
      }
      if (!row.email_confirmed_at) return fail(400, "email_not_confirmed", "Email not confirmed");
      return json(await session(row));
    }
    if (
      req.method === "POST" && path === "/token" && url.searchParams.get("grant_type") === "refresh_token"
    ) {
      const entry = refresh.get(body.refresh_token);
      if (!entry || revokedSessions.has(entry.sessionId)) {
        return fail(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
      }
      if (entry.used) return fail(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used");
      entry.used = true;
      return json(await session((await findBy("id", entry.userId))!, entry.sessionId));
    }
    if (req.method === "POST" && path === "/logout") {
      const claims = claimsOf(req.headers.get("authorization"));
      if (!claims) return fail(401, "no_authorization", "This endpoint requires a Bearer token");
      const scope = url.searchParams.get("scope") ?? "global";
      for (const entry of refresh.values()) {
        if (scope === "global" ? entry.userId === claims.sub : entry.sessionId === claims.session_id) {
          revokedSessions.add(entry.sessionId);
        }
      }
      return new Response(null, { status: 204 });
    }
    const adminUser = /^\/admin\/users\/([0-9a-f-]{36})$/.exec(path);
    if (req.method === "PUT" && adminUser) {
      if (req.headers.get("authorization") !== `Bearer ${FAKE_KEYS.serviceRoleKey}`) {
        return fail(403, "not_admin", "User not allowed");
      }
      const id = adminUser[1];
      if (body.password) {
        await db!.query("update auth.users set encrypted_password = $2 where id = $1", [
          id,
          await hashPassword(body.password, 1000),
        ]);
      }
      if (body.app_metadata) {
        await db!.query(
          "update auth.users set raw_app_meta_data = raw_app_meta_data || $2::text::jsonb where id = $1",
          [
            id,
            JSON.stringify(body.app_metadata),
          ],
        );
      }
      const row = await findBy("id", id);
      return row ? json(userJson(row)) : fail(404, "user_not_found", "User not found");
    }
    return fail(404, "not_found", `no route ${req.method} ${path}`);
  }

  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, handle);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    attach(d) {
      db = d;
    },
    close: () => server.shutdown(),
  };
}
