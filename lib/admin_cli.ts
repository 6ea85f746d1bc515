/**
 * `deno task admin <email>`: makes an existing account an admin (and marks its email confirmed,
 * since whoever runs this vouches for it). The way to appoint the first admin of a deployment.
 */
import { loadConfig } from "./config.ts";
import { migrate } from "./db/migrate.ts";
import { openDb } from "./db/mod.ts";

const email = Deno.args[0]?.trim().toLowerCase();
if (!email) {
  console.error("Usage: deno task admin <email>");
  Deno.exit(64);
}
const config = loadConfig();
const db = await openDb(config);
try {
  await migrate(db);
  const rows = await db.query<{ id: string }>(
    `update auth.users
        set raw_app_meta_data = raw_app_meta_data || '{"role":"admin"}'::jsonb,
            email_confirmed_at = coalesce(email_confirmed_at, now()), updated_at = now()
      where lower(email) = $1
      returning id`,
    [email],
  );
  if (!rows.length) {
    console.error(`No account with the email ${email}. Sign up first, then run this again.`);
    Deno.exitCode = 1;
  } else {
    console.log(`${email} is now an admin (effective at their next sign-in or token refresh).`);
  }
} finally {
  await db.close();
}
