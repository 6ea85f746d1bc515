/** Tests of the iCalendar writer, checked by parsing the output back with ical.js, and of Google links. */
import assert from "node:assert/strict";
import ICAL from "ical.js";
import { buildCalendar, escapeText, foldLine, googleCalendarUrl, type IcsEvent } from "./ics.ts";

function event(overrides: Partial<IcsEvent> = {}): IcsEvent {
  return {
    uid: "evt-1@plaza.invalid",
    sequence: 2,
    dtstamp: new Date("2026-01-01T12:00:00Z"),
    start: new Date("2026-07-04T08:00:00Z"),
    end: new Date("2026-07-04T10:00:00Z"),
    timezone: "Europe/Berlin",
    summary: "Picnic",
    status: "CONFIRMED",
    ...overrides,
  };
}

/** Parses a calendar with ical.js, registering its VTIMEZONEs, and returns its events by UID. */
function parse(ics: string): Map<string, InstanceType<typeof ICAL.Event>> {
  const calendar = new ICAL.Component(ICAL.parse(ics));
  ICAL.TimezoneService.reset();
  for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
  }
  const events = calendar.getAllSubcomponents("vevent").map((c) => new ICAL.Event(c));
  return new Map(events.map((e) => [e.uid, e]));
}

const physicalLines = (ics: string) => ics.split("\r\n").slice(0, -1);

Deno.test("[ics] instants round-trip through ical.js in Berlin, New York across DST, and UTC", () => {
  const events = [
    event({ uid: "berlin-summer" }),
    event({
      uid: "ny-winter",
      timezone: "America/New_York",
      start: new Date("2026-03-07T15:00:00Z"),
      end: new Date("2026-03-07T17:00:00Z"),
    }),
    event({
      uid: "ny-summer",
      timezone: "America/New_York",
      start: new Date("2026-03-09T14:00:00Z"),
      end: new Date("2026-03-09T16:00:00Z"),
    }),
    event({
      uid: "utc",
      timezone: "UTC",
      start: new Date("2026-12-31T23:00:00Z"),
      end: new Date("2027-01-01T01:00:00Z"),
    }),
    event({
      uid: "berlin-winter-2028",
      start: new Date("2028-01-10T18:00:00Z"),
      end: new Date("2028-01-10T19:00:00Z"),
    }),
  ];
  const ics = buildCalendar(events, { name: "Plaza events" });
  assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
  assert.match(ics, /\r\nDTSTART;TZID=Europe\/Berlin:20260704T100000\r\n/);
  assert.match(ics, /\r\nDTSTART;TZID=America\/New_York:20260307T100000\r\n/);
  assert.match(ics, /\r\nDTSTART:20261231T230000Z\r\n/);
  assert.equal(ics.match(/BEGIN:VTIMEZONE/g)?.length, 2);
  assert.match(ics, /TZNAME:CEST/);
  assert.match(ics, /TZNAME:EDT/);
  const parsed = parse(ics);
  for (const e of events) {
    const back = parsed.get(e.uid);
    assert.ok(back, e.uid);
    assert.equal(back.startDate.toJSDate().getTime(), e.start.getTime(), `${e.uid} start`);
    assert.equal(back.endDate.toJSDate().getTime(), e.end.getTime(), `${e.uid} end`);
  }
});

Deno.test("[ics] times in a fall-back overlap: first occurrence local, second in UTC", () => {
  const first = event({
    uid: "first",
    timezone: "America/New_York",
    start: new Date("2026-11-01T05:30:00Z"),
  });
  const second = event({
    uid: "second",
    timezone: "America/New_York",
    start: new Date("2026-11-01T06:30:00Z"),
  });
  const ics = buildCalendar([
    { ...first, end: new Date("2026-11-01T07:00:00Z") },
    { ...second, end: new Date("2026-11-01T07:00:00Z") },
  ]);
  // RFC 5545 3.3.5: an ambiguous local time means its first occurrence (01:30 EDT).
  assert.match(
    ics,
    /UID:first\r\nDTSTAMP:\S+\r\nSEQUENCE:2\r\nDTSTART;TZID=America\/New_York:20261101T013000\r\n/,
  );
  // The second 01:30 (EST) cannot be named in local time, so it is written in UTC.
  assert.match(ics, /UID:second\r\nDTSTAMP:\S+\r\nSEQUENCE:2\r\nDTSTART:20261101T063000Z\r\n/);
  assert.equal(parse(ics).get("second")?.startDate.toJSDate().getTime(), second.start.getTime());
});

Deno.test("[ics] text with commas, semicolons, newlines, backslashes and emoji round-trips exactly", () => {
  const summary = 'Café, bar; "quotes" \\ back\\slash\nline two 🎉🇩🇪 — ' + "ü".repeat(40);
  const description = "Bring: food, drinks;\nand\r\nmore \\n literal\t tab 👩‍👩‍👧";
  const location = "Platz 1, 10115 Berlin";
  const ics = buildCalendar([event({ summary, description, location })]);
  const back = parse(ics).get("evt-1@plaza.invalid");
  assert.ok(back);
  assert.equal(back.summary, summary);
  assert.equal(back.description, description.replace("\r\n", "\n"));
  assert.equal(back.location, location);
  assert.equal(escapeText("a,b;c\\d\ne\r\x07f"), "a\\,b\\;c\\\\d\\ne" + "f");
});

