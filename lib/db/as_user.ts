/**
 * Runs SQL as the requesting user, the way Supabase's API does: inside a transaction with the
 * `authenticated` (or `anon`) role and the JWT claims in `request.jwt.claims`, so RLS policies
 * decide what the SQL may see and change. Both settings are transaction-local.
 */
import type { Db, Queryable } from "./port.ts";

/** The JWT claims Plaza and Supabase put into `request.jwt.claims`. */
export interface Claims {
  sub: string;
  role: "authenticated" | "anon" | "service_role";
  email?: string;
  app_metadata?: { role?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/**
 * Quotes `text` as a dollar-quoted SQL literal with a tag that does not occur in it, so it is safe
 * whatever `standard_conforming_strings` says. Used where a parameterless statement is cheaper.
 */
export function dollarQuote(text: string): string {
  // With no "$tag" anywhere in the text, no "$tag$" can form inside it or where it meets a delimiter.
  let tag = "plz";
  while (text.includes(`$${tag}`)) tag += Math.floor(Math.random() * 10);
  return `$${tag}$${text}$${tag}$`;
}

/** Runs `fn` in a transaction as the user of `claims` (or as `anon` when `claims` is null). */
export function asUser<T>(db: Db, claims: Claims | null, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const role = claims?.role === "authenticated" ? "authenticated" : "anon";
    // One parameterless statement (simple protocol), not awaited before `fn` starts: both adapters
    // run a transaction's statements in the order they were issued, so postgres.js pipelines it
    // with fn's first query instead of paying a round trip. If it fails, so does that query.
    const setup = tx.exec(
      `select set_config('role', '${role}', true), set_config('request.jwt.claims', ${
        dollarQuote(JSON.stringify(claims ?? { role: "anon" }))
      }, true)`,
    );
    setup.catch(() => {}); // observed below; avoids an unhandled rejection if fn throws first
    try {
      return await fn(tx);
    } finally {
      await setup;
    }
  });
}

/** Runs `fn` in a transaction with the service role's rights (workers, webhooks, auth internals). */
export function asService<T>(db: Db, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query(
      "select set_config('role', 'service_role', true), set_config('request.jwt.claims', $1, true)",
      [JSON.stringify({ role: "service_role" })],
    );
    return await fn(tx);
  });
}
