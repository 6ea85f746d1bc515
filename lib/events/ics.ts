/**
 * An RFC 5545 (iCalendar) writer for events: VCALENDAR with generated VTIMEZONEs (from Intl offset
 * transitions), VEVENTs, TEXT escaping, octet-based line folding; plus "add to Google Calendar" links.
 * Writing only, no parsing.
 */
import { floatingMs, offsetMinutes, wallClock, type WallTime, zonedToInstant } from "./zones.ts";

/** One event as written to a calendar file. */
export interface IcsEvent {
  uid: string;
  sequence: number;
  dtstamp: Date;
  start: Date;
  end: Date;
  /** IANA zone the event's local times are given in; "UTC" writes UTC times. */
  timezone: string;
  summary: string;
  description?: string;
  location?: string;
  geo?: { lat: number; lng: number };
  url?: string;
  status: "CONFIRMED" | "TENTATIVE" | "CANCELLED";
  /** The organizer's display name. */
  organizer?: string;
  lastModified?: Date;
}

/** Options of a whole calendar file. */
export interface CalendarOptions {
  name?: string;
  method?: "PUBLISH";
}

const CRLF = "\r\n";
const MAX_LINE_OCTETS = 75;
const MINUTE = 60_000;
const WEEK = 7 * 24 * 60 * MINUTE;
const encoder = new TextEncoder();

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** Escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma, newline; strips CR and controls. */
export function escapeText(value: string): string {
  return value
    .replace(/\r/g, "")
    .replace(CONTROL, "")
    .replace(/\\/g, "\\\\")
    .replace(/;/g, "\\;")
    .replace(/,/g, "\\,")
    .replace(/\n/g, "\\n");
}

/** A quoted parameter value: DQUOTE and control characters are not allowed inside, so they are dropped. */
function quoteParam(value: string): string {
  // deno-lint-ignore no-control-regex
  return `"${value.replace(/[\x00-\x08\x0a-\x1f\x7f"]/g, "")}"`;
}

/** Folds a content line at 75 UTF-8 octets, never inside a character; continuations start with a space. */
export function foldLine(line: string): string {
  const out: string[] = [];
  let current = "";
  let octets = 0;
  for (const char of line) {
    const size = encoder.encode(char).length;
    if (octets + size > MAX_LINE_OCTETS) {
      out.push(current);
      current = " ";
      octets = 1;
    }
    current += char;
    octets += size;
  }
  out.push(current);
  return out.join(CRLF);
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

function basicWall(w: WallTime): string {
  return `${pad(w.year, 4)}${pad(w.month)}${pad(w.day)}T${pad(w.hour)}${pad(w.minute)}${pad(w.second)}`;
}

/** An instant as an iCalendar UTC date-time, e.g. "20260307T090000Z". */
export function utcStamp(instant: Date): string {
  return `${basicWall(wallClock(instant, "UTC"))}Z`;
}

/**
 * A DATE-TIME property in the event's zone. An instant in the second pass of a fall-back overlap is
 * written in UTC, because readers take an ambiguous local time to be its first occurrence.
 */
function dateTimeProperty(name: string, instant: Date, tz: string): string {
  if (tz === "UTC") return `${name}:${utcStamp(instant)}`;
  const wall = wallClock(instant, tz);
  const wholeSecond = Math.floor(instant.getTime() / 1000) * 1000;
  if (zonedToInstant(wall, tz).getTime() !== wholeSecond) return `${name}:${utcStamp(instant)}`;
  return `${name};TZID=${tz}:${basicWall(wall)}`;
}

function utcOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

/** A change of a zone's UTC offset: `at` is the first instant (ms, on a minute) with the new offset. */
interface Transition {
  at: number;
  from: number;
  to: number;
}

/** Binary search to the minute for the first instant in (lo, hi] whose offset differs from lo's. */
function findChange(tz: string, lo: number, hi: number): number {
  const before = offsetMinutes(new Date(lo), tz);
  let [a, b] = [lo / MINUTE, hi / MINUTE];
  while (b - a > 1) {
    const mid = Math.floor((a + b) / 2);
    if (offsetMinutes(new Date(mid * MINUTE), tz) === before) a = mid;
    else b = mid;
  }
  return b * MINUTE;
}

/** Offset transitions of `tz` between two instants (ms, on minutes), scanning week by week. */
export function offsetTransitions(tz: string, from: number, to: number): Transition[] {
  const found: Transition[] = [];
  let offset = offsetMinutes(new Date(from), tz);
  for (let t = from; t < to; t += WEEK) {
    const next = Math.min(t + WEEK, to);
    const nextOffset = offsetMinutes(new Date(next), tz);
    if (nextOffset === offset) continue;
    const at = findChange(tz, t, next);
    const newOffset = offsetMinutes(new Date(at), tz);
    found.push({ at, from: offset, to: newOffset });
    offset = newOffset;
    if (newOffset !== nextOffset) t = at - WEEK; // another change within the same week: rescan from here
  }
  return found;
}

const shortNames = new Map<string, Intl.DateTimeFormat[]>();

/** The zone's short name at an instant ("CEST", "EDT"), or undefined when Intl only knows "GMT+2". */
function shortZoneName(instant: Date, tz: string): string | undefined {
  let formats = shortNames.get(tz);
  if (!formats) {
    formats = ["en-US", "en-GB"].map((locale) =>
      new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: "short" })
    );
    shortNames.set(tz, formats);
  }
  for (const format of formats) {
    const name = format.formatToParts(instant).find((p) => p.type === "timeZoneName")?.value;
    if (name && /^[A-Za-z]{2,6}$/.test(name)) return name;
  }
  return undefined;
}

