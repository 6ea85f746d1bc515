/**
 * `/events/new`, `/events/:id/edit` and `/events/:id/cancel`: the organizer's forms, plain HTML
 * without JavaScript. Start and end are `datetime-local` wall times read in the chosen time zone. A
 * form that fails validation comes back with status 422, everything the person typed, and each
 * message beside its field.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  EventForm,
  type EventFormValues,
  type FieldErrors,
  REPEAT_PRESETS,
} from "@/components/EventForm.tsx";
import { type EventPatch, updateEvent } from "@/lib/events/edit.ts";
import { cancelEvent, checkedRule, createEvent, type EventInput } from "@/lib/events/events.ts";
import { CATEGORIES, type EventView } from "@/lib/events/views.ts";
import { formatWhen, isTimeZone, localIso, parseLocalIso } from "@/lib/events/zones.ts";
import { AppError } from "@/lib/errors.ts";
import { eventParam, eventRules, flushEvents, organizerEvent, signInRedirect } from "../events_shared.ts";
import { rateLimit } from "../rate_limit.ts";
import type { AppEnv } from "../env.ts";
import { renderPage } from "../render.tsx";
import { requireUser } from "../session.ts";
import { check, type FieldIssue, readForm, text } from "../validate.ts";

// The form sends strings: numbers, checkboxes and wall times are converted here; the rules are the
// JSON API's (routes/api/events.ts), and lib/events checks the rest.

/** An optional number field: empty is null. */
const numberOrNull = (min: number, max: number, integer = false) =>
  z.string().trim().default("").transform((s, ctx) => {
    if (s === "") return null;
    const n = Number(s);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      ctx.addIssue({ code: "custom", message: integer ? "Enter a whole number." : "Enter a number." });
      return z.NEVER;
    }
    if (n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `Enter a number from ${min} to ${max}.` });
      return z.NEVER;
    }
    return n;
  });

const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;
const wallTime = z.string().trim().regex(LOCAL_TIME, "Enter a date and a time.");
const PRESET_FREQ: Record<string, string> = {
  daily: "FREQ=DAILY",
  weekly: "FREQ=WEEKLY",
  biweekly: "FREQ=WEEKLY;INTERVAL=2",
  monthly: "FREQ=MONTHLY",
};

