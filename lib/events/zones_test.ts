/** Tests of the Intl-based time zone helpers: validation, offsets, DST gaps and overlaps, formatting. */
import assert from "node:assert/strict";
import {
  floatingMs,
  formatInZone,
  formatWhen,
  isTimeZone,
  localIso,
  offsetMinutes,
  parseLocalIso,
  TIME_ZONES,
  wallClock,
  type WallTime,
  zonedToInstant,
} from "./zones.ts";

const iso = (d: Date) => d.toISOString();

Deno.test("[zones] isTimeZone accepts UTC and supported zones, rejects the rest", () => {
  assert.ok(isTimeZone("UTC"));
  assert.ok(isTimeZone("Europe/Berlin"));
  assert.ok(isTimeZone("America/New_York"));
  for (const tz of Intl.supportedValuesOf("timeZone")) assert.ok(isTimeZone(tz), tz);
  for (const bad of ["", " UTC", "UTC ", "Europe/Nowhere", "garbage", "europe/berlin", "+01:00"]) {
    assert.equal(isTimeZone(bad), false, bad);
  }
});

Deno.test("[zones] TIME_ZONES starts with UTC and lists each zone once", () => {
  assert.equal(TIME_ZONES[0], "UTC");
  assert.equal(new Set(TIME_ZONES).size, TIME_ZONES.length);
  assert.ok(TIME_ZONES.includes("Europe/Berlin"));
});

Deno.test("[zones] wallClock and offsetMinutes", () => {
  const winter = new Date("2026-01-15T12:00:00Z");
  const summer = new Date("2026-07-15T12:00:00Z");
  assert.deepEqual(wallClock(winter, "Europe/Berlin"), {
    year: 2026,
    month: 1,
    day: 15,
    hour: 13,
    minute: 0,
    second: 0,
  });
  assert.equal(wallClock(new Date("2026-01-01T04:59:59Z"), "America/New_York").hour, 23);
  assert.equal(offsetMinutes(winter, "Europe/Berlin"), 60);
  assert.equal(offsetMinutes(summer, "Europe/Berlin"), 120);
  assert.equal(offsetMinutes(winter, "America/New_York"), -300);
  assert.equal(offsetMinutes(summer, "America/New_York"), -240);
  assert.equal(offsetMinutes(winter, "Asia/Kolkata"), 330);
  assert.equal(offsetMinutes(winter, "UTC"), 0);
  assert.throws(() => wallClock(winter, "Europe/Nowhere"), RangeError);
});

Deno.test("[zones] zonedToInstant: ordinary times", () => {
  const at = (wall: Omit<WallTime, "second">, tz: string) => iso(zonedToInstant(wall, tz));
  assert.equal(
    at({ year: 2026, month: 3, day: 7, hour: 10, minute: 0 }, "Europe/Berlin"),
    "2026-03-07T09:00:00.000Z",
  );
  assert.equal(
    at({ year: 2026, month: 7, day: 1, hour: 10, minute: 0 }, "Europe/Berlin"),
    "2026-07-01T08:00:00.000Z",
  );
  assert.equal(at({ year: 2026, month: 1, day: 1, hour: 0, minute: 0 }, "UTC"), "2026-01-01T00:00:00.000Z");
  assert.equal(
    iso(zonedToInstant({ year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 30 }, "Asia/Kolkata")),
    "2025-12-31T18:30:30.000Z",
  );
});

