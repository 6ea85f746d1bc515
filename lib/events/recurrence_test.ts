/** Tests of RRULE validation, DST-aware expansion and descriptions. */
import assert from "node:assert/strict";
import { describeRule, expandRule, MAX_OCCURRENCES, normalizeRule, RecurrenceError } from "./recurrence.ts";
import { localIso } from "./zones.ts";

const refusal = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof RecurrenceError && pattern.test(e.message));

Deno.test("[recurrence] normalizeRule canonicalizes prefix, case and order", () => {
  assert.equal(normalizeRule("rrule:freq=weekly;count=3"), "FREQ=WEEKLY;COUNT=3");
  assert.equal(normalizeRule("  RRULE:FREQ=WEEKLY;COUNT=5  "), "FREQ=WEEKLY;COUNT=5");
  assert.equal(normalizeRule("FREQ=WEEKLY;COUNT=5"), "FREQ=WEEKLY;COUNT=5");
  assert.equal(normalizeRule("count=2;byday=mo,we;freq=weekly"), "FREQ=WEEKLY;COUNT=2;BYDAY=MO,WE");
  assert.equal(
    normalizeRule("FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231T235959Z"),
    "FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20261231T235959Z",
  );
});

Deno.test("[recurrence] normalizeRule refuses bad rules with user-facing messages", () => {
  refusal(() => normalizeRule("FREQ=WEEKLY"), /never ends: add COUNT or UNTIL/);
  refusal(() => normalizeRule("FREQ=WEEKLY;INTERVAL=2"), /never ends/);
  refusal(() => normalizeRule("FREQ=HOURLY;COUNT=3"), /at most daily/);
  refusal(() => normalizeRule("FREQ=MINUTELY;COUNT=3"), /at most daily/);
  refusal(() => normalizeRule("FREQ=SECONDLY;COUNT=3"), /at most daily/);
  refusal(() => normalizeRule("FREQ=DAILY;BYHOUR=9,17;COUNT=3"), /at most daily/);
  refusal(() => normalizeRule("DTSTART:20260307T100000Z\nRRULE:FREQ=WEEKLY;COUNT=3"), /single rule line/);
  refusal(() => normalizeRule("FREQ=WEEKLY;COUNT=3;DTSTART=20260307T100000Z"), /DTSTART/);
  refusal(() => normalizeRule("FREQ=WEEKLY;COUNT=3\nEXDATE:20260314T100000Z"), /single rule line/);
  refusal(() => normalizeRule("FREQ=WEEKLY;COUNT=3;EXDATE=20260314T100000Z"), /EXDATE/);
  refusal(() => normalizeRule("FREQ=WEEKLY;COUNT=0"), /COUNT must be at least 1/);
  refusal(() => normalizeRule("FREQ=WEEKLY;COUNT=abc"), /not valid/);
  refusal(() => normalizeRule("FREQ=WEEKLY;COUNT=3;UNTIL=20261231T000000Z"), /not both/);
  refusal(() => normalizeRule("FREQ=WEEKLY;COUNT=3;BYDAY=XX"), /not valid/);
  refusal(() => normalizeRule("FREQ=WEEKLY;UNTIL=20260230T000000Z"), /not valid/);
  refusal(() => normalizeRule("FREQ=WEEKLY;COUNT=3;FOO=1"), /not supported/);
  refusal(() => normalizeRule("FREQ=WEEKLY;COUNT=3;COUNT=4"), /more than once/);
  refusal(() => normalizeRule("COUNT=3"), /needs a FREQ/);
  refusal(() => normalizeRule("garbage"), /not valid/);
  refusal(() => normalizeRule("!!!;;==;"), /not valid/);
  refusal(() => normalizeRule(""), /empty/);
  refusal(() => normalizeRule("FREQ=WEEKLY;COUNT=3;BYMONTHDAY=" + "1,".repeat(300) + "2"), /too long/);
});

Deno.test("[recurrence] weekly rule crossing US DST start keeps 10:00 local", () => {
  const start = new Date("2026-02-26T15:00:00Z"); // Thu 10:00 EST
  const dates = expandRule("FREQ=WEEKLY;COUNT=4", start, "America/New_York");
  assert.deepEqual(dates.map((d) => d.toISOString()), [
    "2026-02-26T15:00:00.000Z",
    "2026-03-05T15:00:00.000Z",
    "2026-03-12T14:00:00.000Z",
    "2026-03-19T14:00:00.000Z",
  ]);
  assert.ok(dates.every((d) => localIso(d, "America/New_York").endsWith("T10:00")));
  assert.equal(dates[0].getTime(), start.getTime());
});

Deno.test("[recurrence] Berlin weekly rule across EU DST end keeps 19:30 local", () => {
  const start = new Date("2026-10-15T17:30:00Z"); // Thu 19:30 CEST
  const dates = expandRule("FREQ=WEEKLY;COUNT=3", start, "Europe/Berlin");
  assert.deepEqual(dates.map((d) => d.toISOString().slice(11, 16)), ["17:30", "17:30", "18:30"]);
});