const formSchema = z.object({
  title: text(1, 120).transform((s) => s.trim()),
  description: text(0, 10000).default(""),
  category: z.enum(CATEGORIES, { error: "Choose a category." }),
  starts_at: wallTime,
  ends_at: wallTime,
  timezone: z.string().max(64).refine(isTimeZone, "Unknown time zone."),
  venue_name: text(0, 120).default("").transform((s) => s.trim()),
  venue_address: text(0, 300).default("").transform((s) => s.trim()),
  venue_lat: numberOrNull(-90, 90),
  venue_lng: numberOrNull(-180, 180),
  online_url: z.string().trim().max(2048).default("").refine(
    (s) => s === "" || z.url({ protocol: /^https?$/ }).safeParse(s).success,
    "Enter a web address starting with http:// or https://.",
  ),
  capacity: numberOrNull(1, 100000, true),
  visibility: z.enum(["public", "members", "invite"], { error: "Choose who can see it." }),
  requires_approval: z.string().optional(),
  status: z.enum(["draft", "published"], { error: "Choose a status." }),
  repeat: z.enum(REPEAT_PRESETS.map(([v]) => v), { error: "Choose how it repeats." }).default("none"),
  repeat_count: z.string().trim().default(""),
  rrule: z.string().trim().max(500, "At most 500 characters.").default(""),
  // Written by the cover picker (islands/CoverPicker.tsx): a media id, "" for none; absent leaves it.
  cover_media_id: z.string().trim().refine(
    (s) => s === "" || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
    "Choose the image again.",
  ).optional(),
}).transform((v, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  const starts = parseLocalIso(v.starts_at, v.timezone);
  const ends = parseLocalIso(v.ends_at, v.timezone);
  if (!starts) issue("starts_at", "Enter a valid date and time.");
  if (!ends) issue("ends_at", "Enter a valid date and time.");
  if (starts && ends && ends <= starts) issue("ends_at", "Must be after the start.");
  if ((v.venue_lat === null) !== (v.venue_lng === null)) {
    issue(v.venue_lat === null ? "venue_lat" : "venue_lng", "Give both latitude and longitude, or neither.");
  }
  if (!v.venue_name && (v.venue_address || v.venue_lat !== null)) {
    issue("venue_name", "Name the venue, or leave its address and coordinates empty.");
  }
  if (!v.venue_name && !v.online_url) issue("venue_name", "Give a venue, an online link, or both.");
  let recurrence: string | null = null;
  if (v.repeat === "custom") {
    if (!v.rrule) issue("rrule", "Enter a rule, e.g. FREQ=WEEKLY;COUNT=8.");
    recurrence = v.rrule || null;
  } else if (v.repeat !== "none") {
    const count = Number(v.repeat_count);
    if (!/^\d+$/.test(v.repeat_count) || count < 2 || count > 500) {
      issue("repeat_count", "Enter how many times: 2 to 500.");
    }
    recurrence = `${PRESET_FREQ[v.repeat]};COUNT=${count}`;
  }
  if (!starts || !ends) return z.NEVER;
  return {
    title: v.title,
    description: v.description,
    category: v.category,
    starts_at: starts,
    ends_at: ends,
    timezone: v.timezone,
    venue: v.venue_name
      ? { name: v.venue_name, address: v.venue_address, lat: v.venue_lat, lng: v.venue_lng }
      : null,
    online_url: v.online_url || null,
    capacity: v.capacity,
    visibility: v.visibility,
    requires_approval: v.requires_approval === "on",
    status: v.status,
    recurrence,
    cover_media_id: v.cover_media_id === undefined ? undefined : v.cover_media_id || null,
  } satisfies EventInput;
});

const formValues = z.record(z.string(), z.string());
const scopeSchema = z.enum(["this", "following"]).catch("this");

/** Where the backend's error paths show up in the form. */
const PATH_TO_FIELD: Record<string, string> = {
  venue: "venue_name",
  "venue.name": "venue_name",
  "venue.address": "venue_address",
  recurrence: "repeat",
};

/** One message per field from 422 details (the first one wins). */
function fieldErrors(err: AppError, values: EventFormValues): FieldErrors {
  const out: FieldErrors = {};
  const details = Array.isArray(err.details) ? err.details as FieldIssue[] : [];
  for (const d of details) {
    let field = PATH_TO_FIELD[d.path] ?? d.path;
    if (field === "repeat" && values.repeat === "custom") field = "rrule";
    else if (field === "repeat" && values.repeat !== "none") field = "repeat_count";
    out[field] ??= field !== d.path && d.message.startsWith("Only with scope")
      ? "A new repetition needs “This and following occurrences”."
      : d.message;
  }
  if (!Object.keys(out).length) out.form = err.message;
  return out;
}

/** The preset and count that show an existing rule, or the custom field. */
function repeatValues(rule: string | null): Pick<EventFormValues, "repeat" | "repeat_count" | "rrule"> {
  if (!rule) return { repeat: "none", repeat_count: "8", rrule: "" };
  for (const [preset, freq] of Object.entries(PRESET_FREQ)) {
    const m = new RegExp(`^${freq};COUNT=(\\d+)$`).exec(rule);
    if (m) return { repeat: preset, repeat_count: m[1], rrule: "" };
  }
  return { repeat: "custom", repeat_count: "8", rrule: rule };
}

