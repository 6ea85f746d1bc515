/**
 * Live counters for admins (docs/analytics.md): every few seconds each server process reads who was
 * active in the last 5 minutes and the last minute's messages, and broadcasts them as event `live`
 * on the private channel `admin:live` (RLS lets only admins receive it).
 */
import type { Db } from "../db/port.ts";
import type { Logger } from "../log.ts";
import type { Publisher } from "../realtime/publisher.ts";
import { liveCounters } from "./dashboard.ts";

/** The topic and event the dashboard's LiveCounters island listens to. */
export const LIVE_TOPIC = "admin:live";
export const LIVE_EVENT = "live";

/** Reads and broadcasts the counters once. */
export async function publishLive(deps: { db: Db; publisher: Publisher }): Promise<void> {
  const payload = await liveCounters(deps.db);
  await deps.publisher.broadcast([{ topic: LIVE_TOPIC, event: LIVE_EVENT, payload, private: true }]);
}

/** Broadcasts every `everyMs` (5 s) until the returned function is called. */
export function startLiveCounters(
  deps: { db: Db; publisher: Publisher; log: Logger },
  everyMs = 5_000,
): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  let failing = false;
  const timer = setInterval(() => {
    running = running.then(() =>
      publishLive(deps).then(
        () => {
          failing = false;
        },
        (err) => {
          // Log once per outage, not every 5 seconds.
          if (!failing) deps.log.warn("live counters not published", { err: String(err) });
          failing = true;
        },
      )
    );
  }, everyMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
