/**
 * Plaza's configuration: one zod schema over the environment, resolved once at start-up.
 * An invalid value stops start-up with a message that names the variable.
 */
import { z } from "zod";

const optionalUrl = z.string().url().optional();
const optionalText = z.string().min(1).optional();

/** The environment variables Plaza reads, with their defaults. */
export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  PLAZA_DATA_DIR: z.string().min(1).default("./data"),
  PUBLIC_URL: optionalUrl,
  PLAZA_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  PLAZA_ADMIN_EMAILS: z.string().default(""),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL").optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must be a redis:// URL").optional(),
  SUPABASE_URL: optionalUrl,
  SUPABASE_ANON_KEY: optionalText,
  SUPABASE_SERVICE_ROLE_KEY: optionalText,
  SUPABASE_JWT_SECRET: optionalText,
  UPSTASH_REDIS_REST_URL: optionalUrl,
  UPSTASH_REDIS_REST_TOKEN: optionalText,
  QSTASH_TOKEN: optionalText,
  QSTASH_CURRENT_SIGNING_KEY: optionalText,
  QSTASH_NEXT_SIGNING_KEY: optionalText,
  QSTASH_URL: optionalUrl,
  SMTP_URL: z.string().regex(/^smtps?:\/\//, "must be an smtp:// or smtps:// URL").optional(),
  MAIL_FROM: optionalText,
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, "must look like AC followed by 32 hex digits")
    .optional(),
  TWILIO_AUTH_TOKEN: optionalText,
  TWILIO_FROM: z.string().regex(/^\+[1-9]\d{7,14}$/, "must be an E.164 number like +14155550100").optional(),
  TWILIO_API_BASE: optionalUrl,
  VAPID_PUBLIC_KEY: optionalText,
  VAPID_PRIVATE_KEY: optionalText,
  VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)/, "must be a mailto: or https:// URL").optional(),
  PLAZA_ESCALATION_DELAY_SECONDS: z.coerce.number().int().min(10).max(7 * 86400).default(900),
  PLAZA_CHAT_NOTIFY_DELAY_SECONDS: z.coerce.number().int().min(0).max(3600).default(10),
  PLAZA_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  PLAZA_SEED: z.enum(["auto", "never"]).default("auto"),
  PLAZA_TRUST_PROXY: z.enum(["true", "false"]).default("false"),
  PLAZA_MEDIA_MAX_BYTES: z.coerce.number().int().min(1024).max(1024 ** 3).default(25 * 1024 * 1024),
  PLAZA_MEDIA_QUOTA_BYTES: z.coerce.number().int().min(1024).default(1024 ** 3),
  PLAZA_MEDIA_MAX_PIXELS: z.coerce.number().int().min(1).max(500_000_000).default(40_000_000),
  PLAZA_MEDIA_URL_TTL_SECONDS: z.coerce.number().int().min(60).max(7 * 86400).default(3600),
  PLAZA_MEDIA_WORKERS: z.coerce.number().int().min(0).max(16).default(1),
  // "none": no tiles (offline, tests); pins, partners and trails still render.
  PLAZA_MAP_TILES: z.string().max(500).refine(
    (s) => s === "none" || /^https?:\/\/[^\s"'<>]+$/.test(s),
    "Use an http(s) URL template, or none.",
  )
    .default("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    .transform((s) => s === "none" ? "" : s),
  PLAZA_MAP_ATTRIBUTION: z.string().max(300).default("© OpenStreetMap contributors"),
  SUPABASE_STORAGE_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, "must be a bucket name").default(
    "media",
  ),
  PLAZA_REALTIME_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(
    256 * 1024,
  ),
});

/** The fully resolved configuration every part of Plaza receives. */
export interface Config {
  port: number;
  dataDir: string;
  publicUrl: string | undefined;
  /** Signs Plaza's own JWTs and cookies; generated into the data dir when absent. */
  secret: string | undefined;
  adminEmails: Set<string>;
  logLevel: "debug" | "info" | "warn" | "error";
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  supabase: { url: string; anonKey: string; serviceRoleKey: string; jwtSecret: string } | undefined;
  upstash: { url: string; token: string } | undefined;
  qstash:
    | { token: string; currentSigningKey: string; nextSigningKey: string; baseUrl: string }
    | undefined;
  /** Outgoing mail server; without it emails stay in the outbox table. */
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Twilio for SMS; without it texts stay in the outbox table. */
  twilio: { accountSid: string; authToken: string; from: string; apiBase: string } | undefined;
  /** VAPID keys from the environment; without them Plaza generates and stores a pair. */
  vapid: { publicKey: string; privateKey: string; subject: string | undefined } | undefined;
  /** How long an unread notification waits before it escalates to the next channel. */
  escalationDelaySeconds: number;
  /** How long a DM or mention waits for its recipient to read it before notifying them. */
  chatNotifyDelaySeconds: number;
  maxBodyBytes: number;
  seed: "auto" | "never";
  /** Take the client IP from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean;
  /** Largest realtime message a client may send. */
  realtimeMaxPayloadBytes: number;
  /** Uploads (docs/media.md). */
  media: {
    maxBytes: number;
    quotaBytes: number;
    maxPixels: number;
    /** How long a signed media URL stays valid (rounded up to whole periods so URLs can be cached). */
    urlTtlSeconds: number;
    /** Web Workers that render image variants; 0 renders on the calling thread. */
    workers: number;
    bucket: string;
  };
  /** Maps (docs/orders.md): tile URL template ("" = no tiles) and its attribution. */
  map: { tiles: string; attribution: string };
}