/** The form values of an existing event. */
function valuesOf(e: EventView): EventFormValues {
  return {
    title: e.title,
    description: e.description,
    category: e.category,
    starts_at: localIso(new Date(e.starts_at), e.timezone),
    ends_at: localIso(new Date(e.ends_at), e.timezone),
    timezone: e.timezone,
    venue_name: e.venue?.name ?? "",
    venue_address: e.venue?.address ?? "",
    venue_lat: e.venue?.lat?.toString() ?? "",
    venue_lng: e.venue?.lng?.toString() ?? "",
    online_url: e.online_url ?? "",
    capacity: e.capacity?.toString() ?? "",
    visibility: e.visibility,
    requires_approval: e.requires_approval ? "on" : "",
    status: e.status === "draft" ? "draft" : "published",
    ...repeatValues(e.recurrence),
    scope: "this",
    cover_media_id: e.cover?.id ?? "",
  };
}

/** Defaults of a new event: tomorrow evening, UTC. */
function newValues(): EventFormValues {
  const day = new Date(Date.now() + 24 * 3600_000).toISOString().slice(0, 10);
  return {
    title: "",
    description: "",
    category: "social",
    starts_at: `${day}T18:00`,
    ends_at: `${day}T20:00`,
    timezone: "UTC",
    visibility: "public",
    status: "published",
    repeat: "none",
    repeat_count: "8",
    cover_media_id: "",
  };
}

/** Only the fields that differ from the event, so an edit touches nothing else. */
function patchOf(e: EventView, input: EventInput): EventPatch {
  const patch: EventPatch = {};
  if (input.title !== e.title) patch.title = input.title;
  if (input.description !== e.description) patch.description = input.description;
  if (input.category !== e.category) patch.category = input.category;
  if (input.starts_at.getTime() !== Date.parse(e.starts_at)) patch.starts_at = input.starts_at;
  if (input.ends_at.getTime() !== Date.parse(e.ends_at)) patch.ends_at = input.ends_at;
  if (input.timezone !== e.timezone) patch.timezone = input.timezone;
  if (JSON.stringify(input.venue) !== JSON.stringify(e.venue)) patch.venue = input.venue;
  if (input.online_url !== e.online_url) patch.online_url = input.online_url;
  if (input.capacity !== e.capacity) patch.capacity = input.capacity;
  if (input.visibility !== e.visibility) patch.visibility = input.visibility;
  if (input.requires_approval !== e.requires_approval) patch.requires_approval = input.requires_approval;
  if (input.status !== e.status) patch.status = input.status;
  // Compared in canonical form; a rule that does not parse is sent on and reported by updateEvent.
  let rule = input.recurrence;
  try {
    rule = checkedRule(input.recurrence);
  } catch { /* reported by updateEvent */ }
  if (rule !== e.recurrence) patch.recurrence = input.recurrence;
  // An absent field (a client without the picker) leaves the cover alone.
  if (input.cover_media_id !== undefined && input.cover_media_id !== (e.cover?.id ?? null)) {
    patch.cover_media_id = input.cover_media_id;
  }
  return patch;
}

function NewPage(props: { values: EventFormValues; errors?: FieldErrors }) {
  const { form, ...errors } = props.errors ?? {};
  return (
    <section class="card form-card">
      <h1>New event</h1>
      <EventForm action="/events/new" mode="new" values={props.values} errors={errors} alert={form} />
    </section>
  );
}

function EditPage(props: { event: EventView; values: EventFormValues; errors?: FieldErrors }) {
  const e = props.event;
  const { form, ...errors } = props.errors ?? {};
  return (
    <section class="card form-card">
      <p class="org-crumbs">
        <a href={`/events/${e.id}`}>← {e.title}</a>
      </p>
      <h1>Edit event</h1>
      {e.status === "cancelled"
        ? <p class="alert" role="alert">This event was cancelled; it can no longer be changed.</p>
        : (
          <>
            <EventForm
              action={`/events/${e.id}/edit`}
              mode="edit"
              values={props.values}
              errors={errors}
              alert={form}
              recurring={!!e.recurrence}
              published={e.status === "published"}
              cover={e.cover}
            />
            <p class="org-danger-zone">
              <a href={`/events/${e.id}/cancel`}>Cancel this event…</a>
            </p>
          </>
        )}
    </section>
  );
}

/** Statuses a form re-renders with instead of an error page (the person keeps their input). */
const RERENDER = new Set([409, 422]);

