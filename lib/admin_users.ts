/** Admin user management through the admin-only SQL functions, called as the admin. */
import type { Role } from "./auth/service.ts";
import { asUser, type Claims } from "./db/as_user.ts";
import type { Db } from "./db/port.ts";
import { isoOrNull } from "./dates.ts";

/** A user as the admin list shows it. */
export interface AdminUserRow {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  created_at: string;
  last_sign_in_at: string | null;
}

/** Users ordered by email, after the `after` email (keyset), at most `limit`. */
export async function listUsers(
  db: Db,
  claims: Claims,
  opts: { after?: string; limit: number },
): Promise<AdminUserRow[]> {
  const rows = await asUser(
    db,
    claims,
    (tx) =>
      tx.query<Record<string, unknown>>("select * from public.admin_list_users($1, $2)", [
        opts.after ?? null,
        opts.limit,
      ]),
  );
  return rows.map((r) => ({
    id: r.id as string,
    email: r.email as string,
    name: r.name as string | null,
    role: r.role as Role,
    created_at: isoOrNull(r.created_at)!,
    last_sign_in_at: isoOrNull(r.last_sign_in_at),
  }));
}

/** Sets a user's role; effective in their next access token. */
export async function setUserRole(
  db: Db,
  claims: Claims,
  userId: string,
  role: Role,
): Promise<{ id: string; email: string; role: Role }> {
  const [row] = await asUser(
    db,
    claims,
    (tx) =>
      tx.query<{ id: string; email: string; role: Role }>(
        "select * from public.admin_set_user_role($1, $2)",
        [
          userId,
          role,
        ],
      ),
  );
  return row;
}
