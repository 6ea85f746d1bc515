/**
 * The RSVP panel of an event page: Going / Maybe / Can't go with a party size, the live seat counts
 * (from `counts` broadcasts on `event:<id>`) and the caller's state. Server-rendered as a plain form
 * that posts to `/events/:id/rsvp`, so it works without JavaScript; hydrated, it answers through the
 * JSON API and keeps a waitlisted person's position fresh when the counts change.
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { countsLabel, isFull, type SeatCounts } from "@/lib/client/event_counts.ts";
import { joinChannel, realtimeClient } from "@/lib/client/realtime.ts";
import type { EventCounts, EventStatus, MyRsvp } from "@/lib/events/views.ts";

/** Props: the event's state at render time, the caller's RSVP and the realtime config. */
export interface RsvpPanelProps {
  [key: string]: unknown;
  eventId: string;
  status: EventStatus;
  capacity: number | null;
  counts: EventCounts;
  myRsvp: MyRsvp | null;
  signedIn: boolean;
  supabaseUrl: string;
  supabaseAnonKey: string;
  /** The event is public (its realtime topic is public too). */
  public: boolean;
  /** The event has ended (answers are closed). */
  ended?: boolean;
}

type Answer = "going" | "maybe" | "not_going";

const ANSWERS: [Answer, string][] = [["going", "Going"], ["maybe", "Maybe"], ["not_going", "Can't go"]];

/** The broadcast `counts` payload. */
interface CountsMessage extends SeatCounts {
  event_id: string;
  status: EventStatus;
  going: number;
  pending: number;
  maybe: number;
  capacity: number | null;
}

/** Which button the caller's state lights up. */
function answerOf(my: MyRsvp | null): Answer | null {
  if (!my) return null;
  if (my.state === "maybe" || my.state === "not_going") return my.state;
  return my.state === "declined" ? null : "going";
}

function StateLine({ eventId, my }: { eventId: string; my: MyRsvp | null }) {
  if (!my) return null;
  const party = my.guests ? ` with ${my.guests} guest${my.guests === 1 ? "" : "s"}` : "";
  switch (my.state) {
    case "going":
      return (
        <p class="rsvp-state ok" data-testid="rsvp-state">
          You're going{party} — <a href={`/events/${eventId}/ticket`}>ticket</a>
        </p>
      );
    case "waitlisted":
      return (
        <p class="rsvp-state" data-testid="rsvp-state">
          You're #{my.position ?? "?"} on the waitlist{party}
        </p>
      );
    case "pending":
      return <p class="rsvp-state" data-testid="rsvp-state">Waiting for approval</p>;
    case "declined":
      return (
        <p class="rsvp-state error" data-testid="rsvp-state">
          Declined: the organizers declined your request.
        </p>
      );
    case "maybe":
      return <p class="rsvp-state" data-testid="rsvp-state">You said maybe</p>;
    default:
      return <p class="rsvp-state" data-testid="rsvp-state">You said you can't go</p>;
  }
}

async function readJson<T>(res: Response): Promise<T> {
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `Something went wrong (HTTP ${res.status}).`);
  return body as T;
}