Deno.test("[ics] lines end with CRLF, fold at 75 octets, never split characters", () => {
  const summary = "🎉".repeat(30) + "x".repeat(100) + "ü".repeat(60) + "漢字".repeat(40);
  const ics = buildCalendar([
    event({ summary, description: "d".repeat(500), organizer: "Åsa 🎉 Organizer" }),
  ]);
  assert.ok(ics.endsWith("END:VCALENDAR\r\n"));
  assert.equal(ics.replace(/\r\n/g, "").includes("\r"), false);
  assert.equal(ics.replace(/\r\n/g, "").includes("\n"), false);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const encoder = new TextEncoder();
  for (const line of physicalLines(ics)) {
    const bytes = encoder.encode(line);
    assert.ok(bytes.length <= 75, `${bytes.length} octets: ${line}`);
    assert.equal(decoder.decode(bytes), line);
    assert.equal(line.includes("\uFFFD"), false);
    assert.ok(!/[\uD800-\uDBFF]$/.test(line) && !/^ ?[\uDC00-\uDFFF]/.test(line), "surrogate pair split");
  }
  assert.equal(parse(ics).get("evt-1@plaza.invalid")?.summary, summary);
  const folded = foldLine("SUMMARY:" + "é".repeat(40));
  assert.deepEqual(folded.split("\r\n").map((l) => encoder.encode(l).length), [74, 15]);
});

Deno.test("[ics] status, sequence, organizer, geo, url and header properties", () => {
  const ics = buildCalendar(
    [
      event({
        status: "CANCELLED",
        sequence: 7,
        organizer: 'The "Best" Club',
        geo: { lat: 52.52, lng: 13.405 },
        url: "https://plaza.example/events/1",
        lastModified: new Date("2026-02-01T08:00:00Z"),
      }),
    ],
    { name: "Club, events" },
  );
  const lines = physicalLines(ics);
  for (
    const expected of [
      "BEGIN:VCALENDAR",
      "VERSION:2.0",
      "PRODID:-//Plaza//Events//EN",
      "CALSCALE:GREGORIAN",
      "METHOD:PUBLISH",
      "X-WR-CALNAME:Club\\, events",
      "STATUS:CANCELLED",
      "SEQUENCE:7",
      'ORGANIZER;CN="The Best Club":mailto:noreply@plaza.invalid',
      "GEO:52.52;13.405",
      "URL:https://plaza.example/events/1",
      "DTSTAMP:20260101T120000Z",
      "LAST-MODIFIED:20260201T080000Z",
      "UID:evt-1@plaza.invalid",
    ]
  ) assert.ok(lines.includes(expected), expected);
  const back = parse(ics).get("evt-1@plaza.invalid");
  assert.ok(back);
  assert.equal(back.sequence, 7);
  assert.equal(back.component.getFirstPropertyValue("status"), "CANCELLED");
  assert.deepEqual(back.component.getFirstPropertyValue("geo"), [52.52, 13.405]);
  assert.equal(back.organizer, "mailto:noreply@plaza.invalid");
  assert.equal(back.component.getFirstProperty("organizer")?.getParameter("cn"), "The Best Club");
});

Deno.test("[ics] zones without DST get one STANDARD; only used zones get a VTIMEZONE", () => {
  const ics = buildCalendar([
    event({ uid: "kolkata", timezone: "Asia/Kolkata" }),
    event({ uid: "utc", timezone: "UTC" }),
  ]);
  const zone = ics.slice(ics.indexOf("BEGIN:VTIMEZONE"), ics.indexOf("END:VTIMEZONE"));
  assert.equal(ics.match(/BEGIN:VTIMEZONE/g)?.length, 1);
  assert.match(zone, /TZID:Asia\/Kolkata/);
  assert.equal(zone.match(/BEGIN:STANDARD/g)?.length, 1);
  assert.equal(zone.includes("DAYLIGHT"), false);
  assert.match(zone, /TZOFFSETTO:\+0530/);
  const back = parse(ics);
  assert.equal(back.get("kolkata")?.startDate.toJSDate().getTime(), event().start.getTime());
  assert.equal(back.get("utc")?.startDate.toJSDate().getTime(), event().start.getTime());
});

Deno.test("[ics] VTIMEZONE lists the real transitions of the years around the events", () => {
  const ics = buildCalendar([event({ timezone: "America/New_York" })]);
  // 2025 to 2027: three spring-forward and three fall-back transitions.
  assert.equal(ics.match(/BEGIN:DAYLIGHT/g)?.length, 3);
  assert.match(
    ics,
    /BEGIN:DAYLIGHT\r\nDTSTART:20260308T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n/,
  );
  assert.match(
    ics,
    /BEGIN:STANDARD\r\nDTSTART:20261101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n/,
  );
});

Deno.test("[ics] Google Calendar link", () => {
  const url = new URL(
    googleCalendarUrl({
      summary: "Picnic & games",
      start: new Date("2026-03-07T09:00:00Z"),
      end: new Date("2026-03-07T11:00:00Z"),
      timezone: "Europe/Berlin",
      description: "Bring food",
      location: "Tiergarten, Berlin",
    }),
  );
  assert.equal(url.origin + url.pathname, "https://calendar.google.com/calendar/render");
  assert.equal(url.searchParams.get("action"), "TEMPLATE");
  assert.equal(url.searchParams.get("text"), "Picnic & games");
  assert.equal(url.searchParams.get("dates"), "20260307T090000Z/20260307T110000Z");
  assert.equal(url.searchParams.get("ctz"), "Europe/Berlin");
  assert.equal(url.searchParams.get("details"), "Bring food");
  assert.equal(url.searchParams.get("location"), "Tiergarten, Berlin");
  const bare = new URL(googleCalendarUrl({ ...event(), summary: "x" }));
  assert.equal(bare.searchParams.has("details"), false);
  assert.equal(bare.searchParams.has("location"), false);
});
