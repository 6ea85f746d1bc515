import assert from "node:assert/strict";
import { moveBy } from "./geo.ts";
import { DEFAULT_SPEED, estimateEta, MAX_SPEED, ROAD_FACTOR } from "./track.ts";

const pickup = { address: "A", lat: 48.85, lng: 2.35 };
const dropoff = { address: "B", ...moveBy(pickup, 2000, 0) };
const fixAt = (p: { lat: number; lng: number }, speed: number | null, at = "2026-01-01T00:10:00Z") => ({
  lat: p.lat,
  lng: p.lng,
  accuracy: 5,
  speed,
  heading: null,
  recorded_at: at,
});
const none = { pickup: null, dropoff: null };

Deno.test("[eta] distance x road factor / speed towards the next stop", () => {
  const pos = fixAt(moveBy(pickup, 1000, 0), null);
  const e = estimateEta({ status: "en_route_dropoff", pickup, dropoff }, pos, [], none);
  assert.equal(e.eta_target, "dropoff");
  assert.ok(Math.abs(e.eta_seconds! - (1000 * ROAD_FACTOR) / DEFAULT_SPEED) < 2);
  const fast = estimateEta({ status: "en_route_dropoff", pickup, dropoff }, pos, [fixAt(pickup, 80)], none);
  assert.ok(Math.abs(fast.eta_seconds! - (1000 * ROAD_FACTOR) / MAX_SPEED) < 2, "speed clamped");
  const toPickup = estimateEta({ status: "en_route_pickup", pickup, dropoff }, pos, [], none);
  assert.equal(toPickup.eta_target, "pickup");
});

Deno.test("[eta] zero once arrived, null without a position or when finished", () => {
  const pos = fixAt(dropoff, 5);
  assert.equal(
    estimateEta({ status: "en_route_dropoff", pickup, dropoff }, pos, [], { pickup: null, dropoff: "x" })
      .eta_seconds,
    0,
  );
  assert.equal(
    estimateEta({ status: "en_route_dropoff", pickup, dropoff }, null, [], none).eta_seconds,
    null,
  );
  assert.deepEqual(estimateEta({ status: "delivered", pickup, dropoff }, pos, [], none), {
    eta_seconds: null,
    eta_target: null,
  });
});