/** The RSVP panel. */
export default function RsvpPanel(props: RsvpPanelProps) {
  const { eventId, signedIn } = props;
  const counts = useSignal<SeatCounts>(props.counts);
  const status = useSignal<EventStatus>(props.status);
  const my = useSignal<MyRsvp | null>(props.myRsvp);
  const guests = useSignal(props.myRsvp?.guests ?? 0);
  const error = useSignal("");
  const busy = useSignal(false);

  /** Re-reads the event: counts, state and (for a waitlisted person) the position. */
  const refresh = () =>
    fetch(`/api/v1/events/${eventId}`, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
    })
      .then((res) =>
        readJson<{ event: { counts: EventCounts; status: EventStatus; my_rsvp: MyRsvp | null } }>(res)
      )
      .then(({ event }) => {
        counts.value = event.counts;
        status.value = event.status;
        if (signedIn) my.value = event.my_rsvp;
      })
      .catch(() => {});

  /** At most one re-read per second, however many broadcasts arrive. */
  let pending: ReturnType<typeof setTimeout> | undefined;
  const refreshSoon = () => {
    if (pending !== undefined) return;
    pending = setTimeout(() => {
      pending = undefined;
      refresh();
    }, 1000);
  };

  useEffect(() => {
    const { client } = realtimeClient({
      supabaseUrl: props.supabaseUrl,
      supabaseAnonKey: props.supabaseAnonKey,
    });
    return joinChannel(client, `event:${eventId}`, {
      config: { private: !props.public },
      setup(ch) {
        ch.on("broadcast", { event: "counts" }, ({ payload }) => {
          // Anyone may broadcast on a public channel: the counts are shown as they come (they are
          // public figures), but a status change or the caller's own state is re-read from the API.
          const m = payload as CountsMessage;
          if (typeof m.going_seats === "number" && typeof m.waitlisted === "number") {
            counts.value = {
              going_seats: m.going_seats,
              waitlisted: m.waitlisted,
              capacity_left: typeof m.capacity_left === "number" ? m.capacity_left : null,
            };
          }
          const state = my.value?.state;
          if (m.status !== status.value || state === "waitlisted" || state === "pending") refreshSoon();
        });
      },
      // Whatever changed while the socket was away.
      onStatus: (s) => s === "SUBSCRIBED" && refresh(),
    });
  }, []);

  const answer = async (e: SubmitEvent) => {
    e.preventDefault();
    const submitter = e.submitter as HTMLButtonElement | null;
    const value = (submitter?.value ?? "going") as Answer;
    busy.value = true;
    error.value = "";
    try {
      const res = await fetch(`/api/v1/events/${eventId}/rsvp`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ status: value, guests: guests.value }),
      });
      my.value = await readJson<MyRsvp>(res);
      await refresh();
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };

  const current = answerOf(my.value);
  const full = isFull(counts.value);
  const closed = status.value === "cancelled"
    ? "This event was cancelled."
    : status.value === "draft"
    ? "This event is not published yet."
    : props.ended
    ? "This event is over."
    : "";
  const canAnswer = signedIn && !closed && my.value?.state !== "declined";

  return (
    <form
      method="post"
      action={`/events/${eventId}/rsvp`}
      class="rsvp-panel"
      data-testid="rsvp-panel"
      onSubmit={answer}
    >
      <h2>RSVP</h2>
      <p class={full ? "rsvp-counts full" : "rsvp-counts"} data-testid="rsvp-counts" aria-live="polite">
        {countsLabel(counts.value)}
        {props.capacity !== null && <span class="muted">of {props.capacity} seats</span>}
      </p>
      <div aria-live="polite">
        <StateLine eventId={eventId} my={my.value} />
      </div>
      {closed && <p class="rsvp-state error">{closed}</p>}
      {!signedIn && !closed && (
        <p>
          <a class="button" href={`/login?next=${encodeURIComponent(`/events/${eventId}`)}`}>
            Sign in to RSVP
          </a>
        </p>
      )}
      {canAnswer && (
        <>
          <div class="rsvp-buttons" role="group" aria-label="Your answer">
            {ANSWERS.map(([value, label]) => (
              <button
                key={value}
                type="submit"
                name="status"
                value={value}
                class={current === value ? "rsvp-choice chosen" : "rsvp-choice"}
                aria-pressed={current === value}
                disabled={busy.value}
              >
                {label}
              </button>
            ))}
          </div>
          <label class="rsvp-guests">
            Guests you bring
            <input
              type="number"
              name="guests"
              min={0}
              max={10}
              step={1}
              inputMode="numeric"
              value={guests.value}
              onInput={(e) => guests.value = Math.max(0, Math.min(10, Number(e.currentTarget.value) || 0))}
            />
          </label>
          {full && current !== "going" && <p class="hint">Full: answering Going puts you on the waitlist.</p>}
        </>
      )}
      {error.value && <p class="alert" role="alert" data-testid="rsvp-error">{error.value}</p>}
    </form>
  );
}
