/** Demo chat: a public room everyone is in, a private dispatch room, and a DM, with a few messages. */
import type { Db, Queryable } from "../db/port.ts";

async function userId(tx: Queryable, email: string): Promise<string | undefined> {
  const [row] = await tx.query<{ id: string }>("select id from auth.users where lower(email) = $1", [email]);
  return row?.id;
}

async function post(tx: Queryable, roomId: string, userId: string, body: string): Promise<void> {
  await tx.query(
    "insert into public.messages (room_id, user_id, body, client_id) values ($1, $2, $3, $4)",
    [roomId, userId, body, `seed-${crypto.randomUUID()}`],
  );
}

/** Creates the demo rooms when there are no rooms yet. */
export async function seedChat(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    const [any] = await tx.query("select 1 from public.rooms limit 1");
    if (any) return;
    const member = await userId(tx, "member@plaza.local");
    const partner = await userId(tx, "partner@plaza.local");
    const admin = await userId(tx, "admin@plaza.local");
    if (!member || !partner || !admin) return;
    const room = async (kind: string, name: string, topic: string, owner: string, others: string[]) => {
      const [r] = await tx.query<{ id: string }>(
        "insert into public.rooms (kind, name, topic, created_by) values ($1, $2, $3, $4) returning id",
        [kind, name, topic, owner],
      );
      for (const u of others) {
        await tx.query("insert into public.room_members (room_id, user_id) values ($1, $2)", [r.id, u]);
      }
      return r.id;
    };
    const general = await room("public", "General", "Say hello, ask anything.", admin, [member, partner]);
    await post(tx, general, admin, "Welcome to Plaza! This is the room everyone can join.");
    await post(tx, general, member, "Hi all 👋 Anyone going to the market on Saturday?");
    await post(tx, general, partner, "I'll be delivering around there in the morning.");
    await room("public", "Events", "Plans, meetups and RSVPs.", member, []);
    const dispatch = await room("private", "Dispatch", "Partners and admins.", admin, [partner]);
    await post(tx, dispatch, admin, "Morning! Three pickups in the centre today.");
    const [dm] = await tx.query<{ id: string }>(
      "insert into public.rooms (kind, name, created_by, dm_key) values ('dm', 'Direct message', $1, $2) returning id",
      [admin, [admin, member].sort().join(":")],
    );
    await tx.query("insert into public.room_members (room_id, user_id) values ($1, $2), ($1, $3)", [
      dm.id,
      admin,
      member,
    ]);
    await post(tx, dm.id, admin, `Hi Mira, welcome aboard. Ping me here if anything is unclear.`);
  });
}
