/** Timestamps as Plaza shows them: ISO strings in the API, a short UTC form on admin pages. */

/** A database timestamp (Date or text) as an ISO string, or null. */
export const isoOrNull = (v: unknown): string | null => (v ? new Date(v as string).toISOString() : null);

/** `2026-11-21 08:17:03`, or a dash for none: for admin tables (UTC). */
export const shortUtc = (iso: string | null): string => (iso ? iso.slice(0, 19).replace("T", " ") : "—");
