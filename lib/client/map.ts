/**
 * Leaflet for the map islands (order tracker, dispatch board): loaded on demand with its stylesheet,
 * so only map pages pay for it. Markers are `divIcon`s styled by styles.css (`.map-pin`,
 * `.map-partner`), so no image files are needed and tiles are optional: without a tile URL (or
 * offline) the pins, the partner and the trail still render on a plain background.
 */
// @ts-types="@types/leaflet"
import type * as L from "leaflet";

/** What a page passes to a map island. */
export interface MapSettings {
  /** Tile URL template (`{z}/{x}/{y}`), or "" for none. */
  tiles: string;
  attribution: string;
  /** The hashed URL of /static/leaflet.css. */
  css: string;
}

let loading: Promise<typeof L> | undefined;

/** Loads Leaflet and its stylesheet once. */
export function loadLeaflet(css: string): Promise<typeof L> {
  if (!document.querySelector(`link[data-leaflet]`)) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = css;
    link.dataset.leaflet = "";
    document.head.append(link);
  }
  // @ts-types="@types/leaflet"
  loading ??= import("leaflet").then((m) =>
    ((m as unknown as { default?: typeof L }).default ?? m) as typeof L
  );
  return loading;
}

/** Creates a map in `el` with the configured tiles (if any). */
export function createMap(leaflet: typeof L, el: HTMLElement, settings: MapSettings): L.Map {
  const map = leaflet.map(el, { zoomControl: true, attributionControl: !!settings.tiles });
  if (settings.tiles) {
    leaflet.tileLayer(settings.tiles, { maxZoom: 19, attribution: settings.attribution })
      // Offline or blocked tiles: the plain background, so pins and trail stay readable.
      .once("tileerror", () => el.classList.add("map-no-tiles"))
      .addTo(map);
  } else {
    el.classList.add("map-no-tiles");
  }
  return map;
}

/** A labelled pin (`kind` picks the colour: pickup, dropoff, order). */
export function pinIcon(leaflet: typeof L, kind: "pickup" | "dropoff" | "order", label: string): L.DivIcon {
  return leaflet.divIcon({
    className: `map-pin map-pin-${kind}`,
    html: `<span>${escapeHtml(label)}</span>`,
    iconSize: [28, 28],
    iconAnchor: [14, 28],
  });
}

/** The partner's dot (with a heading wedge when known). */
export function partnerIcon(leaflet: typeof L, label = ""): L.DivIcon {
  return leaflet.divIcon({
    className: "map-partner",
    html: `<span class="map-partner-dot"></span>${
      label ? `<span class="map-partner-label">${escapeHtml(label)}</span>` : ""
    }`,
    iconSize: [22, 22],
    iconAnchor: [11, 11],
  });
}

/**
 * Moves a marker smoothly to each new position over `ms` (default 1 s): requestAnimationFrame
 * interpolation, restarted from wherever the marker is when a newer position arrives.
 */
export function smoothMover(marker: L.Marker, ms = 1000): (to: { lat: number; lng: number }) => void {
  let frame = 0;
  return (to) => {
    cancelAnimationFrame(frame);
    const from = marker.getLatLng();
    const start = performance.now();
    const step = (now: number) => {
      const k = Math.min(1, (now - start) / ms);
      const e = k < 0.5 ? 2 * k * k : 1 - (-2 * k + 2) ** 2 / 2; // ease in-out
      marker.setLatLng([from.lat + (to.lat - from.lat) * e, from.lng + (to.lng - from.lng) * e]);
      if (k < 1) frame = requestAnimationFrame(step);
    };
    frame = requestAnimationFrame(step);
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
