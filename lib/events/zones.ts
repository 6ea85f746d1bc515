/**
 * IANA time zones with nothing but Intl: validation, the picker list, wall-clock reading, offsets,
 * wall time -> instant (with DST gap and overlap rules), datetime-local strings and display text.
 * Intl.DateTimeFormat instances are cached per zone because every function here is hot.
 */

/** A local calendar date and clock time in some zone; month is 1-12. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const SUPPORTED: ReadonlySet<string> = new Set(["UTC", ...Intl.supportedValuesOf("timeZone")]);

/** All zones for a picker: UTC first, then every zone Intl supports. */
export const TIME_ZONES: readonly string[] = Object.freeze([
  "UTC",
  ...Intl.supportedValuesOf("timeZone").filter((tz) => tz !== "UTC"),
]);

/** True when `tz` is "UTC" or one of the IANA zones Intl supports (exact spelling). */
export function isTimeZone(tz: string): boolean {
  return SUPPORTED.has(tz);
}

const wallFormats = new Map<string, Intl.DateTimeFormat>();
const displayFormats = new Map<string, Intl.DateTimeFormat>();

function cached(cache: Map<string, Intl.DateTimeFormat>, tz: string, make: () => Intl.DateTimeFormat) {
  let format = cache.get(tz);
  if (!format) {
    format = make();
    cache.set(tz, format);
  }
  return format;
}

function wallFormat(tz: string): Intl.DateTimeFormat {
  return cached(wallFormats, tz, () =>
    new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    }));
}

function displayFormat(tz: string): Intl.DateTimeFormat {
  return cached(displayFormats, tz, () =>
    new Intl.DateTimeFormat("en-GB", {
      timeZone: tz,
      hourCycle: "h23",
      weekday: "short",
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
    }));
}

function partsOf(
  format: Intl.DateTimeFormat,
  instant: Date,
): Partial<Record<Intl.DateTimeFormatPartTypes, string>> {
  const parts: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const part of format.formatToParts(instant)) parts[part.type] = part.value;
  return parts;
}

/** The wall clock in `tz` at `instant`; throws RangeError for an unknown zone. */
export function wallClock(instant: Date, tz: string): WallTime {
  const p = partsOf(wallFormat(tz), instant);
  const year = Number(p.year);
  return {
    year: p.era === "BC" || p.era === "B" ? 1 - year : year,
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour),
    minute: Number(p.minute),
    second: Number(p.second),
  };
}

/** Milliseconds of a wall time read as if it were UTC ("floating" time); safe for years 0-99. */
export function floatingMs(wall: Omit<WallTime, "second"> & { second?: number }): number {
  const date = new Date(Date.UTC(2000, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second ?? 0));
  date.setUTCFullYear(wall.year, wall.month - 1, wall.day);
  return date.getTime();
}

/** The zone's UTC offset at `instant`, in minutes east of UTC (Berlin winter: 60, New York winter: -300). */
export function offsetMinutes(instant: Date, tz: string): number {
  const wholeSecond = Math.floor(instant.getTime() / 1000) * 1000;
  return Math.round((floatingMs(wallClock(instant, tz)) - wholeSecond) / 60_000);
}

function sameWall(a: WallTime, b: WallTime): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour &&
    a.minute === b.minute && a.second === b.second;
}

/**
 * The instant at which the wall clock in `tz` shows `wall`. A time skipped by a DST gap moves forward
 * by the gap (02:30 on US spring-forward day -> 03:30 daylight time); a time that occurs twice in a
 * fall-back overlap resolves to the earlier instant.
 */
export function zonedToInstant(wall: Omit<WallTime, "second"> & { second?: number }, tz: string): Date {
  const local = floatingMs(wall);
  const target = wallClock(new Date(local), "UTC");
  const before = offsetMinutes(new Date(local - 86_400_000), tz);
  const after = offsetMinutes(new Date(local + 86_400_000), tz);
  const candidates = [...new Set([before, after])]
    .map((offset) => local - offset * 60_000)
    .filter((ms) => sameWall(wallClock(new Date(ms), tz), target))
    .sort((a, b) => a - b);
  return new Date(candidates[0] ?? local - before * 60_000);
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** The wall time in `tz` as a datetime-local value, e.g. "2026-03-08T10:00". */
export function localIso(instant: Date, tz: string): string {
  const w = wallClock(instant, tz);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Parses a datetime-local value ("2026-03-08T10:00", seconds optional) in `tz`; null if malformed. */
export function parseLocalIso(s: string, tz: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => Number(v ?? 0));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return zonedToInstant({ year, month, day, hour, minute, second }, tz);
}

/** Formats an instant in `tz`, en-GB: "Sat 7 Mar 2026", "10:00" or "Sat 7 Mar 2026, 10:00". */
export function formatInZone(
  instant: Date,
  tz: string,
  style: "date" | "time" | "datetime" = "datetime",
): string {
  const p = partsOf(displayFormat(tz), instant);
  const date = `${p.weekday} ${p.day} ${p.month} ${p.year}`;
  const time = `${p.hour}:${p.minute}`;
  return style === "date" ? date : style === "time" ? time : `${date}, ${time}`;
}

/**
 * An event's time span for humans, e.g. "Sat 7 Mar 2026, 10:00–12:00 (Europe/Berlin)"; the end
 * date is shown when the event ends on another local day.
 */
export function formatWhen(start: Date, end: Date, tz: string): string {
  const sameDay = formatInZone(start, tz, "date") === formatInZone(end, tz, "date");
  const ending = sameDay ? `–${formatInZone(end, tz, "time")}` : ` – ${formatInZone(end, tz, "datetime")}`;
  return `${formatInZone(start, tz, "datetime")}${ending} (${tz})`;
}
