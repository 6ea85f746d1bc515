/**
 * Demo data: a member, a partner and an admin with generated passwords, and demo chat rooms. Run by `deno task seed`, and
 * by an embedded start (PGlite, no DATABASE_URL) on an empty database; never automatically on a
 * shared Postgres or Supabase. The accounts are printed and saved to
 * `<dataDir>/demo-accounts.txt` (readable only by the owner).
 */
import { b64url } from "./auth/jwt.ts";
import type { AuthProvider, Role } from "./auth/service.ts";
import { seedAnalyticsDemo } from "./analytics/demo.ts";
import { seedChat } from "./chat/seed.ts";
import { seedEvents } from "./events/seed.ts";
import { seedOrders } from "./orders/seed.ts";
import type { Db } from "./db/port.ts";

/** A demo account and its password. */
export interface DemoAccount {
  email: string;
  password: string;
  name: string;
  role: Role;
}

const demo: Omit<DemoAccount, "password">[] = [
  { email: "member@plaza.local", name: "Mira Member", role: "member" },
  { email: "partner@plaza.local", name: "Paco Partner", role: "partner" },
  { email: "admin@plaza.local", name: "Ada Admin", role: "admin" },
];

/** True when no user exists yet. */
export async function isEmpty(db: Db): Promise<boolean> {
  const [row] = await db.query<{ n: number }>("select count(*)::int as n from auth.users");
  return row.n === 0;
}

/** Creates the demo accounts that do not exist yet; returns those created. */
export async function seedDemo(db: Db, auth: AuthProvider, dataDir: string): Promise<DemoAccount[]> {
  const created: DemoAccount[] = [];
  for (const d of demo) {
    const [exists] = await db.query("select 1 from auth.users where lower(email) = $1", [d.email]);
    if (exists) continue;
    const password = b64url(crypto.getRandomValues(new Uint8Array(9)));
    const { user } = await auth.signup({ email: d.email, password, name: d.name });
    await db.query(
      `update auth.users set raw_app_meta_data = raw_app_meta_data || jsonb_build_object('role', $2::text),
         email_confirmed_at = now() where id = $1`,
      [user.id, d.role],
    );
    await db.query("update public.profiles set bio = $2 where id = $1", [
      user.id,
      `Demo ${d.role} account. Sign in as ${d.email}.`,
    ]);
    created.push({ ...d, password });
  }
  await seedChat(db);
  await seedEvents(db);
  await seedOrders(db);
  if (created.length) {
    await Deno.mkdir(dataDir, { recursive: true });
    const lines = created.map((a) => `${a.role}\t${a.email}\t${a.password}`).join("\n");
    await Deno.writeTextFile(`${dataDir}/demo-accounts.txt`, `role\temail\tpassword\n${lines}\n`, {
      mode: 0o600,
    });
  }
  if (created.length) await seedAnalyticsDemo(db);
  return created;
}

/** Formats demo accounts for the console. */
export function describeDemo(accounts: DemoAccount[]): string {
  return [
    "Demo accounts (also saved in demo-accounts.txt in the data dir):",
    ...accounts.map((a) => `  ${a.role.padEnd(8)} ${a.email.padEnd(22)} password: ${a.password}`),
  ].join("\n");
}
