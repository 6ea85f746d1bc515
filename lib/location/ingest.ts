/**
 * Location ingest (docs/orders.md): partners' fixes are written in batches by group commit. A
 * request hands its fixes to the buffer and waits for the one statement that writes them, together
 * with whatever other requests brought meanwhile (the first waits 2 ms for company; while a
 * statement runs, the next batch gathers). The statement (`order_locations_ingest`) only inserts
 * fixes whose order is active and assigned to that partner (checked against the order row, locked
 * for share so a concurrent "delivered" cannot slip between) and skips fixes it already has; its
 * trigger checks the geofences. After the commit the buffer broadcasts en-route orders' new fixes
 * on `order:<id>` through the publisher.
 *
 * Per process it also keeps, per order: the facts the request path checks (2 s cache; the
 * statement checks again) and the jump filter's reference fix; and, per partner, the latest position
 * that the dispatch board gets once a second on `admin:dispatch`.
 */
import type { Db } from "../db/port.ts";
import type { Logger } from "../log.ts";
import type { Publisher } from "../realtime/publisher.ts";
import { type Fix, fixView, JumpFilter } from "./fixes.ts";
import { distanceM, type LatLng } from "./geo.ts";

/** What the request path needs to know about an order. */
export interface OrderFacts {
  id: string;
  status: string;
  customer_id: string;
  partner_id: string | null;
  pickup: LatLng;
  dropoff: LatLng;
}

/** The outcome of one request's fixes. */
export interface IngestResult {
  inserted: number;
  /** The order was no longer active (or no longer this partner's) when the batch was written. */
  inactive: boolean;
}

/** A partner's latest known position, for the dispatch board. */
export interface PartnerPosition {
  partner_id: string;
  order_id: string;
  lat: number;
  lng: number;
  heading: number | null;
  speed: number | null;
  recorded_at: string;
}

interface Submission {
  orderId: string;
  partnerId: string;
  fixes: Fix[];
  resolve: (r: IngestResult) => void;
  reject: (err: unknown) => void;
}

interface Cached {
  facts: OrderFacts | null;
  at: number;
}

/** Geofence radius in metres (the SQL trigger uses the same). */
export const GEOFENCE_M = 150;
/** Fixes with a worse accuracy do not count for geofences. */
export const GEOFENCE_ACCURACY_M = 150;
const FACTS_TTL_MS = 2_000;
const IDLE_MS = 10 * 60_000;
/** Rows per statement; a bigger backlog is written in several. */
const MAX_ROWS = 2_000;

/** Dependencies. */
export interface IngestDeps {
  db: Db;
  log: Logger;
  publisher: Publisher;
  /** Called after a batch that may have crossed a geofence (sends the arrival notifications). */
  onArrival?: () => Promise<unknown>;
  /** How long the first request of a batch waits for others (ms, default 2). */
  batchDelayMs?: number;
  /** Dispatch board broadcast interval (ms); 0 turns it off. */
  dispatchEveryMs?: number;
}

const FLUSH_SQL =
  "select k, order_id::text, partner_id::text, recorded_at, broadcast from public.order_locations_ingest($1)";

/** The ingest buffer of one process. */
export class LocationIngest {
  #queue: Submission[] = [];
  #flushing = false;
  #scheduled = false;
  #facts = new Map<string, Cached>();
  #loading = new Map<string, Promise<OrderFacts | null>>();
  #filters = new Map<string, { filter: JumpFilter; used: number }>();
  #positions = new Map<string, PartnerPosition>();
  #changed = new Set<string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #pending = new Set<Promise<unknown>>();
  /** Totals since start (for benches and the admin page). */
  readonly stats = { statements: 0, fixes: 0, duplicates: 0 };

