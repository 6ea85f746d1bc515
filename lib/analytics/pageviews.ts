/**
 * Cookie-free page views (docs/analytics.md): no cookie, no stored IP address. A visitor is a hash
 * of a random per-day salt, the day, the IP and the User-Agent, so the same person is one visitor
 * within a UTC day and cannot be followed to the next. Views are buffered and written in batches.
 */
import type { Db } from "../db/port.ts";
import type { Logger } from "../log.ts";

/** User-Agents of crawlers, previews, monitors, headless browsers and HTTP libraries. */
const BOT_UA =
  /bot\b|bot\/|crawl|spider|slurp|mediapartners|facebookexternalhit|embedly|preview|headless|lighthouse|pingdom|uptime|monitor|curl\/|wget\/|python-|httpie|go-http-client|java\/|okhttp|axios\/|node-fetch|undici|deno\/|libwww|scrapy|phantomjs|puppeteer|playwright|^$/i;

/** True when a User-Agent looks automated (or is missing). */
export function isBot(userAgent: string | null | undefined): boolean {
  return BOT_UA.test((userAgent ?? "").trim());
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMBER = /^\d+$/;
const TOKEN = /^[A-Za-z0-9_-]{20,}$/;

/** The path to count: no query, ids and tokens replaced (`/events/:id`), at most 300 characters. */
export function normalizePath(pathname: string): string {
  const parts = pathname.split("/").map((part) =>
    UUID.test(part) || NUMBER.test(part) ? ":id" : TOKEN.test(part) ? ":token" : part
  );
  const path = parts.join("/") || "/";
  return path.length > 300 ? path.slice(0, 300) : path;
}

/** The referrer's host when it is another site, else null. */
export function referrerHost(referrer: string | null | undefined, ownHost: string): string | null {
  if (!referrer) return null;
  try {
    const host = new URL(referrer).host;
    return host && host !== ownHost ? host.slice(0, 200) : null;
  } catch {
    return null;
  }
}

function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The visitor hash of one day (exported for tests). */
export async function visitorHash(salt: string, day: string, ip: string, userAgent: string): Promise<string> {
  return base64url((await sha256(`${salt}\n${day}\n${ip}\n${userAgent}`)).slice(0, 16));
}

/** One page view as the middleware reports it. */
export interface PageView {
  path: string;
  ip: string;
  userAgent: string;
  referrer: string | null;
  /** This site's host: a referrer from it is not recorded. */
  host?: string;
  at?: Date;
}

interface Pending {
  occurred_at: string;
  path: string;
  visitor: string;
  referrer: string | null;
}

/** Buffers page views and writes them in batches; `close()` writes what is left. */
export class PageViews {
  #db: Db;
  #log: Logger;
  #pending: Pending[] = [];
  #salts = new Map<string, Promise<string>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  /** Views still hashing (waiting for the day's salt): flush and close wait for them. */
  #inflight = new Set<Promise<void>>();
  #closed = false;
  readonly maxBatch: number;
  readonly maxDelayMs: number;

  constructor(options: { db: Db; log: Logger; maxBatch?: number; maxDelayMs?: number }) {
    this.#db = options.db;
    this.#log = options.log;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 1000;
  }

  /** Counts one view unless it comes from a bot. Never throws. */
  record(view: PageView): Promise<void> {
    if (this.#closed || isBot(view.userAgent)) return Promise.resolve();
    const done = this.#record(view).finally(() => this.#inflight.delete(done));
    this.#inflight.add(done);
    return done;
  }

  async #record(view: PageView): Promise<void> {
    try {
      const at = view.at ?? new Date();
      const day = utcDay(at);
      const salt = await this.#salt(day);
      this.#pending.push({
        occurred_at: at.toISOString(),
        path: normalizePath(view.path),
        visitor: await visitorHash(salt, day, view.ip, view.userAgent),
        referrer: referrerHost(view.referrer, view.host ?? ""),
      });
      if (this.#pending.length >= this.maxBatch) void this.flush();
      else this.#timer ??= setTimeout(() => void this.flush(), this.maxDelayMs);
    } catch (err) {
      this.#log.warn("page view not counted", { err: String(err) });
    }
  }

  /** Writes the buffered views now (one statement), including views still being hashed. */
  async flush(): Promise<void> {
    if (this.#inflight.size) await Promise.all(this.#inflight);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (!batch.length) return await this.#flushing;
    this.#flushing = this.#flushing.then(async () => {
      try {
        await this.#db.query(
          `insert into analytics.activity (kind, occurred_at, path, visitor, data)
           select 'page_viewed', v.occurred_at, v.path, v.visitor,
             case when v.referrer is null then '{}'::jsonb else jsonb_build_object('referrer', v.referrer) end
           from jsonb_to_recordset($1::text::jsonb)
             as v (occurred_at timestamptz, path text, visitor text, referrer text)`,
          [JSON.stringify(batch)],
        );
      } catch (err) {
        this.#log.warn("page views lost", { count: batch.length, err: String(err) });
      }
    });
    return await this.#flushing;
  }

  /** Writes what is buffered and stops counting. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  /** The day's salt: created once per UTC day in the database (shared by every process), old ones deleted. */
  #salt(day: string): Promise<string> {
    let salt = this.#salts.get(day);
    if (!salt) {
      const fresh = base64url(crypto.getRandomValues(new Uint8Array(32)));
      salt = this.#db.query<{ salt: string }>(
        `with gone as (delete from plaza.analytics_salts where day < $1::date - 1),
         ins as (insert into plaza.analytics_salts (day, salt) values ($1::date, $2)
           on conflict (day) do nothing returning salt)
         select salt from ins union all select salt from plaza.analytics_salts where day = $1::date`,
        [day, fresh],
      ).then((rows) => rows[0].salt);
      salt.catch(() => this.#salts.delete(day));
      this.#salts.clear();
      this.#salts.set(day, salt);
    }
    return salt;
  }
}
