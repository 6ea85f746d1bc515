/**
 * Web push for notifications: the VAPID key pair (from the environment, or generated on first start
 * and stored in plaza.vapid_keys), people's subscriptions (several devices each), and sending one
 * notification to every device of a person. Subscriptions the push service answers 404/410 for are
 * removed; a transient failure on every device is thrown so the job retries.
 */
import type { Config } from "../config.ts";
import type { Db } from "../db/port.ts";
import type { Logger } from "../log.ts";
import { RetryableDeliveryError } from "./outbox.ts";
import { generateVapidKeys, MAX_PUSH_PAYLOAD_BYTES, sendPush, type VapidKeys } from "./push.ts";

/** The VAPID subject: VAPID_SUBJECT, else a mailto: at the public host. */
function subjectFor(config: Config): string {
  if (config.vapid?.subject) return config.vapid.subject;
  const host = config.publicUrl ? new URL(config.publicUrl).hostname : "localhost";
  return `mailto:admin@${host.includes(".") ? host : `${host}.invalid`}`;
}

/** Loads the VAPID keys, generating and storing a pair the first time (race-safe). */
export async function loadVapidKeys(db: Db, config: Config): Promise<VapidKeys> {
  const subject = subjectFor(config);
  if (config.vapid) {
    return { publicKey: config.vapid.publicKey, privateKey: config.vapid.privateKey, subject };
  }
  const fresh = generateVapidKeys(subject);
  await db.query(
    "insert into plaza.vapid_keys (id, public_key, private_key) values (1, $1, $2) on conflict (id) do nothing",
    [fresh.publicKey, fresh.privateKey],
  );
  const [row] = await db.query<{ public_key: string; private_key: string }>(
    "select public_key, private_key from plaza.vapid_keys where id = 1",
  );
  return { publicKey: row.public_key, privateKey: row.private_key, subject };
}

/** What a push carries to the service worker. */
export interface PushMessage {
  notification_id: number;
  title: string;
  body: string;
  url: string;
  /** Where the service worker reports a click. */
  click_url: string;
  actions: { action: string; title: string }[];
}

/** The outcome over all of a person's devices. */
export interface PushOutcome {
  devices: number;
  sent: number;
  removed: number;
  messageId: string | null;
  error: string | null;
}

/** Sends `message` to every device of `userId`. */
export async function pushToUser(
  deps: { db: Db; log: Logger; vapid: () => Promise<VapidKeys> },
  userId: string,
  message: PushMessage,
  options: { urgency?: "normal" | "high" } = {},
): Promise<PushOutcome> {
  const subs = await deps.db.query<{ id: string | number; endpoint: string; p256dh: string; auth: string }>(
    "select id, endpoint, p256dh, auth from public.push_subscriptions where user_id = $1 order by id",
    [userId],
  );
  const outcome: PushOutcome = { devices: subs.length, sent: 0, removed: 0, messageId: null, error: null };
  if (!subs.length) return outcome;
  const vapid = await deps.vapid();
  const payload = fitPayload(message);
  let retryable = 0;
  const errors: string[] = [];
  await Promise.all(subs.map(async (s) => {
    let res: Awaited<ReturnType<typeof sendPush>>;
    try {
      res = await sendPush(
        { endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } },
        payload,
        vapid,
        { ttlSeconds: 24 * 3600, urgency: options.urgency ?? "normal", topic: `n${message.notification_id}` },
      );
    } catch (err) {
      // A subscription the library cannot encrypt for (corrupt keys): that device only fails.
      res = { ok: false, status: 0, gone: false, retryable: false, error: String(err) };
    }
    if (res.ok) {
      outcome.sent++;
      outcome.messageId ??= res.messageId ?? null;
      await deps.db.query("update public.push_subscriptions set last_success_at = now() where id = $1", [
        s.id,
      ]);
      return;
    }
    errors.push(res.error);
    if (res.gone) {
      outcome.removed++;
      await deps.db.query("delete from public.push_subscriptions where id = $1", [s.id]);
      deps.log.info("push subscription expired; removed", {
        subscription_id: Number(s.id),
        status: res.status,
      });
    } else if (res.retryable) retryable++;
    else deps.log.warn("push refused", { subscription_id: Number(s.id), status: res.status, err: res.error });
  }));
  outcome.error = errors.length ? errors.join("; ").slice(0, 1000) : null;
  // Retry only when nothing got through and some device may still take it.
  if (outcome.sent === 0 && retryable > 0) throw new RetryableDeliveryError(`push: ${outcome.error}`);
  return outcome;
}

/** The message as JSON within the push size limit: the body, then the title, shortened as needed. */
export function fitPayload(message: PushMessage): string {
  const size = (m: PushMessage) => new TextEncoder().encode(JSON.stringify(m)).length;
  let m = message;
  for (const field of ["body", "title"] as const) {
    let chars = [...m[field]];
    while (size(m) > MAX_PUSH_PAYLOAD_BYTES && chars.length > 0) {
      chars = chars.slice(
        0,
        Math.max(0, chars.length - Math.ceil((size(m) - MAX_PUSH_PAYLOAD_BYTES) / 3) - 1),
      );
      m = { ...m, [field]: chars.length ? `${chars.join("")}…` : "" };
    }
  }
  return JSON.stringify(m);
}