function observance(
  kind: "STANDARD" | "DAYLIGHT",
  localStart: WallTime,
  from: number,
  to: number,
  name?: string,
) {
  return [
    `BEGIN:${kind}`,
    `DTSTART:${basicWall(localStart)}`,
    `TZOFFSETFROM:${utcOffset(from)}`,
    `TZOFFSETTO:${utcOffset(to)}`,
    ...(name ? [`TZNAME:${escapeText(name)}`] : []),
    `END:${kind}`,
  ];
}

/** The local wall time of an instant under a fixed offset (minutes). */
function wallAtOffset(ms: number, offset: number): WallTime {
  return wallClock(new Date(ms + offset * MINUTE), "UTC");
}

/**
 * A VTIMEZONE for `tz` covering the years from `fromYear` to `toYear` inclusive: a first observance
 * at the start of the span, then one per offset transition found by Intl. A change to a larger
 * offset is DAYLIGHT, to a smaller one STANDARD.
 */
export function vtimezone(tz: string, fromYear: number, toYear: number): string[] {
  const from = floatingMs({ year: fromYear, month: 1, day: 1, hour: 0, minute: 0 });
  const to = floatingMs({ year: toYear + 1, month: 1, day: 1, hour: 0, minute: 0 });
  const transitions = offsetTransitions(tz, from, to);
  const initial = offsetMinutes(new Date(from), tz);
  const initialKind = transitions.length > 0 && transitions[0].to < initial ? "DAYLIGHT" : "STANDARD";
  const lines = [
    "BEGIN:VTIMEZONE",
    `TZID:${tz}`,
    ...observance(
      initialKind,
      wallAtOffset(from, initial),
      initial,
      initial,
      shortZoneName(new Date(from), tz),
    ),
  ];
  for (const t of transitions) {
    const kind = t.to > t.from ? "DAYLIGHT" : "STANDARD";
    lines.push(
      ...observance(kind, wallAtOffset(t.at, t.from), t.from, t.to, shortZoneName(new Date(t.at), tz)),
    );
  }
  lines.push("END:VTIMEZONE");
  return lines;
}

function zoneSpans(events: IcsEvent[]): Map<string, { min: number; max: number }> {
  const spans = new Map<string, { min: number; max: number }>();
  for (const e of events) {
    if (e.timezone === "UTC") continue;
    const years = [e.start, e.end].map((d) => wallClock(d, e.timezone).year);
    const span = spans.get(e.timezone) ?? { min: Infinity, max: -Infinity };
    spans.set(e.timezone, { min: Math.min(span.min, ...years), max: Math.max(span.max, ...years) });
  }
  return spans;
}

function formatCoordinate(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError("GEO coordinates must be finite numbers");
  return n.toFixed(6).replace(/\.?0+$/, "");
}

function stripControls(value: string): string {
  return value.replace(/[\r\n]/g, "").replace(CONTROL, "");
}

function veventLines(e: IcsEvent): string[] {
  const lines = [
    "BEGIN:VEVENT",
    `UID:${escapeText(e.uid)}`,
    `DTSTAMP:${utcStamp(e.dtstamp)}`,
    `SEQUENCE:${Math.max(0, Math.trunc(e.sequence))}`,
    dateTimeProperty("DTSTART", e.start, e.timezone),
    dateTimeProperty("DTEND", e.end, e.timezone),
    `SUMMARY:${escapeText(e.summary)}`,
  ];
  if (e.description !== undefined) lines.push(`DESCRIPTION:${escapeText(e.description)}`);
  if (e.location !== undefined) lines.push(`LOCATION:${escapeText(e.location)}`);
  if (e.geo) lines.push(`GEO:${formatCoordinate(e.geo.lat)};${formatCoordinate(e.geo.lng)}`);
  if (e.url) lines.push(`URL:${stripControls(e.url)}`);
  lines.push(`STATUS:${e.status}`);
  if (e.organizer !== undefined) {
    lines.push(`ORGANIZER;CN=${quoteParam(e.organizer)}:mailto:noreply@plaza.invalid`);
  }
  if (e.lastModified) lines.push(`LAST-MODIFIED:${utcStamp(e.lastModified)}`);
  lines.push("END:VEVENT");
  return lines;
}

/**
 * A complete iCalendar file: VCALENDAR header, one VTIMEZONE per non-UTC zone used (covering a
 * year either side of its events), the VEVENTs; CRLF line endings, folded lines, final CRLF.
 */
export function buildCalendar(events: IcsEvent[], options: CalendarOptions = {}): string {
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Plaza//Events//EN",
    "CALSCALE:GREGORIAN",
    `METHOD:${options.method ?? "PUBLISH"}`,
  ];
  if (options.name !== undefined) lines.push(`X-WR-CALNAME:${escapeText(options.name)}`);
  for (const [tz, span] of zoneSpans(events)) lines.push(...vtimezone(tz, span.min - 1, span.max + 1));
  for (const e of events) lines.push(...veventLines(e));
  lines.push("END:VCALENDAR");
  return lines.map(foldLine).join(CRLF) + CRLF;
}

/** An "add to Google Calendar" link for one event. */
export function googleCalendarUrl(e: {
  summary: string;
  start: Date;
  end: Date;
  timezone: string;
  description?: string;
  location?: string;
}): string {
  const params = new URLSearchParams({
    action: "TEMPLATE",
    text: e.summary,
    dates: `${utcStamp(e.start)}/${utcStamp(e.end)}`,
    ctz: e.timezone,
  });
  if (e.description) params.set("details", e.description);
  if (e.location) params.set("location", e.location);
  return `https://calendar.google.com/calendar/render?${params}`;
}