Deno.test("[recurrence] UNTIL in UTC is compared with real instants, inclusively", () => {
  const start = new Date("2026-02-26T15:00:00Z");
  // The 12 March occurrence is at 14:00Z (EDT): an UNTIL of exactly 14:00Z includes it, 13:59Z does not.
  const inclusive = expandRule("FREQ=WEEKLY;UNTIL=20260312T140000Z", start, "America/New_York");
  assert.equal(inclusive.length, 3);
  assert.equal(inclusive[2].toISOString(), "2026-03-12T14:00:00.000Z");
  const exclusive = expandRule("FREQ=WEEKLY;UNTIL=20260312T135900Z", start, "America/New_York");
  assert.equal(exclusive.length, 2);
  // In Berlin (UTC+1) a 09:30Z UNTIL on 7 March includes a 10:00 local event that day (09:00Z).
  const berlin = expandRule(
    "FREQ=DAILY;UNTIL=20260307T093000Z",
    new Date("2026-03-05T09:00:00Z"),
    "Europe/Berlin",
  );
  assert.deepEqual(berlin.map((d) => d.toISOString().slice(0, 10)), [
    "2026-03-05",
    "2026-03-06",
    "2026-03-07",
  ]);
  // A date-only UNTIL includes that whole local day.
  assert.equal(
    expandRule("FREQ=DAILY;UNTIL=20260307", new Date("2026-03-05T22:00:00Z"), "Europe/Berlin").length,
    3,
  );
});

Deno.test("[recurrence] too many occurrences are refused", () => {
  const start = new Date("2026-01-05T09:00:00Z");
  assert.equal(expandRule("FREQ=DAILY;COUNT=500", start, "UTC").length, MAX_OCCURRENCES);
  refusal(() => expandRule("FREQ=DAILY;COUNT=501", start, "UTC"), /more than 500 occurrences/);
  refusal(() => expandRule("FREQ=DAILY;UNTIL=20280105T090000Z", start, "Europe/Berlin"), /more than 500/);
  refusal(() => expandRule("FREQ=WEEKLY;COUNT=11", start, "UTC", 10), /more than 10 occurrences/);
});

Deno.test("[recurrence] huge and never-matching rules stay fast", () => {
  const start = new Date("2026-01-05T09:00:00Z");
  let t = performance.now();
  refusal(() => expandRule("FREQ=DAILY;COUNT=100000", start, "America/New_York"), /more than 500/);
  assert.ok(performance.now() - t < 1000, `COUNT=100000 took ${performance.now() - t} ms`);
  t = performance.now();
  refusal(() => expandRule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=3", start, "UTC"), /no occurrences/);
  assert.ok(performance.now() - t < 3000, `an impossible rule took ${performance.now() - t} ms`);
  refusal(() => expandRule("FREQ=YEARLY;COUNT=150", start, "UTC"), /more than 100 years ahead/);
});

Deno.test("[recurrence] rrule semantics: BYDAY, leap days, never-matching dtstart", () => {
  const monday = new Date("2026-03-02T18:00:00Z");
  const dates = expandRule("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=3", monday, "UTC");
  assert.deepEqual(dates.map((d) => d.toISOString().slice(0, 10)), [
    "2026-03-03",
    "2026-03-05",
    "2026-03-10",
  ]);
  const leap = expandRule(
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=2",
    new Date("2028-02-29T12:00:00Z"),
    "UTC",
  );
  assert.deepEqual(leap.map((d) => d.toISOString().slice(0, 10)), ["2028-02-29", "2032-02-29"]);
  refusal(() => expandRule("FREQ=WEEKLY;UNTIL=20260101T000000Z", monday, "UTC"), /no occurrences/);
  refusal(() => expandRule("FREQ=WEEKLY", monday, "UTC"), /never ends/);
});

Deno.test("[recurrence] a daily rule at a time that falls in the DST gap moves forward that day only", () => {
  const start = new Date("2026-03-07T07:30:00Z"); // Sat 02:30 EST
  const dates = expandRule("FREQ=DAILY;COUNT=3", start, "America/New_York");
  assert.deepEqual(dates.map((d) => localIso(d, "America/New_York")), [
    "2026-03-07T02:30",
    "2026-03-08T03:30",
    "2026-03-09T02:30",
  ]);
});

Deno.test("[recurrence] describeRule gives English text", () => {
  assert.equal(describeRule("FREQ=WEEKLY;COUNT=5"), "every week for 5 times");
  assert.match(describeRule("rrule:freq=monthly;byday=1mo;count=3"), /every month on the 1st Monday/);
  refusal(() => describeRule("FREQ=HOURLY;COUNT=2"), /at most daily/);
});
