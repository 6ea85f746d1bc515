/**
 * How event pages word an event's seats ("12 going · 3 left", "Full · 4 on the waitlist"), shared by
 * the server-rendered cards and the RSVP island so both say the same thing.
 */

/** The figures the wording needs (a subset of the event's `counts` and of a `counts` broadcast). */
export interface SeatCounts {
  going_seats: number;
  waitlisted: number;
  capacity_left: number | null;
}

/** True when a capped event has no seat left. */
export function isFull(counts: SeatCounts): boolean {
  return counts.capacity_left !== null && counts.capacity_left <= 0;
}

/** "12 going", "12 going · 3 left", "Full · 4 on the waitlist". */
export function countsLabel(counts: SeatCounts): string {
  if (isFull(counts)) return counts.waitlisted ? `Full · ${counts.waitlisted} on the waitlist` : "Full";
  const going = `${counts.going_seats} going`;
  return counts.capacity_left === null ? going : `${going} · ${counts.capacity_left} left`;
}