Deno.test("[zones] zonedToInstant: spring-forward gap moves forward by the gap", () => {
  // US: 2026-03-08 02:00 EST -> 03:00 EDT.
  const ny = zonedToInstant({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, "America/New_York");
  assert.equal(iso(ny), "2026-03-08T07:30:00.000Z");
  assert.equal(localIso(ny, "America/New_York"), "2026-03-08T03:30");
  // EU: 2026-03-29 02:00 CET -> 03:00 CEST.
  const berlin = zonedToInstant({ year: 2026, month: 3, day: 29, hour: 2, minute: 15 }, "Europe/Berlin");
  assert.equal(iso(berlin), "2026-03-29T01:15:00.000Z");
  assert.equal(localIso(berlin, "Europe/Berlin"), "2026-03-29T03:15");
  // Just before and after the gap are exact.
  const before = zonedToInstant({ year: 2026, month: 3, day: 8, hour: 1, minute: 59 }, "America/New_York");
  assert.equal(iso(before), "2026-03-08T06:59:00.000Z");
  const after = zonedToInstant({ year: 2026, month: 3, day: 8, hour: 3, minute: 0 }, "America/New_York");
  assert.equal(iso(after), "2026-03-08T07:00:00.000Z");
});

Deno.test("[zones] zonedToInstant: fall-back overlap takes the earlier instant", () => {
  // US: 2026-11-01 02:00 EDT -> 01:00 EST; 01:30 happens twice.
  const ny = zonedToInstant({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, "America/New_York");
  assert.equal(iso(ny), "2026-11-01T05:30:00.000Z");
  assert.equal(offsetMinutes(ny, "America/New_York"), -240);
  // EU: 2026-10-25 03:00 CEST -> 02:00 CET; 02:30 happens twice.
  const berlin = zonedToInstant({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, "Europe/Berlin");
  assert.equal(iso(berlin), "2026-10-25T00:30:00.000Z");
  assert.equal(offsetMinutes(berlin, "Europe/Berlin"), 120);
});

Deno.test("[zones] localIso and parseLocalIso", () => {
  const instant = new Date("2026-03-08T15:00:00Z");
  assert.equal(localIso(instant, "America/New_York"), "2026-03-08T11:00");
  assert.equal(localIso(instant, "Europe/Berlin"), "2026-03-08T16:00");
  assert.equal(parseLocalIso("2026-03-08T11:00", "America/New_York")?.getTime(), instant.getTime());
  assert.equal(
    parseLocalIso("2026-03-08T11:00:30", "America/New_York")?.getTime(),
    instant.getTime() + 30_000,
  );
  for (
    const bad of [
      "",
      "2026-03-08",
      "2026-3-8T11:00",
      "2026-13-01T10:00",
      "2026-02-30T10:00",
      "2026-03-08T24:00",
      "2026-03-08T10:60",
      "2026-03-08T10:00Z",
      " 2026-03-08T10:00",
      "yesterday",
    ]
  ) assert.equal(parseLocalIso(bad, "UTC"), null, bad);
  assert.ok(parseLocalIso("2028-02-29T10:00", "UTC"));
});

Deno.test("[zones] formatInZone and formatWhen are deterministic en-GB text", () => {
  const start = new Date("2026-03-07T09:00:00Z");
  const end = new Date("2026-03-07T11:00:00Z");
  assert.equal(formatInZone(start, "Europe/Berlin", "date"), "Sat 7 Mar 2026");
  assert.equal(formatInZone(start, "Europe/Berlin", "time"), "10:00");
  assert.equal(formatInZone(start, "Europe/Berlin"), "Sat 7 Mar 2026, 10:00");
  assert.equal(formatWhen(start, end, "Europe/Berlin"), "Sat 7 Mar 2026, 10:00–12:00 (Europe/Berlin)");
  assert.equal(
    formatWhen(new Date("2026-03-07T21:00:00Z"), new Date("2026-03-08T01:30:00Z"), "Europe/Berlin"),
    "Sat 7 Mar 2026, 22:00 – Sun 8 Mar 2026, 02:30 (Europe/Berlin)",
  );
  assert.equal(formatWhen(start, end, "UTC"), "Sat 7 Mar 2026, 09:00–11:00 (UTC)");
});

/** A small deterministic PRNG (mulberry32) so the property test is reproducible. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("[zones] property: wall times round-trip unless they fall in a DST gap", () => {
  const zones = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/Santiago"];
  const random = prng(20260307);
  const int = (n: number) => Math.floor(random() * n);
  let gaps = 0;
  for (let i = 0; i < 200; i++) {
    const tz = zones[i % zones.length];
    const month = 1 + int(12);
    const day = 1 + int(new Date(Date.UTC(2026, month, 0)).getUTCDate());
    const wall: WallTime = { year: 2026, month, day, hour: int(24), minute: int(60), second: int(60) };
    const instant = zonedToInstant(wall, tz);
    const back = wallClock(instant, tz);
    if (JSON.stringify(back) === JSON.stringify(wall)) continue;
    // Not round-tripped: must be a spring-forward gap, and the result is moved forward by the gap.
    gaps++;
    const before = offsetMinutes(new Date(floatingMs(wall) - 86_400_000), tz);
    const after = offsetMinutes(new Date(floatingMs(wall) + 86_400_000), tz);
    assert.ok(after > before, `${tz} ${JSON.stringify(wall)} did not round-trip and is not in a gap`);
    assert.equal(floatingMs(back) - floatingMs(wall), (after - before) * 60_000);
  }
  assert.ok(gaps <= 5, `too many gaps: ${gaps}`);
});

Deno.test("[zones] property: every hour across 2026 in New York and Berlin round-trips outside gaps", () => {
  for (const tz of ["America/New_York", "Europe/Berlin"]) {
    let mismatches = 0;
    for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 3_600_000) {
      const wall = wallClock(new Date(t), tz);
      const instant = zonedToInstant(wall, tz);
      assert.deepEqual(wallClock(instant, tz), wall);
      if (instant.getTime() !== t) mismatches++; // second occurrence of an ambiguous hour
    }
    assert.equal(mismatches, 1, tz);
  }
});
