/** Geo maths for location fixes: great-circle distance (the same formula as SQL's geo_distance_m). */

/** A point on Earth in degrees. */
export interface LatLng {
  lat: number;
  lng: number;
}

const R = 6371008.8; // mean Earth radius, metres
const rad = (deg: number) => (deg * Math.PI) / 180;

/** Haversine distance in metres. */
export function distanceM(a: LatLng, b: LatLng): number {
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The point `metres` from `from` towards `bearingDeg` (for simulated routes in tests and benches). */
export function moveBy(from: LatLng, metres: number, bearingDeg: number): LatLng {
  const d = metres / R;
  const b = rad(bearingDeg);
  const lat1 = rad(from.lat);
  const lng1 = rad(from.lng);
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(b));
  const lng2 = lng1 +
    Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(lat1), Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  return { lat: (lat2 * 180) / Math.PI, lng: ((((lng2 * 180) / Math.PI) + 540) % 360) - 180 };
}

/** Points every `stepM` metres along the straight line from `a` to `b` (both included). */
export function interpolate(a: LatLng, b: LatLng, stepM: number): LatLng[] {
  const total = distanceM(a, b);
  const n = Math.max(1, Math.ceil(total / stepM));
  const out: LatLng[] = [];
  for (let i = 0; i <= n; i++) {
    out.push({ lat: a.lat + (b.lat - a.lat) * (i / n), lng: a.lng + (b.lng - a.lng) * (i / n) });
  }
  return out;
}
