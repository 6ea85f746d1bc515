/**
 * Location fixes from partners: the batch schema, the time window, and the jump filter
 * (docs/orders.md). Pure: no database, no clock except the one passed in.
 */
import { z } from "zod";
import { distanceM } from "./geo.ts";

/** Fixes per request. */
export const MAX_BATCH = 100;
/** How far ahead of the server's clock a fix may be (phones' clocks drift). */
export const FUTURE_SKEW_MS = 60_000;
/** How old a fix may be. */
export const MAX_AGE_MS = 24 * 3600_000;
/** Faster than this between two fixes is a glitch. */
export const MAX_SPEED_MS = 300 / 3.6;
/** How much of the two fixes' accuracy is forgiven when judging a jump. */
export const ACCURACY_SLACK_M = 100;
/** Dropped fixes in a row that agree with each other and become the new reference. */
export const REANCHOR_AFTER = 3;

const finite = (min: number, max: number, what: string) =>
  z.number({ error: `${what} must be a number.` }).refine(Number.isFinite, `${what} must be finite.`)
    .pipe(
      z.number().min(min, `${what} must be at least ${min}.`).max(max, `${what} must be at most ${max}.`),
    );

/** One fix as a partner's browser sends it. */
export const fixSchema = z.strictObject({
  lat: finite(-90, 90, "lat"),
  lng: finite(-180, 180, "lng"),
  accuracy: finite(0, 5000, "accuracy"),
  speed: finite(0, 100, "speed").nullable().optional(),
  heading: finite(0, 359.999999, "heading").nullable().optional(),
  recorded_at: z.iso.datetime({
    offset: true,
    error: "recorded_at must be an ISO date-time with an offset.",
  }),
});

/** A batch: 1–100 fixes. */
export const batchSchema = z.array(fixSchema, { error: "Send a JSON array of fixes." })
  .min(1, "Send at least one fix.").max(MAX_BATCH, `Send at most ${MAX_BATCH} fixes at a time.`);

/** A fix with its time parsed. */
export interface Fix {
  lat: number;
  lng: number;
  accuracy: number;
  speed: number | null;
  heading: number | null;
  /** Milliseconds since the epoch. */
  t: number;
}

/** A fix as views and broadcasts carry it. */
export interface FixView {
  lat: number;
  lng: number;
  accuracy: number;
  speed: number | null;
  heading: number | null;
  recorded_at: string;
}

/** Fix -> view. */
export const fixView = (f: Fix): FixView => ({
  lat: f.lat,
  lng: f.lng,
  accuracy: f.accuracy,
  speed: f.speed,
  heading: f.heading,
  recorded_at: new Date(f.t).toISOString(),
});

/** Problems with times, as `{path, message}` like the schema's; empty when all are fine. */
export function timeProblems(
  batch: z.output<typeof batchSchema>,
  now: number,
): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  batch.forEach((f, i) => {
    const t = Date.parse(f.recorded_at);
    if (t > now + FUTURE_SKEW_MS) {
      out.push({ path: `${i}.recorded_at`, message: "recorded_at is in the future." });
    } else if (t < now - MAX_AGE_MS) {
      out.push({ path: `${i}.recorded_at`, message: "recorded_at is older than 24 hours." });
    }
  });
  return out;
}

/** Parses a validated batch: sorted by time, one fix per timestamp (the first wins). */
export function toFixes(batch: z.output<typeof batchSchema>): { fixes: Fix[]; repeated: number } {
  const seen = new Set<number>();
  const fixes: Fix[] = [];
  for (const f of batch) {
    const t = Date.parse(f.recorded_at);
    if (seen.has(t)) continue;
    seen.add(t);
    fixes.push({
      lat: f.lat,
      lng: f.lng,
      accuracy: f.accuracy,
      speed: f.speed ?? null,
      heading: f.heading ?? null,
      t,
    });
  }
  fixes.sort((a, b) => a.t - b.t);
  return { fixes, repeated: batch.length - fixes.length };
}

/** Whether going from `a` to `b` is faster than {@link MAX_SPEED_MS}. */
export function isJump(a: Fix, b: Fix): boolean {
  const dt = Math.abs(b.t - a.t) / 1000;
  const slack = Math.min(ACCURACY_SLACK_M, a.accuracy + b.accuracy);
  const d = Math.max(0, distanceM(a, b) - slack);
  if (dt === 0) return d > 0;
  return d / dt > MAX_SPEED_MS;
}

/**
 * The jump filter of one order: remembers the last accepted fix and the fixes dropped since. A fix
 * is judged against the reference whatever its time (any two real positions are at most
 * speed x |time apart| apart), so late, out-of-order fixes are judged fairly too.
 */
export class JumpFilter {
  #dropped: Fix[] = [];
  constructor(public reference: Fix | null = null) {}

  /** Splits `fixes` (sorted) into accepted and dropped, updating the reference. */
  filter(fixes: Fix[]): { accepted: Fix[]; dropped: number } {
    const accepted: Fix[] = [];
    let dropped = 0;
    for (const f of fixes) {
      const ref = this.reference;
      if (!ref || !isJump(ref, f)) {
        accepted.push(f);
        if (!ref || f.t >= ref.t) this.reference = f;
        this.#dropped = [];
        continue;
      }
      // Dropped. If the last few dropped fixes agree with each other, the reference was the glitch.
      const streak = [...this.#dropped, f];
      const consistent = streak.every((x, i) => i === 0 || !isJump(streak[i - 1], x));
      if (streak.length >= REANCHOR_AFTER && consistent) {
        this.reference = f;
        this.#dropped = [];
        accepted.push(f); // the earlier ones of the streak stay dropped
        continue;
      }
      this.#dropped = consistent ? streak : [f];
      dropped++;
    }
    return { accepted, dropped };
  }
}
