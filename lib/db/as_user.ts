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

/** Runs `fn` in a transaction as the user of `claims` (or as `anon` when `claims` is null). */
export function asUser<T>(db: Db, claims: Claims | null, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const role = claims?.role === "authenticated" ? "authenticated" : "anon";
    await tx.query(
      "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)",
      [role, JSON.stringify(claims ?? { role: "anon" })],
    );
    return await fn(tx);
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
