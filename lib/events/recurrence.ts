/**
 * Recurring events: validation of a single RFC 5545 RRULE, its expansion into occurrence start
 * instants that keep their local wall time in the event's zone across DST changes, and a human
 * description. Built on the rrule package, which is driven in "floating UTC" (wall times stored as
 * if they were UTC) so that its arithmetic never sees a DST change.
 */
import rrule from "rrule";
import { floatingMs, wallClock, type WallTime, zonedToInstant } from "./zones.ts";

const { RRule } = rrule;

/** The most occurrences one recurring event may have. */
export const MAX_OCCURRENCES = 500;

/** How far ahead of its start an event may still recur, in years. */
export const HORIZON_YEARS = 100;

/** A rule that cannot be used; the message is meant for the user. */
export class RecurrenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecurrenceError";
  }
}

const MAX_RULE_LENGTH = 500;
const WEEKDAY = "(?:MO|TU|WE|TH|FR|SA|SU)";

function numberList(min: number, max: number, signed = true): (value: string) => boolean {
  const pattern = signed ? /^[+-]?\d{1,3}$/ : /^\d{1,3}$/;
  return (value) =>
    value.split(",").every((item) => {
      const n = Math.abs(Number(item));
      return pattern.test(item) && n >= min && n <= max;
    });
}

/** The accepted rule parts and a check of each one's value (already upper-cased). */
const PARTS: Record<string, (value: string) => boolean> = {
  FREQ: (v) => /^(?:YEARLY|MONTHLY|WEEKLY|DAILY)$/.test(v),
  UNTIL: (v) => /^\d{8}(?:T\d{6}Z?)?$/.test(v) && validUntil(v),
  COUNT: (v) => /^\d{1,9}$/.test(v),
  INTERVAL: (v) => /^\d{1,4}$/.test(v) && Number(v) >= 1,
  BYDAY: (v) =>
    v.split(",").every((d) => new RegExp(`^(?:[+-]?(?:[1-9]|[1-4]\\d|5[0-3]))?${WEEKDAY}$`).test(d)),
  BYMONTHDAY: numberList(1, 31),
  BYYEARDAY: numberList(1, 366),
  BYWEEKNO: numberList(1, 53),
  BYMONTH: numberList(1, 12, false),
  BYSETPOS: numberList(1, 366),
  WKST: (v) => new RegExp(`^${WEEKDAY}$`).test(v),
};

function validUntil(value: string): boolean {
  const [y, m, d] = [value.slice(0, 4), value.slice(4, 6), value.slice(6, 8)].map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function stripPrefix(input: string): string {
  const trimmed = input.trim();
  return /^RRULE:/i.test(trimmed) ? trimmed.slice(6).trim() : trimmed;
}

function refuseForeignContent(body: string): void {
  if (/[\r\n]/.test(body)) throw new RecurrenceError("Give a single rule line.");
  if (/DTSTART/i.test(body)) {
    throw new RecurrenceError("The rule must not contain DTSTART: the event's start is used.");
  }
  if (/EXDATE|RDATE/i.test(body)) {
    throw new RecurrenceError("Only a recurrence rule is accepted, not EXDATE or RDATE.");
  }
  if (/RRULE|EXRULE/i.test(body)) throw new RecurrenceError("Give a single rule line.");
}

function splitParts(body: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const chunk of body.replace(/;$/, "").split(";")) {
    const match = /^\s*([A-Za-z]+)\s*=\s*([^=\s]+)\s*$/.exec(chunk);
    if (!match) throw new RecurrenceError(`The rule is not valid near "${chunk.slice(0, 40)}".`);
    const [key, value] = [match[1].toUpperCase(), match[2].toUpperCase()];
    if (parts.has(key)) throw new RecurrenceError(`${key} appears more than once.`);
    parts.set(key, value);
  }
  return parts;
}

function checkParts(parts: Map<string, string>): void {
  const freq = parts.get("FREQ");
  if (!freq) throw new RecurrenceError("The rule needs a FREQ.");
  if (/^(?:SECONDLY|MINUTELY|HOURLY)$/.test(freq)) {
    throw new RecurrenceError("Events can repeat at most daily.");
  }
  for (const [key, value] of parts) {
    if (/^BY(?:HOUR|MINUTE|SECOND)$/.test(key)) throw new RecurrenceError("Events can repeat at most daily.");
    const check = PARTS[key];
    if (!check) throw new RecurrenceError(`${key} is not supported in a rule.`);
    if (!check(value)) throw new RecurrenceError(`${key}=${value} is not valid.`);
  }
  if (!parts.has("COUNT") && !parts.has("UNTIL")) {
    throw new RecurrenceError("The rule never ends: add COUNT or UNTIL.");
  }
  if (parts.has("COUNT") && parts.has("UNTIL")) throw new RecurrenceError("Use COUNT or UNTIL, not both.");
  if (parts.has("COUNT") && Number(parts.get("COUNT")) < 1) {
    throw new RecurrenceError("COUNT must be at least 1.");
  }
}

