/**
 * Editing events: "this occurrence" changes one row; "this and following" changes every later
 * occurrence too and, when the time or the rule changes, re-expands the rest of the series from this
 * occurrence (later occurrences are matched to the new dates in order and keep their RSVPs).
 */
import { asUser, type Claims } from "../db/as_user.ts";
import type { Db, Queryable } from "../db/port.ts";
import { AppError, conflict, unprocessable } from "../errors.ts";
import {
  checkedRule,
  checkTimes,
  coverError,
  type EventInput,
  insertOccurrences,
  occurrenceStarts,
  randomToken,
  requireEvent,
  requireOrganizer,
} from "./events.ts";
import type { EventView } from "./views.ts";

/** The fields an edit may change (all optional). */
export type EventPatch = Partial<Omit<EventInput, "client_id">>;

/** Column values for the plain (non-time) fields of a patch. */
function plainColumns(p: EventPatch): Record<string, unknown> {
  const cols: Record<string, unknown> = {};
  if (p.title !== undefined) cols.title = p.title;
  if (p.description !== undefined) cols.description = p.description;
  if (p.category !== undefined) cols.category = p.category;
  if (p.venue !== undefined) {
    cols.venue_name = p.venue?.name ?? null;
    cols.venue_address = p.venue ? p.venue.address : null;
    cols.lat = p.venue?.lat ?? null;
    cols.lng = p.venue?.lng ?? null;
  }
  if (p.online_url !== undefined) cols.online_url = p.online_url;
  if (p.capacity !== undefined) cols.capacity = p.capacity;
  if (p.visibility !== undefined) cols.visibility = p.visibility;
  if (p.requires_approval !== undefined) cols.requires_approval = p.requires_approval;
  if (p.status !== undefined) cols.status = p.status;
  if (p.cover_media_id !== undefined) cols.cover_media_id = p.cover_media_id;
  return cols;
}

/** `update public.events set … where <where>` for the given columns; returns the ids changed. */
async function updateRows(
  tx: Queryable,
  cols: Record<string, unknown>,
  where: string,
  whereParams: unknown[],
): Promise<string[]> {
  const names = Object.keys(cols);
  if (!names.length) return [];
  const params = [...whereParams];
  const sets = names.map((n) => {
    params.push(cols[n]);
    return `${n} = $${params.length}`;
  });
  const rows = await tx.query<{ id: string }>(
    `update public.events set ${sets.join(", ")} where ${where} returning id`,
    params,
  ).catch(coverError);
  return rows.map((r) => r.id);
}

/** The rule for the rest of a series that starts at occurrence `index` (a COUNT shrinks by `index`). */
export function ruleFrom(rule: string, index: number): string {
  return rule.replace(/(^|;)COUNT=(\d+)/, (_m, pre, n) => `${pre}COUNT=${Math.max(Number(n) - index, 1)}`);
}

/** The rule for the part of a series that ends before `until` (COUNT is replaced by UNTIL). */
export function ruleUntil(rule: string, until: Date): string {
  const stamp = new Date(until.getTime() - 1000).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const kept = rule.split(";").filter((part) => !/^(COUNT|UNTIL)=/.test(part));
  return [...kept, `UNTIL=${stamp}`].join(";");
}

/** Edits an event (`scope` "this") or it and every later occurrence (`scope` "following"). */
export async function updateEvent(
  db: Db,
  claims: Claims,
  id: string,
  patch: EventPatch,
  scope: "this" | "following",
): Promise<{ event: EventView; updated: number }> {
  return await asUser(db, claims, async (tx) => {
    const event = await requireOrganizer(tx, id, claims);
    // Lock this occurrence and every later one, so concurrent edits and RSVPs queue up behind us.
    const later = await tx.query<Record<string, unknown>>(
      `select id, occurrence, starts_at, going_seats, going_count + waitlist_count + pending_count + maybe_count
         as answered
       from public.events
       where series_id = $1 and (id = $2 or ($3 and starts_at >= $4 and status <> 'cancelled'))
       order by starts_at, id for update`,
      [event.series_id, id, scope === "following", event.starts_at],
    );
    if (event.status === "cancelled") throw conflict("The event was cancelled.", "event_cancelled");
    if (patch.status === "draft" && event.status === "published") {
      throw conflict("A published event cannot go back to draft; cancel it instead.", "already_published");
    }
    if (patch.capacity != null) {
      const over = later.find((r) => Number(r.going_seats) > patch.capacity!);
      if (over) {
        throw new AppError(
          409,
          "capacity_below_going",
          `${over.going_seats} seats are taken; the capacity cannot go below that.`,
          { going_seats: Number(over.going_seats) },
        );
      }
    }
    const starts = patch.starts_at ?? new Date(event.starts_at);
    const ends = patch.ends_at ??
      (patch.starts_at
        ? new Date(patch.starts_at.getTime() + Date.parse(event.ends_at) - Date.parse(event.starts_at))
        : new Date(event.ends_at));
    const timezone = patch.timezone ?? event.timezone;
    const timeChanged = patch.starts_at !== undefined || patch.ends_at !== undefined ||
      patch.timezone !== undefined;
    if (timeChanged) checkTimes(starts, ends, timezone);
    const venueAfter = patch.venue !== undefined ? patch.venue : event.venue;
    const onlineAfter = patch.online_url !== undefined ? patch.online_url : event.online_url;
    if (!venueAfter && !onlineAfter) {
      throw unprocessable("An event needs a venue or an online URL.", [
        { path: "venue", message: "Give a venue or an online_url." },
      ]);
    }

    const cols = plainColumns(patch);
    // Whoever saw the old token (it was shared with no one while the event was not invite-only,
    // but organizers change) must not carry it into an invite-only event.
    if (patch.visibility === "invite" && event.visibility !== "invite") cols.invite_token = randomToken();
    let updated: string[];
    if (scope === "this") {
      if (patch.recurrence !== undefined) {
        throw unprocessable('recurrence: change the rule with scope "following".', [
          { path: "recurrence", message: 'Only with scope "following".' },
        ]);
      }
      if (timeChanged) Object.assign(cols, { starts_at: starts, ends_at: ends, timezone });
      updated = await updateRows(tx, cols, "id = $1", [id]);
    } else if (!timeChanged && patch.recurrence === undefined) {
      updated = await updateRows(tx, cols, "id = any($1::uuid[])", [later.map((r) => r.id)]);
    } else {
      updated = await reexpand(tx, claims, event, later, patch, cols, { starts, ends, timezone });
    }
    if (patch.capacity !== undefined && updated.length) {
      for (const eventId of updated) await tx.query("select public.event_fill_seats($1)", [eventId]);
    }
    return { event: await requireEvent(tx, id, claims), updated: updated.length };
  });
}

