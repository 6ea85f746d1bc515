/** Profiles: read and update the caller's profile, list members, all as the user (RLS decides). */
import type { Claims } from "./db/as_user.ts";
import { asUser } from "./db/as_user.ts";
import type { Db } from "./db/port.ts";
import { notFound } from "./errors.ts";

/** A profile as pages and the API show it. */
export interface Profile {
  id: string;
  name: string;
  bio: string;
  avatar_url: string | null;
  created_at: string;
}

/** Fields a user may change on their own profile. */
export interface ProfilePatch {
  name?: string;
  bio?: string;
  avatar_url?: string | null;
}

const columns = "id, name, bio, avatar_url, created_at";

function toProfile(row: Record<string, unknown>): Profile {
  return {
    id: row.id as string,
    name: row.name as string,
    bio: row.bio as string,
    avatar_url: (row.avatar_url as string | null) ?? null,
    created_at: new Date(row.created_at as string).toISOString(),
  };
}

/** The caller's own profile. */
export async function getOwnProfile(db: Db, claims: Claims): Promise<Profile> {
  const rows = await asUser(
    db,
    claims,
    (tx) => tx.query(`select ${columns} from public.profiles where id = auth.uid()`),
  );
  if (!rows[0]) throw notFound("Your profile does not exist.");
  return toProfile(rows[0]);
}

/** Updates the caller's profile; RLS allows only their own row. */
export async function updateOwnProfile(db: Db, claims: Claims, patch: ProfilePatch): Promise<Profile> {
  const sets: string[] = [];
  const params: unknown[] = [];
  for (const key of ["name", "bio", "avatar_url"] as const) {
    if (patch[key] === undefined) continue;
    params.push(patch[key]);
    sets.push(`${key} = $${params.length}`);
  }
  const rows = await asUser(
    db,
    claims,
    (tx) =>
      sets.length
        ? tx.query(
          `update public.profiles set ${sets.join(", ")} where id = auth.uid() returning ${columns}`,
          params,
        )
        : tx.query(`select ${columns} from public.profiles where id = auth.uid()`),
  );
  if (!rows[0]) throw notFound("Your profile does not exist.");
  return toProfile(rows[0]);
}

/** The newest members, for the home page. */
export async function recentMembers(db: Db, claims: Claims, limit = 12): Promise<Profile[]> {
  const rows = await asUser(
    db,
    claims,
    (tx) => tx.query(`select ${columns} from public.profiles order by created_at desc, id limit $1`, [limit]),
  );
  return rows.map(toProfile);
}
