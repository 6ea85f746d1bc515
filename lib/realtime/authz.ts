/**
 * Private-channel authorization the way Supabase Realtime does it: the RLS policies on
 * `realtime.messages` decide, evaluated as the user with `realtime.topic()` set to the channel's
 * topic. Select means the user may receive, insert means the user may send. Nothing is written:
 * the probe runs in a transaction that is always rolled back.
 */
import { dollarQuote } from "../db/as_user.ts";
import type { Db } from "../db/port.ts";
import type { RealtimeIdentity } from "./tokens.ts";

/** What a user may do on a private topic. */
export interface TopicAccess {
  read: boolean;
  write: boolean;
}

class Rollback extends Error {
  constructor(readonly access: TopicAccess) {
    super("rollback");
  }
}

/** Evaluates the policies for `topic` (without the `realtime:` prefix). */
export async function topicAccess(db: Db, identity: RealtimeIdentity, topic: string): Promise<TopicAccess> {
  if (identity.role === "service_role") return { read: true, write: true };
  try {
    await db.transaction(async (tx) => {
      // A probe row, written with the connection's own rights, that the user's SELECT may or may not see.
      const [probe] = await tx.query<{ id: string }>(
        `insert into realtime.messages (topic, extension, payload, event, private)
         values ($1, 'broadcast', '{}'::jsonb, 'plaza_authz_probe', true) returning id::text`,
        [topic],
      );
      const role = identity.role === "authenticated" ? "authenticated" : "anon";
      const claims = JSON.stringify(identity.claims ?? { role: "anon" });
      await tx.exec(
        `select set_config('role', '${role}', true), set_config('request.jwt.claims', ${
          dollarQuote(claims)
        }, true),
                set_config('realtime.topic', ${
          dollarQuote(topic)
        }, true), set_config('plaza.can_write', 'false', true)`,
      );
      const [seen] = await tx.query<{ n: number }>(
        "select count(*)::int as n from realtime.messages where id = $1::uuid",
        [
          probe.id,
        ],
      );
      await tx.exec(`do $probe$ begin
        insert into realtime.messages (topic, extension, payload, event, private)
        values (realtime.topic(), 'broadcast', '{}'::jsonb, 'plaza_authz_probe', true);
        perform set_config('plaza.can_write', 'true', true);
      exception when others then
        perform set_config('plaza.can_write', 'false', true);
      end $probe$`);
      const [w] = await tx.query<{ w: string }>("select current_setting('plaza.can_write', true) as w");
      throw new Rollback({ read: seen.n > 0, write: w.w === "true" });
    });
  } catch (err) {
    if (err instanceof Rollback) return err.access;
    throw err;
  }
  return { read: false, write: false };
}