/** Thrown when the environment is invalid; its message names every offending variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Groups of variables that only make sense together. */
const groups: Record<string, string[]> = {
  Supabase: ["SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_JWT_SECRET"],
  Upstash: ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"],
  QStash: ["QSTASH_TOKEN", "QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY"],
  Twilio: ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"],
  VAPID: ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"],
};

/**
 * Validates `env` (by default the process environment) and returns the resolved config.
 * @example const config = loadConfig({ PORT: "0" });
 */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const cleaned = Object.fromEntries(
    Object.keys(envSchema.shape).map((k) => [k, env[k] === "" ? undefined : env[k]]),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const partial: string[] = [];
  for (const [name, keys] of Object.entries(groups)) {
    const set = keys.filter((k) => e[k as keyof typeof e] !== undefined);
    if (set.length > 0 && set.length < keys.length) {
      const missing = keys.filter((k) => !set.includes(k));
      partial.push(`  ${missing.join(", ")}: required for ${name} because ${set.join(", ")} is set`);
    }
  }
  if (e.QSTASH_TOKEN && !e.PUBLIC_URL) {
    partial.push("  PUBLIC_URL: required with QStash, which calls ${PUBLIC_URL}/workers/<name>");
  }
  if (partial.length) throw new ConfigError(`Invalid configuration:\n${partial.join("\n")}`);

  return {
    port: e.PORT,
    dataDir: e.PLAZA_DATA_DIR,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ""),
    secret: e.PLAZA_SECRET,
    adminEmails: new Set(
      e.PLAZA_ADMIN_EMAILS.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean),
    ),
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    supabase: e.SUPABASE_URL
      ? {
        url: e.SUPABASE_URL.replace(/\/$/, ""),
        anonKey: e.SUPABASE_ANON_KEY!,
        serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY!,
        jwtSecret: e.SUPABASE_JWT_SECRET!,
      }
      : undefined,
    upstash: e.UPSTASH_REDIS_REST_URL
      ? { url: e.UPSTASH_REDIS_REST_URL, token: e.UPSTASH_REDIS_REST_TOKEN! }
      : undefined,
    qstash: e.QSTASH_TOKEN
      ? {
        token: e.QSTASH_TOKEN,
        currentSigningKey: e.QSTASH_CURRENT_SIGNING_KEY!,
        nextSigningKey: e.QSTASH_NEXT_SIGNING_KEY!,
        baseUrl: (e.QSTASH_URL ?? "https://qstash.upstash.io").replace(/\/$/, ""),
      }
      : undefined,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM ??
      `Plaza <no-reply@${e.PUBLIC_URL ? new URL(e.PUBLIC_URL).hostname : "localhost"}>`,
    twilio: e.TWILIO_ACCOUNT_SID
      ? {
        accountSid: e.TWILIO_ACCOUNT_SID,
        authToken: e.TWILIO_AUTH_TOKEN!,
        from: e.TWILIO_FROM!,
        apiBase: (e.TWILIO_API_BASE ?? "https://api.twilio.com").replace(/\/$/, ""),
      }
      : undefined,
    vapid: e.VAPID_PUBLIC_KEY
      ? { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY!, subject: e.VAPID_SUBJECT }
      : undefined,
    escalationDelaySeconds: e.PLAZA_ESCALATION_DELAY_SECONDS,
    chatNotifyDelaySeconds: e.PLAZA_CHAT_NOTIFY_DELAY_SECONDS,
    maxBodyBytes: e.PLAZA_MAX_BODY_BYTES,
    seed: e.PLAZA_SEED,
    trustProxy: e.PLAZA_TRUST_PROXY === "true",
    realtimeMaxPayloadBytes: e.PLAZA_REALTIME_MAX_PAYLOAD_BYTES,
    media: {
      maxBytes: e.PLAZA_MEDIA_MAX_BYTES,
      quotaBytes: e.PLAZA_MEDIA_QUOTA_BYTES,
      maxPixels: e.PLAZA_MEDIA_MAX_PIXELS,
      urlTtlSeconds: e.PLAZA_MEDIA_URL_TTL_SECONDS,
      workers: e.PLAZA_MEDIA_WORKERS,
      bucket: e.SUPABASE_STORAGE_BUCKET,
    },
    map: { tiles: e.PLAZA_MAP_TILES, attribution: e.PLAZA_MAP_ATTRIBUTION },
  };
}
