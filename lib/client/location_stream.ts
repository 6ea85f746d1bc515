/**
 * The partner's location stream without the browser (docs/orders.md, "Pages"): the three battery
 * modes, which fixes are worth keeping, and the per-order offline buffer that keeps fixes in
 * `localStorage` and sends them in batches of at most 100 with backoff. Storage, fetch and the
 * clock are injected, so all of it runs in unit tests.
 */
import { distanceM } from "@/lib/location/geo.ts";

/** The battery modes. */
export type StreamMode = "high" | "balanced" | "low";

/** What a mode asks of the geolocation API and how often a fix is kept. */
export interface ModeSettings {
  label: string;
  hint: string;
  enableHighAccuracy: boolean;
  /** A fix is kept when this long has passed since the last kept one… */
  intervalMs: number;
  /** …or when it is this far from it. */
  distanceM: number;
  /** `maximumAge` for watchPosition: a cached position this recent is fine. */
  maximumAge: number;
}

/** The mode table. */
export const MODES: Record<StreamMode, ModeSettings> = {
  high: {
    label: "High accuracy",
    hint: "GPS, every 2 s or 5 m",
    enableHighAccuracy: true,
    intervalMs: 2_000,
    distanceM: 5,
    maximumAge: 0,
  },
  balanced: {
    label: "Balanced",
    hint: "every 10 s or 25 m",
    enableHighAccuracy: false,
    intervalMs: 10_000,
    distanceM: 25,
    maximumAge: 5_000,
  },
  low: {
    label: "Low power",
    hint: "network position, every 30 s or 100 m",
    enableHighAccuracy: false,
    intervalMs: 30_000,
    distanceM: 100,
    maximumAge: 60_000,
  },
};

/** The modes in display order. */
export const MODE_ORDER: StreamMode[] = ["high", "balanced", "low"];

const MODE_KEY = "plaza:partner:mode";

/** The storage the buffer and the mode live in (`localStorage` in the browser). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** `localStorage`, or null where it is missing or blocked (private mode, sandboxed frames). */
export function browserStorage(): KeyValueStore | null {
  return safe(() => globalThis.localStorage ?? null, null);
}

/** The saved mode, "balanced" when none (or an unknown one) is saved. */
export function loadMode(store: KeyValueStore | null): StreamMode {
  const saved = safe(() => store?.getItem(MODE_KEY) ?? null, null);
  return saved && saved in MODES ? saved as StreamMode : "balanced";
}

/** Remembers the mode. */
export function saveMode(store: KeyValueStore | null, mode: StreamMode): void {
  safe(() => store?.setItem(MODE_KEY, mode), undefined);
}

/** A fix as `POST /orders/:id/locations` takes it. */
export interface QueuedFix {
  lat: number;
  lng: number;
  accuracy: number;
  speed: number | null;
  heading: number | null;
  recorded_at: string;
}

/** The parts of a `GeolocationPosition` a fix needs. */
export interface PositionLike {
  coords: {
    latitude: number;
    longitude: number;
    accuracy: number;
    speed?: number | null;
    heading?: number | null;
  };
  timestamp: number;
}

const finite = (n: number | null | undefined): n is number => typeof n === "number" && Number.isFinite(n);

/** A geolocation position as a fix, with values outside the API's ranges left out or clamped. */
export function toFix(pos: PositionLike): QueuedFix {
  const { latitude, longitude, accuracy, speed, heading } = pos.coords;
  return {
    lat: latitude,
    lng: longitude,
    accuracy: finite(accuracy) ? Math.min(5000, Math.max(0, accuracy)) : 5000,
    speed: finite(speed) && speed >= 0 ? Math.min(100, speed) : null,
    heading: finite(heading) && heading >= 0 && heading < 360 ? heading : null,
    recorded_at: new Date(pos.timestamp).toISOString(),
  };
}

/** Whether `next` is worth keeping after `last` (the last kept fix) in `mode`. */
export function shouldKeep(last: QueuedFix | null, next: QueuedFix, mode: StreamMode): boolean {
  if (!last) return true;
  const m = MODES[mode];
  const elapsed = Date.parse(next.recorded_at) - Date.parse(last.recorded_at);
  if (elapsed <= 0) return false; // the same or an older reading
  return elapsed >= m.intervalMs || distanceM(last, next) >= m.distanceM;
}

/** The pause before retry number `attempt` (0-based): Retry-After when given, else 1 s doubling to 60 s. */
export function backoffMs(attempt: number, retryAfter: string | null = null): number {
  if (retryAfter && /^\d+$/.test(retryAfter.trim())) return Math.min(600_000, Number(retryAfter) * 1000);
  return Math.min(60_000, 1000 * 2 ** Math.max(0, attempt));
}

/** What one {@link FixBuffer.flush} did. */
export interface FlushResult {
  /** Fixes the server acknowledged (accepted or already stored). */
  sent: number;
  /**
   * `done`: nothing left; `waiting`: a retry is due at `retryAt` (network, 5xx, 429);
   * `dropped`: a batch was refused (other 4xx) and thrown away, see `error`;
   * `inactive`: the order is no longer active (409 order_not_active), everything was dropped.
   */
  outcome: "done" | "waiting" | "dropped" | "inactive";
  retryAt?: number;
  error?: string;
}

