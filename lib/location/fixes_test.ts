import assert from "node:assert/strict";
import { batchSchema, type Fix, isJump, JumpFilter, timeProblems, toFixes } from "./fixes.ts";
import { distanceM, interpolate, moveBy } from "./geo.ts";

const at = (lat: number, lng: number, t: number, accuracy = 5): Fix => ({
  lat,
  lng,
  accuracy,
  speed: null,
  heading: null,
  t,
});

Deno.test("[geo] distance and moveBy agree (1 km north and east in Paris)", () => {
  const p = { lat: 48.85, lng: 2.35 };
  for (const bearing of [0, 90, 180, 270, 45]) {
    assert.ok(Math.abs(distanceM(p, moveBy(p, 1000, bearing)) - 1000) < 0.5, `bearing ${bearing}`);
  }
  assert.equal(distanceM(p, p), 0);
  const line = interpolate(p, moveBy(p, 100, 0), 10);
  assert.equal(line.length, 11);
});

Deno.test("[fixes] the schema refuses out-of-range values, strings, unknown fields and too many fixes", () => {
  const ok = { lat: 1, lng: 2, accuracy: 3, recorded_at: "2026-01-01T00:00:00Z" };
  assert.ok(batchSchema.safeParse([ok]).success);
  for (
    const bad of [
      [],
      [{ ...ok, lat: 91 }],
      [{ ...ok, lng: -181 }],
      [{ ...ok, lat: "1" }],
      [{ ...ok, accuracy: 5001 }],
      [{ ...ok, heading: 360 }],
      [{ ...ok, speed: -1 }],
      [{ ...ok, extra: 1 }],
      [{ ...ok, recorded_at: "2026-01-01T00:00:00" }],
      Array(101).fill(ok),
      { ...ok },
    ]
  ) assert.equal(batchSchema.safeParse(bad).success, false, JSON.stringify(bad).slice(0, 80));
});

Deno.test("[fixes] times: 60 s of clock skew allowed, not more; not older than 24 h", () => {
  const now = Date.parse("2026-06-01T12:00:00Z");
  const f = (iso: string) => ({ lat: 0, lng: 0, accuracy: 1, recorded_at: iso });
  assert.deepEqual(timeProblems([f("2026-06-01T12:00:59Z"), f("2026-05-31T12:00:01Z")], now), []);
  assert.deepEqual(
    timeProblems([f("2026-06-01T12:01:01Z"), f("2026-05-31T11:59:59Z")], now).map((p) => p.path),
    [
      "0.recorded_at",
      "1.recorded_at",
    ],
  );
});

Deno.test("[fixes] toFixes sorts by time and keeps the first of equal timestamps", () => {
  const { fixes, repeated } = toFixes([
    { lat: 2, lng: 0, accuracy: 1, recorded_at: "2026-01-01T00:00:02Z" },
    { lat: 1, lng: 0, accuracy: 1, recorded_at: "2026-01-01T00:00:01Z" },
    { lat: 9, lng: 0, accuracy: 1, recorded_at: "2026-01-01T01:00:02+01:00" },
  ]);
  assert.deepEqual(fixes.map((f) => f.lat), [1, 2]);
  assert.equal(repeated, 1);
});

Deno.test("[fixes] a jump is over 300 km/h after forgiving accuracy (at most 100 m)", () => {
  const a = at(48.85, 2.35, 0);
  const near = moveBy(a, 800, 90); // 800 m in 10 s = 288 km/h
  assert.equal(isJump(a, at(near.lat, near.lng, 10_000)), false);
  const far = moveBy(a, 1000, 90); // 1000 - 10 m slack in 10 s = 356 km/h
  assert.equal(isJump(a, at(far.lat, far.lng, 10_000)), true);
  const noisy = moveBy(a, 90, 90); // within the accuracy slack, same instant
  assert.equal(isJump(at(a.lat, a.lng, 0, 50), at(noisy.lat, noisy.lng, 0, 50)), false);
  // Late fixes are judged by |time apart|.
  assert.equal(isJump(at(near.lat, near.lng, 10_000), a), false);
});

Deno.test("[fixes] the jump filter drops a glitch and re-anchors after three consistent fixes", () => {
  const start = at(48.85, 2.35, 0);
  const filter = new JumpFilter(start);
  const glitch = moveBy(start, 10_000, 90);
  const r1 = filter.filter([at(glitch.lat, glitch.lng, 10_000)]);
  assert.deepEqual([r1.accepted.length, r1.dropped], [0, 1]);
  const back = moveBy(start, 50, 0);
  const r2 = filter.filter([at(back.lat, back.lng, 12_000)]);
  assert.deepEqual([r2.accepted.length, r2.dropped], [1, 0], "the next good fix is accepted");
  // Three consistent fixes far away: the third becomes the new reference.
  const there = moveBy(start, 20_000, 180);
  const r3 = filter.filter([
    at(there.lat, there.lng, 20_000),
    at(moveBy(there, 10, 0).lat, there.lng, 21_000),
    at(moveBy(there, 20, 0).lat, there.lng, 22_000),
  ]);
  assert.deepEqual([r3.accepted.length, r3.dropped], [1, 2]);
  assert.equal(filter.reference?.t, 22_000);
  const r4 = filter.filter([at(moveBy(there, 30, 0).lat, there.lng, 23_000)]);
  assert.deepEqual([r4.accepted.length, r4.dropped], [1, 0]);
});

Deno.test("[fixes] a late fix does not move the reference back in time", () => {
  const start = at(48.85, 2.35, 10_000);
  const filter = new JumpFilter(start);
  const r = filter.filter([at(48.8501, 2.35, 5_000)]);
  assert.equal(r.accepted.length, 1);
  assert.equal(filter.reference?.t, 10_000);
});