/**
 * Validates a rule ("FREQ=WEEKLY;COUNT=5", optionally prefixed "RRULE:", any case) and returns its
 * canonical form: upper case, FREQ first, no prefix. Throws RecurrenceError with a user-facing message.
 */
export function normalizeRule(input: string): string {
  if (input.length > MAX_RULE_LENGTH) throw new RecurrenceError("The rule is too long.");
  const body = stripPrefix(input);
  if (!body) throw new RecurrenceError("The rule is empty.");
  refuseForeignContent(body);
  const parts = splitParts(body);
  checkParts(parts);
  const canonical = [
    `FREQ=${parts.get("FREQ")}`,
    ...[...parts].filter(([k]) => k !== "FREQ").map(([k, v]) => `${k}=${v}`),
  ]
    .join(";");
  try {
    new RRule(RRule.parseString(canonical));
  } catch {
    throw new RecurrenceError("The rule is not valid.");
  }
  return canonical;
}

/** The rule's UNTIL in the floating frame of `tz`: a UTC UNTIL is read on the zone's wall clock. */
function floatingUntil(value: string, tz: string): Date {
  const [y, mo, d] = [value.slice(0, 4), value.slice(4, 6), value.slice(6, 8)].map(Number);
  if (value.length === 8) {
    return new Date(floatingMs({ year: y, month: mo, day: d, hour: 23, minute: 59, second: 59 }));
  }
  const [h, mi, s] = [value.slice(9, 11), value.slice(11, 13), value.slice(13, 15)].map(Number);
  const wall = { year: y, month: mo, day: d, hour: h, minute: mi, second: s };
  if (!value.endsWith("Z")) return new Date(floatingMs(wall));
  return new Date(floatingMs(wallClock(new Date(floatingMs(wall)), tz)));
}

/**
 * Years to move the floating frame forward so that rrule's built-in end of iteration (year 9999)
 * falls between HORIZON_YEARS and HORIZON_YEARS + 400 after the start. The Gregorian calendar
 * repeats exactly every 400 years, so the shift changes no weekday or leap day, and a rule that
 * matches rarely or never stops quickly instead of scanning to year 9999.
 */
function frameShiftYears(startYear: number): number {
  const room = 9999 - (HORIZON_YEARS + 1) - startYear;
  return room > 0 ? Math.floor(room / 400) * 400 : 0;
}

function shiftedWall(date: Date, years: number): WallTime {
  const w = wallClock(date, "UTC");
  return { ...w, year: w.year + years };
}

/**
 * Occurrence start instants of `rule` for an event starting at `start` in `tz`, keeping the local
 * wall time across DST changes (DTSTART is the first occurrence when it matches the rule). Throws
 * RecurrenceError when the rule is invalid, yields nothing, yields more than `max` occurrences or
 * reaches beyond HORIZON_YEARS.
 */
export function expandRule(rule: string, start: Date, tz: string, max = MAX_OCCURRENCES): Date[] {
  const canonical = normalizeRule(rule);
  const options = RRule.parseString(canonical);
  const startWall = wallClock(start, tz);
  const shift = options.freq === RRule.YEARLY ? 0 : frameShiftYears(startWall.year);
  const dtstart = new Date(floatingMs({ ...startWall, year: startWall.year + shift }));
  const untilValue = /UNTIL=([0-9TZ]+)/.exec(canonical)?.[1];
  const until = untilValue ? new Date(floatingMs(shiftedWall(floatingUntil(untilValue, tz), shift))) : null;
  const floating = new RRule({ ...options, dtstart, until }).all((_date, index) => index <= max);
  if (floating.length === 0) throw new RecurrenceError("The rule makes no occurrences.");
  if (floating.length > max) throw new RecurrenceError(`The rule makes more than ${max} occurrences.`);
  const horizon = floatingMs({ ...startWall, year: startWall.year + HORIZON_YEARS });
  const walls = floating.map((date) => shiftedWall(date, -shift));
  if (walls.some((wall) => floatingMs(wall) > horizon)) {
    throw new RecurrenceError(`The rule reaches more than ${HORIZON_YEARS} years ahead.`);
  }
  return walls.map((wall) => zonedToInstant(wall, tz));
}

/** A human description of a rule in English, e.g. "every week for 5 times". */
export function describeRule(rule: string): string {
  return RRule.fromString(normalizeRule(rule)).toText();
}
