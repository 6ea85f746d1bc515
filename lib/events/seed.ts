/** Demo events: a weekly games night, a talk with a waitlist, a members-only walk and an online meetup. */
import type { Claims } from "../db/as_user.ts";
import type { Db } from "../db/port.ts";
import { createEvent, type EventInput } from "./events.ts";
import { rsvp } from "./rsvps.ts";
import { wallClock, zonedToInstant } from "./zones.ts";

const claimsOf = (sub: string): Claims => ({ sub, role: "authenticated" });

/** `days` from today at `hour`:00 local time in Europe/Berlin. */
function localAt(days: number, hour: number): Date {
  const today = wallClock(new Date(Date.now() + days * 86_400_000), "Europe/Berlin");
  return zonedToInstant({ ...today, hour, minute: 0, second: 0 }, "Europe/Berlin");
}

/** Creates the demo events when there are none yet. */
export async function seedEvents(db: Db): Promise<void> {
  const [any] = await db.query("select 1 from public.events limit 1");
  if (any) return;
  const users = await db.query<{ id: string; email: string }>(
    "select id, lower(email) as email from auth.users where lower(email) like '%@plaza.local'",
  );
  const id = (email: string) => users.find((u) => u.email === email)?.id;
  const member = id("member@plaza.local"),
    partner = id("partner@plaza.local"),
    admin = id("admin@plaza.local");
  if (!member || !partner || !admin) return;
  const base = {
    description: "",
    venue: null,
    online_url: null,
    capacity: null,
    requires_approval: false,
    status: "published",
    recurrence: null,
    timezone: "Europe/Berlin",
  } satisfies Partial<EventInput>;
  const games = await createEvent(db, claimsOf(member), {
    ...base,
    title: "Board games night",
    description: "Bring a game or learn a new one. **Beginners welcome.** Tea and snacks provided.",
    category: "social",
    starts_at: localAt(2, 19),
    ends_at: localAt(2, 22),
    venue: { name: "Café Kranz", address: "Kranzstraße 12, Berlin", lat: 52.5213, lng: 13.4115 },
    capacity: 16,
    visibility: "public",
    recurrence: "FREQ=WEEKLY;COUNT=8",
  });
  const talk = await createEvent(db, claimsOf(admin), {
    ...base,
    title: "Neighbourhood repair café",
    description: "Bring something broken; volunteers help you fix it.\n\n- electronics\n- bikes\n- clothes",
    category: "volunteering",
    starts_at: localAt(5, 14),
    ends_at: localAt(5, 17),
    venue: { name: "Community hall", address: "Marktplatz 3, Berlin", lat: 52.515, lng: 13.402 },
    capacity: 2,
    visibility: "public",
  });
  await createEvent(db, claimsOf(member), {
    ...base,
    title: "Members' morning walk",
    description: "An easy 5 km loop along the canal.",
    category: "outdoors",
    starts_at: localAt(3, 8),
    ends_at: localAt(3, 10),
    venue: { name: "Canal bridge", address: "Landwehrkanal, Berlin", lat: 52.4985, lng: 13.4087 },
    visibility: "members",
  });
  await createEvent(db, claimsOf(admin), {
    ...base,
    title: "Plaza online town hall",
    description: "What we built this month and what comes next. Questions welcome.",
    category: "tech",
    starts_at: localAt(9, 18),
    ends_at: localAt(9, 19),
    online_url: "https://meet.example.org/plaza-town-hall",
    visibility: "public",
  });
  await rsvp(db, claimsOf(partner), games.event.id, "going");
  await rsvp(db, claimsOf(member), talk.event.id, "going");
  await rsvp(db, claimsOf(partner), talk.event.id, "going", 0);
  // The outbox rows (reminders) are sent by the event-outbox job once the server runs.
}