/** How a {@link FixBuffer} is built. */
export interface FixBufferOptions {
  store: KeyValueStore | null;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
  now?: () => number;
  /** Fixes kept at most (the oldest are dropped). */
  cap?: number;
  /** Fixes per request (the API takes at most 100). */
  batchSize?: number;
}

/** The API refuses fixes older than 24 h; a minute's margin for the request's own time. */
export const MAX_FIX_AGE_MS = 24 * 3600_000 - 60_000;

/**
 * The fixes of one order not yet acknowledged by the server, kept in storage (so a reload or a
 * closed tab loses nothing) and sent oldest first in batches.
 */
export class FixBuffer {
  readonly key: string;
  /** Fixes acknowledged since this buffer was made. */
  sent = 0;
  /** Fixes dropped (too old, over the cap, or refused). */
  dropped = 0;
  /** When the next retry is allowed (ms since epoch), 0 when now. */
  retryAt = 0;
  private attempt = 0;
  private fixes: QueuedFix[];
  private running: Promise<FlushResult> | null = null;
  private readonly now: () => number;
  private readonly cap: number;
  private readonly batchSize: number;

  constructor(readonly orderId: string, private readonly options: FixBufferOptions) {
    this.key = `plaza:fixes:${orderId}`;
    this.now = options.now ?? Date.now;
    this.cap = options.cap ?? 5_000;
    this.batchSize = Math.min(100, options.batchSize ?? 100);
    this.fixes = this.load();
  }

  /** Fixes waiting to be sent. */
  get queued(): number {
    return this.fixes.length;
  }

  /** Adds a fix (dropping the oldest beyond the cap) and saves the queue. */
  push(fix: QueuedFix): void {
    this.fixes.push(fix);
    if (this.fixes.length > this.cap) {
      this.dropped += this.fixes.length - this.cap;
      this.fixes = this.fixes.slice(-this.cap);
    }
    this.save();
  }

  /** Forgets every queued fix. */
  clear(): void {
    this.fixes = [];
    this.save();
  }

  /**
   * Sends queued fixes until none are left or a request fails. Waits while a backoff is running
   * unless `force` (the browser came back online). One flush at a time: a second call joins it.
   */
  flush(force = false): Promise<FlushResult> {
    if (this.running) return this.running;
    if (!force && this.retryAt > this.now()) {
      return Promise.resolve({ sent: 0, outcome: "waiting", retryAt: this.retryAt });
    }
    this.running = this.sendAll().finally(() => this.running = null);
    return this.running;
  }

  private async sendAll(): Promise<FlushResult> {
    let sent = 0;
    this.dropStale();
    while (this.fixes.length) {
      const batch = this.fixes.slice(0, this.batchSize);
      let res: Response;
      try {
        res = await this.options.fetch(`/api/v1/orders/${this.orderId}/locations`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify(batch),
        });
      } catch {
        return this.wait(sent, null, "You seem to be offline: fixes are kept and sent later.");
      }
      if (res.ok) {
        await res.body?.cancel();
        this.remove(batch.length);
        this.sent += batch.length;
        sent += batch.length;
        this.attempt = 0;
        this.retryAt = 0;
        continue;
      }
      const body = await res.json().catch(() => null) as
        | { error?: { code?: string; message?: string } }
        | null;
      const message = body?.error?.message ?? `The server answered ${res.status}.`;
      if (res.status === 429 || res.status >= 500) {
        return this.wait(sent, res.headers.get("retry-after"), message);
      }
      if (res.status === 409 && body?.error?.code === "order_not_active") {
        this.dropped += this.fixes.length;
        this.clear();
        return { sent, outcome: "inactive", error: message };
      }
      this.remove(batch.length);
      this.dropped += batch.length;
      return { sent, outcome: "dropped", error: message };
    }
    return { sent, outcome: "done" };
  }

  private wait(sent: number, retryAfter: string | null, error: string): FlushResult {
    this.retryAt = this.now() + backoffMs(this.attempt++, retryAfter);
    return { sent, outcome: "waiting", retryAt: this.retryAt, error };
  }

  private remove(n: number) {
    this.fixes = this.fixes.slice(n);
    this.save();
  }

  private dropStale() {
    const oldest = this.now() - MAX_FIX_AGE_MS;
    const fresh = this.fixes.filter((f) => Date.parse(f.recorded_at) >= oldest);
    if (fresh.length !== this.fixes.length) {
      this.dropped += this.fixes.length - fresh.length;
      this.fixes = fresh;
      this.save();
    }
  }

  private load(): QueuedFix[] {
    const raw = safe(() => this.options.store?.getItem(this.key) ?? null, null);
    if (!raw) return [];
    const parsed = safe(() => JSON.parse(raw) as unknown, null);
    return Array.isArray(parsed) ? parsed.filter(isFix) : [];
  }

  private save() {
    const store = this.options.store;
    if (!store) return;
    safe(() => {
      if (this.fixes.length) store.setItem(this.key, JSON.stringify(this.fixes));
      else store.removeItem(this.key);
    }, undefined);
  }
}

function isFix(v: unknown): v is QueuedFix {
  const f = v as QueuedFix;
  return !!f && typeof f === "object" && finite(f.lat) && finite(f.lng) && typeof f.recorded_at === "string";
}

/** Storage can throw (quota, private mode): the stream goes on without it. */
function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