/** `/events/new`, `/events/:id/edit`, `/events/:id/cancel`. */
export const eventFormPages = new Hono<AppEnv>()
  .get("/events/new", (c) => {
    if (!c.var.claims) return signInRedirect(c);
    return renderPage(c, <NewPage values={newValues()} />, { title: "New event" });
  })
  .post("/events/new", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const values = await readForm(c, formValues);
    try {
      const input = check(formSchema, values, "form");
      await rateLimit(c, eventRules.create, claims.sub);
      const { event } = await createEvent(c.var.platform.db, claims, input);
      await flushEvents(c);
      return c.redirect(`/events/${event.id}`, 303);
    } catch (err) {
      if (!(err instanceof AppError) || !RERENDER.has(err.status)) throw err;
      return renderPage(c, <NewPage values={values} errors={fieldErrors(err, values)} />, {
        title: "New event",
        status: err.status,
      });
    }
  })
  .get("/events/:id/edit", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const event = await organizerEvent(c, eventParam(c));
    return renderPage(c, <EditPage event={event} values={valuesOf(event)} />, {
      title: `Edit ${event.title}`,
    });
  })
  .post("/events/:id/edit", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const id = eventParam(c);
    const event = await organizerEvent(c, id);
    const values = await readForm(c, formValues);
    try {
      const input = check(formSchema, values, "form");
      const patch = patchOf(event, input);
      // A one-off that gets a rule becomes a series from here on.
      const scope = event.recurrence
        ? scopeSchema.parse(values.scope)
        : patch.recurrence
        ? "following"
        : "this";
      if (Object.keys(patch).length) {
        await rateLimit(c, eventRules.write, claims.sub);
        await updateEvent(c.var.platform.db, claims, id, patch, scope);
        await flushEvents(c);
      }
      return c.redirect(`/events/${id}`, 303);
    } catch (err) {
      if (!(err instanceof AppError) || !RERENDER.has(err.status)) throw err;
      return renderPage(c, <EditPage event={event} values={values} errors={fieldErrors(err, values)} />, {
        title: `Edit ${event.title}`,
        status: err.status,
      });
    }
  })
  .get("/events/:id/cancel", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const e = await organizerEvent(c, eventParam(c));
    return renderPage(
      c,
      <section class="card narrow">
        <p class="org-crumbs">
          <a href={`/events/${e.id}`}>← {e.title}</a>
        </p>
        <h1>Cancel this event?</h1>
        <p>
          <strong>{e.title}</strong>
          <br />
          <span class="muted">{formatWhen(new Date(e.starts_at), new Date(e.ends_at), e.timezone)}</span>
        </p>
        {e.status === "cancelled"
          ? <p class="notice" role="status">This event is already cancelled.</p>
          : (
            <form method="post" action={`/events/${e.id}/cancel`} class="stack">
              <p>
                Everyone going, waitlisted or waiting for approval is notified. Cancelling cannot be undone.
              </p>
              {e.recurrence && (
                <fieldset class="org-choice">
                  <legend>Cancel</legend>
                  <label class="org-check">
                    <input type="radio" name="scope" value="this" checked />
                    <span>Only this occurrence</span>
                  </label>
                  <label class="org-check">
                    <input type="radio" name="scope" value="following" />
                    <span>This and following occurrences</span>
                  </label>
                </fieldset>
              )}
              <p class="row">
                <button type="submit" class="danger">Cancel event</button>
                <a href={`/events/${e.id}`}>Keep it</a>
              </p>
            </form>
          )}
      </section>,
      { title: `Cancel ${e.title}` },
    );
  })
  .post("/events/:id/cancel", async (c) => {
    if (!c.var.claims) return signInRedirect(c);
    const claims = requireUser(c);
    const id = eventParam(c);
    const values = await readForm(c, formValues);
    await rateLimit(c, eventRules.write, claims.sub);
    await cancelEvent(c.var.platform.db, claims, id, scopeSchema.parse(values.scope));
    await flushEvents(c);
    return c.redirect(`/events/${id}`, 303);
  });
