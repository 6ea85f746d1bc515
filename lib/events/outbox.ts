/**
 * The events outbox: rows written by triggers in the transaction of an RSVP or event change become
 * notifications and reminder jobs here. The API flushes after its commit; the `event-outbox` job
 * flushes what a crash left. Everything is idempotent (notification dedup keys carry the outbox id,
 * reminder jobs carry the event's start), so a row handled twice changes nothing.
 */
import type { Db } from "../db/port.ts";
import type { Jobs } from "../jobs/port.ts";
import type { Logger } from "../log.ts";
import { notify, type NotifyDeps, notifyMany } from "../notify/notify.ts";
import { formatWhen } from "./zones.ts";

/** The reminder job's name. */
export const REMINDER_JOB = "event-reminder";
/** The outbox job's name. */
export const OUTBOX_JOB = "event-outbox";
/** Reminders before each occurrence. */
export const REMINDERS = { "24h": 24 * 3600_000, "1h": 3600_000 } as const;
/** A reminder kind. */
export type ReminderKind = keyof typeof REMINDERS;

/** The dedup id of one reminder (it changes with the start time, so a moved event gets new ones). */
export const reminderId = (eventId: string, userId: string, kind: ReminderKind, startsAt: string) =>
  `event-reminder:${eventId}:${userId}:${kind}:${Date.parse(startsAt)}`;

interface EventRow {
  id: string;
  title: string;
  starts_at: string;
  ends_at: string;
  timezone: string;
  status: string;
}

/** Queues the reminders still ahead for these people. */
export async function scheduleReminders(
  jobs: Jobs,
  event: EventRow,
  userIds: string[],
  now = Date.now(),
): Promise<number> {
  let queued = 0;
  if (event.status !== "published") return 0;
  for (const userId of userIds) {
    for (const [kind, before] of Object.entries(REMINDERS) as [ReminderKind, number][]) {
      const at = Date.parse(event.starts_at) - before;
      if (at <= now) continue;
      const id = await jobs.enqueue(
        REMINDER_JOB,
        { event_id: event.id, user_id: userId, kind, starts_at: event.starts_at },
        { notBefore: new Date(at), dedupId: reminderId(event.id, userId, kind, event.starts_at) },
      );
      if (id) queued++;
    }
  }
  return queued;
}

/** Withdraws reminders (best effort: a reminder that runs anyway checks and does nothing). */
async function cancelReminders(jobs: Jobs, eventId: string, userIds: string[], startsAt: string) {
  for (const userId of userIds) {
    for (const kind of Object.keys(REMINDERS) as ReminderKind[]) {
      await jobs.cancel(reminderId(eventId, userId, kind, startsAt)).catch(() => false);
    }
  }
}

const eventData = (e: EventRow) => ({
  event_id: e.id,
  title: e.title,
  when: formatWhen(new Date(e.starts_at), new Date(e.ends_at), e.timezone).slice(0, 120),
});

/** People of an event in the given states. */
async function peopleIn(db: Db, eventId: string, states: string[]): Promise<string[]> {
  const rows = await db.query<{ user_id: string }>(
    "select user_id from public.event_rsvps where event_id = $1 and state = any($2::text[])",
    [eventId, states],
  );
  return rows.map((r) => r.user_id);
}

/** What flushing needs. */
export type OutboxDeps = NotifyDeps & { jobs: Jobs; log: Logger };

/** How long a flusher owns the rows it claimed before another may take them over. */
export const CLAIM_SECONDS = 60;

/** Rows a request flushes after its write (the `event-outbox` job takes up to 500 a minute). */
export const REQUEST_FLUSH_LIMIT = 50;

/**
 * Handles unhandled outbox rows (oldest first, up to `limit`); returns how many. Concurrent
 * flushers (every API write flushes) claim disjoint rows, so each row is worked on once; rows of a
 * flusher that died are taken over after {@link CLAIM_SECONDS}.
 */