/** Re-expands the series from `event` on with the new time and/or rule. */
async function reexpand(
  tx: Queryable,
  claims: Claims,
  event: EventView,
  later: Record<string, unknown>[],
  patch: EventPatch,
  cols: Record<string, unknown>,
  time: { starts: Date; ends: Date; timezone: string },
): Promise<string[]> {
  const [series] = await tx.query<{ rrule: string | null }>(
    "select rrule from public.event_series where id = $1",
    [event.series_id],
  );
  const oldRule = series.rrule;
  const newRule = patch.recurrence !== undefined
    ? checkedRule(patch.recurrence)
    : oldRule && ruleFrom(oldRule, event.occurrence);
  const starts = occurrenceStarts(newRule, time.starts, time.timezone);
  const duration = time.ends.getTime() - time.starts.getTime();

  // The occurrences from here on form a series of their own; the earlier ones keep the old rule,
  // now ending before this occurrence. The first occurrence carries the whole series.
  let seriesId = event.series_id;
  if (event.occurrence > 0 || (await earlierCount(tx, event)) > 0) {
    seriesId = crypto.randomUUID();
    await tx.query("insert into public.event_series (id, created_by, rrule) values ($1, $2, $3)", [
      seriesId,
      claims.sub,
      newRule,
    ]);
    await tx.query(
      `insert into public.event_organizers (series_id, user_id)
       select $1, user_id from public.event_organizers where series_id = $2`,
      [seriesId, event.series_id],
    );
    if (oldRule) {
      await tx.query("update public.event_series set rrule = $2 where id = $1", [
        event.series_id,
        ruleUntil(oldRule, new Date(event.starts_at)),
      ]);
    }
  } else {
    await tx.query("update public.event_series set rrule = $2 where id = $1", [seriesId, newRule]);
  }

  const changed: string[] = [];
  const matched = Math.min(later.length, starts.length);
  for (let i = 0; i < matched; i++) {
    const start = starts[i];
    await updateRows(
      tx,
      {
        ...cols,
        series_id: seriesId,
        occurrence: i,
        starts_at: start,
        ends_at: new Date(start.getTime() + duration),
        timezone: time.timezone,
      },
      "id = $1",
      [later[i].id],
    );
    changed.push(later[i].id as string);
  }
  // Occurrences the new rule no longer has: gone when nobody answered, otherwise cancelled.
  for (const row of later.slice(matched)) {
    if (Number(row.answered) === 0) {
      await tx.query("delete from public.events where id = $1", [row.id]);
    } else {
      await tx.query(
        "update public.events set status = 'cancelled', cancelled_at = now(), series_id = $2 where id = $1",
        [row.id, seriesId],
      );
    }
  }
  if (starts.length > matched) {
    const current = await requireEvent(tx, later[0].id as string, claims);
    const [token] = await tx.query<{ invite_token: string | null }>(
      "select public.event_invite_token($1) as invite_token",
      [later[0].id],
    );
    const base = {
      title: current.title,
      description: current.description,
      category: current.category,
      timezone: time.timezone,
      venue: current.venue,
      online_url: current.online_url,
      capacity: current.capacity,
      visibility: current.visibility,
      requires_approval: current.requires_approval,
      status: current.status === "draft" ? "draft" as const : "published" as const,
      cover_media_id: current.cover?.id ?? null,
    };
    const ids = await insertOccurrences(
      tx,
      seriesId,
      base,
      starts.slice(matched),
      duration,
      token?.invite_token ?? randomToken(),
      matched,
    );
    changed.push(...ids);
  }
  return changed;
}

async function earlierCount(tx: Queryable, event: EventView): Promise<number> {
  const [row] = await tx.query<{ n: number }>(
    "select count(*)::int as n from public.events where series_id = $1 and starts_at < $2",
    [event.series_id, event.starts_at],
  );
  return Number(row.n);
}