  constructor(private deps: IngestDeps) {
    const every = deps.dispatchEveryMs ?? 1000;
    if (every > 0) {
      this.#timer = setInterval(() => this.#tick(), every);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** The order's facts (cached for 2 s unless `fresh`), or null when there is no such order. */
  facts(orderId: string, fresh = false): Promise<OrderFacts | null> {
    const hit = this.#facts.get(orderId);
    if (!fresh && hit && Date.now() - hit.at < FACTS_TTL_MS) return Promise.resolve(hit.facts);
    let loading = this.#loading.get(orderId);
    if (!loading) {
      loading = this.#load(orderId).finally(() => this.#loading.delete(orderId));
      this.#loading.set(orderId, loading);
    }
    return loading;
  }

  /** Forgets what this process knows about an order (its status or partner changed). */
  invalidate(orderId: string): void {
    this.#facts.delete(orderId);
    for (const key of this.#filters.keys()) if (key.startsWith(orderId)) this.#filters.delete(key);
  }

  /** The jump filter of an order and partner, seeded with their latest stored fix. */
  async filter(orderId: string, partnerId: string): Promise<JumpFilter> {
    const key = `${orderId}|${partnerId}`;
    const hit = this.#filters.get(key);
    if (hit) {
      hit.used = Date.now();
      return hit.filter;
    }
    const [last] = await this.deps.db.query<Record<string, unknown>>(
      `select lat, lng, accuracy, speed, heading, recorded_at from public.order_locations
       where order_id = $1 and partner_id = $2 order by recorded_at desc limit 1`,
      [orderId, partnerId],
    );
    const again = this.#filters.get(key); // loaded concurrently
    if (again) return again.filter;
    const filter = new JumpFilter(last ? rowToFix(last) : null);
    this.#filters.set(key, { filter, used: Date.now() });
    return filter;
  }

  /** Writes fixes (already validated and filtered); resolves once they are stored. */
  submit(orderId: string, partnerId: string, fixes: Fix[]): Promise<IngestResult> {
    if (this.#closed) return Promise.reject(new Error("location ingest is closed"));
    if (!fixes.length) return Promise.resolve({ inserted: 0, inactive: false });
    return new Promise((resolve, reject) => {
      this.#queue.push({ orderId, partnerId, fixes, resolve, reject });
      if (!this.#flushing && !this.#scheduled) {
        // Wait a moment so that requests arriving together share the statement (on PGlite a
        // statement blocks the thread, so without the wait every batch would be one request).
        this.#scheduled = true;
        setTimeout(() => {
          this.#scheduled = false;
          if (!this.#flushing) this.#flush();
        }, this.deps.batchDelayMs ?? 2);
      }
    });
  }

  /** Latest positions of partners seen by this process. */
  positions(): PartnerPosition[] {
    return [...this.#positions.values()];
  }

  /** Writes what is queued and stops the dispatch timer. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    while (this.#flushing || this.#scheduled || this.#queue.length) {
      if (!this.#flushing && this.#queue.length) await this.#flush();
      else await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(this.#pending);
  }

  async #load(orderId: string): Promise<OrderFacts | null> {
    const [row] = await this.deps.db.query<Record<string, unknown>>(
      `select id::text, status, customer_id::text, partner_id::text, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng
       from public.orders where id = $1`,
      [orderId],
    );
    const facts: OrderFacts | null = row
      ? {
        id: row.id as string,
        status: row.status as string,
        customer_id: row.customer_id as string,
        partner_id: (row.partner_id as string | null) ?? null,
        pickup: { lat: Number(row.pickup_lat), lng: Number(row.pickup_lng) },
        dropoff: { lat: Number(row.dropoff_lat), lng: Number(row.dropoff_lng) },
      }
      : null;
    this.#facts.set(orderId, { facts, at: Date.now() });
    return facts;
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length) {
        const batch: Submission[] = [];
        let rows = 0;
        while (this.#queue.length && (rows === 0 || rows + this.#queue[0].fixes.length <= MAX_ROWS)) {
          const s = this.#queue.shift()!;
          batch.push(s);
          rows += s.fixes.length;
        }
        await this.#write(batch);
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #write(batch: Submission[]): Promise<void> {
    const records = batch.flatMap((s) =>
      s.fixes.map((f) => ({
        order_id: s.orderId,
        partner_id: s.partnerId,
        lat: f.lat,
        lng: f.lng,
        accuracy: f.accuracy,
        speed: f.speed,
        heading: f.heading,
        recorded_at: new Date(f.t).toISOString(),
      }))
    );
    type Row = {
      k: string;
      order_id: string;
      partner_id: string;
      recorded_at: Date | string | null;
      broadcast: boolean | null;
    };
    let result: Row[];
    try {
      result = await this.deps.db.query<Row>(FLUSH_SQL, [JSON.stringify(records)]);
    } catch (err) {
      if (batch.length > 1) {
        // One request's bad data must not fail the others: write them one by one.
        for (const s of batch) await this.#write([s]);
        return;
      }
      this.deps.log.error("location batch failed", { err, fixes: records.length });
      for (const s of batch) s.reject(err);
      return;
    }
    this.stats.statements++;
    const inserted = new Set<string>();
    const inactive = new Set<string>();
    const visible = new Set<string>(); // fixes the order's watchers may see now (en route, current leg)
    for (const r of result) {
      if (r.k === "inserted") {
        const key = `${r.order_id}|${r.partner_id}|${new Date(r.recorded_at!).getTime()}`;
        inserted.add(key);
        if (r.broadcast) visible.add(key);
      } else inactive.add(`${r.order_id}|${r.partner_id}`);
    }
    const broadcasts = new Map<string, Fix[]>();
    let arrival = false;
    for (const s of batch) {
      let n = 0;
      let latest: Fix | null = null;
      for (const f of s.fixes) {
        const key = `${s.orderId}|${s.partnerId}|${f.t}`;
        if (!inserted.delete(key)) continue;
        n++;
        if (!latest || f.t > latest.t) latest = f;
        if (visible.has(key)) {
          const list = broadcasts.get(s.orderId);
          if (list) list.push(f);
          else broadcasts.set(s.orderId, [f]);
        }
      }
      this.stats.fixes += n;
      this.stats.duplicates += s.fixes.length - n;
      if (latest) {
        this.#remember(s.orderId, s.partnerId, latest);
        arrival ||= this.#nearStop(s.orderId, latest);
      }
      s.resolve({ inserted: n, inactive: inactive.has(`${s.orderId}|${s.partnerId}`) });
    }
    this.#broadcast(broadcasts);
    if (arrival && this.deps.onArrival) {
      const p = this.deps.onArrival().catch((err) =>
        this.deps.log.error("arrival notifications failed", { err })
      );
      this.#pending.add(p);
      p.finally(() => this.#pending.delete(p));
    }
  }

  /**
   * Sends each en-route order's new fixes on `order:<id>` (oldest first) after the commit, through
   * the publisher: in process straight to the realtime server (no realtime.messages row to write and
   * read back), one request to Supabase in cloud mode. Only en route: that is when the customer may
   * see the partner (docs/orders.md, Privacy).
   */
  #broadcast(byOrder: Map<string, Fix[]>) {
    if (!byOrder.size) return;
    const messages = [...byOrder].map(([orderId, fixes]) => ({
      topic: `order:${orderId}`,
      event: "location",
      payload: { order_id: orderId, fixes: fixes.sort((a, b) => a.t - b.t).map(fixView) },
      private: true,
    }));
    this.deps.publisher.broadcast(messages).catch((err) =>
      this.deps.log.warn("location broadcast failed", { err })
    );
  }

  #remember(orderId: string, partnerId: string, f: Fix) {
    const prev = this.#positions.get(partnerId);
    if (prev && Date.parse(prev.recorded_at) > f.t) return;
    this.#positions.set(partnerId, {
      partner_id: partnerId,
      order_id: orderId,
      lat: f.lat,
      lng: f.lng,
      heading: f.heading,
      speed: f.speed,
      recorded_at: new Date(f.t).toISOString(),
    });
    this.#changed.add(partnerId);
  }

  #nearStop(orderId: string, f: Fix): boolean {
    const facts = this.#facts.get(orderId)?.facts;
    if (!facts || f.accuracy > GEOFENCE_ACCURACY_M) return false;
    return distanceM(f, facts.pickup) <= GEOFENCE_M || distanceM(f, facts.dropoff) <= GEOFENCE_M;
  }

  #tick() {
    const now = Date.now();
    for (const [key, v] of this.#filters) if (now - v.used > IDLE_MS) this.#filters.delete(key);
    for (const [key, v] of this.#facts) if (now - v.at > IDLE_MS) this.#facts.delete(key);
    for (const [key, p] of this.#positions) {
      if (now - Date.parse(p.recorded_at) > IDLE_MS) this.#positions.delete(key);
    }
    if (!this.#changed.size) return;
    const partners = [...this.#changed].flatMap((id) => this.#positions.get(id) ?? []);
    this.#changed.clear();
    this.deps.publisher.broadcast([{
      topic: "admin:dispatch",
      event: "positions",
      payload: { partners },
      private: true,
    }]).catch((err) => this.deps.log.warn("dispatch broadcast failed", { err }));
  }
}

function rowToFix(r: Record<string, unknown>): Fix {
  return {
    lat: Number(r.lat),
    lng: Number(r.lng),
    accuracy: Number(r.accuracy),
    speed: r.speed == null ? null : Number(r.speed),
    heading: r.heading == null ? null : Number(r.heading),
    t: new Date(r.recorded_at as string).getTime(),
  };
}