export async function flushOutbox(deps: OutboxDeps, limit = REQUEST_FLUSH_LIMIT): Promise<number> {
  const rows = await deps.db.query<Record<string, unknown>>(
    `with claimed as (
       update public.event_outbox set claimed_until = now() + make_interval(secs => $2)
       where id in (
         select id from public.event_outbox
         where done_at is null and (claimed_until is null or claimed_until < now())
         order by id limit $1 for update skip locked)
       returning *
     )
     select o.id, o.kind, o.user_id, o.data, e.id as event_id, e.title, e.starts_at, e.ends_at, e.timezone,
       e.status, (select state from public.event_rsvps r where r.event_id = o.event_id and r.user_id = o.user_id)
         as state
     from claimed o join public.events e on e.id = o.event_id
     order by o.id`,
    [limit, CLAIM_SECONDS],
  );
  for (const row of rows) {
    const event: EventRow = {
      id: row.event_id as string,
      title: row.title as string,
      starts_at: new Date(row.starts_at as string).toISOString(),
      ends_at: new Date(row.ends_at as string).toISOString(),
      timezone: row.timezone as string,
      status: row.status as string,
    };
    const userId = row.user_id as string | null;
    const dedupKey = `event-outbox:${row.id}`;
    const data = eventData(event);
    try {
      switch (row.kind) {
        case "going":
          await scheduleReminders(deps.jobs, event, [userId!]);
          break;
        case "left":
          await cancelReminders(deps.jobs, event.id, [userId!], event.starts_at);
          break;
        case "promoted":
          await notify(deps, userId!, { category: "events", template: "events.promoted", data, dedupKey });
          await scheduleReminders(deps.jobs, event, [userId!]);
          break;
        case "approved": {
          const state = row.state === "going" ? "going" : "waitlisted";
          await notify(deps, userId!, {
            category: "events",
            template: "events.approved",
            data: { ...data, state },
            dedupKey,
          });
          if (state === "going") await scheduleReminders(deps.jobs, event, [userId!]);
          break;
        }
        case "declined":
          await notify(deps, userId!, { category: "events", template: "events.declined", data, dedupKey });
          break;
        case "changed": {
          const going = await peopleIn(deps.db, event.id, ["going"]);
          const previous = (row.data as { previous_starts_at?: string } | null)?.previous_starts_at;
          if (previous && previous !== event.starts_at) {
            await cancelReminders(deps.jobs, event.id, going, previous);
          }
          await scheduleReminders(deps.jobs, event, going);
          const told = await peopleIn(deps.db, event.id, ["going", "waitlisted", "pending"]);
          if (event.status === "published") {
            await notifyMany(deps, told, { category: "events", template: "events.changed", data, dedupKey });
          }
          break;
        }
        case "cancelled": {
          const going = await peopleIn(deps.db, event.id, ["going"]);
          await cancelReminders(deps.jobs, event.id, going, event.starts_at);
          const told = await peopleIn(deps.db, event.id, ["going", "waitlisted", "pending"]);
          await notifyMany(deps, told, {
            category: "events",
            template: "events.cancelled",
            data,
            dedupKey,
            critical: true,
          });
          break;
        }
      }
      await deps.db.query("update public.event_outbox set done_at = now() where id = $1", [row.id]);
    } catch (err) {
      // Claimed for CLAIM_SECONDS, then the next flush (the job runs every minute) tries again.
      deps.log.warn("event outbox row failed", { err, outbox_id: row.id });
    }
  }
  return rows.length;
}

/** Sends one reminder if it is still true: the event is on at that time and the person is going. */
export async function sendReminder(
  deps: NotifyDeps,
  p: { event_id: string; user_id: string; kind: ReminderKind; starts_at: string },
): Promise<"sent" | "skipped"> {
  const [row] = await deps.db.query<Record<string, unknown>>(
    `select e.id, e.title, e.starts_at, e.ends_at, e.timezone, e.status, r.state
     from public.events e left join public.event_rsvps r on r.event_id = e.id and r.user_id = $2
     where e.id = $1`,
    [p.event_id, p.user_id],
  );
  if (!row || row.status !== "published" || row.state !== "going") return "skipped";
  const startsAt = new Date(row.starts_at as string).toISOString();
  if (startsAt !== new Date(p.starts_at).toISOString()) return "skipped"; // moved: newer reminders exist
  if (Date.parse(startsAt) <= Date.now()) return "skipped";
  const event: EventRow = {
    id: row.id as string,
    title: row.title as string,
    starts_at: startsAt,
    ends_at: new Date(row.ends_at as string).toISOString(),
    timezone: row.timezone as string,
    status: "published",
  };
  await notify(deps, p.user_id, {
    category: "events",
    template: "events.reminder",
    data: { ...eventData(event), kind: p.kind },
    dedupKey: reminderId(p.event_id, p.user_id, p.kind, startsAt),
  });
  return "sent";
}
