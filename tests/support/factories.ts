/** Fixture factories: users signed up through the real API, cookie jars, JSON requests. */
import type { Session } from "@/lib/auth/service.ts";
import { ORIGIN, type TestContext } from "./app.ts";

let counter = 0;

/** A unique email and a valid password. */
export function randomCredentials(prefix = "user") {
  counter++;
  return {
    email: `${prefix}-${counter}-${crypto.randomUUID().slice(0, 8)}@example.test`,
    password: `pw-${crypto.randomUUID()}`,
    name: `${prefix[0].toUpperCase()}${prefix.slice(1)} ${counter}`,
  };
}

/** A signed-up user with its session and the cookies a browser would hold. */
export interface TestUser {
  id: string;
  email: string;
  password: string;
  name: string;
  role: string;
  session: Session;
  cookies: string;
  bearer: Record<string, string>;
}

/** Extracts `name=value` pairs from Set-Cookie headers into one Cookie header (empty values dropped). */
export function cookieHeader(res: Response, previous = ""): string {
  const jar = new Map(
    previous.split("; ").filter(Boolean).map((p) => p.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  for (const sc of res.headers.getSetCookie()) {
    const [pair] = sc.split(";");
    const [name, value] = pair.split(/=(.*)/s);
    if (!value || /max-age=0/i.test(sc)) jar.delete(name);
    else jar.set(name, value);
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
}

/** JSON request init. */
export function json(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/** Headers of a same-origin browser request carrying `cookies`. */
export function browser(cookies: string, extra: Record<string, string> = {}): Record<string, string> {
  return { cookie: cookies, origin: ORIGIN, "sec-fetch-site": "same-origin", ...extra };
}

/** Signs up a user through the API. */
export async function randomUser(t: TestContext, prefix = "user"): Promise<TestUser> {
  const creds = randomCredentials(prefix);
  // Each fixture user signs up from its own address, so fixtures never trip the per-IP signup limit.
  const ip = `198.18.${Math.floor(counter / 250) % 250}.${counter % 250 + 1}`;
  const res = await t.request("/api/v1/auth/signup", { ...json("POST", creds), ip });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
  const body = await res.json();
  return {
    ...creds,
    id: body.user.id,
    role: body.user.role,
    session: body.session,
    cookies: cookieHeader(res),
    bearer: { authorization: `Bearer ${body.session.access_token}` },
  };
}

/** Signs up a user, gives them `role` (directly in the database), then signs in again for a token that carries it. */
export async function randomUserWithRole(
  t: TestContext,
  role: "admin" | "partner",
  prefix: string = role,
): Promise<TestUser> {
  const user = await randomUser(t, prefix);
  await t.platform.db.query(
    `update auth.users set raw_app_meta_data = raw_app_meta_data || jsonb_build_object('role', $2::text) where id = $1`,
    [user.id, role],
  );
  const res = await t.request(
    "/api/v1/auth/login",
    json("POST", { email: user.email, password: user.password }),
  );
  const body = await res.json();
  return {
    ...user,
    role,
    session: body.session,
    cookies: cookieHeader(res),
    bearer: { authorization: `Bearer ${body.session.access_token}` },
  };
}

/** Signs up a user and makes them an admin. */
export function randomAdmin(t: TestContext): Promise<TestUser> {
  return randomUserWithRole(t, "admin");
}
