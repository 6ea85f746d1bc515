/** What the orders API and the order pages share: after-change work and map settings. */
import type { MapSettings } from "@/lib/client/map.ts";
import { flushOrderOutbox } from "@/lib/orders/outbox.ts";
import type { Ctx } from "./env.ts";

/** After a status or partner change: this process forgets the order's cached facts, and the notifications go out. */
export async function afterOrderChange(c: Ctx, orderId: string): Promise<void> {
  const p = c.var.platform;
  p.locations.invalidate(orderId);
  await flushOrderOutbox(p).catch((err) => p.log.warn("order outbox flush failed", { err }));
}

/** Map settings for map islands (tiles from the config, the hashed Leaflet stylesheet). */
export function mapSettings(c: Ctx): MapSettings {
  const { map } = c.var.platform.config;
  return { tiles: map.tiles, attribution: map.attribution, css: c.var.assets.url("leaflet.css") };
}
