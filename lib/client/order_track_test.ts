import assert from "node:assert/strict";
import { estimateEta, etaLabel, mergeFixes } from "./order_track.ts";
import type { TrackView } from "../location/track.ts";

const fix = (s: number, lat = 48.85) => ({
  lat,
  lng: 2.36,
  accuracy: 10,
  speed: 8,
  heading: null,
  recorded_at: new Date(Date.UTC(2026, 0, 1, 10, 0, s)).toISOString(),
});

Deno.test("[order tracker] fixes arriving out of order keep the trail sorted; an older one does not move the marker", () => {
  let r = mergeFixes([], [fix(10), fix(5)]);
  assert.deepEqual(r.trail.map((f) => f.recorded_at), [fix(5).recorded_at, fix(10).recorded_at]);
  assert.equal(r.newest, true);
  r = mergeFixes(r.trail, [fix(7)]);
  assert.equal(r.trail.length, 3);
  assert.equal(r.trail[1].recorded_at, fix(7).recorded_at);
  assert.equal(r.newest, false);
  r = mergeFixes(r.trail, [fix(10), fix(12)]);
  assert.equal(r.trail.length, 4, "a repeated fix is kept once");
  assert.equal(r.newest, true);
});

Deno.test("[order tracker] ETA labels", () => {
  assert.equal(etaLabel(null), "");
  assert.equal(etaLabel(30), "arriving");
  assert.equal(etaLabel(420), "about 7 min");
});

Deno.test("[order tracker] the live ETA follows the server's rule", () => {
  const view = {
    status: "en_route_pickup",
    arrived: { pickup: null, dropoff: null },
    pickup: { address: "", lat: 48.85, lng: 2.37 },
    dropoff: { address: "", lat: 48.86, lng: 2.36 },
  } as unknown as TrackView;
  const eta = estimateEta(view, [fix(0)])!;
  // ~732 m × 1.3 ÷ 8 m/s ≈ 119 s
  assert.ok(eta > 100 && eta < 140, String(eta));
  assert.equal(estimateEta({ ...view, arrived: { pickup: "x", dropoff: null } }, [fix(0)]), 0);
  assert.equal(estimateEta({ ...view, status: "delivered" }, [fix(0)]), null);
});
